"""Burst receiver synchronisation: frame detection, timing, CFO, phase and gain from the preamble
and the BPSK header (data-aided), on matched-filtered samples.

Input: the matched-filter output (:func:`semcomm.phy.pulse.matched_filter`, ``sps`` samples per
symbol, unit-energy RRC) of a stream of frames laid out as in :mod:`semcomm.phy.modem`. For each
frame :class:`FrameSynchronizer` does:

1. **Detection** — normalised preamble correlation, non-coherent over ``SEGMENTS`` segments of
   ``64 / SEGMENTS`` chips so a carrier offset does not cancel it::

       m[n] = sum_i |c_i[n]| / sqrt(64 * E[n]),  c_i[n] = sum_{k in seg i} conj(p_k) y[n + k sps],
       E[n] = sum_{k<64} |y[n + k sps]|^2

   ``0 <= m <= 1`` (Cauchy-Schwarz), ``m = 1`` for a noiseless preamble, about ``sqrt(snr/(1+snr))``
   at Es/N0 ``snr``, about 0.22 on noise. A frame starts at the first local maximum above the
   threshold.
2. **Timing** — parabolic interpolation of ``m`` around the peak gives the fractional start
   ``t0``; symbols are read at ``t0 + k sps`` with a windowed-sinc interpolator
   (:func:`semcomm.channel.impairments.fractional_delay_taps`). The sample clock is assumed exact
   over one frame.
3. **Coarse CFO** — the phase step between the segment correlations, then a refinement on the
   squared preamble + header symbols (both BPSK, so ``r^2`` carries no modulation): a straight line
   fitted to the unwrapped phases of 16-symbol block means (:func:`fit_phase_ramp`). The 180°
   ambiguity is resolved by the preamble.
4. **Header** — derotated, gain-normalised BPSK header symbols -> :meth:`FrameModem.decode_headers`.
5. **Fine CFO, phase, gain and noise** — with the header decoded and re-encoded, all 532 preamble +
   header symbols are known: ``z_k = r_k conj(s_k)`` gives the phase ramp (``omega``, ``theta``),
   the gain ``g`` and the noise variance ``N0`` (mean residual power).
6. **Payload** — ``r_k exp(-j(omega k + theta)) / g``, noise variance ``N0 / g^2``; the estimated
   Es/N0 is ``g^2 / N0``.

Capture range of the CFO: about ``|f| < 1 / (2 * 64 / SEGMENTS)`` cycles/symbol (0.03 with 4
segments) around each *frequency hypothesis*. With ``cfo_range`` (cycles/symbol) the detector correlates
with the preamble shifted to each of the hypotheses ``h = k CFO_STEP`` (``|h| <= cfo_range`` rounded up to a
step) and keeps the best one; steps 3-6 then work on the symbols derotated by ``h`` and the frame's CFO is
``h`` plus their estimate. Uncalibrated radios (e.g. two B210s, +-2 ppm each: 9.8 kHz at 2.45 GHz, 0.039
cycles/symbol at 1 Msps and 4 samples per symbol) need it; each hypothesis costs one more correlation.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..channel.impairments import fractional_delay_taps
from . import _sync_kernels as kernels
from .framing import FrameHeader, Reject
from .modem import HEADER_SYMBOLS, PREAMBLE_LENGTH, FrameModem, preamble

SEGMENTS = 4
KNOWN_SYMBOLS = PREAMBLE_LENGTH + HEADER_SYMBOLS  #: preamble + header, all BPSK
PHASE_BLOCK = 16
INTERP_HALF = 8  #: half length of the symbol interpolator (16 taps)
INTERP_STEPS = 256
#: candidate starts per metric evaluation: small, so the search stops at the next preamble instead of
#: correlating through frame bodies (4.7 vs 2.4 Msps with 8192 on this machine)
FFT_BLOCK = 512
CFO_STEP = 0.04  #: cycles/symbol between frequency hypotheses (< 2 x the capture range of one)


def cfo_hypotheses(cfo_range: float) -> np.ndarray:
    """The detector's frequency hypotheses (cycles/symbol) covering ``+-cfo_range`` (module doc)."""
    if not 0 <= cfo_range < 0.5:
        raise ValueError(f"cfo_range must be in [0, 0.5) cycles/symbol, got {cfo_range!r}")
    count = int(np.ceil(cfo_range / CFO_STEP - 1e-9))
    return np.arange(-count, count + 1) * CFO_STEP


