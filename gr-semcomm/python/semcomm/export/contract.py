"""The model-files contract of DESIGN.md in plain Python: metadata keys, port names, the parsing of a file's
``semcomm.*`` metadata (:class:`ModelInfo`), model cards and the file paths of a codec.

Needs only numpy: no onnxruntime, torch or onnx, so that code which reads a card or hashes a file (training,
the demo, the benchmarks) does not load an inference engine. :mod:`semcomm.export.runtime` runs the files
with ONNX Runtime on top of it.

A codec is ``<name>.encoder.onnx`` + ``<name>.decoder.onnx`` (+ ``<name>.card.json``, :func:`codec_paths`).

Ports (contract):

* digital codecs: encoder ``image`` float32 ``[N, C, H, W]`` -> ``indices`` int64 ``[N, T]``;
  decoder ``indices`` (+ ``snr_db`` float32 ``[N]`` when ``semcomm.uses_snr`` is ``1``) ->
  ``logits`` float32 ``[N, K]`` (classification) or ``image`` float32 ``[N, C, H, W]`` (reconstruction).
* analog baselines (DeepJSCC): encoder output / decoder input ``symbols`` float32 ``[N, S, 2]``;
  ``semcomm.num_tokens`` is ``S`` and ``semcomm.alphabet`` is ``analog`` (no index alphabet).
* JPEG + LDPC baselines: no encoder file (JPEG is the encoder); the decoder file is the receiver's
  classifier, input ``image`` float32 ``[N, C, H, W]`` (the decoded JPEG) -> ``logits``;
  ``semcomm.alphabet`` is ``jpeg`` and ``semcomm.num_tokens`` is ``C * H * W``, the values the decoder
  receives.

A file whose metadata is missing a key or holds an invalid value is refused with
:class:`ModelContractError`, whose message (and ``key`` attribute) names the offending key.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# ---------------------------------------------------------------------------------- contract constants
PREFIX = "semcomm."
KEY_TASK = "semcomm.task"
KEY_IMAGE_SHAPE = "semcomm.image_shape"
KEY_NUM_TOKENS = "semcomm.num_tokens"
KEY_ALPHABET = "semcomm.alphabet"
KEY_CLASSES = "semcomm.classes"
KEY_MODEL_ID = "semcomm.model_id"
KEY_USES_SNR = "semcomm.uses_snr"
KEY_DATASET = "semcomm.dataset"
KEY_SCHEME = "semcomm.scheme"
#: keys every file must carry (``semcomm.classes`` too when the task is classification)
REQUIRED_KEYS = (KEY_TASK, KEY_IMAGE_SHAPE, KEY_NUM_TOKENS, KEY_ALPHABET, KEY_MODEL_ID, KEY_USES_SNR,
                 KEY_DATASET, KEY_SCHEME)
METADATA_KEYS = REQUIRED_KEYS[:4] + (KEY_CLASSES,) + REQUIRED_KEYS[4:]
TASKS = ("classification", "reconstruction")
TASK_OUTPUT = {"classification": "logits", "reconstruction": "image"}
ANALOG_ALPHABET = "analog"
JPEG_ALPHABET = "jpeg"
#: port names
ENCODER_INPUT = "image"
DIGITAL_PORT = "indices"
ANALOG_PORT = "symbols"
SNR_PORT = "snr_db"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ModelContractError(ValueError):
    """A model file that violates the model-files contract; ``key`` names the metadata key or port."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------- metadata
