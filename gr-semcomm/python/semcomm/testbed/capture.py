"""The recordings of a testbed run (``capture.path``): annotated once the run has ended, without GNU Radio at
import (the runs that record and replay are :mod:`.capture_runs`).

After a run that recorded taps (``capture.path``), :func:`finish_captures` annotates each recording with one
annotation per frame the tap carried tags for (a receiver graph's input carries none: there, each frame the
receiver detected, at the position it detected it): the frame's sample span and its outcome from the run's
``frames.jsonl`` (detected, header/payload CRC, true and decoded label, correct, attacked) and the link's model
id; the transmitter's records (labels and reference bits, what the receiver's metrics compare against) are
written next to the recordings (``<capture.path>.tx_log.jsonl``) so that a replay measures the same figures.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..capture import annotate_frames
from ..export.contract import link_model_info
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
    info = link_model_info(config["model"])  # read once: every recording of the run shares the link
    outcomes = _frame_outcomes(out_dir / "frames.jsonl", info.model_id)
    records = list(graph.metrics.metrics.tx.values()) if hasattr(graph, "metrics") else []
    if records:
        writer = TxLogWriter(tx_log_path(config["capture"]["path"]))
        for record in sorted(records, key=lambda r: r["seq"]):
            writer.write(record)
        writer.close()
    described = {}
    for name, sink in sinks.items():
        recorder = sink.recorder
        tagged = sink.frames or _detected_frames(out_dir / "frames.jsonl", config, info)  # a receiver's input: no tags
        frames = [{**frame, **outcomes.get(frame["seq"], {})} for frame in tagged]
        annotated = annotate_frames(recorder.base, frames, class_names=info.classes) if frames else 0
        described[name.removeprefix("capture_")] = {
            "path": str(recorder.base), "samples": recorder.samples, "dropped_samples": recorder.dropped_samples,
            "segments": len(recorder.captures), "frames_annotated": annotated, "failed": recorder.failed}
    return described


def _detected_frames(path: Path, config: dict, info) -> list[dict]:
    """Frames where the receiver found them (a receiver graph's recording has no transmitter tags): the first
    sample is the matched filter's index of the first symbol less the two RRC delays (transmit and matched
    filter: ``len(taps) - 1``), the length the frame's symbols and guard for the config's link (``info``: its
    model's :func:`~semcomm.export.contract.link_model_info`)."""
    from ..attacks.perturbation import link_layout
    from ..phy.bits import IndexBitMapper

    if not path.is_file():
        return []
    modem = config["modem"]
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
