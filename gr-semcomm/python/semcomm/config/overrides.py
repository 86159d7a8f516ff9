"""Dotted overrides of config fields (the command line's ``--set section.field=value``)."""
from __future__ import annotations

import copy

import yaml

from .errors import ConfigError
from .syntax import parse_yaml


def parse_overrides(items) -> dict:
    """``["channel.snr_db=5", ...]`` (command line) -> ``{"channel.snr_db": 5}``; values are YAML scalars as
    :mod:`.syntax` reads them (``5`` is an int, ``1e9`` a float, ``true`` a bool, ``null`` None; quote a value to
    keep it a string)."""
    overrides = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r} must look like section.field=value")
        try:
            overrides[key.strip()] = parse_yaml(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"override {item!r}: value is not valid YAML: {err}") from err
    return overrides


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
