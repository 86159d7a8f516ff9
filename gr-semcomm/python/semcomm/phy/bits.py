"""Index <-> bit mapping for codebook indices.

A semantic encoder emits ``T`` integer indices per image. Index ``t`` belongs to an alphabet of
size ``J_t``; a codec with several codebooks describes its sequence as *segments*
``[(count_1, J_1), (count_2, J_2), ...]`` (the ``semcomm.alphabet`` model metadata), so that
``T = sum(count_s)``. Each index of alphabet ``J`` takes ``b = ceil(log2 J)`` bits, most
significant bit first.

Labelling: ``natural`` sends the binary value of the index, ``gray`` sends its reflected Gray code
``g = i ^ (i >> 1)``, so that neighbouring indices differ in one bit.

Shapes: indices ``[N, T]`` (int), bits ``[N, B]`` (uint8, B = sum(count_s * b_s)).

When ``J`` is not a power of two, a received ``b``-bit word can name an index ``>= J`` after bit
errors. :meth:`IndexBitMapper.from_bits` clamps such indices to ``J - 1`` and counts them per row;
it never raises on received data. :meth:`IndexBitMapper.to_bits` is the transmitter side and
refuses out-of-range indices, because those are a bug in the encoder, not channel noise.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

LABELLINGS = ("natural", "gray")


def bits_per_index(alphabet_size: int) -> int:
    """``ceil(log2 J)`` for an alphabet of ``J >= 2`` symbols."""
    if int(alphabet_size) < 2:
        raise ValueError(f"alphabet size must be >= 2, got {alphabet_size}")
    return int(alphabet_size - 1).bit_length()


def gray_encode(values: np.ndarray) -> np.ndarray:
    return values ^ (values >> 1)


def gray_decode(codes: np.ndarray, num_bits: int) -> np.ndarray:
    values = codes.copy()
    shift = 1
    while shift < num_bits:
        values ^= values >> shift
        shift <<= 1
    return values


def int_to_bits(values: np.ndarray, num_bits: int) -> np.ndarray:
    """Integers ``[..., L]`` -> bits ``[..., L * num_bits]`` (uint8, MSB first)."""
    shifts = np.arange(num_bits - 1, -1, -1, dtype=np.int64)
    bits = (values[..., None].astype(np.int64) >> shifts) & 1
    return bits.reshape(*values.shape[:-1], values.shape[-1] * num_bits).astype(np.uint8)


def bits_to_int(bits: np.ndarray, num_bits: int) -> np.ndarray:
    """Bits ``[..., L * num_bits]`` (MSB first) -> integers ``[..., L]`` (int64)."""
    grouped = bits.reshape(*bits.shape[:-1], bits.shape[-1] // num_bits, num_bits).astype(np.int64)
    weights = np.int64(1) << np.arange(num_bits - 1, -1, -1, dtype=np.int64)
    return grouped @ weights


@dataclass(frozen=True)
class Segment:
    count: int
    alphabet: int

    @property
    def bits(self) -> int:
        return bits_per_index(self.alphabet)


def parse_alphabet(spec) -> list[Segment]:
    """Segments from an int ``J``, a list of ``[count, J]`` pairs, or their metadata string form.

    A bare ``J`` has no count; use :class:`IndexBitMapper` with ``num_indices`` for that case.
    """
    if isinstance(spec, str):
        spec = json.loads(spec)
    if isinstance(spec, (int, np.integer)):
        raise ValueError("a bare alphabet size needs num_indices; pass [[count, J]] segments instead")
    segments = []
    for item in spec:
        if len(item) != 2:
            raise ValueError(f"alphabet segment must be [count, J], got {item!r}")
        count, alphabet = int(item[0]), int(item[1])
        if count < 1:
            raise ValueError(f"segment count must be >= 1, got {count} in {item!r}")
        bits_per_index(alphabet)
        segments.append(Segment(count, alphabet))
    if not segments:
        raise ValueError("alphabet has no segments")
    return segments


class IndexBitMapper:
    """Maps index sequences ``[N, T]`` to bits ``[N, B]`` and back (see module docstring)."""

    def __init__(self, alphabet, num_indices: int | None = None, labelling: str = "natural"):
        if labelling not in LABELLINGS:
            raise ValueError(f"unknown labelling {labelling!r}; allowed: {', '.join(LABELLINGS)}")
        if isinstance(alphabet, (int, np.integer)) or (isinstance(alphabet, str) and alphabet.strip().isdigit()):
            if num_indices is None or int(num_indices) < 1:
                raise ValueError(f"alphabet {alphabet} needs num_indices >= 1, got {num_indices}")
            self.segments = [Segment(int(num_indices), int(alphabet))]
            bits_per_index(int(alphabet))
        else:
            self.segments = parse_alphabet(alphabet)
            if num_indices is not None and num_indices != sum(s.count for s in self.segments):
                raise ValueError(f"num_indices {num_indices} does not match segments total "
                                 f"{sum(s.count for s in self.segments)}")
        self.labelling = labelling
        self.num_indices = sum(s.count for s in self.segments)
        self.num_bits = sum(s.count * s.bits for s in self.segments)

    def __repr__(self) -> str:
        segs = [[s.count, s.alphabet] for s in self.segments]
        return f"IndexBitMapper(segments={segs}, labelling={self.labelling!r}, bits={self.num_bits})"

    def _spans(self):
        """Yield (segment, index slice, bit slice) for each segment."""
        index_start = bit_start = 0
        for seg in self.segments:
            index_stop = index_start + seg.count
            bit_stop = bit_start + seg.count * seg.bits
            yield seg, slice(index_start, index_stop), slice(bit_start, bit_stop)
            index_start, bit_start = index_stop, bit_stop

    def to_bits(self, indices) -> np.ndarray:
        """Indices ``[N, T]`` -> bits ``[N, B]``; raises ``ValueError`` on out-of-range indices."""
        indices = np.asarray(indices)
        if indices.ndim != 2 or indices.shape[1] != self.num_indices:
            raise ValueError(f"indices must have shape [N, {self.num_indices}], got {list(indices.shape)}")
        if not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"indices must be integers, got dtype {indices.dtype}")
        out = np.empty((indices.shape[0], self.num_bits), dtype=np.uint8)
        for seg, idx, bit in self._spans():
            values = indices[:, idx].astype(np.int64)
            bad = (values < 0) | (values >= seg.alphabet)
            if bad.any():
                raise ValueError(f"index {values[bad][0]} outside [0, {seg.alphabet}) "
                                 f"in segment of {seg.count} indices")
            if self.labelling == "gray":
                values = gray_encode(values)
            out[:, bit] = int_to_bits(values, seg.bits)
        return out

    def from_bits(self, bits) -> tuple[np.ndarray, np.ndarray]:
        """Bits ``[N, B]`` -> (indices ``[N, T]`` int64, clamped ``[N]`` int64).

        ``clamped[n]`` counts indices of row ``n`` that decoded to ``>= J`` and were set to ``J - 1``.
        """
        bits = np.asarray(bits)
        if bits.ndim != 2 or bits.shape[1] != self.num_bits:
            raise ValueError(f"bits must have shape [N, {self.num_bits}], got {list(bits.shape)}")
        indices = np.empty((bits.shape[0], self.num_indices), dtype=np.int64)
        clamped = np.zeros(bits.shape[0], dtype=np.int64)
        for seg, idx, bit in self._spans():
            values = bits_to_int(bits[:, bit] & 1, seg.bits)
            if self.labelling == "gray":
                values = gray_decode(values, seg.bits)
            over = values >= seg.alphabet
            clamped += over.sum(axis=1)
            indices[:, idx] = np.minimum(values, seg.alphabet - 1)
        return indices, clamped
