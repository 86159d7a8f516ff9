"""Reading config files: YAML, ``extends`` chains and the lookup of a config by name (package doc)."""
from __future__ import annotations

import json
import os
import re
from typing import Callable

import yaml

from .errors import ConfigError
from .overrides import apply_overrides
from .schema import NAME_PATTERN
from .syntax import parse_yaml


def find_config(path: str, name: str) -> str:
    """The config named ``name`` for the config at ``path``: ``<name>.yaml`` in its directory, failing that in
    the parent directory; when neither exists, the one in its directory (the file an error names)."""
    directory = os.path.dirname(path)
    here, above = (os.path.join(folder, name + ".yaml") for folder in (directory, os.path.dirname(directory)))
    return above if not os.path.isfile(here) and os.path.isfile(above) else here


def load(source, what: str, validate: Callable[[dict], dict], overrides: dict | None = None) -> dict:
    """``validate`` of the config in the YAML file at ``source`` (its ``extends`` chain resolved) or of the
    mapping ``source``, dotted ``overrides`` applied first; ``what`` names the kind in errors (``testbed
    config``). An invalid file's error starts with its path: with ``extends`` the offending key may come from
    a base."""
    if isinstance(source, dict):
        return validate(apply_overrides(source, overrides or {}))
    config = apply_overrides(read_config(str(source), what), overrides or {})
    try:
        return validate(config)
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


def read_config(path: str, what: str) -> dict:
    """The raw config at ``path`` merged over the one it ``extends`` (recursively), not validated."""
    return _resolve(path, what, ())


def _resolve(path: str, what: str, extended_by: tuple[str, ...]) -> dict:
    """As :func:`read_config`; ``extended_by`` holds the files (absolute paths) that led here, to refuse a cycle."""
    data = read_mapping(path, what)
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    if not isinstance(base_name, str) or not re.fullmatch(NAME_PATTERN, base_name):
        raise ConfigError(f"{what} {path!r}: extends must name a config (its file name without .yaml, in its "
                          f"directory or the one above), got {base_name!r}")
    if "name" not in data:
        raise ConfigError(f"{what} {path!r} extends {base_name} and must set its own name")
    base_path = find_config(path, base_name)
    chain = extended_by + (os.path.abspath(path),)
    if os.path.abspath(base_path) in chain:
        cycle = " -> ".join(os.path.basename(file) for file in chain + (base_path,))
        raise ConfigError(f"{what} {path!r}: extends {base_name}, a cycle ({cycle})")
    if not os.path.isfile(base_path):
        raise ConfigError(f"{what} {path!r} extends {base_name}, but there is no {base_path}")
    return merged(_resolve(base_path, what, chain), data)


def merged(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` applied: mappings merge key by key, any other value replaces."""
    result = dict(base)
    for key, value in overrides.items():
        both_mappings = isinstance(value, dict) and isinstance(base.get(key), dict)
        result[key] = merged(base[key], value) if both_mappings else value
    return result


#: the file syntaxes :func:`read_mapping` reads: parser and its syntax error
_PARSERS = {"YAML": (parse_yaml, yaml.YAMLError), "JSON": (json.load, json.JSONDecodeError)}


def read_mapping(path: str, what: str, syntax: str = "YAML") -> dict:
    """The mapping in the YAML (or JSON) file ``path`` (an empty YAML file is an empty mapping); ``what`` names
    the kind of file in the :class:`ConfigError` of an unreadable file, one that is not UTF-8 text, bad syntax or
    anything but a mapping."""
    parse, syntax_error = _PARSERS[syntax]
    try:
        with open(path, encoding="utf-8") as handle:
            data = parse(handle)
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path!r}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{what} {path!r} is not UTF-8 text (byte {err.object[err.start]:#04x} at position "
                          f"{err.start}): is it a binary file?") from err
    except syntax_error as err:
        raise ConfigError(f"{what} {path!r} is not valid {syntax}: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path!r} must be a mapping of sections")
    return data
