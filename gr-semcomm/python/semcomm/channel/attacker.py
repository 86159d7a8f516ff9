"""Receiver-side attacker injection ("semantic noise") at a prescribed perturbation-to-signal ratio.

Model: ``y = H_t x + n + H_a delta``, ``n ~ CN(0, N0)``, where ``delta`` is the attacker's
waveform (Gaussian jamming, a tone, or an adversarial perturbation computed by the caller) scaled
to the requested PSR, and ``H_t``, ``H_a`` are the legitimate and attacker channel gains (scalars
or per-symbol arrays, e.g. from :func:`semcomm.channel.fading.block_gains`).

* **Power** of a signal ``v`` ``[..., n]`` is ``P(v) = mean_t |v[..., t]|^2`` over the last axis,
  per frame (``[..., n] -> [...]``).
* **PSR** (perturbation-to-signal ratio) ``= P(delta) / P(x)`` per frame, in dB, measured before
  the channels (the attacker's power budget relative to the transmitted signal; with
  ``E|H_t|^2 = E|H_a|^2`` it is also the average received ratio). ``psr_db = -inf`` means no attack.
* ``Es/N0`` refers to the nominal transmit power ``Es = signal_power`` (as in :mod:`.awgn`).
* A dB value may be a scalar or an array broadcasting against ``[..., 1]`` (per frame: ``[B, 1]``).
"""
from __future__ import annotations

import numpy as np

from ._checks import as_shape, as_signal, check_db, mean_power, scalar_or_array
from .awgn import awgn, complex_normal
from .impairments import frequency_offset


def _broadcast_shape(delta: np.ndarray, x: np.ndarray) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(delta.shape, x.shape)
    except ValueError:
        raise ValueError(f"delta shape {delta.shape} does not broadcast against x shape {x.shape}") from None


def scale_to_psr(delta, x, psr_db) -> np.ndarray:
    """Scale ``delta`` per frame so that ``P(delta') / P(x) = 10^(psr_db / 10)`` exactly.

    ``delta'[..., t] = delta[..., t] sqrt(10^(psr_db / 10) P(x) / P(delta))``, complex64 of the
    broadcast shape of ``delta`` and ``x``. Every frame of ``x`` needs power > 0 and, unless
    ``psr_db = -inf`` (all-zero output), every frame of ``delta`` too.
    """
    x, delta = as_signal(x), as_signal(delta, "delta")
    _broadcast_shape(delta, x)
    psr = check_db(psr_db, "psr_db", allow_neg_inf=True)
    signal, perturbation = mean_power(x, keepdims=True), mean_power(delta, keepdims=True)
    if (signal == 0).any():
        raise ValueError("x has a frame with zero power: the PSR (relative to P(x)) is undefined")
    target = 10.0 ** (psr / 10.0) * signal
    if ((perturbation == 0) & (target > 0)).any():
        raise ValueError("delta has a frame with zero power: it cannot be scaled to a finite psr_db")
    scale = np.sqrt(target / np.where(perturbation > 0, perturbation, 1.0))
    return (delta * scale).astype(np.complex64)


def measure_psr_db(delta, x):
    """Per-frame ``10 log10(P(delta) / P(x))``: float for one frame, else an array ``[...]``."""
    x, delta = as_signal(x), as_signal(delta, "delta")
    _broadcast_shape(delta, x)
    with np.errstate(divide="ignore"):
        return scalar_or_array(10.0 * np.log10(mean_power(delta) / mean_power(x)))


def gaussian_jamming(shape, rng: np.random.Generator) -> np.ndarray:
    """White Gaussian jamming ``CN(0, 1)`` of ``shape`` ``[..., n]`` (unit power in expectation)."""
    return complex_normal(shape, 1.0, rng)


def tone_jamming(shape, freq, phase=0.0) -> np.ndarray:
    """Tone ``exp(j (2 pi f t + phase))``, ``t = 0 .. n - 1``, of ``shape`` ``[..., n]`` (unit power exactly).

    ``freq`` is in cycles per sample, ``[-0.5, 0.5]``; ``phase`` in radians.
    """
    return frequency_offset(np.ones(as_shape(shape), dtype=np.complex64), freq, phase)


def attack_channel(x, delta, psr_db, esn0_db, rng: np.random.Generator, h_t=1.0, h_a=1.0, signal_power=1.0):
    """``y = H_t x + n + H_a scale_to_psr(delta, x, psr_db)`` with ``n ~ CN(0, N0)`` (module doc).

    Args:
        x: transmitted symbols ``[..., n]``.
        delta: attacker waveform broadcasting against ``x`` (any power; it is rescaled).
        psr_db: perturbation-to-signal ratio in dB (``-inf``: no attack).
        esn0_db: ``Es/N0`` in dB w.r.t. ``signal_power`` (``+inf``: no noise).
        rng: noise source; the noise is ``complex_normal(y.shape, n0, rng)``, as in :func:`.awgn.awgn`.
        h_t, h_a: complex gains of the legitimate and the attacker link, scalars or arrays
            broadcasting against ``x`` (e.g. per-symbol block-fading gains).
        signal_power: nominal ``Es``.

    Returns:
        ``(y, n0)``: complex64 ``y`` of the broadcast shape and the noise variance ``N0``.
    """
    x = as_signal(x)
    perturbation = scale_to_psr(delta, x, psr_db)
    h_t, h_a = np.asarray(h_t, dtype=np.complex64), np.asarray(h_a, dtype=np.complex64)
    return awgn(h_t * x + h_a * perturbation, esn0_db, rng, signal_power)
