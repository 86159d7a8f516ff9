"""Testbed (radio/modem/attacker) configuration: ``hw_configs/*.yaml`` validated by a JSON schema.

Every field has its allowed range and default in :data:`SCHEMA` (one place); a config may leave any
field out and :func:`load_testbed_config` returns a plain dict with all defaults filled in. Unknown
keys are errors. An invalid field raises :class:`ConfigError` naming its path (``channel/snr_db``),
the bad value and what is allowed. Loopback and B210 configs differ only in ``endpoints``.

Units: ``channel.snr_db`` is Es/N0 in dB; ``channel.cfo`` cycles per symbol; ``channel.timing_offset``
samples (fractional allowed); ``attacker.psr_db`` the perturbation-to-signal power ratio in dB
(:mod:`semcomm.channel.attacker`); ``attacker.tone_freq`` cycles per sample; ``attacker.h_a`` the
attacker channel gain ``|H_a|`` and ``h_a_phase`` its phase in radians; ``attacker.sense_threshold``
the absolute per-sample power of the sensed transmitter stream above which a ``frame_aligned``
jammer transmits (see :class:`semcomm.channel.jammer.StreamJammer`; a frame on the air has power
``1 / sps``, so ``0.5 / sps`` = 0.125 at ``sps = 4`` splits frames from silence);
``data.images_per_s`` images per second (0: as fast as the source allows).
"""
from __future__ import annotations

import copy

import jsonschema
import yaml

from ..data import DATASETS, SPLITS
from ..phy.ldpc import DECODER_ALGORITHMS, get_code
from ..phy.qam import LLR_METHODS, MODULATION_IDS

DEFAULT_MODEL = "models/masked_vqvae_fim_at"


def _section(properties: dict) -> dict:
    """An object schema with no unknown keys whose missing fields take their ``default``."""
    return {"type": "object", "properties": properties, "additionalProperties": False, "default": {}}


def _num(low=None, high=None, default=None, kind="number", exclusive=False) -> dict:
    schema = {"type": kind}
    if low is not None:
        schema["exclusiveMinimum" if exclusive else "minimum"] = low
    if high is not None:
        schema["exclusiveMaximum" if exclusive else "maximum"] = high
    if default is not None:
        schema["default"] = default
    return schema


def _int(low=None, high=None, default=None) -> dict:
    return _num(low, high, default, kind="integer")


def _enum(values, default) -> dict:
    return {"enum": list(values), "default": default}


_SEED = {"type": "integer", "minimum": 0, "default": 1}
_ENDPOINT = {"type": "string", "pattern": "^tcp://"}

SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$", "default": "testbed"},
        "model": {"type": "string", "minLength": 1, "default": DEFAULT_MODEL},
        "data": _section({
            "dataset": _enum(DATASETS, "fashion-mnist"),
            "path": {"type": ["string", "null"], "default": None},
            "split": _enum(SPLITS, "test"),
            "num_images": _int(1, default=100),
            "start": _int(0, default=0),
            "images_per_s": _num(0, default=0),
            "seed": {"type": ["integer", "null"], "minimum": 0, "default": None},
        }),
        "modem": _section({
            "modulation": _enum(MODULATION_IDS, "16qam"),
            "code": {"type": "string", "default": "wifi1944_r12"},
            "decoder": _enum(DECODER_ALGORITHMS, "nms"),
            "max_iterations": _int(1, 100, 20),
            "llr_method": _enum(LLR_METHODS, "maxlog"),
            "sps": _int(2, 16, 4),
            "rolloff": _num(0.05, 1, 0.35),
            "rrc_span": _int(4, 32, 8),
            "guard_symbols": _int(0, default=64),
            "detect_threshold": _num(0, 1, 0.5),
        }),
        "channel": _section({
            "snr_db": _num(-20, 60, 10),
            "cfo": _num(-0.05, 0.05, 0),
            "timing_offset": _num(0, default=0),
            "fading": _enum(["none", "rayleigh", "rician"], "none"),
            "k_factor_db": _num(-30, 40, 6),
            "fading_block": _int(1, default=1024),
            "seed": _SEED,
        }),
        "attacker": _section({
            "enabled": {"type": "boolean", "default": False},
            "kind": _enum(["gaussian", "tone"], "gaussian"),
            "mode": _enum(["free_running", "frame_aligned"], "free_running"),
            "psr_db": _num(-60, 30, -10),
            "tone_freq": _num(-0.5, 0.5, 0.1, exclusive=True),
            "h_a": _num(0, default=1),
            "h_a_phase": _num(default=0),
            "seed": {**_SEED, "default": 2},
            "sense_window": _int(1, 4096, 64),
            "sense_threshold": _num(0, default=0.125, exclusive=True),
        }),
        "endpoints": _section({
            "tx_out": {**_ENDPOINT, "default": "tcp://127.0.0.1:55501"},
            "attacker_out": {**_ENDPOINT, "default": "tcp://127.0.0.1:55502"},
            "channel_out": {**_ENDPOINT, "default": "tcp://127.0.0.1:55503"},
            "uhd": {**_section({
                "serial": {"type": "string", "default": ""},
                "args": {"type": "string", "default": ""},
                "sample_rate": _num(0, default=1e6, exclusive=True),
                "center_freq": _num(0, default=2.45e9, exclusive=True),
                "tx_gain": _num(0, 90, 60),
                "rx_gain": _num(0, 76, 40),
                "antenna": {"type": "string", "default": "RX2"},
            }), "default": None, "type": ["object", "null"]},
        }),
    },
}


