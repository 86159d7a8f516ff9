"""Flat Rayleigh / Rician *block* fading and zero-forcing equalisation with perfect CSI.

Model: ``y[..., t] = h[..., t] x[..., t]`` where the gain is constant over each block of
``block_length`` consecutive symbols along the last axis (``block_length=None``: one gain per
frame; a last, shorter block takes the remainder) and independent across blocks and frames:

    h = sqrt(K / (K + 1)) e^{j theta} + sqrt(1 / (K + 1)) g,   g ~ CN(0, 1),

so ``E|h|^2 = 1`` (fading does not change the average SNR). ``K`` is the Rician K-factor (power of
the line-of-sight part over the scattered power), given **in dB** as ``k_factor_db``;
``k_factor_db = -inf`` (``K = 0``) is Rayleigh fading, ``|h|^2 ~ Exp(1)``. ``theta`` is the LoS
phase in radians. Noise is added afterwards (``awgn(h x, ...)``), so ``y = h x + n``.

Receiver: with perfect CSI use :func:`equalize` (``y / h`` with per-symbol noise ``N0 / |h|^2``);
without CSI the receiver uses ``y`` and ``N0`` as they are (the gain is an unknown distortion).
"""
from __future__ import annotations

import numpy as np

from ._checks import as_shape, as_signal, check_db, check_nonnegative
from .awgn import complex_normal


def _check_block_length(block_length) -> None:
    if block_length is not None and (isinstance(block_length, bool) or not isinstance(block_length, (int, np.integer))
                                     or block_length < 1):
        raise ValueError(f"block_length must be an int >= 1 or None (one gain per frame), got {block_length!r}")


def block_gains(shape, rng: np.random.Generator, k_factor_db=-np.inf, los_phase=0.0, block_length=None) -> np.ndarray:
    """Per-symbol complex64 gains ``h`` of ``shape`` ``[..., n]``, constant over blocks (module doc).

    ``k_factor_db`` (dB, ``-inf`` = Rayleigh) and ``los_phase`` (radians) are scalars or arrays
    broadcasting against the per-block gains ``[..., num_blocks]`` (per frame: ``[B, 1]``).
    The scattered part is ``complex_normal((..., num_blocks), 1, rng)``.
    """
    shape = as_shape(shape)
    _check_block_length(block_length)
    k = 10.0 ** (check_db(k_factor_db, "k_factor_db", allow_neg_inf=True) / 10.0)
    n = shape[-1]
    length = block_length or max(n, 1)
    num_blocks = -(-n // length)
    scattered = complex_normal((*shape[:-1], num_blocks), 1.0, rng)
    los = np.sqrt(k / (k + 1.0)) * np.exp(1j * np.asarray(los_phase, dtype=np.float64))
    gains = (los + np.sqrt(1.0 / (k + 1.0)) * scattered).astype(np.complex64)
    return np.repeat(gains, length, axis=-1)[..., :n]


def rician_fading(x, rng: np.random.Generator, k_factor_db, los_phase=0.0, block_length=None):
    """Rician block fading: ``(h * x, h)``, both complex64 shaped like ``x`` ``[..., n]``."""
    x = as_signal(x)
    h = block_gains(x.shape, rng, k_factor_db, los_phase, block_length)
    return x * h, h


def rayleigh_fading(x, rng: np.random.Generator, block_length=None):
    """Rayleigh block fading (``K = 0``): ``(h * x, h)``, both complex64 shaped like ``x``."""
    return rician_fading(x, rng, -np.inf, 0.0, block_length)


def equalize(y, h, n0):
    """Zero-forcing equalisation with perfect CSI.

    Args:
        y: received ``h x + n`` ``[..., n]``.
        h: gains broadcasting against ``y`` (e.g. the per-symbol ``h`` of :func:`block_gains`).
        n0: noise variance ``N0`` of ``n``, scalar or broadcasting against ``y``.

    Returns:
        ``(y / h, n0 / |h|^2)``: complex64 equalised symbols and float32 per-symbol effective
        noise variance ``[..., n]``, ready for ``QAM.demodulate_llr``. Where ``h == 0`` the symbol
        carries no information: it is returned as 0 with infinite noise variance (LLR 0).
    """
    y, h = as_signal(y, "y"), as_signal(h, "h")
    n0 = check_nonnegative(n0, "n0").astype(np.float32)
    y, h = np.broadcast_arrays(y, h)
    faded = h == 0
    gain = np.abs(h) ** 2
    equalized = np.divide(y, h, out=np.zeros(y.shape, np.complex64), where=~faded)
    noise = np.divide(n0, gain, out=np.full(y.shape, np.inf, np.float32), where=~faded)
    return equalized, noise
