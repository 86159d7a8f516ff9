"""``semcomm capture`` (a run that records its taps) and ``semcomm run rx --source sigmf:PATH`` (a recording
replayed through the receiver), on top of the runs of :mod:`.run` and the annotation of :mod:`.capture`."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..capture import load_recording
from .capture import tx_log_path
from .config import load_testbed_config


def run_capture(config_path: str, overrides: dict, role: str, out_dir: Path, timeout_s: float = 600.0,
                archive: bool = False) -> dict:
    """Run ``role`` (``loopback``; ``zmq``: the four processes, the receiver recording its input; ``rx`` or
    ``rx_b210`` alone) with the config at ``config_path`` and ``overrides`` (``capture.path`` required), each
    recording validated by the ``sigmf`` package afterwards (and, with ``archive``, also written as one
    ``.sigmf`` archive); returns the run's summary with its ``captures`` section."""
    from ..capture.recording import archive_recording, validate_recording
    from .run import run_loopback, run_role, run_zmq

    config = load_testbed_config(config_path, overrides)
    if not config["capture"]["path"]:
        raise ValueError("capture.path is not set: where the recordings go")
    taps = set(config["capture"]["taps"])
    allowed = {"loopback": {"tx", "channel", "attacker"}}.get(role, {"rx"})
    if not taps <= allowed:
        raise ValueError(f"the {role} graph records {', '.join(sorted(allowed))}, not {', '.join(sorted(taps - allowed))}")
    if role == "loopback":
        summary = run_loopback(config, "capture", out_dir, timeout_s)
    elif role == "zmq":
        summary = run_zmq(config_path, [f"{key}={json.dumps(value)}" for key, value in overrides.items()], out_dir,
                          timeout_s)
    else:
        summary = run_role(role, config, out_dir, timeout_s)
    for described in (summary.get("captures") or {}).values():
        validate_recording(described["path"])
        if archive:
            described["archive"] = str(archive_recording(described["path"]))
    return summary


def replay(config: dict, source: str, out_dir: Path, timeout_s: float = 600.0) -> dict:
    """Play the SigMF recording ``source`` through the ``rx`` graph (its ZMQ input, as fast as it takes it) and
    return the receiver's summary (``summary.json``, ``frames.jsonl`` in ``out_dir``); the transmitter records
    next to the recording give the labels and reference bits."""
    import zmq

    from .outcome import COMPLETED, timed_out
    from .run import build_graph, graph_arguments, save_summary

    recording = load_recording(source)
    log = tx_log_path(_capture_base(recording))
    out_dir.mkdir(parents=True, exist_ok=True)
    graph = build_graph("rx", {**graph_arguments(config, "rx", out_dir), "tx_log_path": str(log) if log.is_file()
                               else "", "capture_path": ""})
    socket = zmq.Context.instance().socket(zmq.PUSH)
    socket.bind(config["endpoints"]["channel_out"])
    graph.start()
    started = time.monotonic()
    try:
        for _, samples in recording.segments():
            for first in range(0, samples.size, 1 << 16):
                socket.send(np.ascontiguousarray(samples[first: first + (1 << 16)]).tobytes())
        end = COMPLETED if _wait_until_idle(graph, started + timeout_s) else timed_out(timeout_s)
    finally:
        graph.stop()
        graph.wait()
        socket.close(linger=0)
    summary = graph.metrics.summary(f"replay {recording.base.name}", time.monotonic() - started)
    summary["source"] = str(recording.base)
    summary.update({key: None for key in summary if key.startswith("latency")})  # the live run's clock, not ours
    summary.update(end.fields())
    return save_summary(summary, out_dir)


def _capture_base(recording) -> str:
    """The run's ``capture.path`` of a recording ``<capture.path>.<tap>``."""
    return str(recording.base.with_suffix("")) if recording.base.suffix else str(recording.base)


def _wait_until_idle(graph, deadline: float, quiet_s: float = 2.0) -> bool:
    """Until the receiver has seen no new sample for ``quiet_s`` seconds (True: all decoded) or the deadline."""
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = graph.receiver.samples
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since > quiet_s:
            return True
        time.sleep(0.05)
    return False
