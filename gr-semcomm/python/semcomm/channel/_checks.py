"""Argument checks and the power measure shared by the channel modules (private)."""
from __future__ import annotations

import numpy as np


def as_signal(x, name: str = "x") -> np.ndarray:
    """``x`` as a complex64 array with at least one (symbol) axis."""
    x = np.asarray(x)
    if x.ndim == 0:
        raise ValueError(f"{name} must have shape [..., n] (at least one axis), got a scalar")
    return x.astype(np.complex64, copy=False)


def as_shape(shape) -> tuple[int, ...]:
    """An int or a tuple of non-negative ints with at least one axis."""
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    if not shape or any(int(s) != s or s < 0 for s in shape):
        raise ValueError(f"shape must be a non-empty tuple of non-negative ints [..., n], got {shape!r}")
    return tuple(int(s) for s in shape)


def check_db(value, name: str, allow_neg_inf: bool = False, allow_pos_inf: bool = False) -> np.ndarray:
    """A dB value (scalar or array) as float64; NaN, and infinities not allowed, raise."""
    db = np.asarray(value, dtype=np.float64)
    if np.isnan(db).any():
        raise ValueError(f"{name} must be a number in dB, got {value!r}")
    if (not allow_neg_inf and (db == -np.inf).any()) or (not allow_pos_inf and (db == np.inf).any()):
        allowed = ("-inf" if allow_neg_inf else "finite") + (" .. +inf" if allow_pos_inf else "")
        raise ValueError(f"{name} must be finite dB ({allowed} allowed), got {value!r}")
    return db


def scalar_or_array(value):
    """A Python float for a 0-d result, the array otherwise."""
    return float(value) if np.ndim(value) == 0 else value


def real_scalar(value) -> float:
    """``float(value)`` for a real scalar, NaN for anything else (the caller raises)."""
    try:
        return float(value) if np.ndim(value) == 0 and np.isreal(value) else np.nan
    except (TypeError, ValueError):
        return np.nan


def check_positive(value, name: str) -> float:
    """A finite scalar > 0."""
    number = real_scalar(value)
    if not np.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return number


def check_nonnegative(value, name: str, unit: str = "") -> np.ndarray:
    """A finite value (scalar or array) >= 0, as float64."""
    array = np.asarray(value, dtype=np.float64)
    if not np.isfinite(array).all() or (array < 0).any():
        raise ValueError(f"{name} must be finite and >= 0{unit}, got {value!r}")
    return array


def check_frequency(freq, name: str = "freq") -> np.ndarray:
    """Normalized frequency in cycles/sample, within the Nyquist range [-0.5, 0.5]."""
    f = np.asarray(freq, dtype=np.float64)
    if not np.isfinite(f).all() or (np.abs(f) > 0.5).any():
        raise ValueError(f"{name} must be a normalized frequency in [-0.5, 0.5] cycles/sample, got {freq!r}")
    return f


def mean_power(v, keepdims: bool = False) -> np.ndarray:
    """Per-frame power ``mean(|v|^2)`` over the last axis, in float64: ``[..., n]`` -> ``[...]``."""
    v = np.asarray(v)
    return np.mean(v.real.astype(np.float64) ** 2 + v.imag.astype(np.float64) ** 2, axis=-1, keepdims=keepdims)
