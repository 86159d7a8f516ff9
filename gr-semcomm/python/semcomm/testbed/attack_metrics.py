"""The attack section of a run: what the attacker radio did (:meth:`semcomm.channel.attacker_radio.AttackerRadio.summary`)
and, per frame, whether it was hit, the burst's offset and the realised PSR, joined into ``frames.jsonl`` by
sequence number.

The realised PSR of a frame at the receiver is ``psr_db + 20 log10 |h_a| + relative_power_db``: the channel's
scaling of the attacker's unit-power waveform, the attacker channel's gain, and the power the attacker actually
put on the frame's span relative to the nominal (0 dB for a whole, aligned burst; less for a late or misaligned
one).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..util import write_atomic


def received_offset_db(psr_db: float, h_a: complex) -> float:
    """dB added to the attacker's relative power at the receiver: the PSR and ``20 log10 |h_a|`` (the gain alone
    may be given: the phase does not change the power)."""
    return float(psr_db) + 20 * math.log10(abs(h_a)) if abs(h_a) > 0 else -math.inf


def attack_section(radio_summary: dict, psr_db: float, h_a: complex) -> dict:
    """The attacker's summary with the requested and the mean realised PSR over the frames it hit (dB)."""
    relative = radio_summary.get("relative_power_db_mean")
    offset = received_offset_db(psr_db, h_a)
    return {**radio_summary, "psr_db_requested": float(psr_db),
            "psr_db_realised_mean": None if relative is None else offset + relative}


def frame_fields(record: dict, offset_db: float) -> dict:
    """Per-frame attack fields for ``frames.jsonl`` from a ledger record."""
    relative = record["relative_power_db"]
    return {"attacked": record["attacked"], "attack_offset": record["offset"],
            "attack_psr_db": None if relative is None else offset_db + relative}


def annotate_frames(path: Path, records: list[dict], offset_db: float) -> int:
    """Add the attack fields to each line of ``frames.jsonl`` whose ``seq`` has a ledger record (rewritten in
    place through a temporary file); returns how many lines got them."""
    by_seq = {record["seq"]: frame_fields(record, offset_db) for record in records}
    if not path.is_file() or not by_seq:
        return 0
    annotated, lines = 0, []
    for line in path.read_text().splitlines():
        if line.strip():
            frame = json.loads(line)
            if frame.get("seq") in by_seq:
                frame.update(by_seq[frame["seq"]])
                annotated += 1
            lines.append(json.dumps(frame))
    write_atomic(path, "".join(line + "\n" for line in lines).encode())
    return annotated


def write_records(path: Path, records: list[dict]) -> None:
    """The attacker's per-frame ledger as JSON lines (``attack.jsonl``)."""
    with open(path, "w") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
