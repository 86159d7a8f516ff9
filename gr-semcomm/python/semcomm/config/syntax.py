"""The YAML that config files and ``--set`` values are read as: PyYAML's safe YAML 1.1, except that a number in
exponent notation is a number whether or not it has a decimal point and a signed exponent (YAML 1.2 reads
``1e9``, ``1.0e9`` and ``2e-3`` as numbers; YAML 1.1 reads them as strings, and a config field would then
report ``'1e9' is not of type 'number'``)."""
from __future__ import annotations

import re

import yaml

#: a number in exponent notation that YAML 1.1's float pattern misses (it wants a point and a signed exponent)
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")


class ConfigLoader(yaml.SafeLoader):
    """:class:`yaml.SafeLoader` with YAML 1.2's exponent floats (module docstring)."""


ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+.0123456789"))


def parse_yaml(stream):
    """The document in ``stream`` (text or a file), read by :class:`ConfigLoader`."""
    return yaml.load(stream, Loader=ConfigLoader)
