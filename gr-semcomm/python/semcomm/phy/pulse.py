"""Root-raised-cosine pulse shaping and matched filtering.

Conventions: ``sps`` samples per symbol; the taps have **unit energy** (``sum h^2 = 1``), so a
symbol of energy ``Es`` sent through :func:`shape` and filtered by :func:`matched_filter` comes
out with amplitude ``sqrt(Es)`` at its sampling instant, and complex white noise of variance
``N0`` per sample comes out with variance ``N0`` per sample: the Es/N0 of the symbols equals
``1 / N0`` for unit-energy constellations, independent of ``sps``. A transmitted stream therefore
has average power ``Es / sps`` per sample while a frame is on the air.

The same taps drive GNU Radio's ``interp_fir_filter_ccf`` (transmitter) and ``fir_filter_ccf``
(receiver) in the flowgraphs, so simulation and flowgraph share one pulse.
"""
from __future__ import annotations

import numpy as np


def rrc_taps(sps: int, rolloff: float = 0.35, span: int = 8) -> np.ndarray:
    """Root-raised-cosine taps, ``span * sps + 1`` of them (odd, symmetric), unit energy, float32.

    ``h(t) = [sin(pi t (1-a)) + 4 a t cos(pi t (1+a))] / [pi t (1 - (4 a t)^2)]`` with ``t`` in
    symbols and rolloff ``a``; the removable singularities at ``t = 0`` and ``|t| = 1 / (4 a)``
    use their limits.
    """
    if int(sps) != sps or sps < 2:
        raise ValueError(f"sps must be an integer >= 2, got {sps!r}")
    if not 0.0 < rolloff <= 1.0:
        raise ValueError(f"rolloff must be in (0, 1], got {rolloff!r}")
    if int(span) != span or span < 2:
        raise ValueError(f"span must be an integer >= 2 symbols, got {span!r}")
    t = np.arange(-span * sps // 2, span * sps // 2 + 1) / sps
    a = rolloff
    with np.errstate(divide="ignore", invalid="ignore"):
        h = (np.sin(np.pi * t * (1 - a)) + 4 * a * t * np.cos(np.pi * t * (1 + a))) / (
            np.pi * t * (1 - (4 * a * t) ** 2))
    h[t == 0] = 1 - a + 4 * a / np.pi
    edge = np.isclose(np.abs(t), 1 / (4 * a))
    h[edge] = a / np.sqrt(2) * ((1 + 2 / np.pi) * np.sin(np.pi / (4 * a)) + (1 - 2 / np.pi) * np.cos(np.pi / (4 * a)))
    return (h / np.sqrt(np.sum(h ** 2))).astype(np.float32)


def shape(symbols, taps: np.ndarray, sps: int) -> np.ndarray:
    """Symbols ``[n]`` -> pulse-shaped samples ``[n * sps + len(taps) - 1]`` (zero-stuff, filter),
    as GNU Radio's ``interp_fir_filter_ccf(sps, taps)`` computes them (plus the filter tail)."""
    symbols = np.asarray(symbols, dtype=np.complex64)
    upsampled = np.zeros(symbols.size * sps, dtype=np.complex64)
    upsampled[::sps] = symbols
    return np.convolve(upsampled, taps).astype(np.complex64)


def matched_filter(samples, taps: np.ndarray) -> np.ndarray:
    """Matched filter (the taps are symmetric): full convolution, ``len(samples) + len(taps) - 1``."""
    return np.convolve(np.asarray(samples, dtype=np.complex64), taps[::-1]).astype(np.complex64)
