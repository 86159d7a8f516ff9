"""``semcomm`` command line: one entry point, one subcommand per job (``semcomm <cmd> --help``).

Each area's parsers and commands are a thin layer over the library: :mod:`.phy` (``ber``, ``phy-loopback``,
``codes``), :mod:`.bench`, :mod:`.testbed` (``demo``, ``run``, ``agreement``), :mod:`.train` (``train``,
``export``), :mod:`.eval` (``eval report | overhead | probe``) and :mod:`.attack` (``attack craft | eval``); :mod:`.output` writes what they print.
"""
from __future__ import annotations

import argparse
import contextlib
import sys

from . import attack, bench, phy, testbed, train
from .output import stdout_for_json_only
from . import eval as eval_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semcomm", description="Robust digital semantic communication testbed")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    phy.add_ber(sub)
    bench.add_commands(sub)
    testbed.add_commands(sub)
    phy.add_phy_loopback(sub)
    train.add_commands(sub)
    phy.add_codes(sub)
    eval_commands.add_commands(sub)
    attack.add_commands(sub)
    return parser


def main(argv=None) -> int:
    from ..testbed.run import FlowgraphError

    args = build_parser().parse_args(argv)
    json_only = getattr(args, "json", None) is True  # --json as a flag: stdout holds the JSON and nothing else
    try:
        with stdout_for_json_only() if json_only else contextlib.nullcontext():
            return args.func(args)
    except (ValueError, FileNotFoundError, FlowgraphError) as err:
        print(f"semcomm {args.command}: error: {err}", file=sys.stderr)
        return 2
