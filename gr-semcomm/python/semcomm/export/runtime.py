"""ONNX Runtime sessions for exported semantic codecs, on top of the model-files contract of
:mod:`semcomm.export.contract` (ports, metadata, cards).

Needs only numpy and onnxruntime (no torch, no onnx package), so GNU Radio blocks and users' scripts
can run a shipped model on their own::

    codec = SemanticCodec.from_prefix("models/masked_vqvae_fim_at")
    indices = codec.encode(images)                  # float32 [N, C, H, W] in [0, 1] -> int64 [N, T]
    logits, clamped = codec.decode(indices, 12.0)   # snr_db: scalar or [N]; clamped: int64 [N]

The JPEG baselines' decoder file, the receiver's classifier, runs as :class:`OnnxImageClassifier`.

Every session is created once, with explicit providers (:func:`default_providers`: CUDA first when
``onnxruntime-gpu`` is installed and a GPU is present, else CPU); ``providers`` reports what the
session actually uses. Loading refuses a file whose metadata is missing a key or disagrees with the
graph or with the other file of the pair, raising :class:`~semcomm.export.contract.ModelContractError` whose
message (and ``key`` attribute) names the offending key; a file whose card's sha256 differs is refused before
it is loaded, and one ONNX Runtime cannot read (truncated, damaged) is refused naming the file.

Bad input: :meth:`SemanticCodec.encode` accepts only float32 ``[N, C, H, W]`` with values in
``[0, 1]`` (uint8 / ``[0, 255]`` images are refused, not rescaled); :meth:`SemanticCodec.decode`
clamps indices outside ``[0, J)`` per alphabet segment and counts them per row, never raising on
received values; a wrong ``T`` raises naming the expected shape.
"""
from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

from .contract import (ANALOG_PORT, DIGITAL_PORT, ENCODER_INPUT, JPEG_ALPHABET, KEY_ALPHABET, KEY_CLASSES,
                       KEY_IMAGE_SHAPE, KEY_MODEL_ID, KEY_NUM_TOKENS, KEY_TASK, KEY_USES_SNR, SNR_PORT, TASK_OUTPUT,
                       ModelContractError, check_card_files, check_card_model_id, codec_paths, load_card,
                       parse_metadata, require_file)

#: ONNX element types of the ports, as ONNX Runtime names them
FLOAT = "tensor(float)"
INT64 = "tensor(int64)"
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
#: what ONNX Runtime raises for a file it cannot read as a model (truncated, damaged, not ONNX)
UNREADABLE_MODEL = (ort_errors.InvalidProtobuf, ort_errors.InvalidGraph, ort_errors.Fail)


# ------------------------------------------------------------------------------------------ providers
def _gpu_present() -> bool:
    """True when the CUDA driver reports at least one device (no torch needed)."""
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        try:
            if lib.cuInit(0) != 0:
                return False
            count = ctypes.c_int(0)
            return lib.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
        except AttributeError:
            return False
    return False


def default_providers() -> list[str]:
    """``[CUDA, CPU]`` when onnxruntime-gpu is installed and a GPU is present, else ``[CPU]``."""
    if CUDA in ort.get_available_providers() and _gpu_present():
        return [CUDA, CPU]
    return [CPU]


