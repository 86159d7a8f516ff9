"""Stateful sample-stream channel for flowgraphs: the batch models of this package applied to a
stream that arrives in chunks of any size, with identical output for any chunking.

Model, per sample ``t`` of the stream (``sps`` samples per symbol)::

    y[t] = h_t[t] * x(t - d) * exp(j 2 pi f t)
           + sqrt(PSR * Es / sps) * h_a * g_t[t] * delta(t - d_a) * exp(j 2 pi f_a t) + n[t]

* ``x``: the pulse-shaped transmitter stream, unit-energy symbols (:mod:`semcomm.phy.pulse`), so its
  power is ``Es / sps`` per sample while a frame is on the air (``Es = 1``).
* ``n ~ CN(0, N0)`` with ``N0 = 10^(-snr_db / 10)``: after the unit-energy matched filter the
  symbols see Es/N0 = ``snr_db`` (the same definition as the symbol-level simulation).
* ``d``: timing offset in samples (fractional, :func:`.impairments.fractional_delay_taps`; when ``d`` or
  ``d_a`` has a fraction, both paths are delayed ``FD_HALF_LENGTH - 1`` more samples, the filter's look-ahead);
  ``f``: carrier offset in cycles per sample.
* ``h_t``: block fading (:func:`.fading.block_gains`: ``none``, ``rayleigh`` or ``rician``), one gain per
  ``fading_block`` samples, ``E|h|^2 = 1``.
* ``delta``: the attacker's waveform (unit power, e.g. :class:`.jammer.StreamJammer`), scaled to the
  perturbation-to-signal ratio ``psr_db`` relative to the nominal transmitter power ``Es / sps``
  and passed through the attacker's own channel ``H_a``: static gain ``h_a`` (complex), block fading ``g_t``
  (``h_a_fading``, ``E|g|^2 = 1``, its own draws), carrier offset ``f_a`` (``h_a_cfo``, cycles per sample:
  the attacker's oscillator against the receiver's, besides the transmitter's ``f``) and timing error ``d_a``
  (``h_a_delay`` samples, fractional: where the attacker's waveform lands against where it aimed).

Hardware impairments of a radio pair (:class:`FrontEnd`, applied to the received sum in this order):

* multipath on the transmitter's path: a tapped delay line ``sum_i a_i x(t - k_i)`` (``multipath``: pairs
  ``(delay in samples, complex gain)``, normalised here to unit energy);
* receiver LO phase noise (Wiener, ``phase_noise_var`` rad^2 per sample: ``2 pi B / fs`` for linewidth ``B``);
* IQ imbalance ``y = K1 y + K2 conj(y)``, ``K1 = (1 + g e^{-j phi}) / 2``, ``K2 = (1 - g e^{j phi}) / 2`` for a
  gain mismatch ``g`` (``iq_gain_db``) and a phase mismatch ``phi`` (``iq_phase_deg``) of the Q branch; image
  rejection ratio ``|K1|^2 / |K2|^2``;
* DC offset: a constant ``dc_offset_db`` below (or above) the transmitter's nominal power ``Es / sps``.

A carrier offset in ppm is ``cfo`` (cycles per sample ``= ppm 1e-6 f_c / f_s``: the testbed config converts).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .awgn import complex_normal, noise_variance
from .fading import block_gains
from .impairments import FD_HALF_LENGTH, fractional_delay_taps

FADING = ("none", "rayleigh", "rician")
CLOCK_STEPS = 256  #: sample-clock interpolation: the fraction of a sample is quantised to 1/256


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
    h_a_fading: str = "none"      #: attacker channel block fading (its own draws, same fading_block)
    h_a_k_factor_db: float = 0.0  #: its Rician K-factor
    h_a_cfo: float = 0.0          #: attacker carrier offset, cycles per sample
    h_a_delay: float = 0.0        #: attacker timing error, samples, >= 0
    multipath: tuple = ()         #: ((delay samples, complex gain), ...) on the transmitter's path; () none
    phase_noise_var: float = 0.0  #: receiver LO Wiener phase noise, rad^2 per sample
    iq_gain_db: float = 0.0       #: receiver IQ gain mismatch
    iq_phase_deg: float = 0.0     #: receiver IQ phase mismatch
    dc_offset_db: float = float("-inf")  #: receiver DC offset power relative to Es / sps (-inf: none)
    seed: int = 0

    def __post_init__(self):
        for name in ("fading", "h_a_fading"):
            if getattr(self, name) not in FADING:
                raise ValueError(f"{name} must be one of {', '.join(FADING)}, got {getattr(self, name)!r}")
        if int(self.sps) != self.sps or self.sps < 1:
            raise ValueError(f"sps must be an integer >= 1, got {self.sps!r}")
        for name in ("cfo", "h_a_cfo"):
            if not abs(getattr(self, name)) <= 0.5:
                raise ValueError(f"{name} must be in [-0.5, 0.5] cycles/sample, got {getattr(self, name)!r}")
        for name in ("timing_offset", "h_a_delay"):
            if not 0.0 <= getattr(self, name) < 1e6:
                raise ValueError(f"{name} must be >= 0 samples, got {getattr(self, name)!r}")
        if int(self.fading_block) != self.fading_block or self.fading_block < 1:
            raise ValueError(f"fading_block must be an integer >= 1, got {self.fading_block!r}")
        for delay, gain in self.multipath:
            if int(delay) != delay or not 0 <= delay < 10_000 or not np.isfinite(complex(gain)):
                raise ValueError(f"multipath taps are (delay in whole samples 0..9999, finite gain), got "
                                 f"{(delay, gain)!r}")
        if self.multipath and not any(abs(complex(gain)) for _, gain in self.multipath):
            raise ValueError("multipath taps have no energy")
        if not 0 <= self.phase_noise_var < 1:
            raise ValueError(f"phase_noise_var must be in [0, 1) rad^2 per sample, got {self.phase_noise_var!r}")
        if not abs(self.iq_gain_db) <= 6 or not abs(self.iq_phase_deg) <= 45:
            raise ValueError(f"IQ imbalance must be within 6 dB and 45 degrees, got {self.iq_gain_db!r} dB, "
                             f"{self.iq_phase_deg!r} degrees")


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


class PathImpairments:
    """One propagation path over a chunked stream: delay ``d`` (fractional) plus a common ``latency`` (whole
    samples), carrier offset ``f`` (cycles per sample) and block fading,
    ``y[t] = h[t] x(t - d - latency) exp(j 2 pi f t)``; the same output for any chunking."""

    def __init__(self, cfo: float, delay: float, fading: str, k_factor_db: float, fading_block: int, rng,
                 latency: int = 0):
        self.cfo, self.fading, self.k_factor_db, self.fading_block, self._rng = cfo, fading, k_factor_db, \
            fading_block, rng
        self._delay_filter = _delay_filter(delay, latency)
        self._time = 0            # samples processed so far
        self._gain = 1.0 + 0j     # current fading gain
        self._fading_left = 0     # samples left in the current fading block

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = self._delay_filter(x) if self._delay_filter else x
        if self.cfo:
            t = self._time + np.arange(x.size, dtype=np.float64)
            y = y * np.exp(2j * np.pi * np.mod(self.cfo * t, 1.0)).astype(np.complex64)
        if self.fading != "none":
            y = y * self._gains(x.size)
        self._time += x.size
        return y

    def _gains(self, count: int) -> np.ndarray:
        """Per-sample gains for the next ``count`` samples (blocks continue across chunks)."""
        gains = np.empty(count, dtype=np.complex64)
        filled = 0
        while filled < count:
            if self._fading_left == 0:
                k_db = -np.inf if self.fading == "rayleigh" else self.k_factor_db
                self._gain = block_gains((1,), self._rng, k_db)[0]
                self._fading_left = self.fading_block
            take = min(self._fading_left, count - filled)
            gains[filled: filled + take] = self._gain
            filled += take
            self._fading_left -= take
        return gains


def _delay_filter(delay: float, latency: int = 0) -> StreamFilter | None:
    """A causal filter delaying by ``delay + latency`` samples, or None for no delay. A fractional delay needs
    ``latency >= FD_HALF_LENGTH - 1``: the centred fractional-delay filter looks that far ahead."""
    shift = int(np.floor(delay))
    frac = delay - shift
    if frac > 0:
        if latency < FD_HALF_LENGTH - 1:
            raise ValueError(f"a fractional delay needs a latency of {FD_HALF_LENGTH - 1} samples, got {latency}")
        shift += latency - (FD_HALF_LENGTH - 1)
        taps = fractional_delay_taps(frac)
    else:
        shift += latency
        taps = np.ones(1)
    taps = np.concatenate([np.zeros(shift), taps]).astype(np.complex64) if shift else taps
    return StreamFilter(taps) if taps.size > 1 else None


def multipath_filter(taps) -> StreamFilter | None:
    """The tapped delay line of ``taps`` ``((delay, gain), ...)``, normalised to unit energy (None: no taps)."""
    if not taps:
        return None
    line = np.zeros(int(max(delay for delay, _ in taps)) + 1, np.complex64)
    for delay, gain in taps:
        line[int(delay)] += complex(gain)
    return StreamFilter(line / np.sqrt(np.sum(np.abs(line) ** 2)))


class FrontEnd:
    """The receiver's hardware impairments on a chunked stream (module doc): phase noise, IQ imbalance and DC
    offset; the same output for any chunking."""

    def __init__(self, config: StreamChannelConfig, rng: np.random.Generator):
        gain, phase = 10 ** (config.iq_gain_db / 20), np.deg2rad(config.iq_phase_deg)
        self.k1, self.k2 = (1 + gain * np.exp(-1j * phase)) / 2, (1 - gain * np.exp(1j * phase)) / 2
        self.dc = 0j if np.isneginf(config.dc_offset_db) else \
            complex(np.sqrt(10 ** (config.dc_offset_db / 10) / config.sps) * np.exp(1j * np.pi / 4))
        self.phase_noise_std, self._phase, self._rng = float(np.sqrt(config.phase_noise_var)), 0.0, rng

    @property
    def active(self) -> bool:
        return bool(self.phase_noise_std or self.k2 or self.k1 != 1 or self.dc)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        if self.phase_noise_std:
            phi = self._phase + np.cumsum(self._rng.standard_normal(y.size) * self.phase_noise_std)
            self._phase = float(phi[-1]) if y.size else self._phase
            y = y * np.exp(1j * phi).astype(np.complex64)
        if self.k2 or self.k1 != 1:
            y = self.k1 * y + self.k2 * np.conj(y)
        return (y + self.dc).astype(np.complex64)


class StreamChannel:
    """Apply the module's model chunk by chunk: :meth:`process` ``(x, delta=None) -> y``."""

    def __init__(self, config: StreamChannelConfig):
        self.config = config
        noise_seed, fading_seed, attack_seed, front_end_seed = np.random.SeedSequence(config.seed).spawn(4)
        self._noise_rng = np.random.default_rng(noise_seed)
        self._n0 = float(noise_variance(config.snr_db))
        self._attack_scale = 0.0 if np.isneginf(config.psr_db) else float(np.sqrt(10 ** (config.psr_db / 10) / config.sps))
        # both paths wait for the fractional-delay filter's look-ahead when either needs it: their relative
        # timing is then exactly h_a_delay - timing_offset
        fractional = any(delay % 1 for delay in (config.timing_offset, config.h_a_delay))
        self.latency = FD_HALF_LENGTH - 1 if fractional else 0  #: samples every path is delayed besides its own
        self._path = PathImpairments(config.cfo, config.timing_offset, config.fading, config.k_factor_db,
                                     config.fading_block, np.random.default_rng(fading_seed), self.latency)
        self._attack_path = PathImpairments(config.h_a_cfo, config.h_a_delay, config.h_a_fading,
                                            config.h_a_k_factor_db, config.fading_block,
                                            np.random.default_rng(attack_seed), self.latency)
        self._multipath = multipath_filter(config.multipath)
        front_end = FrontEnd(config, np.random.default_rng(front_end_seed))
        self._front_end = front_end if front_end.active else None

    def process(self, x, delta=None) -> np.ndarray:
        x = np.asarray(x, dtype=np.complex64)
        y = self._path(self._multipath(x) if self._multipath else x)
        if delta is not None and self._attack_scale:
            delta = self._attack_path(np.asarray(delta, dtype=np.complex64))
            y = y + (self._attack_scale * complex(self.config.h_a)) * delta
        if self._n0 > 0:
            y = y + complex_normal(x.shape, self._n0, self._noise_rng)
        return self._front_end(y) if self._front_end else y.astype(np.complex64)


