"""The threat model's units (:mod:`semcomm.attacks`): spans, PSR and energy per frame, attacker channels.

Shapes: frames of symbols ``[F, S]`` complex (frame-aligned, zero padded after a frame's end); a span is a
boolean mask ``[F, S]`` of the symbols a PSR is measured on (:func:`span_mask`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..phy.modem import HEADER_SYMBOLS, PREAMBLE_LENGTH

#: where an attack's PSR is measured (module doc of :mod:`semcomm.attacks`)
SPANS = ("payload", "frame", "preamble_header")
#: ``H_a`` per frame: 1, a uniform phase, or CN(0, 1)
ATTACKER_CHANNELS = ("none", "phase", "rayleigh")
MODEL_KNOWLEDGE = ("white_box", "black_box", "none")
CHANNEL_KNOWLEDGE = ("exact", "statistics", "none")
SYNC = ("oracle", "timing_error")
PAYLOAD_START = PREAMBLE_LENGTH + HEADER_SYMBOLS  #: first payload symbol of a frame (532)


@dataclass(frozen=True)
class ThreatModel:
    """What an attacker knows. ``phy``: the code, modulation and frame layout (public in any standard)."""
    model: str = "none"            #: white_box (victim weights) | black_box (a surrogate) | none
    phy: bool = True
    channel: str = "statistics"    #: exact | statistics | none (of H_a)
    sync: str = "oracle"           #: oracle (frame-aligned) | timing_error (must survive offsets)
    surrogate: str | None = None   #: the surrogate's name for a black-box attack

    def __post_init__(self):
        _check(self.model, MODEL_KNOWLEDGE, "threat model")
        _check(self.channel, CHANNEL_KNOWLEDGE, "channel knowledge")
        _check(self.sync, SYNC, "synchronisation")

    def to_dict(self) -> dict:
        return asdict(self)


def _check(value, allowed, what: str):
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; allowed: {', '.join(allowed)}")
    return value


def span_mask(span: str, frame_lengths, num_symbols: int) -> np.ndarray:
    """Boolean ``[F, num_symbols]``: the symbols of ``span`` in each frame of ``frame_lengths [F]`` symbols."""
    _check(span, SPANS, "span")
    lengths = np.asarray(frame_lengths, dtype=np.int64).reshape(-1, 1)
    k = np.arange(num_symbols)[None, :]
    if span == "payload":
        return (k >= PAYLOAD_START) & (k < lengths)
    if span == "frame":
        return k < lengths
    return np.broadcast_to(k < PAYLOAD_START, (len(lengths), num_symbols)).copy()


def _span_power(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    power = np.abs(values.astype(np.complex128)) ** 2 * mask
    return power.sum(axis=1) / np.maximum(mask.sum(axis=1), 1)


def scale_to_span(delta, x, mask, psr_db) -> np.ndarray:
    """``delta [F, S]`` scaled per frame so that its mean power over ``mask`` is ``10^(psr_db/10)`` times the
    mean power of ``x`` there; ``delta`` is zeroed outside the mask. ``psr_db = -inf``: all zeros. A frame
    whose ``delta`` has no power on the span is left at zero (an attack that does not reach it)."""
    delta = np.where(mask, np.asarray(delta, dtype=np.complex64), 0)
    if np.isneginf(psr_db):
        return np.zeros_like(delta)
    signal, perturbation = _span_power(np.asarray(x), mask), _span_power(delta, mask)
    if (signal <= 0).any():
        raise ValueError("a frame has no signal power on the span: its PSR is undefined")
    gain = np.sqrt(10.0 ** (psr_db / 10.0) * signal / np.where(perturbation > 0, perturbation, 1.0))
    return (delta * np.where(perturbation > 0, gain, 0.0)[:, None]).astype(np.complex64)


def psr_db(delta, x, mask) -> np.ndarray:
    """Per-frame PSR ``[F]`` in dB over ``mask`` (``delta`` and ``x`` as received: channels applied)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(_span_power(np.asarray(delta), mask) / _span_power(np.asarray(x), mask))


def energy_ratio_db(delta, x, frame_lengths) -> np.ndarray:
    """Per-frame attacker energy / frame energy ``[F]`` in dB over each whole frame."""
    mask = span_mask("frame", frame_lengths, np.asarray(x).shape[1])
    energy = lambda v: (np.abs(np.asarray(v, dtype=np.complex128)) ** 2 * mask).sum(axis=1)  # noqa: E731
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(energy(delta) / energy(x))


def attacker_gains(kind: str, frames: int, rng: np.random.Generator) -> np.ndarray:
    """``H_a`` per frame ``[F]`` complex64 (:data:`ATTACKER_CHANNELS`), ``E|H_a|^2 = 1``."""
    _check(kind, ATTACKER_CHANNELS, "attacker channel")
    if kind == "none":
        return np.ones(frames, dtype=np.complex64)
    if kind == "phase":
        return np.exp(2j * np.pi * rng.random(frames)).astype(np.complex64)
    return ((rng.standard_normal(frames) + 1j * rng.standard_normal(frames)) / np.sqrt(2)).astype(np.complex64)
