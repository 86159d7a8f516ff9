"""Training configuration: YAML files validated by a JSON schema, read through :mod:`semcomm.config`.

A config has the sections ``data``, ``model`` (the :class:`semcomm.nn.masked_vqvae.CodecConfig` fields, for
``scheme: jscc_at | jscc`` the :class:`semcomm.nn.jscc.JSCCConfig` fields, for ``scheme: jpeg_ldpc_at |
jpeg_ldpc`` the :class:`semcomm.nn.classifier.ClassifierConfig` fields, for the black-box attack surrogate
``scheme: resnet_surrogate`` the :class:`semcomm.nn.resnet.ResNetConfig` fields), ``link`` (the digital chain
seen in training: modulation, code, the Es/N0 range ``snr_db``; for JSCC only ``snr_db`` is used), ``channel``
(its fading model, spelled as in the testbed configs, :mod:`semcomm.config.link`; the analog JSCC simulates
``none`` or ``rayleigh`` inside the model), ``train`` and ``adversarial``;
``models/configs/masked_vqvae_fim_at.yaml`` is a complete example.
Unknown keys are errors, not silently ignored; every invalid field is reported as a
:class:`semcomm.config.ConfigError` with its path, value and what is allowed.

A config may start from another (``extends: <name>``, found as :mod:`semcomm.config` describes); only the
resolved config is validated and used (run, metrics, model card). ``--set section.field=value`` overrides
(:func:`load`'s ``overrides``) apply to the resolved config before validation.
"""
from __future__ import annotations

import copy

from .. import config as configs
from ..config.files import merged
from ..config.link import CHANNEL, CHANNEL_DEFAULTS, ES_N0_DB, LINK, code_problems
from ..config.schema import NAME_PATTERN, schema_problems, section
from ..registry import model_schema_rules, scheme_names

_POS_INT = {"type": "integer", "minimum": 1}

