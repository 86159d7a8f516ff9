"""What the ONNX exporters share (:mod:`~semcomm.export.onnx_export` for the masked VQ-VAE codecs,
:mod:`~semcomm.export.jscc_export`, :mod:`~semcomm.export.classifier_export`): the modules that present one
method of a model as a graph to trace (:class:`MethodGraph`, :class:`DecoderGraph`) and the steps from a
traced graph to a contract file (:func:`export_graph`, :func:`write_graph`, :func:`graph_interface`).

Exporter: the TorchScript-based ``torch.onnx.export(..., dynamo=False)`` at opset 17, with
``training=PRESERVE``: a BatchNorm (the resnet encoder stem) stays a ``BatchNormalization`` node with its
own scale, bias, mean and variance instead of being folded into the convolution before it, so that
:mod:`semcomm.export.recover` finds every weight (ONNX Runtime fuses the two when it loads the graph). It yields
bit-identical encoder indices and decoder outputs within ~1e-6 of PyTorch, names ports exactly as
asked, and writes byte-identical files on a re-export of the same weights (so card sha256 values are
reproducible). Files are self-contained (initializers inside the protobuf, no external data).
"""
from __future__ import annotations

import io
import platform
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import onnx
import torch
from torch import nn

from ..util import package_version, write_atomic

OPSET = 17
EXPORTER = "torch.onnx.export (TorchScript, dynamo=False)"
BATCH_AXIS = "N"


# ------------------------------------------------------------------------------------- graph modules
class MethodGraph(nn.Module):
    """``model.<method>(*inputs)`` as a module to trace: an encoder (``encode``), a JPEG baseline's
    classifier (``logits``)."""

    def __init__(self, model: nn.Module, method: str):
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.method)(*inputs)


class DecoderGraph(nn.Module):
    """``model.decode(tokens, snr_db)`` as a module to trace. Traced without ``snr_db`` (a model that does not
    use the SNR), it decodes at 0 dB, a value the model ignores: the graph has no ``snr_db`` input."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, tokens: torch.Tensor, snr_db: torch.Tensor | None = None) -> torch.Tensor:
        if snr_db is None:
            snr_db = torch.zeros(tokens.shape[0], dtype=torch.float32, device=tokens.device)
        return self.model.decode(tokens, snr_db)


# ------------------------------------------------------------------------------------- graph to file
def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def export_graph(module: nn.Module, inputs: Mapping[str, torch.Tensor], outputs: Sequence[str],
                 opset: int) -> tuple[onnx.ModelProto, list[torch.Tensor]]:
    """Trace ``module`` on the example ``inputs`` (port name -> tensor, in argument order) into an ONNX graph
    whose ports are named ``inputs`` / ``outputs``, with a dynamic batch axis and every other axis fixed to
    its example size; returns the graph and the example outputs."""
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


def write_graph(model: onnx.ModelProto, metadata: Mapping[str, str], graph_name: str, doc: str, path) -> None:
    """Stamp ``model`` with the ``semcomm.*`` ``metadata`` (sorted), producer, ``doc`` and ``graph_name``,
    check it (self-contained, valid ONNX) and write it to ``path`` atomically."""
    del model.metadata_props[:]
    for key in sorted(metadata):
        if not isinstance(metadata[key], str):
            raise TypeError(f"metadata {key} must be a string, got {type(metadata[key]).__name__}")
        model.metadata_props.add(key=key, value=metadata[key])
    model.producer_name = "semcomm"
    model.producer_version = package_version("semcomm")
    model.doc_string = doc
    model.graph.name = graph_name
    onnx.checker.check_model(model, full_check=True)
    if any(onnx.external_data_helper.uses_external_data(t) for t in model.graph.initializer):
        raise RuntimeError("exported model uses external data; the contract needs self-contained files")
    write_atomic(Path(path), model.SerializeToString())


def graph_interface(model: onnx.ModelProto) -> dict:
    """The card's ``interface`` entry of one file: ``inputs`` / ``outputs``, port name -> dtype and shape."""
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


# --------------------------------------------------------------------------------------------- helpers
def created_with() -> dict:
    """The card's ``created_with`` entry: the versions of what wrote the files."""
    return {"semcomm": package_version("semcomm"), "python": platform.python_version(), "torch": torch.__version__,
            "onnx": onnx.__version__, "onnxruntime": package_version("onnxruntime"), "numpy": np.__version__}


def as_numpy(x, dtype) -> np.ndarray:
    """A tensor or array-like as a numpy array of ``dtype`` (the parity checks' inputs)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)