@dataclass(frozen=True)
class ModelInfo:
    """Parsed ``semcomm.*`` metadata of one file."""

    task: str
    image_shape: tuple
    num_tokens: int
    alphabet: object  #: ``int`` J, ``[[count, J], ...]`` segments, ``"analog"`` or ``"jpeg"``
    classes: tuple | None
    model_id: str
    uses_snr: bool
    dataset: str
    scheme: str
    raw: dict  #: all ``semcomm.*`` metadata strings as stored

    @property
    def analog(self) -> bool:
        return self.alphabet == ANALOG_ALPHABET

    @property
    def jpeg(self) -> bool:
        return self.alphabet == JPEG_ALPHABET

    def index_limits(self) -> np.ndarray:
        """Alphabet size ``J_t`` of every index position ``t`` (``[T]`` int64)."""
        if isinstance(self.alphabet, int):
            return np.full(self.num_tokens, self.alphabet, dtype=np.int64)
        return np.concatenate([np.full(count, size, dtype=np.int64) for count, size in self.alphabet])


def _bad(key: str, value, expected: str, source: str) -> ModelContractError:
    return ModelContractError(f"{source}: metadata {key}={value!r} is invalid: expected {expected}", key)


def _parse_alphabet(value: str, num_tokens: int, source: str):
    if value in (ANALOG_ALPHABET, JPEG_ALPHABET):
        return value
    expected = "an integer J >= 2, a JSON list of [count, J] segments, 'analog' or 'jpeg'"
    try:
        spec = json.loads(value)
    except (TypeError, ValueError):
        raise _bad(KEY_ALPHABET, value, expected, source) from None
    if isinstance(spec, int) and not isinstance(spec, bool):
        if spec < 2:
            raise _bad(KEY_ALPHABET, value, expected, source)
        return spec
    if not isinstance(spec, list) or not spec:
        raise _bad(KEY_ALPHABET, value, expected, source)
    segments = []
    for item in spec:
        if (not isinstance(item, list) or len(item) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in item)
                or item[0] < 1 or item[1] < 2):
            raise _bad(KEY_ALPHABET, value, expected + " (count >= 1, J >= 2)", source)
        segments.append([item[0], item[1]])
    total = sum(count for count, _ in segments)
    if total != num_tokens:
        raise ModelContractError(f"{source}: metadata {KEY_ALPHABET}={value!r} has {total} indices in its "
                                 f"segments but {KEY_NUM_TOKENS} is {num_tokens}", KEY_ALPHABET)
    return segments


def parse_metadata(props: dict, source: str = "model") -> ModelInfo:
    """Validate and parse the ``semcomm.*`` metadata strings of one file (graph not consulted)."""
    for key in REQUIRED_KEYS:
        if key not in props:
            raise ModelContractError(f"{source}: metadata key {key} is missing (required keys: "
                                     f"{', '.join(REQUIRED_KEYS)})", key)
    task = props[KEY_TASK]
    if task not in TASKS:
        raise _bad(KEY_TASK, task, " or ".join(TASKS), source)
    try:
        image_shape = tuple(int(v) for v in props[KEY_IMAGE_SHAPE].split(","))
    except ValueError:
        image_shape = ()
    if len(image_shape) != 3 or min(image_shape) < 1:
        raise _bad(KEY_IMAGE_SHAPE, props[KEY_IMAGE_SHAPE], "'C,H,W' with three positive integers", source)
    value = props[KEY_NUM_TOKENS]
    if not value.isdigit() or int(value) < 1:
        raise _bad(KEY_NUM_TOKENS, value, "a positive integer T", source)
    num_tokens = int(value)
    alphabet = _parse_alphabet(props[KEY_ALPHABET], num_tokens, source)
    classes = None
    if task == "classification":
        if KEY_CLASSES not in props:
            raise ModelContractError(f"{source}: metadata key {KEY_CLASSES} is missing (required for "
                                     "classification models)", KEY_CLASSES)
        try:
            classes = json.loads(props[KEY_CLASSES])
        except ValueError:
            classes = None
        if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
            raise _bad(KEY_CLASSES, props[KEY_CLASSES], "a non-empty JSON list of class names", source)
        classes = tuple(classes)
    model_id = props[KEY_MODEL_ID]
    if not _HEX64.match(model_id):
        raise _bad(KEY_MODEL_ID, model_id, "64 lowercase hex digits (sha256)", source)
    uses_snr = props[KEY_USES_SNR]
    if uses_snr not in ("0", "1"):
        raise _bad(KEY_USES_SNR, uses_snr, "'0' or '1'", source)
    for key in (KEY_DATASET, KEY_SCHEME):
        if not props[key].strip():
            raise _bad(key, props[key], "a non-empty string", source)
    raw = {k: v for k, v in props.items() if k.startswith(PREFIX)}
    return ModelInfo(task, image_shape, num_tokens, alphabet, classes, model_id, uses_snr == "1",
                     props[KEY_DATASET], props[KEY_SCHEME], raw)


