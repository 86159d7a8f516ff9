"""Bit/block error rate simulation of QAM (optionally LDPC-coded) over AWGN or fading, and theory.

Monte-Carlo: random information bits -> (LDPC encode) -> QAM -> channel -> soft demap -> (LDPC
decode) -> count errors. The channel is :class:`FadingSpec`: AWGN, or Rayleigh/Rician block
fading ``y = h x + n`` equalised with perfect CSI (``y / h`` demapped with ``N0 / |h|^2``) or
demapped as received without CSI (``y`` with ``N0``); each SNR point stops after ``max_errors`` bit errors or ``max_bits``
information bits, whichever comes first. A *block* is one LDPC codeword (``k`` information bits)
or, uncoded, ``block_bits`` bits.

SNR bookkeeping: ``Es/N0 = Eb/N0 + 10 log10(R k)`` with code rate ``R`` and ``k`` bits/symbol.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..channel import awgn, block_gains, ebn0_to_esn0_db, equalize
from ..phy.ldpc import LDPCCode
from ..phy.qam import QAM

MAX_SWEEP_POINTS = 1000
CHANNELS = ("awgn", "rayleigh", "rician")


@dataclass(frozen=True)
class FadingSpec:
    """The sweep's channel: ``kind`` in :data:`CHANNELS`; for fading, the Rician K-factor (dB),
    the symbols per fading block (1: independent gain per symbol) and whether the receiver knows h."""
    kind: str = "awgn"
    k_factor_db: float = 0.0
    block_length: int = 1
    csi: bool = True

    def __post_init__(self):
        if self.kind not in CHANNELS:
            raise ValueError(f"unknown channel {self.kind!r}; allowed: {', '.join(CHANNELS)}")
        if int(self.block_length) < 1:
            raise ValueError(f"fading block length must be >= 1 symbol, got {self.block_length}")

    def apply(self, x: np.ndarray, esn0_db: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``x [..., n]`` -> (symbols to demap, their N0), per the module docstring."""
        if self.kind == "awgn":
            return awgn(x, esn0_db, rng)
        k_factor_db = -np.inf if self.kind == "rayleigh" else self.k_factor_db
        h = block_gains(x.shape, rng, k_factor_db, block_length=self.block_length)
        y, n0 = awgn(h * x, esn0_db, rng)
        return equalize(y, h, n0) if self.csi else (y, n0)


def parse_db_range(text: str) -> np.ndarray:
    """``START:STOP[:STEP]`` in dB, inclusive of STOP, step 1 by default; a single number is one point."""
    parts = str(text).split(":")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"invalid dB range {text!r}: expected START:STOP[:STEP] with numbers, e.g. 0:10 or 0:10:0.5") from None
    if not all(math.isfinite(value) for value in values):
        raise ValueError(f"invalid dB range {text!r}: START, STOP and STEP must be finite numbers (no inf or nan)")
    if len(values) == 1:
        return np.array(values)
    if len(values) not in (2, 3):
        raise ValueError(f"invalid dB range {text!r}: expected START:STOP[:STEP]")
    start, stop, step = values[0], values[1], values[2] if len(values) == 3 else 1.0
    if step <= 0:
        raise ValueError(f"invalid dB range {text!r}: STEP must be > 0, got {step}")
    if stop < start:
        raise ValueError(f"invalid dB range {text!r}: STOP {stop} is below START {start}")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > MAX_SWEEP_POINTS:
        raise ValueError(f"invalid dB range {text!r}: {count} points, at most {MAX_SWEEP_POINTS} allowed")
    return np.round(start + step * np.arange(count), 10)


def theoretical_ber_rayleigh(modulation: str, ebn0_db: float) -> float:
    """BPSK/QPSK (Gray) BER over flat Rayleigh fading with coherent detection:
    ``(1 - sqrt(g / (1 + g))) / 2`` with ``g = Eb/N0`` (average)."""
    if modulation not in ("bpsk", "qpsk"):
        raise ValueError(f"Rayleigh closed form is for bpsk or qpsk, got {modulation!r}")
    g = 10 ** (ebn0_db / 10)
    return 0.5 * (1.0 - math.sqrt(g / (1.0 + g)))


