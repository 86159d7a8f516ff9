"""One export entry point for the model families, picked by the flags the models carry (as
:mod:`semcomm.eval.accuracy` does):

* ``surrogate`` (:class:`~semcomm.nn.resnet.ResNetClassifier`, the black-box attack surrogate): a PyTorch
  state dict + card in ``surrogates/`` (:func:`~semcomm.export.surrogate.export_surrogate`);
* ``image_input`` (:class:`~semcomm.nn.classifier.ViTClassifier`, JPEG baselines): only
  ``<name>.decoder.onnx`` + card (:func:`~semcomm.export.classifier_export.export_jpeg_classifier`);
* ``analog`` (:class:`~semcomm.nn.jscc.ViTJSCC`): ``symbols`` ports (:func:`~semcomm.export.jscc_export.export_jscc`);
* any other codec (masked VQ-VAE): ``indices`` ports (:func:`~semcomm.export.onnx_export.export_codec`).

``semcomm export`` and the weight recovery of :mod:`semcomm.export.recover` both go through
:func:`export_model`, so a recovered model is probed with the very exporter that wrote the shipped files.
"""
from __future__ import annotations

from torch import nn


def _family(model: nn.Module) -> str:
    if getattr(model, "surrogate", False):
        return "surrogate"
    if getattr(model, "image_input", False):
        return "jpeg"
    return "analog" if getattr(model, "analog", False) else "digital"


def export_model(model: nn.Module, out_dir, name: str, **kwargs) -> dict:
    """Export ``model`` with its family's exporter (keyword arguments as for that exporter: ``dataset``,
    ``scheme``, ``classes``, ``card_extra``, ``verify``...). Returns the exporter's paths dict."""
    family = _family(model)
    if family == "surrogate":
        from .surrogate import export_surrogate
        return export_surrogate(model, out_dir, name, **kwargs)
    if family == "jpeg":
        from .classifier_export import export_jpeg_classifier
        return export_jpeg_classifier(model, out_dir, name, **kwargs)
    if family == "analog":
        from .jscc_export import export_jscc
        return export_jscc(model, out_dir, name, **kwargs)
    from .onnx_export import export_codec
    return export_codec(model, out_dir, name, **kwargs)


def check_model_parity(model: nn.Module, paths, images, snr_db: float = 12.0) -> tuple[dict, str]:
    """``(parity, summary)``: the family's parity check of the exported files against ``model`` on ``images``
    ``[N, C, H, W]`` (the decoders at ``snr_db``), and one line saying what it compared."""
    family = _family(model)
    if family == "surrogate":
        from .surrogate import check_surrogate_parity
        parity = check_surrogate_parity(model, paths, images)
        return parity, f"logits of the written weights max abs diff {parity['decoder_max_abs_diff']:.2e}"
    if family == "jpeg":
        from .classifier_export import check_classifier_parity
        parity = check_classifier_parity(model, paths, images)
        return parity, f"logits max abs diff {parity['decoder_max_abs_diff']:.2e}"
    if family == "analog":
        from .jscc_export import check_jscc_parity
        parity = check_jscc_parity(model, paths, images, snr_db=snr_db)
        summary = f"symbols max abs diff {parity['symbols_max_abs_diff']:.2e}"
    else:
        from .onnx_export import check_parity
        parity = check_parity(model, paths, images, snr_db=snr_db)
        summary = f"indices identical {parity['indices_identical']}"
    return parity, f"{summary}, decoder max abs diff {parity['decoder_max_abs_diff']:.2e}"


__all__ = ["check_model_parity", "export_model"]
