"""Building JSON schemas of configs and checking a config against one.

A field's ``default`` (set by the builders' ``default`` argument) is what :func:`fill_defaults` puts in
where the field is missing; validation itself ignores it.

Checking is JSON Schema (draft 2020-12) with two stricter types, so that a config that passes is one the
code can use as it stands: an ``integer`` is an int (``4.0`` is refused, where the draft accepts it and
``range(4.0)`` would fail later), and a ``number`` is finite (``.nan`` passes every range check of the draft,
``.inf`` every one without its bound).
"""
from __future__ import annotations

import copy
import math

import jsonschema

from .errors import problem

#: names of configs and runs (a config file is <name>.yaml, a training run's directory <run dir>/<name>)
NAME_PATTERN = "^[A-Za-z0-9_.-]+$"


def section(properties: dict, required=(), default: dict | None = None) -> dict:
    """An object schema with no unknown keys; with ``default`` (``{}``), a missing section is filled in."""
    schema = {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}
    return schema if default is None else {**schema, "default": default}


def number(low=None, high=None, default=None, kind: str = "number", exclusive: bool = False) -> dict:
    """A number (``kind="integer"``: an integer) within ``[low, high]`` (``exclusive``: ``(low, high)``)."""
    schema = {"type": kind}
    if low is not None:
        schema["exclusiveMinimum" if exclusive else "minimum"] = low
    if high is not None:
        schema["exclusiveMaximum" if exclusive else "maximum"] = high
    return schema if default is None else {**schema, "default": default}


def integer(low=None, high=None, default=None) -> dict:
    return number(low, high, default, kind="integer")


def enum(values, default=None) -> dict:
    schema = {"enum": list(values)}
    return schema if default is None else {**schema, "default": default}


def with_defaults(properties: dict, defaults: dict) -> dict:
    """``properties`` with the ``default`` of each field named in ``defaults`` set."""
    return {key: {**schema, "default": defaults[key]} if key in defaults else schema
            for key, schema in properties.items()}


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


def fill_defaults(schema: dict, value):
    """Fill missing properties that have a ``default`` (recursively, in place); returns ``value``."""
    if isinstance(value, dict) and "properties" in schema:
        for key, sub in schema["properties"].items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                fill_defaults(sub, value[key])
    return value


def _is_int(checker, value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(checker, value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


#: draft 2020-12 with the stricter ``integer`` and ``number`` of the module docstring
_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_int, "number": _is_finite_number}))


def schema_problems(schema: dict, config) -> list[str]:
    """Every place ``config`` breaks ``schema``, as :func:`semcomm.config.problem` lines, in path order."""
    return [problem("/".join(map(str, error.path)), _message(error), allowed(error.schema))
            for error in _errors(schema, config)]


def value_problems(schema: dict, value) -> list[str]:
    """How a single ``value`` (a command-line option's) breaks ``schema``: ``<message>; allowed: <what is>``."""
    return [f"{_message(error)}; allowed: {allowed(error.schema)}" for error in _errors(schema, value)]


def _errors(schema: dict, value) -> list:
    return sorted(_Validator(schema).iter_errors(value), key=lambda e: list(map(str, e.path)))


def _message(error) -> str:
    """The validator's message, but a float that the stricter types refuse says why (module docstring)."""
    value = error.instance
    if error.validator != "type" or not isinstance(value, float):
        return error.message
    if not math.isfinite(value):
        return f"{value} is not a finite number"
    if value.is_integer() and "integer" in error.validator_value:
        return f"{value} is not an integer (write {int(value)})"
    return error.message