@dataclass
class SyncedFrame:
    """One detected frame. ``reject`` is None when the header decoded; then ``payload`` holds the
    equalised payload symbols with noise variance ``noise_var``."""
    start: float                   #: stream position (samples, fractional) of the first preamble symbol
    metric: float                  #: detection metric at the peak
    header: FrameHeader | None = None
    reject: str | None = None
    payload: np.ndarray | None = None
    noise_var: float = float("nan")
    snr_db: float = float("nan")
    cfo: float = float("nan")      #: cycles per symbol
    phase: float = float("nan")    #: carrier phase at the first preamble symbol, radians
    gain: float = float("nan")


@functools.lru_cache(maxsize=64)
def _segment_spectra(sps: int, nfft: int, cfo: float = 0.0) -> np.ndarray:
    """``conj(FFT)`` of each segment's sparse preamble template shifted by ``cfo`` cycles/symbol,
    ``[SEGMENTS, nfft]``."""
    chips = preamble() * np.exp(2j * np.pi * cfo * np.arange(PREAMBLE_LENGTH))
    per = PREAMBLE_LENGTH // SEGMENTS
    templates = np.zeros((SEGMENTS, nfft), dtype=np.complex128)
    for i in range(SEGMENTS):
        k = np.arange(i * per, (i + 1) * per)
        templates[i, k * sps] = chips[k]
    return np.conj(np.fft.fft(templates, axis=1))


def _strided_energy(y: np.ndarray, sps: int, count: int) -> np.ndarray:
    """``E[n] = sum_{k<count} |y[n + k sps]|^2`` for ``n = 0 .. len(y) - (count-1) sps - 1``
    (a running sum on each of the ``sps`` polyphase branches)."""
    power = np.abs(y.astype(np.complex128)) ** 2
    energy = np.empty(power.size - (count - 1) * sps)
    for phase in range(sps):
        running = np.concatenate([[0.0], np.cumsum(power[phase::sps])])
        m = np.arange(energy[phase::sps].size)
        energy[phase::sps] = running[m + count] - running[m]
    return energy


def preamble_metric(y: np.ndarray, sps: int, hypotheses=(0.0,)) -> np.ndarray:
    """Detection metric ``m[n]`` (module doc) for every start ``n`` whose preamble fits in ``y``: the best over
    the frequency ``hypotheses`` (cycles/symbol); :func:`preamble_metrics` gives each."""
    return preamble_metrics(y, sps, hypotheses).max(axis=0)


def preamble_metrics(y: np.ndarray, sps: int, hypotheses=(0.0,)) -> np.ndarray:
    """``m[n]`` for each frequency hypothesis, ``[len(hypotheses), starts]``."""
    span = (PREAMBLE_LENGTH - 1) * sps
    num_out = y.size - span
    if num_out <= 0:
        return np.zeros((len(hypotheses), 0))
    nfft = 1 << int(np.ceil(np.log2(y.size)))
    spectrum = np.fft.fft(y, nfft)
    energy = np.sqrt(PREAMBLE_LENGTH * np.maximum(_strided_energy(y, sps, PREAMBLE_LENGTH), 1e-30))
    metrics = np.empty((len(hypotheses), num_out))
    for row, cfo in enumerate(hypotheses):
        spectra = _segment_spectra(sps, nfft, float(cfo))
        metrics[row] = np.abs(np.fft.ifft(spectrum[None, :] * spectra, axis=1)[:, :num_out]).sum(0) / energy
    return metrics


def _parabola_offset(values: np.ndarray) -> float:
    """Offset in ``[-0.5, 0.5]`` of the vertex of the parabola through three equally spaced values."""
    left, centre, right = values
    curvature = left - 2 * centre + right
    return 0.0 if curvature >= 0 else float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))


def fit_phase_ramp(z: np.ndarray, block: int = PHASE_BLOCK) -> tuple[float, float]:
    """``(omega, theta)`` of ``z_k ~ a exp(j (omega k + theta))``: least-squares line through the
    unwrapped phases of the means of consecutive ``block``-sample blocks (``|omega| block < pi``)."""
    omega, theta = kernels.fit_phase_ramp(np.asarray(z, dtype=np.complex128), int(block))
    return float(omega), float(theta)


