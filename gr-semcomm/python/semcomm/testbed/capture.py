"""Captures of a testbed run (``semcomm capture``) and their replay through the receiver
(``semcomm run rx --source sigmf:PATH``), without GNU Radio at import.

After a run that recorded taps (``capture.path``), :func:`finish_captures` annotates each recording with one
annotation per frame the tap carried tags for (a receiver graph's input carries none: there, each frame the
receiver detected, at the position it detected it): the frame's sample span and its outcome from the run's
``frames.jsonl`` (detected, header/payload CRC, true and decoded label, correct, attacked) and the link's model
id; the transmitter's records (labels and reference bits, what the receiver's metrics compare against) are
written next to the recordings (``<capture.path>.tx_log.jsonl``) so that a replay measures the same figures.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..capture import annotate_frames, load_recording
from .config import load_testbed_config
from .metrics import TxLogWriter

CAPTURE_SINKS = ("capture_tx", "capture_channel", "capture_attacker", "capture_rx")  #: graph block names


def tx_log_path(capture_path) -> Path:
    """Where a run's transmitter records go next to its recordings."""
    return Path(f"{capture_path}.tx_log.jsonl")


def finish_captures(graph, config: dict, out_dir: Path) -> dict | None:
    """Annotate the recordings ``graph`` made (module doc) and describe them for the summary (None: none)."""
    sinks = {name: getattr(graph, name) for name in CAPTURE_SINKS
             if getattr(getattr(graph, name, None), "recorder", None) is not None}
    if not sinks:
        return None
    outcomes = _frame_outcomes(out_dir / "frames.jsonl", _model_id(config))
    records = list(graph.metrics.metrics.tx.values()) if hasattr(graph, "metrics") else []
    if records:
        writer = TxLogWriter(tx_log_path(config["capture"]["path"]))
        for record in sorted(records, key=lambda r: r["seq"]):
            writer.write(record)
        writer.close()
    described = {}
    for name, sink in sinks.items():
        recorder = sink.recorder
        tagged = sink.frames or _detected_frames(out_dir / "frames.jsonl", config)  # a receiver's input: no tags
        frames = [{**frame, **outcomes.get(frame["seq"], {})} for frame in tagged]
        annotated = annotate_frames(recorder.base, frames, class_names=config_classes(config)) if frames else 0
        described[name.removeprefix("capture_")] = {
            "path": str(recorder.base), "samples": recorder.samples, "dropped_samples": recorder.dropped_samples,
            "segments": len(recorder.captures), "frames_annotated": annotated, "failed": recorder.failed}
    return described


def _detected_frames(path: Path, config: dict) -> list[dict]:
    """Frames where the receiver found them (a receiver graph's recording has no transmitter tags): the first
    sample is the matched filter's index of the first symbol less the two RRC delays (transmit and matched
    filter: ``len(taps) - 1``), the length the frame's symbols and guard for the config's link."""
    from ..attacks.perturbation import link_layout
    from ..export.contract import link_model_info
    from ..phy.bits import IndexBitMapper

    if not path.is_file():
        return []
    modem = config["modem"]
    info = link_model_info(config["model"])
    num_bits = IndexBitMapper(info.alphabet, num_indices=info.num_tokens).num_bits
    symbols = link_layout(modem["modulation"], modem["code"], -(-num_bits // 8))["frame_symbols"]
    delay, length = modem["rrc_span"] * modem["sps"], (symbols + modem["guard_symbols"]) * modem["sps"]
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [{"seq": line["seq"], "start": max(0, int(line["rx_sample"]) - delay), "samples": length}
            for line in lines if line.get("rx_sample") is not None]


def _frame_outcomes(path: Path, model_id: str) -> dict:
    """seq -> the frame's outcome fields from ``frames.jsonl`` (and the link's model id)."""
    if not path.is_file():
        return {}
    outcomes = {}
    for line in path.read_text().splitlines():
        if line.strip():
            frame = json.loads(line)
            outcomes[frame["seq"]] = {**{key: frame.get(key) for key in ("detected", "header_ok", "payload_crc_ok",
                                                                          "label", "pred", "correct", "attacked")},
                                      "model_id": model_id}
    return outcomes


def _model_id(config: dict) -> str:
    from ..export.contract import link_model_info

    return link_model_info(config["model"]).model_id


def config_classes(config: dict):
    from ..export.contract import link_model_info

    return link_model_info(config["model"]).classes


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