class ConfigError(ValueError):
    """An invalid testbed config; the message names the path, the value and what is allowed."""


def allowed(schema: dict) -> str:
    """What ``schema`` accepts, in words (``number with -20 <= x <= 60``, ``one of 'a', 'b'``)."""
    if "enum" in schema:
        return "one of " + ", ".join(map(repr, schema["enum"]))
    kinds = schema.get("type", "value")
    kinds = " or ".join(kinds) if isinstance(kinds, list) else kinds
    if "properties" in schema:
        return f"{kinds} with keys " + ", ".join(schema["properties"])
    low = (f"{schema['minimum']} <= " if "minimum" in schema else
           f"{schema['exclusiveMinimum']} < " if "exclusiveMinimum" in schema else "")
    high = (f" <= {schema['maximum']}" if "maximum" in schema else
            f" < {schema['exclusiveMaximum']}" if "exclusiveMaximum" in schema else "")
    bounds = f" with {low}x{high}" if low or high else ""
    pattern = f" matching {schema['pattern']}" if "pattern" in schema else ""
    return f"{kinds}{bounds}{pattern}"


def _fill_defaults(schema: dict, value):
    """Fill missing properties that have a ``default`` (recursively, in place)."""
    if isinstance(value, dict) and "properties" in schema:
        for key, sub in schema["properties"].items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                _fill_defaults(sub, value[key])
    return value


def validate(config: dict) -> dict:
    """The config with defaults filled in, or :class:`ConfigError` listing every invalid field."""
    if not isinstance(config, dict):
        raise ConfigError(f"testbed config must be a mapping of sections, got {type(config).__name__}")
    config = _fill_defaults(SCHEMA, copy.deepcopy(config))
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(config), key=lambda e: list(e.path))
    lines = [f"{'/'.join(map(str, e.path)) or '(top level)'}: {e.message}; allowed: {allowed(e.schema)}"
             for e in errors]
    if not errors:
        code = config["modem"]["code"]
        if code != "none":
            try:
                get_code(code)
            except (ValueError, OSError) as err:
                lines.append(f"modem/code: {err} (or 'none')")
        data = config["data"]
        if data["dataset"] != "fashion-mnist" and data["path"] is None:
            lines.append(f"data/path: None is not allowed for dataset {data['dataset']!r}; allowed: the "
                         "directory holding the dataset")
    if lines:
        raise ConfigError("invalid testbed config:\n  " + "\n  ".join(lines))
    return config


def apply_overrides(config: dict, overrides: dict) -> dict:
    """A copy of ``config`` with ``{"section.field": value}`` overrides set (validation is separate)."""
    config = copy.deepcopy(config)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = config
        for depth, key in enumerate(parents):
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {dotted}: {'/'.join(parents[:depth + 1])} is not a section")
        node[leaf] = value
    return config


def parse_overrides(items) -> dict:
    """``["channel.snr_db=5", ...]`` (command line) -> ``{"channel.snr_db": 5}``; values are YAML scalars
    (``5`` is an int, ``true`` a bool, ``null`` None; quote a value to keep it a string)."""
    overrides = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} must look like section.field=value")
        try:
            overrides[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"override {item!r}: value is not valid YAML: {err}") from err
    return overrides


def load_testbed_config(path_or_dict, overrides: dict | None = None) -> dict:
    """Read (a path) or take (a dict) a testbed config, apply dotted ``overrides`` and validate it.

    Returns the config as a dict with every default filled in; raises :class:`ConfigError`.
    """
    if isinstance(path_or_dict, dict):
        config = path_or_dict
    else:
        try:
            with open(path_or_dict) as handle:
                config = yaml.safe_load(handle)
        except OSError as err:
            raise ConfigError(f"cannot read testbed config {str(path_or_dict)!r}: {err.strerror}") from err
        except yaml.YAMLError as err:
            raise ConfigError(f"testbed config {str(path_or_dict)!r} is not valid YAML: {err}") from err
        if config is None:
            config = {}
    if overrides and isinstance(config, dict):
        config = apply_overrides(config, overrides)
    return validate(config)
