"""Option types that refuse a bad value while the command line is parsed, so that it ends with argparse's
usage line, a message saying what is allowed and exit status 2, not with a traceback or a figure computed
from nothing: bounded integers and finite numbers (worded as the configs word them,
:func:`semcomm.config.schema.allowed`), dB ranges, and output paths the command can write."""
from __future__ import annotations

import argparse
import os

from ..config import schema
from ..config.link import ES_N0_DB


def integer(low: int | None = None, high: int | None = None):
    """An integer in ``[low, high]`` (either bound may be left open)."""
    return _bounded(int, "an integer", schema.integer(low, high))


def number(low: float | None = None, high: float | None = None, exclusive: bool = False):
    """A finite number in ``[low, high]`` (``exclusive``: ``(low, high)``)."""
    return within(schema.number(low, high, exclusive=exclusive))


def within(bounds: dict):
    """A finite number that the config field schema ``bounds`` (e.g. :data:`~semcomm.config.link.ES_N0_DB`)
    accepts."""
    return _bounded(float, "a number", bounds)


def _bounded(convert, kind: str, bounds: dict):
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind}; allowed: {schema.allowed(bounds)}") from None
        problems = schema.value_problems(bounds, value)
        if problems:
            raise argparse.ArgumentTypeError(problems[0])
        return value
    return parse


def db_range(text: str):
    """``START:STOP[:STEP]`` in dB (:func:`semcomm.sim.ber.parse_db_range`), every point an SNR the configs
    accept (:data:`~semcomm.config.link.ES_N0_DB`)."""
    from ..sim.ber import parse_db_range

    try:
        points = parse_db_range(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    for point in points:
        problems = schema.value_problems(ES_N0_DB, float(point))
        if problems:
            raise argparse.ArgumentTypeError(f"invalid dB range {text!r}: {problems[0]}")
    return points


def output_file(text: str) -> str:
    """A file the command may write (its directory is created if missing): not a directory, and the nearest
    existing directory above it is writable."""
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a directory, not a file name")
    _require_writable(os.path.dirname(os.path.abspath(text)), text)
    return text


def output_directory(text: str) -> str:
    """A directory the command may write into (created if missing): not a file, and it or the nearest existing
    directory above it is writable."""
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a file, not a directory")
    _require_writable(os.path.abspath(text), text)
    return text


def _require_writable(directory: str, text: str) -> None:
    """Refuse ``text`` unless the nearest existing directory at or above ``directory`` can take new entries."""
    existing = directory
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise argparse.ArgumentTypeError(f"cannot write {text}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: directory {existing} is not writable "
                                         "(read-only or not yours)")


def add_overrides(parser, help: str = "config override") -> None:
    """``--set SECTION.FIELD=VALUE`` (repeatable): the dotted config overrides every config-driven command takes."""
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", help=help)
