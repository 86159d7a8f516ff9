"""Gray-labelled BPSK / QPSK / 16-QAM / 64-QAM mapping and soft demapping.

Conventions (used by every part of semcomm, LDPC decoder included):

* Bits are grouped ``k = bits_per_symbol`` at a time, first bit first. For square QAM the first
  ``k/2`` bits choose the in-phase (I) level, the last ``k/2`` the quadrature (Q) level; each
  dimension is a Gray-labelled PAM, so neighbouring points differ in exactly one bit.
  BPSK uses the I axis only: bit ``b`` -> ``1 - 2b``.
* Bit 0 maps to the *positive* side of each dimension (PAM level ``(2^m - 1 - 2l) * scale`` carries
  Gray label ``l ^ (l >> 1)``).
* Unit average symbol energy: ``E|x|^2 = 1``.
* **LLR sign**: ``LLR = ln P(b = 0 | y) - ln P(b = 1 | y)``; a positive LLR favours bit 0.
  Hard decision is ``bit = LLR < 0``.
* Noise: ``y = x + n`` with complex ``n ~ CN(0, N0)``, i.e. ``N0 / 2`` per real dimension, so
  ``p(y | x) ∝ exp(-|y - x|^2 / N0)``. ``noise_var`` is ``N0`` and may be a scalar or any array
  that broadcasts against the symbols (e.g. ``N0 / |h|^2`` after zero-forcing equalisation).

Soft demapping is exact log-MAP (``logsumexp`` over the constellation) or max-log
(``max`` instead of ``logsumexp``). Because each dimension is labelled independently, both are
computed per dimension over ``2^(k/2)`` levels, which is exact for square Gray QAM.
"""
from __future__ import annotations

import numpy as np

from .bits import bits_to_int, gray_encode, int_to_bits

BITS_PER_SYMBOL = {"bpsk": 1, "qpsk": 2, "16qam": 4, "64qam": 6}
#: Modulation ids carried in the frame header.
MODULATION_IDS = {"bpsk": 1, "qpsk": 2, "16qam": 3, "64qam": 4}
LLR_METHODS = ("maxlog", "exact")


def check_modulation(name: str) -> str:
    key = str(name).lower().replace("-", "")
    if key not in BITS_PER_SYMBOL:
        raise ValueError(f"unknown modulation {name!r}; allowed: {', '.join(BITS_PER_SYMBOL)}")
    return key


class QAM:
    """One modulation: ``modulate``, ``demodulate_hard`` and ``demodulate_llr`` (see module doc)."""

    def __init__(self, name: str):
        self.name = check_modulation(name)
        self.bits_per_symbol = BITS_PER_SYMBOL[self.name]
        self.id = MODULATION_IDS[self.name]
        self.dims = 1 if self.name == "bpsk" else 2
        self.bits_per_dim = self.bits_per_symbol // self.dims
        m = self.bits_per_dim
        num_levels = 1 << m
        self.scale = 1.0 if self.dims == 1 else 1.0 / np.sqrt(2.0 * (num_levels**2 - 1) / 3.0)
        positions = np.arange(num_levels)
        labels = gray_encode(positions)
        amplitude_by_label = np.empty(num_levels)
        amplitude_by_label[labels] = (num_levels - 1 - 2 * positions) * self.scale
        self.amplitude_by_label = amplitude_by_label.astype(np.float32)
        self._label_of_position = labels
        #: ``[num_levels, m]`` bits of each label (row = label value).
        self.label_bits = int_to_bits(np.arange(num_levels)[:, None], m).reshape(num_levels, m)

    def __repr__(self) -> str:
        return f"QAM({self.name!r})"

    @property
    def points(self) -> np.ndarray:
        """Constellation ``[2^k]`` indexed by the integer value of the symbol's bits (MSB first)."""
        labels = np.arange(1 << self.bits_per_symbol)
        return self.modulate(int_to_bits(labels[:, None], self.bits_per_symbol).reshape(len(labels), -1))[:, 0]

    def _check_bits(self, bits: np.ndarray) -> None:
        if bits.shape[-1] % self.bits_per_symbol:
            raise ValueError(f"{self.name}: bit count {bits.shape[-1]} is not a multiple of "
                             f"{self.bits_per_symbol} bits/symbol (pad explicitly before mapping)")

    def modulate(self, bits) -> np.ndarray:
        """Bits ``[..., n * k]`` -> complex64 symbols ``[..., n]``."""
        bits = np.asarray(bits)
        self._check_bits(bits)
        per_symbol = bits.reshape(*bits.shape[:-1], -1, self.bits_per_symbol)
        labels = bits_to_int(per_symbol, self.bits_per_dim)  # [..., n, dims]
        amplitude = self.amplitude_by_label[labels]
        if self.dims == 1:
            return amplitude[..., 0].astype(np.complex64)
        return (amplitude[..., 0] + 1j * amplitude[..., 1]).astype(np.complex64)

    def _dimensions(self, symbols: np.ndarray) -> np.ndarray:
        """Complex ``[..., n]`` -> real ``[..., n, dims]``."""
        if self.dims == 1:
            return symbols.real[..., None].astype(np.float32)
        return np.stack([symbols.real, symbols.imag], axis=-1).astype(np.float32)

    def demodulate_hard(self, symbols) -> np.ndarray:
        """Nearest-point decisions: complex ``[..., n]`` -> bits ``[..., n * k]``."""
        y = self._dimensions(np.asarray(symbols))
        num_levels = 1 << self.bits_per_dim
        position = np.rint((num_levels - 1 - y / self.scale) / 2.0)
        position = np.clip(position, 0, num_levels - 1).astype(np.int64)
        bits = self.label_bits[self._label_of_position[position]]
        return bits.reshape(*bits.shape[:-3], -1)

    def demodulate_llr(self, symbols, noise_var, method: str = "maxlog") -> np.ndarray:
        """Soft demapping: complex ``[..., n]`` -> float32 LLRs ``[..., n * k]``, ``ln P(0)/P(1)``."""
        if method not in LLR_METHODS:
            raise ValueError(f"unknown LLR method {method!r}; allowed: {', '.join(LLR_METHODS)}")
        symbols = np.asarray(symbols)
        noise_var = np.asarray(noise_var, dtype=np.float32)
        if np.any(noise_var <= 0):
            raise ValueError("noise_var (N0) must be > 0")
        y = self._dimensions(symbols)
        inv_n0 = (1.0 / np.broadcast_to(noise_var, symbols.shape))[..., None, None]
        # metric[..., n, dim, label] = -(y - a_label)^2 / N0
        metric = -np.square(y[..., None] - self.amplitude_by_label) * inv_n0
        llr = np.empty(metric.shape[:-1] + (self.bits_per_dim,), dtype=np.float32)
        for j in range(self.bits_per_dim):
            zero = self.label_bits[:, j] == 0
            if method == "maxlog":
                llr[..., j] = metric[..., zero].max(axis=-1) - metric[..., ~zero].max(axis=-1)
            else:
                llr[..., j] = _logsumexp(metric[..., zero]) - _logsumexp(metric[..., ~zero])
        return llr.reshape(*llr.shape[:-3], -1)


def _logsumexp(values: np.ndarray) -> np.ndarray:
    peak = values.max(axis=-1)
    return peak + np.log(np.exp(values - peak[..., None]).sum(axis=-1))