def session_options(threads: int, spinning: bool = False):
    """CPU session settings: ``threads`` intra-op threads, sequential execution, and no busy-waiting
        between parallel sections (spinning workers would steal the CPU from a flowgraph's other threads)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    return options


# ---------------------------------------------------------------------------------------- port checks
def _shape_text(shape) -> str:
    return "[" + ", ".join(str(d) if isinstance(d, int) else (d or "?") for d in shape) + "]"


def _check_port(arg, dtype: str, shape: tuple, key: str, source: str, role: str) -> None:
    """``shape``: ``None`` for the batch axis (must be dynamic), ints for fixed axes."""
    if arg.type != dtype:
        raise ModelContractError(f"{source}: {role} '{arg.name}' has type {arg.type}, the contract says {dtype}",
                                 key)
    if len(arg.shape) != len(shape):
        raise ModelContractError(f"{source}: {role} '{arg.name}' has shape {_shape_text(arg.shape)}, "
                                 f"expected {_shape_text(['N', *shape[1:]])} ({key})", key)
    if isinstance(arg.shape[0], int):
        raise ModelContractError(f"{source}: {role} '{arg.name}' has a fixed batch size {arg.shape[0]}; the "
                                 "contract needs a dynamic batch axis", f"{role} {arg.name}")
    for have, want in zip(arg.shape[1:], shape[1:]):
        if isinstance(have, int) and have != want:
            raise ModelContractError(f"{source}: {role} '{arg.name}' has shape {_shape_text(arg.shape)} but "
                                     f"metadata {key} says {_shape_text(['N', *shape[1:]])}", key)


def _names(args) -> list[str]:
    return [a.name for a in args]


class _ContractProperties:
    """Read-only views of ``self.info`` (:class:`ModelInfo`), shared by sessions and the codec pair."""

    @property
    def model_id(self) -> str:
        return self.info.model_id

    @property
    def alphabet(self):
        """``int`` J or ``[[count, J], ...]`` (both accepted by :class:`semcomm.phy.bits.IndexBitMapper`
        with ``num_indices=num_tokens``), or ``"analog"``."""
        return self.info.alphabet

    @property
    def num_tokens(self) -> int:
        return self.info.num_tokens

    @property
    def task(self) -> str:
        return self.info.task

    @property
    def classes(self):
        return self.info.classes

    @property
    def image_shape(self) -> tuple:
        return self.info.image_shape

    @property
    def uses_snr(self) -> bool:
        return self.info.uses_snr

    @property
    def analog(self) -> bool:
        return self.info.analog

    @property
    def scheme(self) -> str:
        return self.info.scheme

    @property
    def dataset(self) -> str:
        return self.info.dataset


class _Session(_ContractProperties):
    """One ONNX Runtime session plus its parsed metadata."""

    def __init__(self, path, providers=None, session_options=None, role: str = "model"):
        self.path = require_file(path, role)
        self.source = self.path.name
        requested = list(providers) if providers is not None else default_providers()
        try:
            self.session = ort.InferenceSession(str(self.path), sess_options=session_options, providers=requested)
        except UNREADABLE_MODEL as err:
            raise ModelContractError(f"{role} model file {self.path} is not a readable ONNX model (truncated or "
                                     f"damaged?): {err}", role) from err
        self.providers = self.session.get_providers()
        self.info = parse_metadata(self.session.get_modelmeta().custom_metadata_map, self.source)
        self.inputs = {a.name: a for a in self.session.get_inputs()}
        self.outputs = {a.name: a for a in self.session.get_outputs()}

    def _token_shape(self) -> tuple:
        return (None, self.info.num_tokens, 2) if self.info.analog else (None, self.info.num_tokens)

    def _token_port(self) -> tuple[str, str]:
        return (ANALOG_PORT, FLOAT) if self.info.analog else (DIGITAL_PORT, INT64)


class OnnxEncoder(_Session):
    """``<name>.encoder.onnx``: images float32 ``[N, C, H, W]`` in ``[0, 1]`` -> indices (or symbols)."""

    def __init__(self, path, providers=None, session_options=None):
        super().__init__(path, providers, session_options, "encoder")
        info, src = self.info, self.source
        if _names(self.session.get_inputs()) != [ENCODER_INPUT]:
            raise ModelContractError(f"{src}: encoder inputs are {_names(self.session.get_inputs())}, the contract "
                                     f"says ['{ENCODER_INPUT}']", f"input {ENCODER_INPUT}")
        _check_port(self.inputs[ENCODER_INPUT], FLOAT, (None, *info.image_shape), KEY_IMAGE_SHAPE, src, "input")
        port, dtype = self._token_port()
        outputs = _names(self.session.get_outputs())
        if outputs != [port]:
            other = DIGITAL_PORT if port == ANALOG_PORT else ANALOG_PORT
            key = KEY_ALPHABET if outputs == [other] else f"output {port}"
            raise ModelContractError(f"{src}: encoder outputs are {outputs}, but metadata {KEY_ALPHABET}="
                                     f"{info.raw[KEY_ALPHABET]!r} needs ['{port}']", key)
        _check_port(self.outputs[port], dtype, self._token_shape(), KEY_NUM_TOKENS, src, "output")
        self.output_name = port

    def check_images(self, images) -> np.ndarray:
        """The images as a float32 array, or ``ValueError`` naming the expected shape and range."""
        c, h, w = self.info.image_shape
        expected = (f"images must be float32 [N, {c}, {h}, {w}] with values in [0, 1] (uint8 or [0, 255] "
                    "images are not accepted: convert with images.astype(np.float32) / 255)")
        if not isinstance(images, np.ndarray):
            raise ValueError(f"{expected}; got {type(images).__name__}")
        if images.dtype != np.float32:
            raise ValueError(f"{expected}; got dtype {images.dtype}")
        if images.ndim != 4 or images.shape[1:] != (c, h, w):
            raise ValueError(f"{expected}; got shape {list(images.shape)}")
        if images.size:
            low, high = float(np.min(images)), float(np.max(images))
            if not (np.isfinite(low) and np.isfinite(high)) or low < 0.0 or high > 1.0:
                finite = bool(np.isfinite(images).all())
                got = f"values in [{low:g}, {high:g}]" if finite else "non-finite values (NaN or inf)"
                raise ValueError(f"{expected}; got {got}")
        return np.ascontiguousarray(images)

    def encode(self, images) -> np.ndarray:
        """Indices int64 ``[N, T]`` (or symbols float32 ``[N, S, 2]`` for analog codecs)."""
        images = self.check_images(images)
        if images.shape[0] == 0:
            shape = (0, self.info.num_tokens, 2) if self.info.analog else (0, self.info.num_tokens)
            return np.zeros(shape, np.float32 if self.info.analog else np.int64)
        return self.session.run([self.output_name], {ENCODER_INPUT: images})[0]


class OnnxDecoder(_Session):
    """``<name>.decoder.onnx``: indices ``[N, T]`` (+ SNR) -> logits ``[N, K]`` or image ``[N, C, H, W]``."""

    def __init__(self, path, providers=None, session_options=None):
        super().__init__(path, providers, session_options, "decoder")
        info, src = self.info, self.source
        port, dtype = self._token_port()
        inputs = _names(self.session.get_inputs())
        if port not in self.inputs:
            other = DIGITAL_PORT if port == ANALOG_PORT else ANALOG_PORT
            key = KEY_ALPHABET if other in self.inputs else f"input {port}"
            raise ModelContractError(f"{src}: decoder inputs are {inputs}, but metadata {KEY_ALPHABET}="
                                     f"{info.raw[KEY_ALPHABET]!r} needs '{port}'", key)
        if (SNR_PORT in self.inputs) != info.uses_snr:
            raise ModelContractError(f"{src}: metadata {KEY_USES_SNR}={info.raw[KEY_USES_SNR]!r} but the decoder "
                                     f"inputs are {inputs} ('{SNR_PORT}' must be an input exactly when "
                                     f"{KEY_USES_SNR} is '1')", KEY_USES_SNR)
        extra = [n for n in inputs if n not in (port, SNR_PORT)]
        if extra:
            raise ModelContractError(f"{src}: decoder has unexpected inputs {extra}", f"input {extra[0]}")
        _check_port(self.inputs[port], dtype, self._token_shape(), KEY_NUM_TOKENS, src, "input")
        if info.uses_snr:
            _check_port(self.inputs[SNR_PORT], FLOAT, (None,), KEY_USES_SNR, src, "input")
        want = TASK_OUTPUT[info.task]
        outputs = _names(self.session.get_outputs())
        if outputs != [want]:
            raise ModelContractError(f"{src}: metadata {KEY_TASK}={info.task!r} needs the decoder output "
                                     f"['{want}'], the graph has {outputs}", KEY_TASK)
        out = self.outputs[want]
        if info.task == "classification":
            if len(out.shape) == 2 and isinstance(out.shape[1], int) and out.shape[1] != len(info.classes):
                raise ModelContractError(f"{src}: metadata {KEY_CLASSES} names {len(info.classes)} classes but the "
                                         f"output 'logits' has shape {_shape_text(out.shape)}", KEY_CLASSES)
            _check_port(out, FLOAT, (None, len(info.classes)), KEY_CLASSES, src, "output")
        else:
            _check_port(out, FLOAT, (None, *info.image_shape), KEY_IMAGE_SHAPE, src, "output")
        self.input_name, self.output_name = port, want
        self._limits = None if info.analog else info.index_limits()

    def output_shape(self, batch: int) -> tuple:
        if self.info.task == "classification":
            return (batch, len(self.info.classes))
        return (batch, *self.info.image_shape)

    def _check_indices(self, indices) -> tuple[np.ndarray, np.ndarray]:
        t = self.info.num_tokens
        expected = f"indices must be integers of shape [N, {t}]"
        values = np.asarray(indices)
        if values.ndim != 2 or values.shape[1] != t:
            raise ValueError(f"{expected}; got shape {list(values.shape)}")
        if not np.issubdtype(values.dtype, np.integer):
            raise ValueError(f"{expected}; got dtype {values.dtype}")
        limits = self._limits[None, :]
        bad = (values < 0) | (values >= limits)
        if bad.any():
            values = np.where(values < 0, 0, np.where(values >= limits, limits - 1, values))
        return np.ascontiguousarray(values, dtype=np.int64), bad.sum(axis=1).astype(np.int64)

    def _check_symbols(self, symbols) -> tuple[np.ndarray, np.ndarray]:
        s = self.info.num_tokens
        expected = f"symbols must be float32 [N, {s}, 2] (I/Q)"
        values = np.asarray(symbols)
        if values.ndim != 3 or values.shape[1:] != (s, 2):
            raise ValueError(f"{expected}; got shape {list(values.shape)}")
        if values.dtype != np.float32:
            raise ValueError(f"{expected}; got dtype {values.dtype}")
        if not np.isfinite(values).all():
            raise ValueError(f"{expected}; got non-finite values")
        return np.ascontiguousarray(values), np.zeros(values.shape[0], dtype=np.int64)

    def _check_snr(self, snr_db, batch: int) -> np.ndarray:
        if snr_db is None:
            raise ValueError(f"this decoder uses the SNR ({KEY_USES_SNR}=1): pass snr_db as a scalar or [N] in dB")
        snr = np.asarray(snr_db, dtype=np.float32)
        if snr.ndim == 0:
            snr = np.full(batch, snr, dtype=np.float32)
        if snr.shape != (batch,):
            raise ValueError(f"snr_db must be a scalar or float32 [N] with N={batch}; got shape {list(snr.shape)}")
        if not np.isfinite(snr).all():
            raise ValueError("snr_db must be finite")
        return np.ascontiguousarray(snr)

    def decode(self, indices, snr_db=None) -> tuple[np.ndarray, np.ndarray]:
        """``(output, clamped [N] int64)``; indices outside ``[0, J)`` are clamped and counted per row.

        ``snr_db`` (dB, scalar or ``[N]``) is required when the model uses it and ignored otherwise.
        For analog codecs ``indices`` are the received symbols float32 ``[N, S, 2]``; clamped is 0.
        """
        values, clamped = self._check_symbols(indices) if self.info.analog else self._check_indices(indices)
        batch = values.shape[0]
        feeds = {self.input_name: values}
        if self.info.uses_snr:
            feeds[SNR_PORT] = self._check_snr(snr_db, batch)
        if batch == 0:
            return np.zeros(self.output_shape(0), dtype=np.float32), clamped
        return self.session.run([self.output_name], feeds)[0], clamped


class OnnxImageClassifier(_Session):
    """``<name>.decoder.onnx`` of a JPEG baseline (``semcomm.alphabet`` ``jpeg``): the receiver's classifier,
    decoded images float32 ``[N, C, H, W]`` in ``[0, 1]`` -> logits ``[N, K]``. There is no encoder file.

    ``OnnxImageClassifier(path)`` or :meth:`from_prefix` (checks ``<name>.card.json`` when it exists)."""

    check_images = OnnxEncoder.check_images  # the same image contract as an encoder input

    def __init__(self, path, providers=None, session_options=None):
        super().__init__(path, providers, session_options, "decoder")
        info, src = self.info, self.source
        if not info.jpeg or info.task != "classification":
            raise ModelContractError(f"{src}: an image classifier needs metadata {KEY_ALPHABET}='{JPEG_ALPHABET}' and "
                                     f"{KEY_TASK}='classification', got {info.raw[KEY_ALPHABET]!r} and "
                                     f"{info.task!r}", KEY_ALPHABET if not info.jpeg else KEY_TASK)
        c, h, w = info.image_shape
        if info.num_tokens != c * h * w:
            raise ModelContractError(f"{src}: metadata {KEY_NUM_TOKENS}={info.num_tokens} must be C*H*W = {c * h * w} "
                                     f"for {KEY_ALPHABET}='{JPEG_ALPHABET}'", KEY_NUM_TOKENS)
        for role, names, want in (("inputs", _names(self.session.get_inputs()), [ENCODER_INPUT]),
                                  ("outputs", _names(self.session.get_outputs()), [TASK_OUTPUT["classification"]])):
            if names != want:
                raise ModelContractError(f"{src}: image classifier {role} are {names}, the contract says {want}",
                                         f"{role[:-1]} {want[0]}")
        _check_port(self.inputs[ENCODER_INPUT], FLOAT, (None, c, h, w), KEY_IMAGE_SHAPE, src, "input")
        _check_port(self.outputs["logits"], FLOAT, (None, len(info.classes)), KEY_CLASSES, src, "output")

    @classmethod
    def from_prefix(cls, prefix, providers=None, session_options=None, card: bool | None = None):
        """Load ``<prefix>.decoder.onnx``; ``<prefix>.card.json`` is checked when it exists (``card=None``),
        required (``True``) or ignored (``False``)."""
        paths = codec_paths(prefix)
        if card is True and not Path(paths["card"]).is_file():
            raise FileNotFoundError(f"model card {paths['card']} does not exist")
        loaded_card = load_card(paths["card"]) if card is not False and Path(paths["card"]).is_file() else None
        if loaded_card is not None:
            check_card_files(loaded_card, {"decoder": paths["decoder"]})
        classifier = cls(paths["decoder"], providers, session_options)
        classifier.card = loaded_card
        if loaded_card is not None:
            check_card_model_id(loaded_card, classifier.model_id)
        return classifier

    def classify(self, images) -> np.ndarray:
        """Logits float32 ``[N, K]`` of images float32 ``[N, C, H, W]`` in ``[0, 1]``."""
        images = self.check_images(images)
        if images.shape[0] == 0:
            return np.zeros((0, len(self.info.classes)), dtype=np.float32)
        return self.session.run(["logits"], {ENCODER_INPUT: images})[0]


# --------------------------------------------------------------------------------------------- the pair
class SemanticCodec(_ContractProperties):
    """Encoder + decoder of one export, checked against each other (and against the card when given).

    ``SemanticCodec(encoder_path, decoder_path, card=None)`` or ``SemanticCodec.from_prefix("<dir>/<name>")``
    (which uses ``<name>.card.json`` when it exists). ``card`` is a path or an already loaded dict;
    its file sha256 values must match (checked before the files are loaded) and so must its ``model_id``.
    """

    def __init__(self, encoder_path, decoder_path, card=None, providers=None, session_options=None):
        self.card = card if card is None or isinstance(card, dict) else load_card(card)
        if self.card is not None:
            check_card_files(self.card, {"encoder": encoder_path, "decoder": decoder_path})
        self.encoder = OnnxEncoder(encoder_path, providers, session_options)
        self.decoder = OnnxDecoder(decoder_path, providers, session_options)
        enc, dec = self.encoder.info, self.decoder.info
        if enc.model_id != dec.model_id:
            raise ModelContractError(f"metadata {KEY_MODEL_ID} differs between {self.encoder.source} "
                                     f"({enc.model_id[:16]}...) and {self.decoder.source} ({dec.model_id[:16]}...): "
                                     "the files are not one export", KEY_MODEL_ID)
        for key in sorted(set(enc.raw) | set(dec.raw)):
            if enc.raw.get(key) != dec.raw.get(key):
                raise ModelContractError(f"metadata {key} differs between {self.encoder.source} "
                                         f"({enc.raw.get(key)!r}) and {self.decoder.source} ({dec.raw.get(key)!r})",
                                         key)
        self.info = enc
        if self.card is not None:
            check_card_model_id(self.card, self.model_id)

    @classmethod
    def from_prefix(cls, prefix, providers=None, session_options=None, card: bool | None = None) -> "SemanticCodec":
        """Load ``<prefix>.encoder.onnx`` / ``.decoder.onnx``; the card is checked when it exists
        (``card=None``), required (``True``) or ignored (``False``)."""
        prefix = str(prefix)
        card_path = Path(prefix + ".card.json")
        if card is True and not card_path.is_file():
            raise FileNotFoundError(f"model card {card_path} does not exist")
        use_card = card_path if (card is not False and card_path.is_file()) else None
        return cls(prefix + ".encoder.onnx", prefix + ".decoder.onnx", use_card, providers, session_options)

    # -------------------------------------------------------------------------------------- properties
    @property
    def providers(self) -> list[str]:
        return self.encoder.providers

    def index_bit_mapper(self, labelling: str = "natural"):
        """The :class:`semcomm.phy.bits.IndexBitMapper` of this codec's index alphabet."""
        if self.analog:
            raise ValueError("an analog codec has no index alphabet")
        from ..phy.bits import IndexBitMapper
        return IndexBitMapper(self.alphabet, num_indices=self.num_tokens, labelling=labelling)

    # -------------------------------------------------------------------------------------- inference
    def encode(self, images) -> np.ndarray:
        return self.encoder.encode(images)

    def decode(self, indices, snr_db=None) -> tuple[np.ndarray, np.ndarray]:
        return self.decoder.decode(indices, snr_db)

    def __repr__(self) -> str:
        return (f"SemanticCodec(scheme={self.scheme!r}, task={self.task!r}, T={self.num_tokens}, "
                f"alphabet={self.alphabet!r}, model_id={self.model_id[:16]}..., providers={self.providers})")
