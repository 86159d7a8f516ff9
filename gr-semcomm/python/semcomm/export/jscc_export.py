"""ONNX export of the analog JSCC baselines (:class:`semcomm.nn.jscc.ViTJSCC`) per the model-files contract.

Ports: encoder ``image`` float32 ``[N, C, H, W]`` -> ``symbols`` float32 ``[N, S, 2]`` (I/Q, unit
average power per image, no channel noise); decoder ``symbols`` (the received, for Rayleigh the
equalised, symbols) + ``snr_db`` float32 ``[N]`` when the model has its SNR embedding -> ``logits``
``[N, K]`` (or ``image``). Metadata: ``semcomm.alphabet = "analog"``, ``semcomm.num_tokens = S``,
``semcomm.scheme`` ``jscc_at`` / ``jscc``. The channel itself is not part of either file: the
transmitter sends the symbols, the radio / channel emulator adds the noise.

Model id: :func:`semcomm.export.model_id.codec_model_id` (``JSCCConfig.to_dict()`` + state dict).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch import nn

from .cards import check_export_arguments
from .contract import ANALOG_ALPHABET
from .graphs import OPSET
from .onnx_export import build_metadata, export_encoder_decoder, parity_inputs


def export_jscc(model: nn.Module, out_dir, name: str, *, dataset: str, scheme: str, classes=None,
                card_extra: Mapping | None = None, opset: int = OPSET, example_batch: int = 2,
                verify: bool = True) -> dict:
    """Export a :class:`~semcomm.nn.jscc.ViTJSCC` to ``out_dir/<name>.{encoder,decoder}.onnx`` and
    ``<name>.card.json`` (arguments as :func:`semcomm.export.onnx_export.export_codec`).
    Returns ``{"encoder", "decoder", "card", "model_id"}``."""
    cfg = model.config
    check_export_arguments(cfg, name, classes, card_extra, example_batch)
    metadata = build_metadata(task=cfg.task, image_shape=cfg.image_shape, num_tokens=cfg.symbols,
                              alphabet=ANALOG_ALPHABET, classes=classes if cfg.task == "classification" else None,
                              uses_snr=cfg.uses_snr, dataset=dataset, scheme=scheme)
    return export_encoder_decoder(model, token_port="symbols", metadata=metadata, out_dir=out_dir, name=name,
                                  scheme=scheme, dataset=dataset, classes=classes, card_extra=card_extra, opset=opset,
                                  example_batch=example_batch, verify=verify,
                                  description=f"Analog ViT deep JSCC, S={cfg.symbols} complex symbols per image.")


def check_jscc_parity(model: nn.Module, paths, images, snr_db=0.0, *, symbols_atol: float = 1e-4,
                      atol: float = 1e-4, providers=None, seed: int = 0) -> dict:
    """Compare the exported JSCC files with the PyTorch ``model`` on ``images`` ``[N, C, H, W]``.

    Encoder: max abs difference of the symbols. Decoder: max abs output difference on the clean
    symbols and on the symbols after the model's channel at ``snr_db`` (noise from a generator
    seeded with ``seed``). ``ok`` when the symbol difference is below ``symbols_atol`` and both
    decoder differences below ``atol``. The symbols are normalised to unit average power over ``S``
    values, so float32 rounding in that sum leaves ~1e-5 differences on trained weights (1.9e-5 measured on
    the shipped ``jscc``, peaks of a few units): the default tolerance is that of the decoder outputs."""
    codec, images, snr = parity_inputs(paths, images, snr_db, providers)
    batch = images.shape[0]
    device = next(model.parameters()).device
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            snr_t = torch.from_numpy(snr).to(device)
            symbols = model.encode(torch.from_numpy(images).to(device))
            received = model.channel(symbols, snr_t, torch.Generator(device=device).manual_seed(seed))
            torch_out = model.decode(symbols, snr_t).cpu().numpy()
            torch_noisy = model.decode(received, snr_t).cpu().numpy()
    finally:
        model.train(training)
    symbols, received = symbols.cpu().numpy(), received.cpu().numpy()
    onnx_symbols = codec.encode(images)
    onnx_out, _ = codec.decode(symbols, snr)
    onnx_noisy, _ = codec.decode(received, snr)

    def max_diff(a, b):
        return float(np.abs(a - b).max()) if batch else 0.0

    symbols_diff = max_diff(onnx_symbols, symbols) if onnx_symbols.shape == symbols.shape else float("inf")
    diff, diff_noisy = max_diff(onnx_out, torch_out), max_diff(onnx_noisy, torch_noisy)
    return {"batch": batch, "model_id": codec.model_id, "providers": codec.providers,
            "symbols_max_abs_diff": symbols_diff, "symbols_atol": symbols_atol,
            "output": codec.decoder.output_name, "decoder_max_abs_diff": diff,
            "decoder_noisy_max_abs_diff": diff_noisy, "atol": atol,
            "ok": symbols_diff < symbols_atol and diff < atol and diff_noisy < atol}


__all__ = ["check_jscc_parity", "export_jscc"]
