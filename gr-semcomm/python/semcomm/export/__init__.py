"""ONNX export of semantic codecs and the ONNX Runtime wrapper (the model-files contract of DESIGN.md).

``semcomm.export.contract`` (metadata keys, ports, cards, paths) needs only numpy;
``semcomm.export.runtime`` (the sessions) numpy + onnxruntime; ``semcomm.export.model_id`` torch;
``semcomm.export.onnx_export`` (masked VQ-VAE codecs, the generic pair export),
``semcomm.export.jscc_export`` (analog JSCC baselines) and ``semcomm.export.classifier_export`` (the JPEG
baselines' classifier) need torch and onnx, and share ``semcomm.export.graphs`` and ``semcomm.export.cards``;
``semcomm.registry`` picks one of these by the model's family. Names are imported lazily, so
``from semcomm.export import SemanticCodec`` works on a machine without torch.
"""
from __future__ import annotations

import importlib

_CONTRACT = ("ModelContractError", "ModelInfo", "METADATA_KEYS", "REQUIRED_KEYS", "check_card_files",
             "check_card_model_id", "codec_paths", "link_model_info", "load_card", "parse_metadata", "sha256_file")
_RUNTIME = ("OnnxDecoder", "OnnxEncoder", "OnnxImageClassifier", "SemanticCodec", "default_providers")
_MODEL_ID = ("codec_model_id", "state_fingerprint")
_GRAPHS = ("OPSET",)
_CARDS = ("write_card",)
_EXPORT = ("build_metadata", "check_parity", "export_codec", "export_onnx_pair")
_JSCC = ("check_jscc_parity", "export_jscc")
_CLASSIFIER = ("check_classifier_parity", "export_jpeg_classifier")

_MODULES = {".contract": _CONTRACT, ".runtime": _RUNTIME, ".model_id": _MODEL_ID, ".graphs": _GRAPHS,
            ".cards": _CARDS, ".onnx_export": _EXPORT, ".jscc_export": _JSCC, ".classifier_export": _CLASSIFIER}

__all__ = [name for names in _MODULES.values() for name in names]


def __getattr__(name: str):
    for module, names in _MODULES.items():
        if name in names:
            return getattr(importlib.import_module(module, __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
