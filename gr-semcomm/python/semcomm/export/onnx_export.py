"""Export of semantic codecs to the ONNX model-files contract (DESIGN.md, "Model files").

:func:`export_codec` writes ``<name>.encoder.onnx``, ``<name>.decoder.onnx`` and ``<name>.card.json``
for a :class:`semcomm.nn.masked_vqvae.MaskedVQVAE`; it is built on the generic
:func:`export_onnx_pair` (any encoder/decoder modules, any contract ports, e.g. the analog JSCC
baselines' ``symbols [N, S, 2]``) and :func:`export_encoder_decoder`, which the JSCC exporter reuses; the
steps every exporter shares are in :mod:`semcomm.export.graphs` (tracing, files) and
:mod:`semcomm.export.cards` (cards). :func:`check_parity` compares the exported files with the PyTorch model.

Model id (``semcomm.model_id``, the same in both files and in the card): :mod:`semcomm.export.model_id`;
for :func:`export_codec`, :func:`~semcomm.export.model_id.codec_model_id` of the model.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .cards import check_export_arguments, check_model_name, write_card
from .contract import (KEY_ALPHABET, KEY_CLASSES, KEY_DATASET, KEY_IMAGE_SHAPE, KEY_MODEL_ID, KEY_NUM_TOKENS,
                       KEY_SCHEME, KEY_TASK, KEY_USES_SNR, TASK_OUTPUT, TASKS, codec_paths, parse_metadata)
from .graphs import OPSET, DecoderGraph, MethodGraph, as_numpy, export_graph, graph_interface, write_graph
from .model_id import codec_model_id, state_fingerprint
from .runtime import CPU, SemanticCodec


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
    parse_metadata(meta, "metadata")  # same validation as the loader
    if model_id is None:
        del meta[KEY_MODEL_ID]
    return meta


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
    check_model_name(name)
    if opset < 17:
        raise ValueError(f"the contract needs ONNX opset >= 17, got {opset}")
    if model_id is None:
        state = {f"encoder.{k}": v for k, v in encoder.state_dict().items()}
        state.update({f"decoder.{k}": v for k, v in decoder.state_dict().items()})
        config = dict(fingerprint_config if fingerprint_config is not None else metadata)
        config.pop(KEY_MODEL_ID, None)
        model_id = state_fingerprint(state, config)
    meta = dict(metadata, **{KEY_MODEL_ID: model_id})
    parse_metadata(meta, name)
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
            model, _ = export_graph(module, inputs, outputs, opset)
            doc = (f"semcomm {role} of '{name}' ({meta[KEY_SCHEME]}, {meta[KEY_TASK]}, dataset {meta[KEY_DATASET]}); "
                   f"ports and semcomm.* metadata follow the semcomm model-files contract. {description}").strip()
            write_graph(model, meta, f"{name}.{role}", doc, paths[role])
            interface[role] = graph_interface(model)
    finally:
        encoder.train(modes[0])
        decoder.train(modes[1])
    return {"encoder": paths["encoder"], "decoder": paths["decoder"], "model_id": model_id, "interface": interface}


def export_encoder_decoder(model: nn.Module, *, token_port: str, metadata: dict, out_dir, name: str, scheme: str,
                           dataset: str, classes, card_extra, opset: int, example_batch: int, verify: bool,
                           description: str) -> dict:
    """Export a model's ``encode`` and ``decode`` as a file pair whose decoder takes ``token_port`` (+ ``snr_db``
    when the model uses it), traced on ``example_batch`` random images (seed 0); write the card and
    (``verify``) load the result with the runtime. Shared by the codec and JSCC exporters."""
    cfg = model.config
    model_id = codec_model_id(model)
    device = next(model.parameters()).device
    images = torch.rand(example_batch, *cfg.image_shape, generator=torch.Generator().manual_seed(0)).to(device)
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            decoder_inputs = {token_port: model.encode(images)}
    finally:
        model.train(training)
    if cfg.uses_snr:
        decoder_inputs["snr_db"] = torch.zeros(len(images), device=images.device)
    result = export_onnx_pair(MethodGraph(model, "encode"), DecoderGraph(model), encoder_inputs={"image": images},
                              encoder_outputs=[token_port], decoder_inputs=decoder_inputs,
                              decoder_outputs=[TASK_OUTPUT[cfg.task]], metadata=metadata, out_dir=out_dir,
                              name=name, model_id=model_id, opset=opset, description=description)
    paths = codec_paths(Path(out_dir) / name)
    write_card(paths["card"], name=name, scheme=scheme, task=cfg.task, model_id=model_id, dataset=dataset,
               classes=classes, config=cfg.to_dict(), metadata={**metadata, KEY_MODEL_ID: model_id},
               files={"encoder": result["encoder"], "decoder": result["decoder"]}, interface=result["interface"],
               card_extra=card_extra, opset=opset)
    if verify:
        SemanticCodec.from_prefix(Path(out_dir) / name, providers=[CPU], card=True)
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
    return export_encoder_decoder(model, token_port="indices", metadata=metadata, out_dir=out_dir, name=name,
                                  scheme=scheme, dataset=dataset, classes=classes, card_extra=card_extra, opset=opset,
                                  example_batch=example_batch, verify=verify, description=_codec_description(cfg))


def _codec_description(cfg) -> str:
    groups = f" x G={cfg.code_groups} indices" if cfg.code_groups > 1 else ""
    return f"Masked VQ-VAE, T={cfg.num_kept}{groups}, J={cfg.codebook_size}."


# --------------------------------------------------------------------------------------------- parity
def parity_inputs(paths, images, snr_db, providers=None):
    """``(runtime codec, float32 images, snr_db [N])`` for a parity check; ``paths`` is the exporter's
    dict or a ``<dir>/<name>`` prefix; CPU unless ``providers`` says otherwise."""
    if isinstance(paths, (str, os.PathLike)):
        paths = codec_paths(paths)
    codec = SemanticCodec(paths["encoder"], paths["decoder"], providers=providers or [CPU])
    images = as_numpy(images, np.float32)
    snr = np.broadcast_to(as_numpy(snr_db, np.float32), (images.shape[0],)).copy()
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


__all__ = ["build_metadata", "check_parity", "export_codec", "export_encoder_decoder", "export_onnx_pair",
           "masking_state", "parity_inputs"]
