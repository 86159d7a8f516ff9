"""Export of semantic codecs to the ONNX model-files contract (DESIGN.md, "Model files").

:func:`export_codec` writes ``<name>.encoder.onnx``, ``<name>.decoder.onnx`` and ``<name>.card.json``
for a :class:`semcomm.nn.masked_vqvae.MaskedVQVAE`; it is built on the generic
:func:`export_onnx_pair` (any encoder/decoder modules, any contract ports, e.g. the analog JSCC
baselines' ``symbols [N, S, 2]``) and :func:`write_card`, which other baselines reuse.
:func:`check_parity` compares the exported files with the PyTorch model.

Exporter: the TorchScript-based ``torch.onnx.export(..., dynamo=False)`` at opset 17, with
``training=PRESERVE``: a BatchNorm (the resnet encoder stem) stays a ``BatchNormalization`` node with its
own scale, bias, mean and variance instead of being folded into the convolution before it, so that
:mod:`semcomm.export.recover` finds every weight (ONNX Runtime fuses the two when it loads the graph). It yields
bit-identical encoder indices and decoder outputs within ~1e-6 of PyTorch, names ports exactly as
asked, and writes byte-identical files on a re-export of the same weights (so card sha256 values are
reproducible). Files are self-contained (initializers inside the protobuf, no external data).

Model id (``semcomm.model_id``, the same in both files and in the card): the hex sha256 of the
*model*, not of the ONNX bytes, so that it is stable across re-exports and exporter versions::

    sha256( b"semcomm.model_id/1\\n"
            + canonical JSON of the config (sorted keys, no spaces) + b"\\n"
            + for each state-dict entry in sorted name order:
                  u64le(len(h)) + h  with h = JSON [name, dtype, shape]   (e.g. ["codebook.vectors","float32",[256,32]])
                  u64le(len(b)) + b  with b = the tensor's raw little-endian bytes (C order) )

For :func:`export_codec` the config is ``CodecConfig.to_dict()`` and the state dict is the model's
(parameters and persistent buffers, e.g. the inference keep positions, but not BatchNorm's training
counter ``num_batches_tracked``). Non-persistent buffers
(position embeddings) are functions of the config. Labels such as scheme or dataset are not
part of the id: the same weights always get the same id.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import sys
import warnings
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import onnx
import torch
from torch import nn

from . import runtime
from .runtime import (ANALOG_ALPHABET, KEY_ALPHABET, KEY_CLASSES, KEY_DATASET, KEY_IMAGE_SHAPE, KEY_MODEL_ID,
                      KEY_NUM_TOKENS, KEY_SCHEME, KEY_TASK, KEY_USES_SNR, TASK_OUTPUT, TASKS, SemanticCodec,
                      codec_paths, sha256_file)

OPSET = 17
MODEL_ID_VERSION = b"semcomm.model_id/1\n"
EXPORTER = "torch.onnx.export (TorchScript, dynamo=False)"
BATCH_AXIS = "N"
CARD_FORMAT = "semcomm.card/1"
#: card fields computed here; card_extra may add other keys (metrics, reproduce, training, data, ...)
CARD_RESERVED = ("format", "name", "scheme", "task", "model_id", "dataset", "classes", "config", "metadata",
                 "interface", "files", "onnx", "created_with")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _version(package: str) -> str:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"


def created_with() -> dict:
    return {"semcomm": _version("semcomm"), "python": platform.python_version(), "torch": torch.__version__,
            "onnx": onnx.__version__, "onnxruntime": _version("onnxruntime"), "numpy": np.__version__}


# ------------------------------------------------------------------------------------------- model id
def state_fingerprint(state: Mapping[str, torch.Tensor], config: Mapping) -> str:
    """Hex sha256 of ``config`` + ``state`` as defined in the module docstring."""
    if sys.byteorder != "little":  # pragma: no cover - the definition uses little-endian tensor bytes
        raise NotImplementedError("state_fingerprint is defined on little-endian hosts")
    digest = hashlib.sha256(MODEL_ID_VERSION)
    digest.update(json.dumps(config, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    for name in sorted(state):
        tensor = state[name].detach().to("cpu").contiguous()
        header = json.dumps([name, str(tensor.dtype).removeprefix("torch."), list(tensor.shape)]).encode()
        data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        for part in (header, data):
            digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()


def codec_model_id(model: nn.Module) -> str:
    """``semcomm.model_id`` of a :class:`~semcomm.nn.masked_vqvae.MaskedVQVAE` (its config + state dict,
    without BatchNorm's ``num_batches_tracked``: a training counter that no inference graph uses)."""
    state = {name: tensor for name, tensor in model.state_dict().items()
             if not name.endswith(".num_batches_tracked")}
    return state_fingerprint(state, model.config.to_dict())


# ------------------------------------------------------------------------------------------- metadata
def build_metadata(*, task: str, image_shape: Sequence[int], num_tokens: int, alphabet, classes=None,
                   model_id: str | None = None, uses_snr: bool, dataset: str, scheme: str) -> dict:
    """The ``semcomm.*`` metadata strings, validated (``model_id`` may be filled in later).

    ``alphabet``: J (int), ``[[count, J], ...]`` segments, or ``"analog"`` (JSCC baselines)."""
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    shape = [int(v) for v in image_shape]
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (C, H, W) positive integers, got {image_shape!r}")
    if isinstance(alphabet, str):
        alphabet_text = alphabet
    elif isinstance(alphabet, (int, np.integer)):
        alphabet_text = str(int(alphabet))
    else:
        alphabet_text = json.dumps([[int(c), int(j)] for c, j in alphabet], separators=(",", ":"))
    for key, value in ((KEY_DATASET, dataset), (KEY_SCHEME, scheme)):
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{key} must be a non-empty string, got {value!r}")
    meta = {KEY_TASK: task, KEY_IMAGE_SHAPE: ",".join(str(v) for v in shape), KEY_NUM_TOKENS: str(int(num_tokens)),
            KEY_ALPHABET: alphabet_text, KEY_USES_SNR: "1" if uses_snr else "0", KEY_DATASET: dataset,
            KEY_SCHEME: scheme}
    if task == "classification":
        if classes is None or not len(classes):
            raise ValueError("a classification model needs its class names (classes=[...])")
        meta[KEY_CLASSES] = json.dumps([str(c) for c in classes])
    meta[KEY_MODEL_ID] = model_id or "0" * 64
    runtime.parse_metadata(meta, "metadata")  # same validation as the loader
    if model_id is None:
        del meta[KEY_MODEL_ID]
    return meta


# ------------------------------------------------------------------------------------ generic export
def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _export_graph(module: nn.Module, inputs: Mapping[str, torch.Tensor], outputs: Sequence[str],
                  opset: int) -> tuple[onnx.ModelProto, list[torch.Tensor]]:
    with torch.no_grad():
        example_out = _as_tuple(module(*inputs.values()))
    if len(example_out) != len(outputs):
        raise ValueError(f"module returns {len(example_out)} outputs, io spec names {list(outputs)}")
    buffer = io.BytesIO()
    dynamic = {name: {0: BATCH_AXIS} for name in (*inputs, *outputs)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings about shape-dependent Python values
        torch.onnx.export(module, tuple(inputs.values()), buffer, input_names=list(inputs),
                          output_names=list(outputs), dynamic_axes=dynamic, opset_version=opset,
                          do_constant_folding=True, dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE)
    model = onnx.load_from_string(buffer.getvalue())
    # Fix every non-batch axis to its example size: the runtime and users see e.g. indices [N, T].
    graph_inputs = {v.name: v for v in model.graph.input}
    graph_outputs = {v.name: v for v in model.graph.output}
    missing = [n for n in inputs if n not in graph_inputs]
    if missing:
        raise ValueError(f"inputs {missing} do not appear in the exported graph (unused by the module?)")
    for ports, tensors in ((graph_inputs, dict(zip(inputs, inputs.values()))),
                           (graph_outputs, dict(zip(outputs, example_out)))):
        for name, tensor in tensors.items():
            dims = ports[name].type.tensor_type.shape.dim
            for axis, size in enumerate(tensor.shape):
                dims[axis].Clear()
                if axis == 0:
                    dims[axis].dim_param = BATCH_AXIS
                else:
                    dims[axis].dim_value = int(size)
    return model, list(example_out)


def _finish(model: onnx.ModelProto, metadata: Mapping[str, str], graph_name: str, doc: str) -> bytes:
    del model.metadata_props[:]
    for key in sorted(metadata):
        if not isinstance(metadata[key], str):
            raise TypeError(f"metadata {key} must be a string, got {type(metadata[key]).__name__}")
        model.metadata_props.add(key=key, value=metadata[key])
    model.producer_name = "semcomm"
    model.producer_version = _version("semcomm")
    model.doc_string = doc
    model.graph.name = graph_name
    onnx.checker.check_model(model, full_check=True)
    if any(onnx.external_data_helper.uses_external_data(t) for t in model.graph.initializer):
        raise RuntimeError("exported model uses external data; the contract needs self-contained files")
    return model.SerializeToString()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _interface(model: onnx.ModelProto) -> dict:
    def ports(values):
        out = {}
        for value in values:
            tensor = value.type.tensor_type
            out[value.name] = {"dtype": onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name,
                               "shape": [d.dim_param or d.dim_value for d in tensor.shape.dim]}
        return out
    initializers = {t.name for t in model.graph.initializer}
    return {"inputs": ports(v for v in model.graph.input if v.name not in initializers),
            "outputs": ports(model.graph.output)}


def export_onnx_pair(encoder: nn.Module, decoder: nn.Module, *, encoder_inputs: Mapping[str, torch.Tensor],
                     encoder_outputs: Sequence[str], decoder_inputs: Mapping[str, torch.Tensor],
                     decoder_outputs: Sequence[str], metadata: Mapping[str, str], out_dir, name: str,
                     model_id: str | None = None, fingerprint_config: Mapping | None = None,
                     opset: int = OPSET, description: str = "") -> dict:
    """Export two modules as ``<name>.encoder.onnx`` / ``<name>.decoder.onnx`` with the contract's
    port names, a dynamic batch axis ``N`` on every port, fixed other axes, and ``metadata``.

    ``encoder_inputs`` / ``decoder_inputs`` map port names to example tensors (in argument order;
    batch >= 2 so the batch axis is traced as dynamic). ``model_id`` defaults to
    :func:`state_fingerprint` over both modules' state dicts (prefixed ``encoder.`` / ``decoder.``) and
    ``fingerprint_config`` (default: the metadata). Returns ``{"encoder", "decoder", "model_id",
    "interface"}``. The modules are exported in eval mode; their mode is restored afterwards.
    """
    if not _NAME.match(name):
        raise ValueError(f"model name {name!r} must match {_NAME.pattern} (it becomes a file name prefix)")
    if opset < 17:
        raise ValueError(f"the contract needs ONNX opset >= 17, got {opset}")
    if model_id is None:
        state = {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
        state.update({f"decoder.{k}": v for k, v in decoder.state_dict().items()})
        config = dict(fingerprint_config if fingerprint_config is not None else metadata)
        config.pop(KEY_MODEL_ID, None)
        model_id = state_fingerprint(state, config)
    meta = dict(metadata, **{KEY_MODEL_ID: model_id})
    runtime.parse_metadata(meta, name)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = codec_paths(out_dir / name)
    modes = (encoder.training, decoder.training)
    encoder.eval()
    decoder.eval()
    interface = {}
    try:
        for role, module, inputs, outputs in (("encoder", encoder, encoder_inputs, encoder_outputs),
                                              ("decoder", decoder, decoder_inputs, decoder_outputs)):
            model, _ = _export_graph(module, inputs, outputs, opset)
            doc = (f"semcomm {role} of '{name}' ({meta[KEY_SCHEME]}, {meta[KEY_TASK]}, dataset {meta[KEY_DATASET]}); "
                   f"ports and semcomm.* metadata follow the semcomm model-files contract. {description}").strip()
            data = _finish(model, meta, f"{name}.{role}", doc)
            interface[role] = _interface(model)
            _write_atomic(Path(paths[role]), data)
    finally:
        encoder.train(modes[0])
        decoder.train(modes[1])
    return {"encoder": paths["encoder"], "decoder": paths["decoder"], "model_id": model_id, "interface": interface}


def _check_card_extra(card_extra) -> dict:
    extra = dict(card_extra or {})
    clash = sorted(set(extra) & set(CARD_RESERVED))
    if clash:
        raise ValueError(f"card_extra may not set {clash}: they are computed by the exporter")
    return extra


def write_card(path, *, name: str, scheme: str, task: str, model_id: str, dataset: str, classes, config: dict,
               metadata: Mapping[str, str], files: Mapping[str, str], interface: dict | None = None,
               card_extra: Mapping | None = None, opset: int = OPSET) -> dict:
    """Write ``<name>.card.json``: identity, config, contract metadata, file sha256s, metrics and the
    reproduce command (``card_extra["metrics"]`` / ``card_extra["reproduce"]``), ONNX opset, versions.
    Other ``card_extra`` keys (e.g. ``training``, ``data``) are copied; reserved keys are refused."""
    extra = _check_card_extra(card_extra)
    card = {
        "format": CARD_FORMAT, "name": name, "scheme": scheme, "task": task, "model_id": model_id,
        "dataset": dataset, "classes": list(classes) if classes is not None else None, "config": config,
        "metadata": dict(sorted(metadata.items())),
        "files": {role: {"file": Path(p).name, "sha256": sha256_file(p), "bytes": Path(p).stat().st_size}
                  for role, p in files.items()},
        "interface": interface or {},
        "metrics": extra.pop("metrics", {}),
        "reproduce": extra.pop("reproduce", None),
        "onnx": {"opset": opset, "exporter": EXPORTER, "external_data": False},
        "created_with": created_with(),
    }
    card.update(extra)
    _write_atomic(Path(path), (json.dumps(card, indent=2) + "\n").encode())
    return card


# ------------------------------------------------------------------------------------- masked VQ-VAE
class _EncoderGraph(nn.Module):
    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.model.encode(image)


class _DecoderGraph(nn.Module):
    def __init__(self, model: nn.Module, uses_snr: bool):
        super().__init__()
        self.model = model
        self.uses_snr = uses_snr

    def forward(self, indices: torch.Tensor, snr_db: torch.Tensor | None = None) -> torch.Tensor:
        if snr_db is None:  # no FIM: the SNR is unused, the decoder graph has no snr_db input
            snr_db = torch.zeros(indices.shape[0], dtype=torch.float32, device=indices.device)
        return self.model.decode(indices, snr_db)


def check_export_arguments(cfg, name: str, classes, card_extra, example_batch: int) -> None:
    """Refuse bad export arguments before anything is written (shared by all exporters)."""
    _check_card_extra(card_extra)
    if not _NAME.match(name):
        raise ValueError(f"model name {name!r} must match {_NAME.pattern} (it becomes a file name prefix)")
    if example_batch < 2:
        raise ValueError("example_batch must be >= 2 so that the batch axis is traced as dynamic")
    if cfg.task == "classification":
        if classes is None:
            raise ValueError("classification model: pass classes=[...] (the class names)")
        if len(classes) != cfg.num_classes:
            raise ValueError(f"{len(classes)} class names given, the model has {cfg.num_classes} classes")


def export_graphs_with_card(encoder_graph: nn.Module, decoder_graph: nn.Module, cfg, *, images, token_port: str,
                            token_example, metadata: dict, model_id: str, out_dir, name: str, scheme: str,
                            dataset: str, classes, card_extra, opset: int, verify: bool, description: str) -> dict:
    """Export an encoder/decoder graph pair whose decoder takes ``token_port`` (+ ``snr_db`` when the model
    uses it), write the card and (``verify``) load the result with the runtime. Shared by all exporters."""
    decoder_inputs = {token_port: token_example}
    if cfg.uses_snr:
        decoder_inputs["snr_db"] = torch.zeros(len(images), device=images.device)
    result = export_onnx_pair(encoder_graph, decoder_graph, encoder_inputs={"image": images},
                              encoder_outputs=[token_port], decoder_inputs=decoder_inputs,
                              decoder_outputs=[TASK_OUTPUT[cfg.task]], metadata=metadata, out_dir=out_dir,
                              name=name, model_id=model_id, opset=opset, description=description)
    paths = codec_paths(Path(out_dir) / name)
    write_card(paths["card"], name=name, scheme=scheme, task=cfg.task, model_id=model_id, dataset=dataset,
               classes=classes, config=cfg.to_dict(), metadata={**metadata, KEY_MODEL_ID: model_id},
               files={"encoder": result["encoder"], "decoder": result["decoder"]}, interface=result["interface"],
               card_extra=card_extra, opset=opset)
    if verify:
        SemanticCodec.from_prefix(Path(out_dir) / name, providers=["CPUExecutionProvider"], card=True)
    return {"encoder": paths["encoder"], "decoder": paths["decoder"], "card": paths["card"], "model_id": model_id}


def masking_state(model: nn.Module) -> dict:
    """The model's ``masking_state`` buffers as exact lists (float32 values survive JSON as doubles): the
    card's ``masking_state``. They are part of the model id, but the ONNX files hold the keep set only
    inside the graph and the training masking logits not at all; weight recovery
    (:mod:`semcomm.export.recover`) reads them from the card (e.g. a noise-related keep set)."""
    state = model.state_dict()
    return {key: state[key].tolist() for key in getattr(model, "masking_state", ())}


def export_codec(model: nn.Module, out_dir, name: str, *, dataset: str, scheme: str, classes=None,
                 card_extra: Mapping | None = None, opset: int = OPSET, example_batch: int = 2,
                 verify: bool = True) -> dict:
    """Export a :class:`~semcomm.nn.masked_vqvae.MaskedVQVAE` to ``out_dir/<name>.{encoder,decoder}.onnx``
    and ``<name>.card.json``. ``classes`` (class names) is required for classification models.
    ``card_extra``: ``metrics`` (measured through the digital chain), ``reproduce`` (command line) and
    any other card fields. ``verify`` loads the result with the runtime (contract checks).
    Returns ``{"encoder", "decoder", "card", "model_id"}`` (paths as strings)."""
    cfg = model.config
    check_export_arguments(cfg, name, classes, card_extra, example_batch)
    card_extra = {**(card_extra or {}), "masking_state": masking_state(model)}
    metadata = build_metadata(task=cfg.task, image_shape=cfg.image_shape, num_tokens=cfg.num_tokens,
                              alphabet=cfg.codebook_size, classes=classes if cfg.task == "classification" else None,
                              uses_snr=cfg.uses_snr, dataset=dataset, scheme=scheme)
    model_id = codec_model_id(model)
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(example_batch, *cfg.image_shape, generator=generator).to(device)
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            indices = model.encode(images)
    finally:
        model.train(training)
    return export_graphs_with_card(_EncoderGraph(model), _DecoderGraph(model, cfg.uses_snr), cfg, images=images,
                                   token_port="indices", token_example=indices, metadata=metadata,
                                   model_id=model_id, out_dir=out_dir, name=name, scheme=scheme, dataset=dataset,
                                   classes=classes, card_extra=card_extra, opset=opset, verify=verify,
                                   description=_codec_description(cfg))


def _codec_description(cfg) -> str:
    groups = f" x G={cfg.code_groups} indices" if cfg.code_groups > 1 else ""
    return f"Masked VQ-VAE, T={cfg.num_kept}{groups}, J={cfg.codebook_size}."


# --------------------------------------------------------------------------------------------- parity
def _numpy(x, dtype) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def parity_inputs(paths, images, snr_db, providers=None):
    """``(runtime codec, float32 images, snr_db [N])`` for a parity check; ``paths`` is the exporter's
    dict or a ``<dir>/<name>`` prefix; CPU unless ``providers`` says otherwise."""
    if isinstance(paths, (str, os.PathLike)):
        paths = codec_paths(paths)
    codec = SemanticCodec(paths["encoder"], paths["decoder"], providers=providers or ["CPUExecutionProvider"])
    images = _numpy(images, np.float32)
    snr = np.broadcast_to(_numpy(snr_db, np.float32), (images.shape[0],)).copy()
    return codec, images, snr


def check_parity(model: nn.Module, paths, images, snr_db=0.0, *, atol: float = 1e-4, providers=None,
                 seed: int = 0) -> dict:
    """Compare the exported files with the PyTorch ``model`` on ``images`` ``[N, C, H, W]`` in ``[0, 1]``.

    ``paths``: the dict returned by :func:`export_codec` or a ``<dir>/<name>`` prefix. Checks that the
    ONNX encoder's indices equal PyTorch's, and the decoder's max abs output difference on those
    indices and on random indices over the whole alphabet (a corrupted channel). ``ok`` is true when
    the indices are identical and both differences are below ``atol``. Runs on CPU unless
    ``providers`` says otherwise."""
    codec, images, snr = parity_inputs(paths, images, snr_db, providers)
    batch = images.shape[0]
    device = next(model.parameters()).device
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            torch_indices = model.encode(torch.from_numpy(images).to(device))
            random_indices = torch.randint(0, model.config.codebook_size, tuple(torch_indices.shape),
                                           generator=torch.Generator().manual_seed(seed)).to(device)
            snr_t = torch.from_numpy(snr).to(device)
            torch_out = model.decode(torch_indices, snr_t).cpu().numpy()
            torch_random = model.decode(random_indices, snr_t).cpu().numpy()
    finally:
        model.train(training)
    torch_indices, random_indices = torch_indices.cpu().numpy(), random_indices.cpu().numpy()
    onnx_indices = codec.encode(images)
    onnx_out, _ = codec.decode(torch_indices, snr)
    onnx_random, _ = codec.decode(random_indices, snr)
    mismatches = int((onnx_indices != torch_indices).sum()) if onnx_indices.shape == torch_indices.shape else -1
    diff = float(np.abs(onnx_out - torch_out).max()) if batch else 0.0
    diff_random = float(np.abs(onnx_random - torch_random).max()) if batch else 0.0
    return {"batch": batch, "model_id": codec.model_id, "providers": codec.providers,
            "indices_identical": mismatches == 0, "index_mismatches": mismatches,
            "output": codec.decoder.output_name, "decoder_max_abs_diff": diff,
            "decoder_random_max_abs_diff": diff_random, "atol": atol,
            "ok": mismatches == 0 and diff < atol and diff_random < atol}


__all__ = ["ANALOG_ALPHABET", "OPSET", "build_metadata", "check_parity", "codec_model_id", "created_with",
           "export_codec", "export_onnx_pair", "state_fingerprint", "write_card"]