# ------------------------------------------------------------------------------------------ cards, paths
def load_card(path) -> dict:
    """The model card at ``path``; :class:`ModelContractError` naming the file when it is not a JSON object."""
    with open(path, encoding="utf-8") as handle:
        try:
            card = json.load(handle)
        except ValueError as err:  # bad JSON or not UTF-8 text
            raise ModelContractError(f"model card {path} is not valid JSON ({err}): is it damaged?", "card") from err
    if not isinstance(card, dict):
        raise ModelContractError(f"model card {path} must hold a JSON object, not {type(card).__name__}", "card")
    return card


def require_file(path, role: str) -> Path:
    """``path`` as a :class:`~pathlib.Path`; ``FileNotFoundError`` naming the ``role`` (``decoder``) if no file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{role} model file {path} does not exist")
    return path


def check_card_files(card: dict, files: dict) -> None:
    """Refuse a card whose ``files.<role>.sha256`` does not match the file ``files[role]`` (role -> path). Run it
    before loading the files: a damaged file is then named by its hash, not by an ONNX parser error."""
    entries = card.get("files", {})
    for role, path in files.items():
        want = entries.get(role, {}).get("sha256")
        have = sha256_file(require_file(path, role))
        if want != have:
            raise ModelContractError(f"card files.{role}.sha256 {want!r} does not match {path} "
                                     f"(sha256 {have}): the file was changed after export (truncated, damaged or "
                                     "replaced?)", f"files.{role}.sha256")


def check_card_model_id(card: dict, model_id: str) -> None:
    """Refuse a card whose ``model_id`` differs from the files' ``semcomm.model_id``."""
    if card.get("model_id") != model_id:
        raise ModelContractError(f"card model_id {card.get('model_id')!r} differs from the files' "
                                 f"{KEY_MODEL_ID} {model_id!r}", "model_id")


def link_model_info(prefix) -> ModelInfo:
    """The metadata, read from its card, of the codec at ``prefix`` (``models/<name>``) whose indices a digital
    link carries. An analog codec (symbols, no indices) and the JPEG baseline (no encoder) are refused, saying
    so."""
    card_path = codec_paths(prefix)["card"]
    if not os.path.isfile(card_path):
        raise FileNotFoundError(f"model card {card_path} does not exist")
    info = parse_metadata(load_card(card_path).get("metadata", {}), card_path)
    kinds = {ANALOG_ALPHABET: "an analog codec: its encoder sends I/Q symbols, not indices",
             JPEG_ALPHABET: "the JPEG baseline: it ships only the receiver's classifier, no index encoder"}
    if info.alphabet in kinds:
        raise ModelContractError(f"{prefix} is {kinds[info.alphabet]} ({KEY_ALPHABET} {info.alphabet!r}); the "
                                 "testbed carries a digital codec's indices over its digital link: use a digital "
                                 "codec, e.g. models/masked_vqvae_fim_at", KEY_ALPHABET)
    return info


def codec_paths(prefix) -> dict:
    """``{"encoder", "decoder", "card"}`` file paths of ``<dir>/<name>``."""
    prefix = os.fspath(prefix)
    return {"encoder": prefix + ".encoder.onnx", "decoder": prefix + ".decoder.onnx", "card": prefix + ".card.json"}