def refine_phase(symbols: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Remove the residual phase ramp of equalised symbols ``[F, S]`` against reference symbols (e.g.
    the re-encoded output of a first decoding): per frame, :func:`fit_phase_ramp` of
    ``symbols * conj(reference)``. Wrong reference symbols only dilute the fit."""
    refined = np.empty_like(symbols)
    for f in range(symbols.shape[0]):
        z = (symbols[f] * np.conj(reference[f])).astype(np.complex128)
        omega, theta = kernels.fit_phase_ramp(z, PHASE_BLOCK)
        refined[f] = kernels.rotate(symbols[f].astype(np.complex128), omega, theta, 0)
    return refined


@functools.lru_cache(maxsize=None)
def _interpolator(step: int) -> np.ndarray:
    """Interpolator taps for the fractional delay ``step / INTERP_STEPS`` (timing quantised to 1/256 sample)."""
    return fractional_delay_taps(step / INTERP_STEPS, INTERP_HALF)


def sample_symbols(y: np.ndarray, start: float, sps: int, count: int) -> np.ndarray:
    """``y(start + k sps)``, ``k < count``, by windowed-sinc interpolation (``start`` rounded to
    1/INTERP_STEPS of a sample); needs ``y`` from ``floor(start) - INTERP_HALF + 1`` to
    ``floor(start) + (count-1) sps + INTERP_HALF``."""
    base, step = divmod(int(round(start * INTERP_STEPS)), INTERP_STEPS)
    if step == 0:
        return y[base: base + (count - 1) * sps + 1: sps].astype(np.complex64)
    # y(base + 1 - mu), mu = 1 - step / STEPS, is sum_j h[j] y[base + 1 - j], j = -L+1 .. L: a convolution
    return kernels.interpolate(y, base + 1 - INTERP_HALF, _interpolator(INTERP_STEPS - step), sps,
                               count).astype(np.complex64)


class FrameSynchronizer:
    """Streaming burst synchroniser: :meth:`push` matched-filtered samples, get :class:`SyncedFrame` s.

    Keeps just enough history between calls; frame positions are absolute stream sample indices.
    ``threshold`` is the detection threshold on ``m``; ``cfo_range`` the carrier offset (cycles/symbol) the
    detector searches (module doc).
    """

    def __init__(self, modem: FrameModem, sps: int, threshold: float = 0.5, cfo_range: float = 0.0):
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"detection threshold must be in (0, 1), got {threshold!r}")
        self.modem, self.sps, self.threshold = modem, int(sps), float(threshold)
        self.hypotheses = cfo_hypotheses(float(cfo_range))
        self._buffer = np.zeros(0, dtype=np.complex64)
        self._offset = 0          # stream index of _buffer[0]
        self._search = INTERP_HALF  # stream index where the next detection search starts
        self._pending: tuple[float, float, float] | None = None  # (start, metric, cfo hypothesis) waiting
        self._pending_header: SyncedFrame | None = None    # its decoded header, once known
        self.detections = 0
        self.header_failures = 0

    # ------------------------------------------------------------------ streaming
    def push(self, samples) -> list[SyncedFrame]:
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, dtype=np.complex64)])
        frames = []
        while True:
            if self._pending is None:
                self._pending = self._detect()
                if self._pending is None:
                    break
            frame = self._try_frame(*self._pending)
            if frame is None:
                break
            frames.append(frame)
            self._pending = None
        self._trim()
        return frames

    def detect_preambles(self, samples, skip: int) -> list[tuple[float, float, int]]:
        """Preamble detection only (an attacker sensing the victim): push matched-filtered ``samples`` and get
        ``(start, metric, known_at)`` for every preamble found, as soon as its correlation peak is confirmed;
        ``known_at`` is the stream index of the last sample the decision used. After a detection the search
        resumes ``skip`` samples after its start (e.g. the shortest frame). Do not mix with :meth:`push`."""
        self._buffer = np.concatenate([self._buffer, np.asarray(samples, dtype=np.complex64)])
        found = []
        while (detection := self._detect()) is not None:
            start, metric, _ = detection
            found.append((start, metric, int(np.floor(start)) + (PREAMBLE_LENGTH + 2) * self.sps + 2))
            self._search = int(np.floor(start)) + int(skip)
        self._trim()
        return found

    def flush(self) -> list[SyncedFrame]:
        """End of stream: a frame still waiting for samples is returned as ``too_short``."""
        frames = []
        if self._pending is not None:
            frames.append(SyncedFrame(*self._pending[:2], header=getattr(self._pending_header, "header", None),
                                      reject=Reject.TOO_SHORT))
            self._pending = self._pending_header = None
        return frames

    @property
    def _end(self) -> int:
        return self._offset + self._buffer.size

    def _detect(self) -> tuple[float, float, float] | None:
        """Next (fractional start, metric, frequency hypothesis) at or after the search position, or None when
        the samples run out first (the search position then moves to where it must resume)."""
        span = (PREAMBLE_LENGTH - 1) * self.sps
        while True:
            first = self._search - 1  # one sample before, for the parabola
            stop = min(self._end, first + FFT_BLOCK + span + 2)
            if stop - first < span + 3:
                return None
            metrics = preamble_metrics(self._buffer[first - self._offset: stop - self._offset], self.sps,
                                       self.hypotheses)
            metric = metrics.max(axis=0) if len(self.hypotheses) > 1 else metrics[0]
            above = np.flatnonzero(metric[1:-1] > self.threshold) + 1
            if above.size == 0:
                self._search = first + metric.size - 1
                continue
            if above[0] + 2 * self.sps + 2 > metric.size:  # the peak may lie beyond: wait for samples
                self._search = first + above[0]
                return None
            peak = above[0] + int(np.argmax(metric[above[0]: above[0] + 2 * self.sps + 1]))
            self.detections += 1
            hypothesis = float(self.hypotheses[int(np.argmax(metrics[:, peak]))])
            return first + peak + _parabola_offset(metric[peak - 1: peak + 2]), float(metric[peak]), hypothesis

    def _available(self, start: float, symbols: int) -> bool:
        return int(np.floor(start)) + (symbols - 1) * self.sps + INTERP_HALF + 1 <= self._end

    def _symbols(self, start: float, first: int, count: int) -> np.ndarray:
        return sample_symbols(self._buffer, start - self._offset + first * self.sps, self.sps, count)

    def _try_frame(self, start: float, metric: float, hypothesis: float) -> SyncedFrame | None:
        """The frame at ``start`` if all its samples are here, else None (and it stays pending,
        keeping its decoded header so that a retry only waits for the payload)."""
        frame = self._pending_header
        if frame is None:
            if not self._available(start, KNOWN_SYMBOLS):
                return None
            frame = self._header(start, metric, self._symbols(start, 0, KNOWN_SYMBOLS), hypothesis)
            if frame.reject is not None:
                self.header_failures += 1
                self._search = int(np.floor(start)) + PREAMBLE_LENGTH * self.sps
                return frame
        num_payload = self.modem.header_layout(frame.header).num_symbols
        if not self._available(start, KNOWN_SYMBOLS + num_payload):
            self._pending_header = frame
            return None
        self._pending_header = None
        payload = kernels.rotate(self._symbols(start, KNOWN_SYMBOLS, num_payload), 2 * np.pi * frame.cfo,
                                 frame.phase, KNOWN_SYMBOLS) / frame.gain
        frame.payload = payload.astype(np.complex64)
        self._search = int(np.floor(start)) + (KNOWN_SYMBOLS + num_payload) * self.sps
        return frame

    def _header(self, start: float, metric: float, known: np.ndarray, hypothesis: float = 0.0) -> SyncedFrame:
        """Steps 3-5 of the module doc on the preamble + header symbols ``known`` ``[532]``, derotated by the
        frequency ``hypothesis`` (cycles/symbol)."""
        chips = preamble().real.astype(np.float64)
        if hypothesis:
            known = known * np.exp(-2j * np.pi * hypothesis * np.arange(known.size))
        omega, unit, gain, noise_var = kernels.coarse(known.astype(np.complex128), chips, SEGMENTS, PHASE_BLOCK)
        parsed, header_bits = self.modem.decode_header_codewords(unit[None, PREAMBLE_LENGTH:] / gain,
                                                                 noise_var / gain ** 2)
        header, reason = parsed[0]
        frame = SyncedFrame(start, metric, header, reason)
        if reason is not None:
            return frame
        reference = np.concatenate([chips, 1.0 - 2.0 * header_bits[0]])
        omega, theta, gain, noise_var = kernels.fine(known.astype(np.complex128), reference, omega, PHASE_BLOCK)
        frame.gain, frame.phase, frame.noise_var = gain, theta, noise_var / gain ** 2
        frame.snr_db, frame.cfo = float(10 * np.log10(gain ** 2 / noise_var)), omega / (2 * np.pi) + hypothesis
        return frame

    def _trim(self) -> None:
        """Drop samples no future frame can need."""
        keep_from = (int(np.floor(self._pending[0])) if self._pending else self._search) - INTERP_HALF - 2
        drop = min(keep_from - self._offset, self._buffer.size)  # the search may resume beyond the samples here
        if drop > 0:
            self._buffer = self._buffer[drop:]
            self._offset += drop