SCHEMA = section({
    "name": {"type": "string", "pattern": NAME_PATTERN},
    "scheme": {"type": "string", "enum": list(scheme_names())},
    "seed": {"type": "integer", "minimum": 0},
    "data": section({
        "dataset": {"type": "string"},
        "root": {"type": ["string", "null"]},
        # the last N training images, held out of training for model and recipe selection (default null:
        # the last twelfth, 5 000 of Fashion-MNIST's 60 000)
        "validation_images": {"type": ["integer", "null"], "minimum": 0},
        "train_subset": {"type": ["integer", "null"], "minimum": 1},
        "eval_subset": {"type": ["integer", "null"], "minimum": 1},
    }, ["dataset"]),
    "model": {"type": "object"},  # the SCHEMA of the scheme's config class (allOf below)
    "link": section({
        **LINK,
        "snr_db": {"type": "array", "items": ES_N0_DB, "minItems": 2, "maxItems": 2},  # [low, high]
        "enabled": {"type": "boolean"},
    }, ["modulation", "code", "snr_db"]),
    "channel": section(CHANNEL),
    "train": section({
        "epochs": _POS_INT, "batch_size": _POS_INT,
        "lr": {"type": "number", "exclusiveMinimum": 0}, "weight_decay": {"type": "number", "minimum": 0},
        "similarity_weight": {"type": "number", "minimum": 0}, "fim_weight": {"type": "number", "minimum": 0},
        # share of training images masked with the inference keep set instead of a random mask
        "fixed_mask_fraction": {"type": "number", "minimum": 0, "maximum": 1},
        # run name of a pre-training (semcomm.train.pretrained): its checkpoint initialises the model
        "init_from": {"type": ["string", "null"], "pattern": NAME_PATTERN},
        # training-time augmentation (semcomm.train.augment): left-right flips, shifts of up to N pixels
        "augment_flip": {"type": "boolean"}, "augment_shift": {"type": "integer", "minimum": 0},
        # decay of the exponential moving average of the weights (semcomm.train.ema), the deployed model
        "ema_decay": {"type": ["number", "null"], "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        # knowledge distillation (semcomm.train.distill): run name of a trained image classifier, the
        # share of the soft (teacher) term in the task loss and the softmax temperature
        "distill_from": {"type": ["string", "null"], "pattern": NAME_PATTERN},
        "distill_weight": {"type": "number", "minimum": 0, "maximum": 1},
        "distill_temperature": {"type": "number", "exclusiveMinimum": 0},
    }, ["epochs", "batch_size", "lr"]),
    "adversarial": section({
        "enabled": {"type": "boolean"},
        "start_epoch": {"type": "integer", "minimum": 1},
        "eps": {"type": "number", "minimum": 0, "maximum": 1},
        "alpha": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        "steps": _POS_INT, "norm": {"enum": ["linf", "l2"]}, "random_start": {"type": "boolean"},
        "clean_weight": {"type": "number", "minimum": 0, "maximum": 1},
        "awp_gamma": {"type": "number", "minimum": 0},
        # the adversarial objective: Algorithm 2's clean/adversarial mixture, or TRADES (semcomm.train.trades)
        "loss": {"enum": ["mixed", "trades"]}, "trades_beta": {"type": "number", "minimum": 0},
    }),
}, ["name", "scheme", "data", "model", "link", "train"])
SCHEMA["allOf"] = model_schema_rules()

DEFAULTS = {
    "seed": 1,
    "data": {"root": None, "validation_images": None, "train_subset": None, "eval_subset": None},
    "link": {"enabled": True},
    "channel": CHANNEL_DEFAULTS,
    "train": {"weight_decay": 0.05, "similarity_weight": 0.1, "fim_weight": 1.0, "fixed_mask_fraction": 0.0,
              "init_from": None, "augment_flip": False, "augment_shift": 0,
              "ema_decay": None, "distill_from": None, "distill_weight": 0.5, "distill_temperature": 4.0},
    "adversarial": {"enabled": False, "start_epoch": 1, "eps": 8 / 255, "alpha": 2 / 255, "steps": 5,
                    "norm": "linf", "random_start": True, "clean_weight": 0.5, "awp_gamma": 5e-3,
                    "loss": "mixed", "trades_beta": 6.0},
}


def validate(config: dict) -> dict:
    """Validated config with defaults filled in; :class:`semcomm.config.ConfigError` lists every invalid field."""
    configs.raise_problems("training config", schema_problems(SCHEMA, config))
    resolved = copy.deepcopy(merged(DEFAULTS, config))
    problems = (_snr_problems(resolved) + code_problems("link/code", resolved["link"]["code"])
                + _trades_problems(resolved))
    configs.raise_problems("training config", problems)
    return resolved


def _snr_problems(config: dict) -> list[str]:
    low, high = config["link"]["snr_db"]
    if low > high:
        return [configs.problem("link/snr_db", f"low end {low} is above high end {high}", "[low, high], low <= high")]
    return []


def _trades_problems(config: dict) -> list[str]:
    """TRADES needs class probabilities and a random start (its attack's gradient is zero at ``s' = s``)."""
    adversarial = config["adversarial"]
    if adversarial["loss"] != "trades":
        return []
    problems = []
    if config["model"].get("task", "classification") != "classification":
        problems.append(configs.problem("adversarial/loss", "trades needs model/task classification",
                                        "'mixed' for any task"))
    if not adversarial["random_start"]:
        problems.append(configs.problem("adversarial/loss", "trades needs adversarial/random_start true (the "
                                        "divergence's gradient is zero at the clean image)", "'mixed'"))
    return problems


def load(path: str, overrides: dict | None = None) -> dict:
    """The validated config of the YAML file at ``path``, its ``extends`` chain resolved and the dotted
    ``overrides`` (``{"train.epochs": 2}``) applied."""
    return configs.load(path, "training config", validate, overrides)
