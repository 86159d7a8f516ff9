"""Training configuration: YAML files validated by a JSON schema; errors name the path and the rule.

A config has the sections ``data``, ``model`` (the :class:`semcomm.nn.masked_vqvae.CodecConfig` fields, for
``scheme: jscc_at | jscc`` the :class:`semcomm.nn.jscc.JSCCConfig` fields, for ``scheme: jpeg_ldpc_at |
jpeg_ldpc`` the :class:`semcomm.nn.classifier.ClassifierConfig` fields, for the black-box attack surrogate
``scheme: resnet_surrogate`` the :class:`semcomm.nn.resnet.ResNetConfig` fields), ``link`` (the digital chain
seen in training; for JSCC only ``snr_db`` and ``channel`` are used, the analog channel being inside the
model), ``train`` and ``adversarial``; ``models/configs/masked_vqvae_fim_at.yaml`` is a complete example.
Unknown keys are errors, not silently ignored.

A config may start from another: ``extends: <name>`` reads ``<name>.yaml`` from the same directory (which may
itself extend another) and overrides it with this file's keys, mappings key by key, any other value (a list
too) as a whole. Such a config must set its own ``name``. Only the resolved config is validated and used
(run, metrics, model card); ``extends`` itself is not part of it, so a config written out in full and one
that extends a base resolve to the same dict.
"""
from __future__ import annotations

import copy
import os
import re

import jsonschema
import yaml

from ..nn.classifier import JPEG_SCHEMES
from ..nn.jscc import JSCC_SCHEMES
from ..nn.masked_vqvae import DECODER_POOLS, ENCODER_STEMS, KEEP_LAYOUTS, MASKINGS, TASKS
from ..nn.resnet import SURROGATE_SCHEMES
from ..phy.qam import BITS_PER_SYMBOL


