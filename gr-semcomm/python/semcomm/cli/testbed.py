"""``semcomm demo``, ``semcomm run`` and ``semcomm agreement``: the testbed's flowgraphs."""
from __future__ import annotations

import argparse
import sys

from .arguments import add_overrides, number, output_directory
from .output import write_json

RUN_EXIT_STATUS = """exit status (summary.json's "ended" and "ended_detail" say the same):
  0    completed: every image has a result, or the source finished and nothing more arrived
  2    refused: a config, option or model file is not usable (nothing ran)
  3    timed out: --timeout passed first
  4    peer died: another role's process of `run zmq` ended during the run
  5    write failed: a results file could not be written (e.g. a full disk)
  130  interrupted by SIGINT (Ctrl-C); 143 by SIGTERM
A run that ends early stops its flowgraph cleanly and still writes summary.json and the per-frame lines
(frames.jsonl, written as frames are decided) of what it received."""


def cmd_demo(args) -> int:
    from pathlib import Path

    from ..config import parse_overrides
    from ..testbed.demo import run_demo

    summaries = run_demo(args.config, Path(args.out), parse_overrides(args.set))
    return _report_end(summaries[-1], "demo")


def cmd_run(args) -> int:
    from pathlib import Path

    from ..config import parse_overrides
    from ..testbed.config import load_testbed_config
    from ..testbed.run import RunAborted, run_loopback, run_role, run_zmq

    out = Path(args.out)
    try:
        if args.role == "zmq":
            summary = run_zmq(args.config, args.set, out, args.timeout)
        else:
            config = load_testbed_config(args.config, parse_overrides(args.set))
            if args.source is not None:
                summary = _replay(args, config, out)
            elif args.role == "loopback":
                summary = run_loopback(config, args.condition, out, args.timeout)
            else:
                summary = run_role(args.role, config, out, args.timeout)
    except RunAborted as err:
        print(f"semcomm run: error: {err}", file=sys.stderr)
        return err.exit_status
    if "images" in summary:  # a receiver's summary (loopback, zmq, rx)
        from ..testbed.demo import format_table
        print(format_table([summary]))
        if summary["ended"] != "write_failed":
            print(f"wrote {out / 'summary.json'} and {out / 'frames.jsonl'}")
    return _report_end(summary, "run")


def cmd_impairments(args) -> int:
    from pathlib import Path

    from ..config import parse_overrides
    from ..testbed.impairments import format_table, sweep

    overrides = {**parse_overrides(args.set), "data.num_images": args.images, "data.images_per_s": 0}
    result = sweep(args.config, overrides, Path(args.out))
    print(format_table(result))
    print(f"wrote {Path(args.out) / 'impairments.json'}")
    return 0


def cmd_radio_check(args) -> int:
    import json

    from ..config import parse_overrides
    from ..testbed.config import load_testbed_config
    from ..testbed.radio import check, format_report

    report = check(load_testbed_config(args.config, parse_overrides(args.set)), open_devices=args.open)
    if args.json:
        write_json(json.loads(json.dumps(report, default=str)), None, True)
    else:
        print(format_report(report))
    return 0 if report["ok"] else 1


def cmd_capture(args) -> int:
    import json
    from pathlib import Path

    from ..config import parse_overrides
    from ..testbed.capture_runs import run_capture
    from ..testbed.config import load_testbed_config
    from ..testbed.run import RunAborted

    overrides = {**parse_overrides(args.set), "capture.path": args.out}
    if args.taps:
        overrides["capture.taps"] = args.taps.split(",")
    elif args.role != "loopback":
        overrides["capture.taps"] = ["rx"]
    try:
        summary = run_capture(args.config, overrides, args.role, Path(f"{args.out}.run"), args.timeout, args.archive)
    except RunAborted as err:
        print(f"semcomm capture: error: {err}", file=sys.stderr)
        return err.exit_status
    for tap, described in (summary.get("captures") or {}).items():
        print(f"{tap}: {described['path']}.sigmf-data/-meta, {described['samples']} samples in "
              f"{described['segments']} segment(s), {described['frames_annotated']} frames annotated, "
              f"{described['dropped_samples']} dropped" + (f", FAILED: {described['failed']}" if described['failed'] else "")
              + (f"; archive {described['archive']}" if described.get("archive") else ""))
    print(f"run summary: {Path(f'{args.out}.run') / 'summary.json'}; accuracy {summary.get('accuracy')}")
    if args.json:
        write_json(summary.get("captures"), None, True)
    return _report_end(summary, "capture")


def _replay(args, config: dict, out):
    """``--source sigmf:PATH``: the recording through the receiver (rx role only)."""
    from ..testbed.capture_runs import replay

    if args.role != "rx":
        raise ValueError(f"--source replays a recording through the receiver: use it with the rx role, not "
                         f"{args.role}")
    kind, _, path = args.source.partition(":")
    if kind != "sigmf" or not path:
        raise ValueError(f"--source must be sigmf:PATH, got {args.source!r}")
    return replay(config, path, out, args.timeout)


