"""The model id (``semcomm.model_id``, the same in both ONNX files of an export and in its card): the hex
sha256 of the *model*, not of the ONNX bytes, so that it is stable across re-exports and exporter versions::

    sha256( b"semcomm.model_id/1\\n"
            + canonical JSON of the config (sorted keys, no spaces) + b"\\n"
            + for each state-dict entry in sorted name order:
                  u64le(len(h)) + h  with h = JSON [name, dtype, shape]   (e.g. ["codebook.vectors","float32",[256,32]])
                  u64le(len(b)) + b  with b = the tensor's raw little-endian bytes (C order) )

For a codec (:func:`codec_model_id`) the config is its ``config.to_dict()`` and the state dict is the model's
(parameters and persistent buffers, e.g. the inference keep positions, but not BatchNorm's training
counter ``num_batches_tracked``). Non-persistent buffers (position embeddings) are functions of the config.
Labels such as scheme or dataset are not part of the id: the same weights always get the same id.

Needs only torch (no onnx, no onnxruntime): training code fingerprints weights with it too.
"""
from __future__ import annotations

import hashlib
import json
import sys
from typing import Mapping

import torch
from torch import nn

MODEL_ID_VERSION = b"semcomm.model_id/1\n"


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
    """``semcomm.model_id`` of a codec (:class:`~semcomm.nn.masked_vqvae.MaskedVQVAE`, a JSCC baseline or a JPEG
    baseline's classifier): its config + state dict, without BatchNorm's ``num_batches_tracked`` (a training
    counter that no inference graph uses)."""
    state = {name: tensor for name, tensor in model.state_dict().items()
             if not name.endswith(".num_batches_tracked")}
    return state_fingerprint(state, model.config.to_dict())