class ClockOffset:
    """A sample-clock offset of ``ppm`` parts per million over a chunked stream: the receiver's clock runs at
    ``(1 + ppm 1e-6)`` times the transmitter's, so its sample ``k`` is the transmitter's stream at time
    ``k / (1 + ppm 1e-6) - FD_HALF_LENGTH`` (windowed-sinc interpolation, :func:`.impairments.fractional_delay_taps`,
    the fraction quantised to 1/:data:`CLOCK_STEPS` of a sample; ``FD_HALF_LENGTH`` samples of delay are the
    interpolator's look-ahead). :meth:`process` returns the output samples the input so far allows: about
    ``(1 + ppm 1e-6)`` times as many as it is given; the same output for any chunking."""

    def __init__(self, ppm: float):
        if not abs(ppm) <= 1000:
            raise ValueError(f"clock offset must be within +-1000 ppm, got {ppm!r}")
        self.step = 1.0 / (1.0 + float(ppm) * 1e-6)  #: transmitter samples per receiver sample
        self._table = np.stack([fractional_delay_taps(k / CLOCK_STEPS) for k in range(CLOCK_STEPS)])
        self._lags = np.arange(-FD_HALF_LENGTH + 1, FD_HALF_LENGTH + 1)  # k of the taps h[k] x[t - k]
        self._buffer = np.zeros(2 * FD_HALF_LENGTH, np.complex64)  # zeros before the stream
        self._offset = -2 * FD_HALF_LENGTH  # stream index of _buffer[0]
        self._next = 0  # index of the next output sample

    def process(self, x) -> np.ndarray:
        self._buffer = np.concatenate([self._buffer, np.asarray(x, dtype=np.complex64)])
        end = self._offset + self._buffer.size  # input indices < end are here
        last = int(np.floor((end - 1) / self.step))  # the last output whose window ends before ``end``
        if last < self._next:
            return np.zeros(0, np.complex64)
        position = np.arange(self._next, last + 1) * self.step - FD_HALF_LENGTH
        whole = np.floor(position).astype(np.int64)
        quantum = np.round((position - whole) * CLOCK_STEPS).astype(np.int64)
        whole, quantum = whole + quantum // CLOCK_STEPS, quantum % CLOCK_STEPS
        # x(whole + q/S) = x(t - mu) with t = whole + 1, mu = 1 - q/S (t = whole, mu = 0 when q = 0)
        t = whole + (quantum > 0)
        taps = self._table[(CLOCK_STEPS - quantum) % CLOCK_STEPS]
        samples = self._buffer[t[:, None] - self._lags[None, :] - self._offset]
        out = np.einsum("ij,ij->i", samples, taps).astype(np.complex64)
        self._next = last + 1
        keep_from = int(np.floor(self._next * self.step)) - 2 * FD_HALF_LENGTH - 1 - self._offset
        if keep_from > 0:
            self._buffer, self._offset = self._buffer[keep_from:], self._offset + keep_from
        return out