def _obj(properties: dict, required=()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


_NUM = {"type": "number"}
_POS_INT = {"type": "integer", "minimum": 1}

_DIGITAL_SCHEMES = ["masked_vqvae_fim_at", "masked_vqvae_at", "masked_vqvae"]
_VIT = {
    "patch": _POS_INT, "dim": {"type": "integer", "minimum": 4, "multipleOf": 4},
    "encoder_depth": _POS_INT, "decoder_dim": {"type": "integer", "minimum": 4, "multipleOf": 4},
    "decoder_depth": _POS_INT, "heads": _POS_INT, "mlp_ratio": {"type": "number", "exclusiveMinimum": 0},
    "task": {"enum": list(TASKS)},
}
#: ``model`` section of the masked VQ-VAE schemes (:class:`semcomm.nn.masked_vqvae.CodecConfig`)
CODEC_MODEL = _obj({
    **_VIT,
    "code_dim": _POS_INT, "codebook_size": {"type": "integer", "minimum": 16, "maximum": 1024},
    "code_groups": _POS_INT, "decoder_pool": {"enum": list(DECODER_POOLS)},
    "mask_ratio": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
    "masking": {"enum": list(MASKINGS)}, "noise_mask_strength": {"type": "number", "minimum": 0},
    "keep_layout": {"enum": list(KEEP_LAYOUTS)},
    "fim_layers": {"type": "array", "items": {"type": "integer", "minimum": 0}},
    "fim_mode": {"enum": ["soft", "label", "mean"]}, "beta": {"type": "number", "minimum": 0},
    "encoder_stem": {"enum": list(ENCODER_STEMS)},
    "stem_widths": {"type": "array", "items": _POS_INT, "minItems": 1}, "stem_blocks": _POS_INT,
})
#: ``model`` section of the analog JSCC schemes (:class:`semcomm.nn.jscc.JSCCConfig`)
JSCC_MODEL = _obj({**_VIT, "symbols": _POS_INT, "snr_embedding": {"type": "boolean"}})
#: ``model`` section of the JPEG baselines' classifier (:class:`semcomm.nn.classifier.ClassifierConfig`)
CLASSIFIER_MODEL = _obj({key: _VIT[key] for key in ("patch", "dim", "heads", "mlp_ratio")} | {"depth": _POS_INT})
#: ``model`` section of the ResNet attack surrogate (:class:`semcomm.nn.resnet.ResNetConfig`)
RESNET_MODEL = _obj({"widths": {"type": "array", "items": _POS_INT, "minItems": 1}, "blocks": _POS_INT})

#: names of configs and runs (a config file is <name>.yaml, its run directory <run dir>/<name>)
_NAME_PATTERN = "^[A-Za-z0-9_.-]+$"
SCHEMA = _obj({
    "name": {"type": "string", "pattern": _NAME_PATTERN},
    "scheme": {"type": "string", "enum": _DIGITAL_SCHEMES + list(JSCC_SCHEMES) + list(JPEG_SCHEMES)
                                                + list(SURROGATE_SCHEMES)},
    "seed": {"type": "integer", "minimum": 0},
    "data": _obj({
        "dataset": {"type": "string"},
        "root": {"type": ["string", "null"]},
        # the last N training images, held out of training for model and recipe selection (default null:
        # the last twelfth, 5 000 of Fashion-MNIST's 60 000)
        "validation_images": {"type": ["integer", "null"], "minimum": 0},
        "train_subset": {"type": ["integer", "null"], "minimum": 1},
        "eval_subset": {"type": ["integer", "null"], "minimum": 1},
    }, ["dataset"]),
    "model": {"type": "object"},  # CODEC_, JSCC_, CLASSIFIER_ or RESNET_MODEL by scheme (allOf below)
    "link": _obj({
        "modulation": {"enum": list(BITS_PER_SYMBOL)},
        "code": {"type": "string"},
        "snr_db": {"type": "array", "items": _NUM, "minItems": 2, "maxItems": 2},
        "channel": {"enum": ["awgn", "rayleigh"]},
        "enabled": {"type": "boolean"},
    }, ["modulation", "code", "snr_db"]),
    "train": _obj({
        "epochs": _POS_INT, "batch_size": _POS_INT,
        "lr": {"type": "number", "exclusiveMinimum": 0}, "weight_decay": {"type": "number", "minimum": 0},
        "similarity_weight": {"type": "number", "minimum": 0}, "fim_weight": {"type": "number", "minimum": 0},
        # share of training images masked with the inference keep set instead of a random mask
        "fixed_mask_fraction": {"type": "number", "minimum": 0, "maximum": 1},
        # run name of a pre-training (semcomm.train.pretrained): its checkpoint initialises the model
        "init_from": {"type": ["string", "null"], "pattern": _NAME_PATTERN},
        # training-time augmentation (semcomm.train.augment): left-right flips, shifts of up to N pixels
        "augment_flip": {"type": "boolean"}, "augment_shift": {"type": "integer", "minimum": 0},
        # decay of the exponential moving average of the weights (semcomm.train.ema), the deployed model
        "ema_decay": {"type": ["number", "null"], "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        # knowledge distillation (semcomm.train.distill): run name of a trained image classifier, the
        # share of the soft (teacher) term in the task loss and the softmax temperature
        "distill_from": {"type": ["string", "null"], "pattern": _NAME_PATTERN},
        "distill_weight": {"type": "number", "minimum": 0, "maximum": 1},
        "distill_temperature": {"type": "number", "exclusiveMinimum": 0},
    }, ["epochs", "batch_size", "lr"]),
    "adversarial": _obj({
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
SCHEMA["allOf"] = [{"if": {"properties": {"scheme": {"enum": schemes}}, "required": ["scheme"]},
                    "then": {"properties": {"model": model}}}
                   for schemes, model in ((_DIGITAL_SCHEMES, CODEC_MODEL), (list(JSCC_SCHEMES), JSCC_MODEL),
                                          (list(JPEG_SCHEMES), CLASSIFIER_MODEL),
                                          (list(SURROGATE_SCHEMES), RESNET_MODEL))]

DEFAULTS = {
    "seed": 1,
    "data": {"root": None, "validation_images": None, "train_subset": None, "eval_subset": None},
    "link": {"channel": "awgn", "enabled": True},
    "train": {"weight_decay": 0.05, "similarity_weight": 0.1, "fim_weight": 1.0, "fixed_mask_fraction": 0.0,
              "init_from": None, "augment_flip": False, "augment_shift": 0,
              "ema_decay": None, "distill_from": None, "distill_weight": 0.5, "distill_temperature": 4.0},
    "adversarial": {"enabled": False, "start_epoch": 1, "eps": 8 / 255, "alpha": 2 / 255, "steps": 5,
                    "norm": "linf", "random_start": True, "clean_weight": 0.5, "awp_gamma": 5e-3,
                    "loss": "mixed", "trades_beta": 6.0},
}


class ConfigError(ValueError):
    pass


def validate(config: dict) -> dict:
    """Validated config with defaults filled in; :class:`ConfigError` names the offending path."""
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        lines = [f"{'/'.join(str(p) for p in e.path) or '(top level)'}: {e.message}" for e in errors]
        raise ConfigError("invalid training config:\n  " + "\n  ".join(lines))
    merged = copy.deepcopy(config)
    for key, value in DEFAULTS.items():
        if isinstance(value, dict):
            merged[key] = {**value, **merged.get(key, {})}
        else:
            merged.setdefault(key, value)
    low, high = merged["link"]["snr_db"]
    if low > high:
        raise ConfigError(f"link/snr_db: low end {low} is above high end {high}")
    _check_trades(merged)
    return merged


def _check_trades(config: dict) -> None:
    """TRADES needs class probabilities and a random start (its attack's gradient is zero at ``s' = s``)."""
    adversarial = config["adversarial"]
    if adversarial["loss"] != "trades":
        return
    if config["model"].get("task", "classification") != "classification":
        raise ConfigError("adversarial/loss: trades needs model/task classification")
    if not adversarial["random_start"]:
        raise ConfigError("adversarial/loss: trades needs adversarial/random_start true (the divergence's "
                          "gradient is zero at the clean image)")


def load(path: str) -> dict:
    """The validated config of the YAML file at ``path``, its ``extends`` chain resolved (module doc)."""
    resolved = _resolve(path, ())
    try:
        return validate(resolved)
    except ConfigError as err:  # name the file: with extends, the offending key may come from its base
        raise ConfigError(f"{path}: {err}") from None


def _resolve(path: str, extended_by: tuple[str, ...]) -> dict:
    """The raw config at ``path`` merged over the one it extends; ``extended_by`` holds the files (absolute
    paths) that led here, to refuse a cycle."""
    data = _read(path)
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    if not isinstance(base_name, str) or not re.fullmatch(_NAME_PATTERN, base_name):
        raise ConfigError(f"training config {path!r}: extends must name a config in its directory, "
                          f"got {base_name!r}")
    if "name" not in data:
        raise ConfigError(f"training config {path!r} extends {base_name} and must set its own name")
    base_path = sibling_config(path, base_name)
    chain = extended_by + (os.path.abspath(path),)
    if os.path.abspath(base_path) in chain:
        cycle = " -> ".join(os.path.basename(file) for file in chain + (base_path,))
        raise ConfigError(f"training config {path!r}: extends {base_name}, a cycle ({cycle})")
    if not os.path.isfile(base_path):
        raise ConfigError(f"training config {path!r} extends {base_name}, but there is no {base_path}")
    return _merged(_resolve(base_path, chain), data)


def sibling_config(path: str, name: str) -> str:
    """The config named ``name`` next to the config at ``path``: ``<its directory>/<name>.yaml``."""
    return os.path.join(os.path.dirname(path), name + ".yaml")


def _merged(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` applied: mappings merge key by key, any other value replaces."""
    merged = dict(base)
    for key, value in overrides.items():
        both_mappings = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _merged(base[key], value) if both_mappings else value
    return merged


def _read(path: str) -> dict:
    try:
        with open(path) as handle:
            data = yaml.safe_load(handle)
    except OSError as err:
        raise ConfigError(f"cannot read training config {path!r}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"training config {path!r} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(f"training config {path!r} must be a mapping of sections")
    return data
