"""Stream jammer: the attacker's waveform as an endless sample stream, generated chunk by chunk.

:class:`StreamJammer` produces unit-power jamming (Gaussian :func:`.attacker.gaussian_jamming` or a
tone :func:`.attacker.tone_jamming`) for a stream processed in chunks of any size; the output of
consecutive calls equals one call on the concatenated input (the tone's phase and the frame gate
carry over, the Gaussian samples come from one generator). Scaling to a PSR and the attacker
channel ``H_a`` are applied by the channel emulator, not here.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_frequency, check_positive
from .attacker import gaussian_jamming, tone_jamming

KINDS = ("gaussian", "tone")
MODES = ("free_running", "frame_aligned")


class StreamJammer:
    """Unit-power jamming for a stream, free-running or gated by the sensed transmitter (reactive).

    Args:
        kind: ``gaussian`` (``CN(0, 1)`` samples) or ``tone`` (``exp(j 2 pi f t)``, continuous phase).
        mode: ``free_running`` jams every sample and ignores the sensed values; ``frame_aligned``
            jams sample ``t`` only while the transmitter is sensed on the air:
            ``mean(|x[t - W + 1 .. t]|^2) > sense_threshold`` (a causal moving average over
            ``W = sense_window`` samples, samples before the first call count as silence).
        tone_freq: tone frequency in cycles per sample, ``|f| <= 0.5``.
        seed: seed of the Gaussian generator.
        sense_window: ``W``, samples in the moving average (>= 1).
        sense_threshold: absolute power per sample. The transmitter sends unit-energy symbols through
            unit-energy RRC taps at ``sps`` samples per symbol, so while a frame is on the air the
            sensed stream has average power ``1 / sps`` per sample (plus the noise power at the
            sensing point) and 0 in the guard between frames; ``0.5 / sps`` (0.125 for ``sps = 4``,
            the default) splits the two. Larger windows smooth the envelope but react later: the gate
            opens about ``W * threshold * sps`` samples after a frame starts and closes as late
            after it ends.

    While jamming, the output has unit average power; gated-off samples are exactly 0.
    """

    def __init__(self, kind: str = "gaussian", mode: str = "free_running", tone_freq: float = 0.1,
                 seed: int | None = 0, sense_window: int = 64, sense_threshold: float = 0.125):
        if kind not in KINDS:
            raise ValueError(f"jammer kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if mode not in MODES:
            raise ValueError(f"jammer mode must be one of {', '.join(MODES)}, got {mode!r}")
        if isinstance(sense_window, bool) or int(sense_window) != sense_window or sense_window < 1:
            raise ValueError(f"sense_window must be an integer >= 1 (samples), got {sense_window!r}")
        self.kind, self.mode = kind, mode
        self.tone_freq = float(check_frequency(tone_freq, "tone_freq"))
        self.sense_threshold = check_positive(sense_threshold, "sense_threshold")
        self.sense_window = int(sense_window)
        self.rng = np.random.default_rng(seed)
        self.samples = 0  #: samples produced so far (the tone's time index)
        self._history = np.zeros(self.sense_window - 1)  # |x|^2 of the last W - 1 sensed samples

    def _waveform(self, n: int) -> np.ndarray:
        if self.kind == "gaussian":
            return gaussian_jamming((n,), self.rng)
        return tone_jamming((n,), self.tone_freq, 2.0 * np.pi * np.mod(self.tone_freq * self.samples, 1.0))

    def gate(self, sense: np.ndarray) -> np.ndarray:
        """Boolean ``[n]``: where the moving-average power of ``sense`` exceeds the threshold (updates state)."""
        power = sense.real.astype(np.float64) ** 2 + sense.imag.astype(np.float64) ** 2
        window = np.concatenate([self._history, power])
        sums = np.cumsum(np.concatenate([[0.0], window]))
        average = (sums[self.sense_window:] - sums[:-self.sense_window]) / self.sense_window
        self._history = window[len(window) - (self.sense_window - 1):]
        return average > self.sense_threshold

    def process(self, sense) -> np.ndarray:
        """Jamming complex64 ``[n]`` for the sensed transmitter samples ``sense`` (complex ``[n]``)."""
        sense = np.asarray(sense, dtype=np.complex64).ravel()
        jam = self._waveform(sense.size)
        self.samples += sense.size
        if self.mode == "frame_aligned":
            jam[~self.gate(sense)] = 0
        return jam
