"""ONNX export of the JPEG baselines' receiver classifier (:class:`semcomm.nn.classifier.ViTClassifier`).

JPEG + LDPC has no neural encoder (JPEG is the encoder), so an export is ``<name>.decoder.onnx`` plus
``<name>.card.json`` only:

* decoder input ``image`` float32 ``[N, C, H, W]`` in ``[0, 1]`` (the decoded JPEG), output ``logits``
  float32 ``[N, K]``, dynamic batch axis ``N``; loaded by :class:`semcomm.export.runtime.OnnxImageClassifier`;
* metadata (proposed contract extension for the JPEG schemes): ``semcomm.task`` ``classification``,
  ``semcomm.alphabet`` ``jpeg``, ``semcomm.num_tokens`` ``C * H * W`` (the values the decoder receives),
  ``semcomm.uses_snr`` ``0``, ``semcomm.scheme`` ``jpeg_ldpc`` or ``jpeg_ldpc_at``, and the usual
  ``image_shape``, ``classes``, ``model_id``, ``dataset``;
* the card's ``jpeg`` entry holds the transmitter's JPEG settings
  (:class:`semcomm.baselines.jpeg.JpegSettings`) that its metrics refer to.

Model id: :func:`semcomm.export.model_id.codec_model_id` (``ClassifierConfig.to_dict()`` + state dict).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from torch import nn

from ..baselines.jpeg import JpegSettings
from ..registry import schemes_of
from .cards import check_export_arguments, write_card
from .contract import ENCODER_INPUT, JPEG_ALPHABET, KEY_MODEL_ID, codec_paths
from .graphs import OPSET, MethodGraph, as_numpy, export_graph, graph_interface, write_graph
from .model_id import codec_model_id
from .onnx_export import build_metadata
from .runtime import CPU, OnnxImageClassifier


def export_jpeg_classifier(model: nn.Module, out_dir, name: str, *, dataset: str, scheme: str, classes,
                           jpeg: JpegSettings = JpegSettings(), card_extra: Mapping | None = None,
                           opset: int = OPSET, example_batch: int = 2, verify: bool = True) -> dict:
    """Write ``out_dir/<name>.decoder.onnx`` and ``<name>.card.json`` for a ViT classifier of a JPEG scheme.

    ``card_extra`` as for :func:`~semcomm.export.onnx_export.export_codec` (``metrics``, ``reproduce``, ...);
    ``jpeg`` goes to the card's ``jpeg`` entry. ``verify`` loads the result with
    :class:`OnnxImageClassifier` (contract and card checks). Returns ``{"decoder", "card", "model_id"}``."""
    cfg = model.config
    if scheme not in schemes_of("jpeg"):
        raise ValueError(f"scheme must be one of {', '.join(schemes_of('jpeg'))} for a JPEG classifier, got {scheme!r}")
    check_export_arguments(cfg, name, classes, card_extra, example_batch)
    metadata = build_metadata(task="classification", image_shape=cfg.image_shape,
                              num_tokens=math.prod(cfg.image_shape), alphabet=JPEG_ALPHABET, classes=classes,
                              uses_snr=False, dataset=dataset, scheme=scheme)
    model_id = codec_model_id(model)
    metadata[KEY_MODEL_ID] = model_id
    device = next(model.parameters()).device
    images = torch.rand(example_batch, *cfg.image_shape, generator=torch.Generator().manual_seed(0)).to(device)
    paths = codec_paths(Path(out_dir) / name)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    training = model.training
    model.eval()
    try:
        graph, _ = export_graph(MethodGraph(model, "logits"), {ENCODER_INPUT: images}, ["logits"], opset)
    finally:
        model.train(training)
    doc = (f"semcomm decoder of '{name}' ({scheme}, classification, dataset {dataset}): the receiver's ViT classifier "
           f"of a JPEG + LDPC scheme, input the decoded image.")
    write_graph(graph, metadata, f"{name}.decoder", doc, paths["decoder"])
    extra = {"jpeg": jpeg.to_dict(), **dict(card_extra or {})}
    write_card(paths["card"], name=name, scheme=scheme, task="classification", model_id=model_id, dataset=dataset,
               classes=classes, config=cfg.to_dict(), metadata=metadata, files={"decoder": paths["decoder"]},
               interface={"decoder": graph_interface(graph)}, card_extra=extra, opset=opset)
    if verify:
        OnnxImageClassifier.from_prefix(Path(out_dir) / name, providers=[CPU], card=True)
    return {"decoder": paths["decoder"], "card": paths["card"], "model_id": model_id}


def check_classifier_parity(model: nn.Module, paths, images, *, atol: float = 1e-4, providers=None) -> dict:
    """Max abs difference of the exported classifier's logits and PyTorch's on ``images`` ``[N, C, H, W]``.

    ``paths``: the dict of :func:`export_jpeg_classifier` or a ``<dir>/<name>`` prefix; CPU unless
    ``providers`` says otherwise. ``ok`` when the difference is below ``atol``."""
    decoder = paths["decoder"] if isinstance(paths, Mapping) else codec_paths(paths)["decoder"]
    classifier = OnnxImageClassifier(decoder, providers=providers or [CPU])
    images = as_numpy(images, np.float32)
    device = next(model.parameters()).device
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            torch_logits = model.logits(torch.from_numpy(images).to(device)).cpu().numpy()
    finally:
        model.train(training)
    diff = float(np.abs(classifier.classify(images) - torch_logits).max()) if len(images) else 0.0
    return {"batch": len(images), "model_id": classifier.model_id, "providers": classifier.providers,
            "output": "logits", "decoder_max_abs_diff": diff, "atol": atol, "ok": diff < atol}


__all__ = ["check_classifier_parity", "export_jpeg_classifier"]