def theoretical_ber(modulation: str, ebn0_db: float) -> float:
    """Exact uncoded BER of Gray QAM over AWGN with per-dimension nearest-level decisions.

    For each dimension (a Gray PAM with levels ``a_l``) and each sent level, the probability of
    deciding level ``l`` is a difference of Q-functions over ``l``'s decision interval; weighting by
    the Hamming distance of the labels gives the exact BER (the closed form of Cho & Yoon, 2002;
    it reduces to ``Q(sqrt(2 Eb/N0))`` for BPSK and QPSK).
    """
    qam = QAM(modulation)
    esn0 = 10 ** ((ebn0_db + 10 * math.log10(qam.bits_per_symbol)) / 10)
    sigma = math.sqrt(1.0 / esn0 / 2.0)  # per real dimension, Es = 1
    amplitude = np.round(qam.amplitude_by_label.astype(np.float64) / qam.scale) * qam.scale  # exact levels
    labels = np.argsort(amplitude)  # label of each level, levels in increasing order
    levels = amplitude[labels]
    bounds = np.concatenate([[-np.inf], (levels[1:] + levels[:-1]) / 2, [np.inf]])

    def q(x):
        return 0.5 * math.erfc(x / math.sqrt(2)) if np.isfinite(x) else (0.0 if x > 0 else 1.0)

    errors = 0.0
    for sent, sent_label in zip(levels, labels):
        for i, decided_label in enumerate(labels):
            p = q((bounds[i] - sent) / sigma) - q((bounds[i + 1] - sent) / sigma)
            errors += p * bin(int(sent_label) ^ int(decided_label)).count("1")
    return errors / (len(levels) * qam.bits_per_dim)


@dataclass
class BerPoint:
    ebn0_db: float
    esn0_db: float
    ber: float
    bler: float
    bits: int
    errors: int
    blocks: int
    block_errors: int
    pre_fec_ber: float
    seconds: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def simulate_point(qam: QAM, code: LDPCCode | None, ebn0_db: float, rng: np.random.Generator,
                   max_errors: int = 1000, max_bits: int = 10_000_000, block_bits: int = 1944,
                   blocks_per_batch: int = 256, channel: FadingSpec = FadingSpec(), **decoder_options) -> BerPoint:
    """One Monte-Carlo point (see module docstring)."""
    if max_errors < 1 or max_bits < 1:
        raise ValueError(f"a point needs max_errors >= 1 and max_bits >= 1, got {max_errors} and {max_bits}")
    rate = code.rate if code is not None else 1.0
    esn0_db = float(ebn0_to_esn0_db(ebn0_db, qam.bits_per_symbol, rate))
    info_len = code.k if code is not None else block_bits
    coded_len = code.n if code is not None else block_bits
    tail = -coded_len % qam.bits_per_symbol
    bits = errors = blocks = block_errors = coded_errors = 0
    start = time.perf_counter()
    while errors < max_errors and bits < max_bits:
        batch = max(1, min(blocks_per_batch, -(-(max_bits - bits) // info_len)))
        info = rng.integers(0, 2, (batch, info_len), dtype=np.uint8)
        coded = code.encode(info) if code is not None else info
        sent = np.concatenate([coded, np.zeros((batch, tail), dtype=np.uint8)], axis=1)
        received, n0 = channel.apply(qam.modulate(sent), esn0_db, rng)
        llr = qam.demodulate_llr(received, n0)[:, :coded_len]
        coded_errors += int(np.count_nonzero((llr < 0) != coded))
        decided = code.decode(llr, **decoder_options).info_bits if code is not None else (llr < 0)
        wrong = decided != info
        errors += int(wrong.sum())
        block_errors += int(wrong.any(axis=1).sum())
        bits += batch * info_len
        blocks += batch
    return BerPoint(float(ebn0_db), esn0_db, errors / bits, block_errors / blocks, bits, errors, blocks,
                    block_errors, coded_errors / (blocks * coded_len), time.perf_counter() - start)
