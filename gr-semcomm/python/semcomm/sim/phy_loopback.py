"""PHY loopback: random payloads through the frame modem and an AWGN channel at several SNRs.

framing -> LDPC -> QAM -> AWGN -> soft demap -> LDPC -> deframe, frame-aligned (no sync yet).
Per SNR: pre-FEC BER (hard decisions of the payload's coded bits), post-FEC BER (payload bits of
frames whose header decoded), frame error rate (frames not delivered intact, any reason), reject
reasons, and end-to-end frames/s (TX + channel + RX, one process).
"""
from __future__ import annotations

import collections
import time

import numpy as np

from ..channel import awgn
from ..phy.modem import FrameModem, LinkConfig


def run_point(modem: FrameModem, esn0_db: float, frames: int, payload_len: int, rng: np.random.Generator) -> dict:
    payloads = rng.integers(0, 256, (frames, payload_len), dtype=np.uint8)
    start = time.perf_counter()
    tx = modem.modulate(payloads)
    received, n0 = awgn(tx.symbols, esn0_db, rng)
    rx = modem.demodulate(received, n0, expected_model_id=modem.config.model_id)
    seconds = time.perf_counter() - start
    reasons = collections.Counter(frame.deframe.reason or "ok" for frame in rx)
    decoded = [i for i, frame in enumerate(rx) if frame.coded_hard is not None]
    coded_errors = sum(int(np.count_nonzero(rx[i].coded_hard != tx.coded_bits[i])) for i in decoded)
    payload_errors = sum(_bit_errors(rx[i].deframe.payload, payloads[i]) for i in decoded)
    return {
        "esn0_db": float(esn0_db), "frames": frames, "payload_bytes": payload_len,
        "header_failures": frames - len(decoded),
        "payload_crc_failures": reasons.get("payload_crc", 0),
        "ber_pre_fec": coded_errors / max(1, len(decoded) * tx.coded_bits.shape[1]),
        "ber_post_fec": payload_errors / max(1, len(decoded) * payload_len * 8),
        "frame_error_rate": 1.0 - reasons.get("ok", 0) / frames,
        "frames_per_s": frames / seconds,
        "reasons": dict(reasons),
    }


def _bit_errors(received: bytes, sent: np.ndarray) -> int:
    return int(np.unpackbits(np.frombuffer(received, dtype=np.uint8) ^ sent).sum())


def run(config: LinkConfig, esn0_list, frames=200, payload_len=784, seed=1, progress=None) -> list[dict]:
    rng = np.random.default_rng(seed)
    modem = FrameModem(config)
    rows = []
    for esn0_db in esn0_list:
        rows.append(run_point(modem, esn0_db, frames, payload_len, rng))
        if progress:
            progress(rows[-1])
    return rows
