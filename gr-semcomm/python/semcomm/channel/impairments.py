"""Synchronisation impairments: carrier frequency offset, fractional timing offset, phase noise.

All act along the last axis of complex64 signals ``[..., n]`` (leading axes are independent
frames), sample index ``t = 0 .. n - 1``, and return arrays of the same shape.

* **CFO**: ``y[t] = x[t] exp(j (2 pi f t + phi0))``, ``f`` in cycles per sample (normalized to the
  sample rate), ``|f| <= 0.5``.
* **Timing offset**: ``y[t] = x(t - d)`` for a delay ``d`` in samples (any real; negative is an
  advance), computed as an integer shift by ``D = floor(d)`` and a windowed-sinc fractional-delay
  FIR for ``mu = d - D`` in ``[0, 1)``.
* **Phase noise**: Wiener process ``phi[t] = phi0 + sum_{i=1..t} w_i``, ``w_i ~ N(0, sigma^2)``
  i.i.d., ``y[t] = x[t] exp(j phi[t])``. For a free-running oscillator with a Lorentzian spectrum
  of 3-dB (full) linewidth ``B`` at sample rate ``fs``: ``sigma^2 = 2 pi B / fs``.
"""
from __future__ import annotations

import numpy as np

from ._checks import (as_signal, check_frequency, check_nonnegative, check_positive, real_scalar,
                      scalar_or_array)

#: Default fractional-delay filter: 2 * 16 = 32 taps, Kaiser window beta = 8.
FD_HALF_LENGTH = 16
FD_KAISER_BETA = 8.0


def frequency_offset(x, freq, initial_phase=0.0) -> np.ndarray:
    """Carrier frequency offset ``y[t] = x[t] exp(j (2 pi f t + phi0))``, ``t = 0 .. n - 1``.

    ``freq`` (cycles/sample, in ``[-0.5, 0.5]``) and ``initial_phase`` (radians) are scalars or
    broadcast against ``x`` (per frame: ``[B, 1]``). The phase is computed in float64 modulo one
    cycle, so it stays accurate for long signals.
    """
    x = as_signal(x)
    f = check_frequency(freq)
    t = np.arange(x.shape[-1], dtype=np.float64)
    phase = 2.0 * np.pi * np.mod(f * t, 1.0) + np.asarray(initial_phase, dtype=np.float64)
    return (x * np.exp(1j * phase)).astype(np.complex64)


def fractional_delay_taps(mu, half_length=FD_HALF_LENGTH, kaiser_beta=FD_KAISER_BETA) -> np.ndarray:
    """Taps ``h[k]``, ``k = -L+1 .. L`` (``2 L`` taps, ``L = half_length``) so that
    ``sum_k h[k] x[t - k] ~= x(t - mu)`` for ``mu`` in ``[0, 1)``.

    ``h[k] = sinc(k - mu) w(k - mu)`` with the continuous Kaiser window
    ``w(u) = I0(beta sqrt(1 - (u / L)^2)) / I0(beta)``, normalized to unit DC gain. The filter is
    centred on ``mu`` (no extra group delay). With the defaults the frequency response is within
    ``2e-4`` (about -74 dB) of the ideal ``exp(-j 2 pi f mu)`` for ``|f| <= 0.4`` cycles/sample.
    """
    if not 0.0 <= real_scalar(mu) < 1.0:
        raise ValueError(f"fractional delay mu must be in [0, 1), got {mu!r}")
    if isinstance(half_length, bool) or not isinstance(half_length, (int, np.integer)) or half_length < 1:
        raise ValueError(f"half_length must be an int >= 1, got {half_length!r}")
    beta = check_positive(kaiser_beta, "kaiser_beta")
    u = np.arange(-half_length + 1, half_length + 1) - mu
    taps = np.sinc(u) * np.i0(beta * np.sqrt(1.0 - (u / half_length) ** 2)) / np.i0(beta)
    return taps / taps.sum()


def fractional_delay(x, delay, half_length=FD_HALF_LENGTH, kaiser_beta=FD_KAISER_BETA) -> np.ndarray:
    """Delay ``x`` by ``delay`` samples (any finite real): ``y[t] ~= x(t - delay)``, same length.

    ``delay = D + mu`` with ``D = floor(delay)``; ``y[t] = sum_k h[k] x[t - D - k]`` with the
    taps of :func:`fractional_delay_taps` for ``mu`` (an integer delay is an exact shift, no
    filtering). The filter is non-causal and centred, so the total delay is exactly ``delay``
    (no added group delay). Edges: ``x`` is taken as zero outside ``[0, n)``, so the first
    ``max(D + L, 0)`` and the last ``max(L - 1 - D, 0)`` outputs (``L = half_length``; for an
    integer delay the first ``D`` or last ``-D``) are zero fill / filter transients; the output
    keeps the input length ``n`` (samples shifted past either end are dropped). A single scalar
    delay applies to all frames.
    """
    x = as_signal(x)
    delay_value = real_scalar(delay)
    if not np.isfinite(delay_value):
        raise ValueError(f"delay must be a finite real scalar (samples), got {delay!r}")
    shift = int(np.floor(delay_value))
    mu = delay_value - shift
    if mu >= 1.0:  # rounding of a tiny negative delay
        shift, mu = shift + 1, 0.0
    taps, first_k = fractional_delay_taps(mu, half_length, kaiser_beta), -half_length + 1
    if mu == 0.0:
        taps, first_k = np.ones(1), 0
    n = x.shape[-1]
    if abs(shift) >= n + half_length:
        return np.zeros_like(x)
    pad = abs(shift) + half_length
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(pad, pad)])
    y = np.zeros(x.shape, dtype=np.complex128)
    for i, tap in enumerate(taps):
        start = pad - shift - (first_k + i)  # x[t - D - k] = padded[t - D - k + pad]
        y += tap * padded[..., start:start + n]
    return y.astype(np.complex64)


def phase_noise_variance(linewidth_hz, sample_rate_hz):
    """Wiener increment variance per sample ``sigma^2 = 2 pi B / fs`` (rad^2) for a 3-dB linewidth ``B`` (Hz)."""
    linewidth = check_nonnegative(linewidth_hz, "linewidth_hz", " Hz")
    return scalar_or_array(2.0 * np.pi * linewidth / check_positive(sample_rate_hz, "sample_rate_hz"))


def phase_noise(x, increment_variance, rng: np.random.Generator, initial_phase=0.0):
    """Wiener phase noise (module doc), independent per frame.

    Args:
        x: complex signal ``[..., n]``.
        increment_variance: ``sigma^2`` in rad^2 per sample (>= 0), e.g. from
            :func:`phase_noise_variance`; scalar or broadcasting against ``[..., n - 1]``.
        rng: draws the ``n - 1`` increments per frame, ``rng.standard_normal((..., n - 1))``.
        initial_phase: ``phi0 = phi[0]`` in radians, scalar or per frame ``[B, 1]``.

    Returns:
        ``(y, phi)``: complex64 ``y = x exp(j phi)`` and the float64 phase ``phi`` ``[..., n]``.
    """
    x = as_signal(x)
    variance = check_nonnegative(increment_variance, "increment_variance", " rad^2 per sample")
    steps = np.zeros(x.shape)
    steps[..., 1:] = rng.standard_normal(steps[..., 1:].shape) * np.sqrt(variance)
    phi = np.cumsum(steps, axis=-1) + np.asarray(initial_phase, dtype=np.float64)
    return (x * np.exp(1j * phi)).astype(np.complex64), phi
