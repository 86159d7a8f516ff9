"""ONNX export of semantic codecs and the ONNX Runtime wrapper (the model-files contract of DESIGN.md).

``semcomm.export.runtime`` needs only numpy + onnxruntime; ``semcomm.export.onnx_export`` (masked
VQ-VAE codecs, the generic pair export), ``semcomm.export.jscc_export`` (analog JSCC baselines) and
``semcomm.export.classifier_export`` (the JPEG baselines' classifier) need torch and onnx;
``semcomm.export.family`` picks one of these by the model's class. Names are
imported lazily, so ``from semcomm.export import SemanticCodec`` works on a machine without torch.
"""
from __future__ import annotations

import importlib

_RUNTIME = ("ModelContractError", "ModelInfo", "OnnxDecoder", "OnnxEncoder", "OnnxImageClassifier", "SemanticCodec",
            "METADATA_KEYS", "REQUIRED_KEYS", "check_card", "codec_paths", "default_providers", "load_card",
            "parse_metadata", "sha256_file")
_EXPORT = ("OPSET", "build_metadata", "check_parity", "codec_model_id", "export_codec", "export_onnx_pair",
           "state_fingerprint", "write_card")
_JSCC = ("check_jscc_parity", "export_jscc")
_CLASSIFIER = ("check_classifier_parity", "export_jpeg_classifier")
_FAMILY = ("check_model_parity", "export_model")

__all__ = list(_RUNTIME + _EXPORT + _JSCC + _CLASSIFIER + _FAMILY)


def __getattr__(name: str):
    if name in _RUNTIME:
        return getattr(importlib.import_module(".runtime", __name__), name)
    if name in _EXPORT:
        return getattr(importlib.import_module(".onnx_export", __name__), name)
    if name in _JSCC:
        return getattr(importlib.import_module(".jscc_export", __name__), name)
    if name in _CLASSIFIER:
        return getattr(importlib.import_module(".classifier_export", __name__), name)
    if name in _FAMILY:
        return getattr(importlib.import_module(".family", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
