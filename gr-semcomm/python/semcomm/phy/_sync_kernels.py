"""Numba kernels of :mod:`semcomm.phy.sync` (the per-frame estimation steps; the math is documented
there). One compiled call per step instead of dozens of small numpy calls keeps the receiver cheap
and releases the GIL, which matters when several Python blocks share a flowgraph's cores."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def fit_phase_ramp(z, block):
    """``(omega, theta)``: least-squares line through the unwrapped phases of ``block``-sample means."""
    count = z.size // block
    phases = np.empty(count)
    previous = 0.0
    for b in range(count):
        mean = z[b * block:(b + 1) * block].sum() / block
        phase = np.angle(mean)
        if b > 0:  # unwrap against the previous block
            phase -= 2 * np.pi * np.floor((phase - previous) / (2 * np.pi) + 0.5)
        phases[b] = phase
        previous = phase
    centres = block * np.arange(count) + (block - 1) / 2
    dx = centres - centres.mean()
    omega = np.dot(dx, phases - phases.mean()) / np.dot(dx, dx)
    return omega, phases.mean() - omega * centres.mean()


@njit(cache=True, nogil=True)
def rotate(z, omega, theta, first):
    """``z_k exp(-j (omega (first + k) + theta))``."""
    out = np.empty(z.size, dtype=np.complex128)
    for k in range(z.size):
        out[k] = z[k] * np.exp(-1j * (omega * (first + k) + theta))
    return out


@njit(cache=True, nogil=True)
def coarse(known, chips, segments, block):
    """Steps 3 of :mod:`.sync` on ``known`` (preamble + header symbols) -> (omega, unit symbols with
    the preamble phase removed, gain, noise variance), from the preamble ``chips`` (real +-1)."""
    preamble_length = chips.size
    per = preamble_length // segments
    correlations = np.zeros(segments, dtype=np.complex128)
    for i in range(segments):
        for k in range(i * per, (i + 1) * per):
            correlations[i] += known[k] * chips[k]
    step = 0j
    for i in range(segments - 1):
        step += correlations[i + 1] * np.conj(correlations[i])
    omega = np.angle(step) / per
    derotated = rotate(known, omega, 0.0, 0)
    residual, _ = fit_phase_ramp(derotated * derotated, block)
    omega += residual / 2
    derotated = rotate(known, omega, 0.0, 0)
    rotation = 0j
    for k in range(preamble_length):
        rotation += derotated[k] * chips[k]
    unit = rotate(derotated, 0.0, np.angle(rotation), 0)
    gain = 0.0
    for k in range(preamble_length):
        gain += unit[k].real * chips[k]
    gain = max(gain / preamble_length, 1e-12)
    noise = 0.0
    for k in range(preamble_length):
        noise += abs(unit[k] - gain * chips[k]) ** 2
    return omega, unit, gain, max(noise / preamble_length, 1e-12)


@njit(cache=True, nogil=True)
def fine(known, reference, omega, block):
    """Step 5 of :mod:`.sync`: with every symbol known (``reference`` real +-1) -> (omega, theta,
    gain, noise variance) of ``known_k ~ gain reference_k exp(j (omega k + theta)) + noise``."""
    z = known * reference
    omega_fine, _ = fit_phase_ramp(rotate(z, omega, 0.0, 0), block)
    omega += omega_fine
    aligned = rotate(z, omega, 0.0, 0)
    theta = np.angle(aligned.sum())
    gain = 0.0
    for k in range(z.size):
        gain += (aligned[k] * np.exp(-1j * theta)).real
    gain = max(gain / z.size, 1e-12)
    noise = 0.0
    for k in range(z.size):
        noise += abs(known[k] - gain * reference[k] * np.exp(1j * (omega * k + theta))) ** 2
    return omega, theta, gain, max(noise / z.size, 1e-12)


@njit(cache=True, nogil=True)
def interpolate(y, first, taps, sps, count):
    """``sum_i taps[i] y[first + k sps + 2L - 1 - i]`` for ``k < count`` (the convolution that
    :func:`semcomm.phy.sync.sample_symbols` describes), complex128."""
    out = np.zeros(count, dtype=np.complex128)
    length = taps.size
    for k in range(count):
        base = first + k * sps + length - 1
        acc = 0j
        for i in range(length):
            acc += taps[i] * y[base - i]
        out[k] = acc
    return out
