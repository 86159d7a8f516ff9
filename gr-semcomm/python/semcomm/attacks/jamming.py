"""Protocol-aware classical baselines: frame-aligned jamming that needs no model and no data.

* :class:`GaussianJamming`: ``CN(0, 1)`` over the whole frame (span ``frame``).
* :class:`PayloadJamming`: ``CN(0, 1)`` over the payload only (span ``payload``): the reference a
  payload-span semantic attack must beat at equal PSR.
* :class:`PreambleJamming`: ``CN(0, 1)`` over the preamble and the header only (span ``preamble_header``),
  the classical cheapest way to lose a frame: a receiver that cannot find or read the header drops it.
* :class:`ToneJamming`: a continuous tone over the whole frame (span ``frame``).

All are frame-aligned (``sync = oracle``) and know the frame layout only (no model, no channel).
"""
from __future__ import annotations

import numpy as np

from ..channel.attacker import gaussian_jamming, tone_jamming
from .base import Attack
from .threat import ThreatModel

_CLASSICAL = ThreatModel(model="none", channel="none", sync="oracle")


class GaussianJamming(Attack):
    name, span, threat = "gaussian", "frame", _CLASSICAL

    def perturb(self, batch, psr_db: float, rng: np.random.Generator) -> np.ndarray:
        return self.scaled(batch, gaussian_jamming(batch.symbols.shape, rng), psr_db)


class PayloadJamming(GaussianJamming):
    name, span = "payload_gaussian", "payload"


class PreambleJamming(GaussianJamming):
    name, span = "preamble", "preamble_header"


class ToneJamming(Attack):
    """A tone at ``freq`` cycles per symbol with a random phase per frame."""
    name, span, threat = "tone", "frame", _CLASSICAL

    def __init__(self, freq: float = 0.1):
        self.freq = float(freq)

    def perturb(self, batch, psr_db: float, rng: np.random.Generator) -> np.ndarray:
        phases = rng.uniform(0, 2 * np.pi, len(batch.symbols))
        tones = np.stack([tone_jamming((batch.symbols.shape[1],), self.freq, phase) for phase in phases])
        return self.scaled(batch, tones, psr_db)

    def describe(self) -> dict:
        return {**super().describe(), "freq_cycles_per_symbol": self.freq}