def _report_end(summary: dict, command: str) -> int:
    """Say why a run ended early (on stderr), and the exit status of why it ended (:data:`RUN_EXIT_STATUS`)."""
    from ..testbed.outcome import exit_status

    if summary["ended"] != "completed":
        print(f"semcomm {command}: {summary['ended_detail']['message']}", file=sys.stderr)
    return exit_status(summary)


def cmd_agreement(args) -> int:
    from pathlib import Path

    from ..config import parse_overrides
    from ..testbed.agreement import compare

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    overrides = {**parse_overrides(args.set), "data.num_images": args.images}
    result = compare(args.config, args.snr, out, overrides)
    print(f"{'within' if result['within_tolerance'] else 'NOT within'} +-{result['tolerance_points']:g} points; "
          f"wrote {out / 'agreement.json'}")
    return 0


def add_commands(sub) -> None:
    """``semcomm demo``, ``semcomm run``, ``semcomm capture`` and ``semcomm agreement``."""
    demo = sub.add_parser("demo", help="the main job: loopback testbed with the default model, clean and jammed "
                          "(table, summary.json, demo.png)")
    demo.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (YAML)")
    add_overrides(demo, "override a config field, e.g. --set data.num_images=500 (repeatable)")
    demo.add_argument("--out", type=output_directory, default="results/demo", help="output directory")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="run a testbed flowgraph headless: loopback, one ZMQ role, all ZMQ roles, B210",
                         epilog=RUN_EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("role", choices=["loopback", "zmq", "tx", "rx", "channel", "attacker", "tx_b210", "rx_b210",
                                      "attacker_b210"])
    run.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (YAML)")
    add_overrides(run, "override a config field, e.g. --set channel.snr_db=5 (repeatable)")
    run.add_argument("--out", type=output_directory, default="results/run",
                     help="output directory (summary.json, frames.jsonl, logs)")
    run.add_argument("--condition", default="loopback", help="condition name in the summary")
    run.add_argument("--source", metavar="sigmf:PATH", help="rx: replay a SigMF recording (semcomm capture) through "
                     "the receiver instead of listening on ZMQ")
    run.add_argument("--timeout", type=number(0, exclusive=True), default=600.0,
                     help="seconds before the run is cut short (> 0)")
    run.set_defaults(func=cmd_run)

    capture = sub.add_parser("capture", help="record a run's IQ as SigMF (annotated per frame) for replay and "
                             "training: loopback taps tx/channel/attacker, or a receiver's input (rx, rx_b210)")
    capture.add_argument("--role", choices=["loopback", "zmq", "rx", "rx_b210"], default="loopback",
                         help="loopback (taps tx/channel/attacker), zmq (the four processes; the receiver records its "
                              "input), rx or rx_b210 alone (tap rx)")
    capture.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (YAML)")
    add_overrides(capture)
    capture.add_argument("--taps", help="comma-separated taps (default: the config's capture.taps)")
    capture.add_argument("--out", required=True, help="recording path without suffix: <out>.<tap>.sigmf-data/-meta, "
                         "the run's results in <out>.run/")
    capture.add_argument("--timeout", type=number(0, exclusive=True), default=600.0, help="seconds (> 0)")
    capture.add_argument("--archive", action="store_true", help="also write each recording as one .sigmf archive")
    capture.add_argument("--json", action="store_true", help="also print the captures section as JSON")
    capture.set_defaults(func=cmd_capture)

    radio = sub.add_parser("radio", help="the USRP B210s: `semcomm radio check`")
    radio_sub = radio.add_subparsers(dest="radio_command", required=True)
    radio_check = radio_sub.add_parser("check", help="list the B210s UHD finds and whether each radio of the config "
                                       "(transmitter, receiver, attacker) is there; exit status 1 when one is missing")
    radio_check.add_argument("--config", default="hw_configs/b210.yaml", help="testbed config with endpoints.radios")
    add_overrides(radio_check)
    radio_check.add_argument("--open", action="store_true", help="open each radio found and report its identification")
    radio_check.add_argument("--json", action="store_true", help="print the report as JSON")
    radio_check.set_defaults(func=cmd_radio_check)

    impair = sub.add_parser("impairments", help="accuracy through the loopback with a radio pair's hardware "
                            "impairments vs clean, and where each one breaks the link")
    impair.add_argument("--config", default="hw_configs/emulated_b210.yaml", help="testbed config with impairments")
    add_overrides(impair)
    impair.add_argument("--images", type=int, default=1000, help="test images per point")
    impair.add_argument("--out", type=output_directory, default="results/impairments", help="output directory")
    impair.set_defaults(func=cmd_impairments)

    agree = sub.add_parser("agreement", help="accuracy through the loopback flowgraph vs the core's simulation, "
                           "same images and Es/N0")
    agree.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (YAML)")
    add_overrides(agree)
    agree.add_argument("--images", type=int, default=1000, help="test images per SNR")
    agree.add_argument("--snr", type=float, nargs="+", default=[10.0, 1.5], help="Es/N0 points in dB")
    agree.add_argument("--out", type=output_directory, default="results/agreement", help="output directory")
    agree.set_defaults(func=cmd_agreement)
