"""Additive white Gaussian noise and SNR bookkeeping.

Model: ``y = x + n`` with i.i.d. ``n ~ CN(0, N0)``, i.e. independent real and imaginary parts,
each ``N(0, N0 / 2)``.

* ``Es/N0`` is referred to the *nominal* signal power ``Es = signal_power`` (default 1, the unit
  average symbol energy of :mod:`semcomm.phy.qam`), not to the measured power of ``x``:
  ``N0 = Es * 10^(-Es/N0[dB] / 10)``. ``Es/N0 = +inf`` dB means ``N0 = 0`` (noiseless).
* ``Eb/N0[dB] = Es/N0[dB] - 10 log10(k R)`` with ``k`` bits per symbol and code rate ``R``.
* Shapes: signals are complex64 ``[..., n]`` (leading axes are independent frames). A dB value
  may be a scalar or any array that broadcasts against the signal (per frame: ``[B, 1]``);
  functions return a Python float for scalar input and a float64 array otherwise.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_shape, as_signal, check_db, check_nonnegative, check_positive, scalar_or_array


def _check_rate(bits_per_symbol, code_rate) -> float:
    """``10 log10(k R)`` after checking ``k > 0`` and ``0 < R <= 1``."""
    k = check_positive(bits_per_symbol, "bits_per_symbol")
    rate = check_positive(code_rate, "code_rate")
    if rate > 1:
        raise ValueError(f"code_rate must be in (0, 1], got {code_rate!r}")
    return 10.0 * np.log10(k * rate)


def ebn0_to_esn0_db(ebn0_db, bits_per_symbol, code_rate=1.0):
    """``Es/N0[dB] = Eb/N0[dB] + 10 log10(k R)`` (``k`` bits/symbol > 0, ``R`` in ``(0, 1]``)."""
    return scalar_or_array(check_db(ebn0_db, "ebn0_db", True, True) + _check_rate(bits_per_symbol, code_rate))


def esn0_to_ebn0_db(esn0_db, bits_per_symbol, code_rate=1.0):
    """``Eb/N0[dB] = Es/N0[dB] - 10 log10(k R)``, the inverse of :func:`ebn0_to_esn0_db`."""
    return scalar_or_array(check_db(esn0_db, "esn0_db", True, True) - _check_rate(bits_per_symbol, code_rate))


def noise_variance(esn0_db, signal_power=1.0):
    """``N0 = signal_power * 10^(-Es/N0[dB] / 10)``; ``Es/N0`` in ``(-inf, +inf]`` dB (``+inf`` -> 0)."""
    es = check_positive(signal_power, "signal_power")
    return scalar_or_array(es * 10.0 ** (-check_db(esn0_db, "esn0_db", allow_pos_inf=True) / 10.0))


def complex_normal(shape, variance, rng: np.random.Generator) -> np.ndarray:
    """Complex64 samples ``CN(0, variance)`` of ``shape`` (``variance / 2`` per real dimension).

    ``variance`` (>= 0, finite) is a scalar or an array that broadcasts to ``shape``. Exactly one
    call ``rng.standard_normal((*shape, 2), dtype=float32)`` is made, so a generator seeded the
    same way reproduces the samples.
    """
    shape = as_shape(shape)
    variance = check_nonnegative(variance, "variance")
    scale = np.broadcast_to(np.sqrt(variance / 2.0), shape).astype(np.float32)
    unit = rng.standard_normal((*shape, 2), dtype=np.float32).view(np.complex64).reshape(shape)
    return unit * scale


def awgn(x, esn0_db, rng: np.random.Generator, signal_power=1.0):
    """Add white Gaussian noise at ``Es/N0 = esn0_db`` (see module doc).

    Args:
        x: complex symbols ``[..., n]`` (converted to complex64).
        esn0_db: ``Es/N0`` in dB, scalar or broadcasting against ``x``; ``+inf`` adds no noise.
        rng: the noise source; the noise is ``complex_normal(y.shape, n0, rng)``.
        signal_power: nominal ``Es`` the SNR refers to (default 1: unit-energy constellations).

    Returns:
        ``(y, n0)``: complex64 ``y = x + n`` of the broadcast shape of ``x`` and ``esn0_db``, and
        ``N0`` (float, or float64 array shaped like ``esn0_db``) to pass to the soft demapper.
    """
    x = as_signal(x)
    n0 = noise_variance(esn0_db, signal_power)
    shape = np.broadcast_shapes(x.shape, np.shape(n0))
    return x + complex_normal(shape, n0, rng), n0


def measure_esn0_db(x, y, axis=None):
    """Measured ``10 log10(mean|x|^2 / mean|y - x|^2)`` over ``axis`` (None: all samples, -1: per frame).

    Uses the measured power of ``x``, so it equals the requested ``Es/N0`` (up to Monte-Carlo
    error) only when ``mean|x|^2`` equals the nominal ``signal_power``.
    """
    x = np.asarray(x, dtype=np.complex128)
    noise = np.asarray(y, dtype=np.complex128) - x
    return scalar_or_array(10.0 * np.log10(np.mean(np.abs(x) ** 2, axis=axis) / np.mean(np.abs(noise) ** 2, axis=axis)))
