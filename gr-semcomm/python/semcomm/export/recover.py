"""PyTorch weights recovered from a shipped ONNX model (the inverse of the exporters), verified by model id.

White-box work (gradient attacks, other reserving ratios) needs the PyTorch model, but ``models/`` ships
only ONNX files and cards. :func:`recover_weights` rebuilds the weights from the ONNX initializers:

1. every floating-point state-dict tensor of a model built from the card's config is set to distinct
   random values (a *probe*), and the probe is exported with the same exporter as the shipped files;
2. each probe tensor is looked up among the probe's ONNX initializers, as itself or transposed (the
   exporter stores ``Linear`` weights as transposed ``MatMul`` constants): random values make the match
   unique, and the initializer's name is the position of that tensor in the graph;
3. the shipped file's initializer at the same place in the graph (same node, same input slot, through the
   ``Identity`` nodes by which the exporter merges equal initializers, e.g. the all-ones LayerNorm weights
   of an untrained model) with the same shape and dtype gives the trained tensor.

Integer buffers (e.g. the inference keep positions) and tensors the inference graphs do not use (e.g. the
training masking logits, zero for random masking) keep the values the config builds, except the masking
buffers the card records under ``masking_state`` (a noise-related keep set and its logits, exact values,
written by :func:`~semcomm.export.onnx_export.export_codec`), which are taken from the card. Boolean buffers are
training-state flags (the codebook's ``initialized``: its data-dependent initialisation ran), true in a
trained model and false in an untrained one: both settings are tried. The result is accepted only when
its model id (:func:`~semcomm.export.model_id.codec_model_id`, the sha256 over config + state dict)
equals the card's: the recovered state is then bit-identical to the
one that was exported, or recovery fails with the reason (an exporter version that names the graph's
constants differently, a tensor that was folded into another, weights that are not in the files).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from ..registry import export_model
from .contract import codec_paths
from .model_id import codec_model_id

ROLES = ("encoder", "decoder")


class RecoveryError(ValueError):
    """The ONNX files do not give back the card's weights (the message says why)."""


class _Graph:
    """An ONNX graph's initializers and where each is used (``(node name, input slot)``, the first use)."""

    def __init__(self, path):
        graph = onnx.load(str(path)).graph
        self.initializers = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
        self.inputs, self.use, self.alias = {}, {}, {}
        for node in graph.node:
            if node.op_type == "Identity":
                self.alias[node.output[0]] = node.input[0]
            for slot, name in enumerate(node.input):
                self.inputs[(node.name, slot)] = name
                self.use.setdefault(name, (node.name, slot))

    def value_at(self, use: tuple[str, int] | None) -> np.ndarray | None:
        """The initializer feeding ``use``. Exporters merge equal initializers (one kept, the others become
        ``Identity`` outputs of it), so names alone do not do."""
        name = self.inputs.get(use) if use else None
        while name in self.alias:
            name = self.alias[name]
        return self.initializers.get(name)


def _export(model: nn.Module, card: dict, out_dir: Path) -> dict:
    """Export ``model`` as the card's exporter did (same graph, so the same initializer names)."""
    return export_model(model, out_dir, "probe", dataset=card["dataset"], scheme=card["scheme"],
                        classes=card.get("classes"), verify=False)


def _probe(model: nn.Module, seed: int = 12345) -> None:
    """Give every floating-point state tensor distinct random values (in place)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator, dtype=tensor.dtype))


def _locate(tensor: np.ndarray, graphs: dict[str, _Graph]) -> tuple[str, str, bool] | None:
    """``(role, initializer name, transposed)`` of the first initializer equal to ``tensor`` or its transpose."""
    for role, graph in graphs.items():
        for name, value in graph.initializers.items():
            if value.dtype != tensor.dtype:
                continue
            if value.shape == tensor.shape and np.array_equal(value, tensor):
                return role, name, False
            if tensor.ndim == 2 and value.shape == tensor.shape[::-1] and np.array_equal(value, tensor.T):
                return role, name, True
    return None


def _match_flags(model: nn.Module, model_id: str) -> str:
    """Set the boolean buffers as built or all true, whichever gives ``model_id``; return the id found."""
    flags = [tensor for tensor in model.state_dict().values() if tensor.dtype == torch.bool]
    found = codec_model_id(model)
    if found != model_id and flags:
        built = [flag.clone() for flag in flags]
        for flag in flags:
            flag.fill_(True)
        found = codec_model_id(model)
        if found != model_id:
            for flag, value in zip(flags, built):
                flag.copy_(value)
    return found


def recover_weights(model: nn.Module, card: dict, prefix) -> nn.Module:
    """Load the weights of the shipped files ``<prefix>.{encoder,decoder}.onnx`` into ``model`` (built from
    ``card["config"]``) and return it in eval mode; :class:`RecoveryError` unless its model id equals
    ``card["model_id"]``."""
    shipped_paths = codec_paths(prefix)
    roles = [role for role in ROLES if Path(shipped_paths[role]).is_file()]
    if not roles:
        raise RecoveryError(f"no ONNX files at {prefix}.encoder.onnx / {prefix}.decoder.onnx")
    built = {key: tensor.clone() for key, tensor in model.state_dict().items()}
    _probe(model)
    with tempfile.TemporaryDirectory(prefix="semcomm-recover-") as tmp:
        probe_paths = _export(model, card, Path(tmp))
        probes = {role: _Graph(probe_paths[role]) for role in roles}
    shipped = {role: _Graph(shipped_paths[role]) for role in roles}
    state = model.state_dict()
    unmatched = []
    with torch.no_grad():
        for key, tensor in state.items():
            if not tensor.is_floating_point():
                continue
            found = _locate(tensor.numpy(), probes)
            if found is None:  # not used by the inference graphs
                unmatched.append(key)
                tensor.copy_(built[key])
                continue
            role, name, transposed = found
            value = shipped[role].value_at(probes[role].use.get(name))
            expected = probes[role].initializers[name]
            if value is None or value.shape != expected.shape or value.dtype != expected.dtype:
                raise RecoveryError(f"{shipped_paths[role]}: no initializer where this exporter puts {key} "
                                    f"({name!r}, {expected.dtype} {list(expected.shape)}): exported by another "
                                    f"version or another architecture?")
            tensor.copy_(torch.from_numpy(np.array(value.T if transposed else value)))
    recorded = card.get("masking_state") or {}
    with torch.no_grad():
        for key, value in recorded.items():
            if key not in state:
                raise RecoveryError(f"{prefix}: the card's masking_state names {key!r}, which the model has not")
            state[key].copy_(torch.tensor(value, dtype=state[key].dtype))
    unmatched = [key for key in unmatched if key not in recorded]  # those came from the card
    model_id = _match_flags(model, card["model_id"])
    if model_id != card["model_id"]:
        kept = f" ({', '.join(unmatched)} kept as built: not in the files)" if unmatched else ""
        raise RecoveryError(f"{prefix}: the weights read from the ONNX files give model id {model_id[:16]}..., "
                            f"the card says {card['model_id'][:16]}...{kept}")
    return model.eval()
