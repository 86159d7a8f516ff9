"""Stateful sample-stream channel for flowgraphs: the batch models of this package applied to a
stream that arrives in chunks of any size, with identical output for any chunking.

Model, per sample ``t`` of the stream (``sps`` samples per symbol)::

    y[t] = h_t[t] * x(t - d) * exp(j 2 pi f t) + sqrt(PSR * Es / sps) * h_a * delta[t] + n[t]

* ``x``: the pulse-shaped transmitter stream, unit-energy symbols (:mod:`semcomm.phy.pulse`), so its
  power is ``Es / sps`` per sample while a frame is on the air (``Es = 1``).
* ``n ~ CN(0, N0)`` with ``N0 = 10^(-snr_db / 10)``: after the unit-energy matched filter the
  symbols see Es/N0 = ``snr_db`` (the same definition as the symbol-level simulation).
* ``d``: timing offset in samples (fractional, :func:`.impairments.fractional_delay_taps`);
  ``f``: carrier offset in cycles per sample.
* ``h_t``: block fading (:func:`.fading.block_gains`: ``none``, ``rayleigh`` or ``rician``), one gain per
  ``fading_block`` samples, ``E|h|^2 = 1``.
* ``delta``: the attacker's waveform (unit power, e.g. :class:`.jammer.StreamJammer`), scaled to the
  perturbation-to-signal ratio ``psr_db`` relative to the nominal transmitter power ``Es / sps``
  and passed through the attacker's static channel ``h_a`` (complex gain).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .awgn import complex_normal, noise_variance
from .fading import block_gains
from .impairments import FD_HALF_LENGTH, fractional_delay_taps

FADING = ("none", "rayleigh", "rician")


@dataclass
class StreamChannelConfig:
    snr_db: float = 10.0          #: Es/N0 after the matched filter, dB (inf: no noise)
    sps: int = 4
    cfo: float = 0.0              #: cycles per sample
    timing_offset: float = 0.0    #: samples, >= 0
    fading: str = "none"
    k_factor_db: float = 0.0      #: Rician K-factor (fading = rician)
    fading_block: int = 4096      #: samples per fading gain
    psr_db: float = float("-inf")  #: attacker power relative to Es / sps, dB (-inf: no attack)
    h_a: complex = 1.0            #: attacker channel gain
    seed: int = 0

    def __post_init__(self):
        if self.fading not in FADING:
            raise ValueError(f"fading must be one of {', '.join(FADING)}, got {self.fading!r}")
        if int(self.sps) != self.sps or self.sps < 1:
            raise ValueError(f"sps must be an integer >= 1, got {self.sps!r}")
        if not abs(self.cfo) <= 0.5:
            raise ValueError(f"cfo must be in [-0.5, 0.5] cycles/sample, got {self.cfo!r}")
        if not 0.0 <= self.timing_offset < 1e6:
            raise ValueError(f"timing_offset must be >= 0 samples, got {self.timing_offset!r}")
        if int(self.fading_block) != self.fading_block or self.fading_block < 1:
            raise ValueError(f"fading_block must be an integer >= 1, got {self.fading_block!r}")


class StreamFilter:
    """Causal FIR filter over a chunked stream: output ``n`` is ``sum_k taps[k] x[n - k]`` (zeros before the
    stream; complex64 out, computed with the taps' dtype), the same for any chunking."""

    def __init__(self, taps):
        self.taps = np.asarray(taps)
        self._history = np.zeros(self.taps.size - 1, dtype=np.complex64)

    def __call__(self, x) -> np.ndarray:
        padded = np.concatenate([self._history, np.asarray(x, dtype=np.complex64)])
        self._history = padded[padded.size - self._history.size:]
        return np.convolve(padded, self.taps, mode="valid").astype(np.complex64)


class StreamChannel:
    """Apply the module's model chunk by chunk: :meth:`process` ``(x, delta=None) -> y``."""

    def __init__(self, config: StreamChannelConfig):
        self.config = config
        noise_seed, fading_seed = np.random.SeedSequence(config.seed).spawn(2)
        self._noise_rng, self._fading_rng = np.random.default_rng(noise_seed), np.random.default_rng(fading_seed)
        self._n0 = float(noise_variance(config.snr_db))
        self._attack_scale = 0.0 if np.isneginf(config.psr_db) else float(np.sqrt(10 ** (config.psr_db / 10) / config.sps))
        shift = int(np.floor(config.timing_offset))
        frac = config.timing_offset - shift
        taps = fractional_delay_taps(frac) if frac > 0 else np.ones(1)
        # causal delay filter: total delay = shift + frac + group delay of the centred filter
        lead = FD_HALF_LENGTH - 1 if frac > 0 else 0
        taps = np.concatenate([np.zeros(shift + lead), taps]).astype(np.complex64) if shift + lead else taps
        self._delay_filter = StreamFilter(taps) if taps.size > 1 else None
        self._time = 0            # samples processed so far
        self._gain = 1.0 + 0j     # current fading gain
        self._fading_left = 0     # samples left in the current fading block

    def process(self, x, delta=None) -> np.ndarray:
        x = np.asarray(x, dtype=np.complex64)
        y = self._delay_filter(x) if self._delay_filter else x
        if self.config.cfo:
            t = self._time + np.arange(x.size, dtype=np.float64)
            y = y * np.exp(2j * np.pi * np.mod(self.config.cfo * t, 1.0)).astype(np.complex64)
        if self.config.fading != "none":
            y = y * self._fading(x.size)
        if delta is not None and self._attack_scale:
            y = y + (self._attack_scale * complex(self.config.h_a)) * np.asarray(delta, dtype=np.complex64)
        if self._n0 > 0:
            y = y + complex_normal(x.shape, self._n0, self._noise_rng)
        self._time += x.size
        return y.astype(np.complex64)

    def _fading(self, count: int) -> np.ndarray:
        """Per-sample gains for the next ``count`` samples (blocks continue across chunks)."""
        gains = np.empty(count, dtype=np.complex64)
        filled = 0
        while filled < count:
            if self._fading_left == 0:
                k_db = -np.inf if self.config.fading == "rayleigh" else self.config.k_factor_db
                self._gain = block_gains((1,), self._fading_rng, k_db)[0]
                self._fading_left = self.config.fading_block
            take = min(self._fading_left, count - filled)
            gains[filled: filled + take] = self._gain
            filled += take
            self._fading_left -= take
        return gains
