"""The scheme registry: every ``scheme`` the project trains, exports and evaluates, mapped to its family and
to what that family is built with (as CompressAI's model registry maps a name to its model).

A scheme (a training config's ``scheme``, a model card's ``semcomm.scheme``) belongs to one family:

* ``digital``: codecs whose indices cross the digital PHY (the masked VQ-VAE);
* ``analog``: deep JSCC, whose I/Q symbols cross a channel inside the model;
* ``jpeg``: the JPEG + LDPC baselines' image classifier (JPEG frames cross the PHY, it classifies what
  arrives);
* ``surrogate``: the ResNet that crafts black-box (transfer) semantic noise, never deployed on a link.

A family names its config dataclass (whose ``SCHEMA`` is the training config's ``model`` section), its
PyTorch model, its exporter and parity check (:mod:`semcomm.export`) and its accuracy evaluator
(:mod:`semcomm.eval`), each as ``"module:attribute"`` under this package, imported when first asked for:
this module itself imports without torch. Whatever depends on the family asks here: the training config's
schema (:func:`model_schema_rules`), model building (:func:`build_model`), export (:func:`export_model`,
:func:`check_model_parity`) and evaluation (:func:`family_of` a model, by the class of its ``config``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass


def _load(reference: str):
    """The attribute a ``"module:attribute"`` reference (module relative to this package) names."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), attribute)


#: the seven schemes of Hu et al. Sec. V, in the paper's order (card names of the zoo)
PAPER_SCHEMES = ("masked_vqvae_fim_at", "masked_vqvae_at", "masked_vqvae", "jscc_at", "jscc", "jpeg_ldpc_at",
                 "jpeg_ldpc")


@dataclass(frozen=True)
class Family:
    name: str
    schemes: tuple[str, ...]
    config: str          #: the model's config dataclass; its ``SCHEMA`` validates a training config's ``model``
    model: str           #: the PyTorch model, built from one config
    exporter: str        #: writes the model's files and card: ``(model, out_dir, name, **kwargs) -> paths``
    parity: str          #: checks the written files against the model: ``(model, paths, images[, snr_db])``
    parity_summary: str  #: the parity check's figures in one line: a format string of its result's keys
    evaluator: str       #: accuracy on a dataset, the arguments of :func:`semcomm.eval.accuracy.accuracy`
    image_input: bool = False          #: the model classifies (received) images: no codec, no SNR input
    #: the model config's field a training config's ``channel`` section sets, as the channel's name
    #: (:func:`semcomm.config.link.channel_name`: ``awgn`` for ``fading: none``)
    channel_field: str | None = None

    def config_class(self) -> type:
        return _load(self.config)

    def build(self, fields: dict):
        """The untrained PyTorch model of the config ``fields``."""
        return _load(self.model)(self.config_class()(**fields))

    def evaluator_function(self):
        return _load(self.evaluator)

    def describes(self, config) -> bool:
        """Whether ``config`` (a model's config dataclass) is this family's."""
        return f"{type(config).__module__}:{type(config).__qualname__}" == f"{__package__}.{self.config}"


FAMILIES = (
    Family("digital", ("masked_vqvae_fim_at", "masked_vqvae_at", "masked_vqvae"),
           config="nn.masked_vqvae:CodecConfig", model="nn.masked_vqvae:MaskedVQVAE",
           exporter="export.onnx_export:export_codec", parity="export.onnx_export:check_parity",
           parity_summary="indices identical {indices_identical}, decoder max abs diff {decoder_max_abs_diff:.2e}",
           evaluator="eval.accuracy:codec_accuracy"),
    Family("analog", ("jscc_at", "jscc"),
           config="nn.jscc:JSCCConfig", model="nn.jscc:ViTJSCC",
           exporter="export.jscc_export:export_jscc", parity="export.jscc_export:check_jscc_parity",
           parity_summary="symbols max abs diff {symbols_max_abs_diff:.2e}, decoder max abs diff "
                          "{decoder_max_abs_diff:.2e}",
           evaluator="eval.accuracy:codec_accuracy", channel_field="channel"),
    Family("jpeg", ("jpeg_ldpc_at", "jpeg_ldpc"),
           config="nn.classifier:ClassifierConfig", model="nn.classifier:ViTClassifier",
           exporter="export.classifier_export:export_jpeg_classifier",
           parity="export.classifier_export:check_classifier_parity",
           parity_summary="logits max abs diff {decoder_max_abs_diff:.2e}",
           evaluator="eval.jpeg:jpeg_accuracy", image_input=True),
    Family("surrogate", ("resnet_surrogate",),
           config="nn.resnet:ResNetConfig", model="nn.resnet:ResNetClassifier",
           exporter="export.surrogate:export_surrogate", parity="export.surrogate:check_surrogate_parity",
           parity_summary="logits of the written weights max abs diff {decoder_max_abs_diff:.2e}",
           evaluator="eval.jpeg:jpeg_accuracy", image_input=True),
)
_BY_SCHEME = {scheme: kind for kind in FAMILIES for scheme in kind.schemes}


def scheme_names() -> tuple[str, ...]:
    """Every registered scheme, family by family."""
    return tuple(_BY_SCHEME)


def schemes_of(family_name: str) -> tuple[str, ...]:
    """The schemes of the family named ``family_name``."""
    return next(kind.schemes for kind in FAMILIES if kind.name == family_name)


def family(scheme: str) -> Family:
    """The family of ``scheme``; ValueError naming the registered schemes for any other."""
    try:
        return _BY_SCHEME[scheme]
    except KeyError:
        raise ValueError(f"unknown scheme {scheme!r}; registered: {', '.join(_BY_SCHEME)}") from None


def family_of(model) -> Family:
    """The family of a model (PyTorch, an ONNX adaptor or a view of one) by the class of its ``config``."""
    for kind in FAMILIES:
        if kind.describes(model.config):
            return kind
    raise ValueError(f"no registered family has the config class {type(model.config).__name__}")


def build_model(scheme: str, fields: dict):
    """The untrained PyTorch model of ``scheme`` from its config dataclass's ``fields``."""
    return family(scheme).build(fields)


def model_schema_rules() -> list[dict]:
    """The training config schema's ``allOf``: each family's schemes validate ``model`` with its config's
    ``SCHEMA`` (imports the models' modules, hence torch)."""
    return [{"if": {"properties": {"scheme": {"enum": list(kind.schemes)}}, "required": ["scheme"]},
             "then": {"properties": {"model": kind.config_class().SCHEMA}}} for kind in FAMILIES]


def export_model(model, out_dir, name: str, **kwargs) -> dict:
    """Export ``model`` with its family's exporter (keyword arguments as for that exporter: ``dataset``,
    ``scheme``, ``classes``, ``card_extra``, ``verify``...). Returns the exporter's paths dict. ``semcomm export``
    and the weight recovery (:mod:`semcomm.export.recover`) both export here, so a recovered model is probed
    with the very exporter that wrote the shipped files."""
    return _load(family_of(model).exporter)(model, out_dir, name, **kwargs)


def check_model_parity(model, paths, images, snr_db: float = 12.0) -> tuple[dict, str]:
    """``(parity, summary)``: the family's parity check of the exported files against ``model`` on ``images``
    ``[N, C, H, W]`` (a codec's decoder at ``snr_db``), and one line saying what it compared."""
    kind = family_of(model)
    snr = {} if kind.image_input else {"snr_db": snr_db}
    parity = _load(kind.parity)(model, paths, images, **snr)
    return parity, kind.parity_summary.format(**parity)
