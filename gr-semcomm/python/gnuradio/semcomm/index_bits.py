"""PDU blocks mapping codebook indices to bits and back: thin wrappers of
:class:`semcomm.phy.bits.IndexBitMapper` (the mapping itself lives in the core).

Both blocks have one message input and one message output, both named ``pdus``. A PDU is
``pmt.cons(metadata, vector)`` with ``metadata`` a PMT dict (``PMT_NIL`` counts as an empty one).

index PDU
    vector = the ``T`` indices of one image. :class:`bits_to_index` emits an ``s32vector``
    (the canonical form); :class:`index_to_bits` accepts any integer uniform vector
    (``u8``, ``s8``, ``u16``, ``s16``, ``u32``, ``s32``, ``u64``, ``s64``), so byte PDUs from stock
    GNU Radio blocks work when ``J <= 256``.
bit PDU
    vector = ``u8vector`` of the ``B`` bits, one bit per byte (0 or 1, most significant bit of each
    index first). :class:`bits_to_index` reads the least significant bit of each byte.

Metadata is passed through unchanged; :class:`bits_to_index` adds ``clamped`` (long): how many
received indices named a value ``>= J`` and were clamped to ``J - 1``.

A message the block cannot map (not a PDU, wrong vector type or length, an index outside
``[0, J)`` on the transmit side) is dropped, counted in the block's ``dropped`` attribute and
logged as a warning; the blocks never raise inside a running flowgraph. ``processed`` counts
the PDUs that went through.
"""
from __future__ import annotations

import numpy as np
import pmt

from semcomm.phy.bits import IndexBitMapper

from .pdus import KEYS, PduBlock, PduDropped

CLAMPED_KEY = KEYS["clamped"]
#: (type test, element reader) for every integer uniform vector type.
_INTEGER_VECTORS = (
    (pmt.is_u8vector, pmt.u8vector_elements), (pmt.is_s8vector, pmt.s8vector_elements),
    (pmt.is_u16vector, pmt.u16vector_elements), (pmt.is_s16vector, pmt.s16vector_elements),
    (pmt.is_u32vector, pmt.u32vector_elements), (pmt.is_s32vector, pmt.s32vector_elements),
    (pmt.is_u64vector, pmt.u64vector_elements), (pmt.is_s64vector, pmt.s64vector_elements),
)


def make_mapper(alphabet, num_indices=None, labelling="natural") -> IndexBitMapper:
    """The core mapper from block parameters: ``alphabet`` is ``J`` (int or digit string) or
    a JSON string / list of ``[count, J]`` segments; ``num_indices`` may be ``None`` for segments."""
    if num_indices is not None:
        num_indices = int(num_indices)
    return IndexBitMapper(alphabet, num_indices=num_indices, labelling=labelling)


def integer_elements(vector) -> np.ndarray:
    """Elements of an integer uniform vector as int64, or :class:`PduDropped`."""
    for is_type, elements in _INTEGER_VECTORS:
        if is_type(vector):
            try:
                return np.asarray(elements(vector), dtype=np.int64)
            except OverflowError:
                raise PduDropped("index PDU holds a u64 value beyond the int64 range") from None
    raise PduDropped("index PDU vector must be an integer uniform vector (s32vector canonical)")


def checked_length(values: np.ndarray, expected: int, what: str) -> np.ndarray:
    if values.size != expected:
        raise PduDropped(f"{what} PDU has {values.size} elements, expected {expected}")
    return values


class _MapperBlock(PduBlock):
    """Shared by both blocks: the core mapper built from the block parameters."""

    def __init__(self, name, alphabet, num_indices, labelling):
        PduBlock.__init__(self, name)
        self.mapper = make_mapper(alphabet, num_indices, labelling)


class index_to_bits(_MapperBlock):
    """Index PDU (``T`` integers) -> bit PDU (``u8vector`` of ``B`` bits, one per byte).

    Parameters: ``alphabet`` (``J`` or ``[[count, J], ...]`` segments, as a list or JSON string),
    ``num_indices`` (``T``; required for a bare ``J``), ``labelling`` (``natural`` | ``gray``).
    PDUs whose indices leave ``[0, J)`` are dropped and counted (an encoder bug, not noise).
    """

    def __init__(self, alphabet, num_indices=None, labelling="natural"):
        _MapperBlock.__init__(self, "semcomm_index_to_bits", alphabet, num_indices, labelling)

    def map_pdu(self, meta, vector):
        indices = checked_length(integer_elements(vector), self.mapper.num_indices, "index")
        try:
            bits = self.mapper.to_bits(indices[None, :])[0]
        except ValueError as err:
            raise PduDropped(str(err)) from None
        return pmt.cons(meta, pmt.init_u8vector(bits.size, bits))


class bits_to_index(_MapperBlock):
    """Bit PDU (``u8vector`` of ``B`` bits) -> index PDU (``s32vector`` of ``T`` indices).

    Same parameters as :class:`index_to_bits`. Adds metadata ``clamped`` (see module docstring);
    a wrong vector type or length drops the PDU and counts it.
    """

    def __init__(self, alphabet, num_indices=None, labelling="natural"):
        _MapperBlock.__init__(self, "semcomm_bits_to_index", alphabet, num_indices, labelling)

    def map_pdu(self, meta, vector):
        if not pmt.is_u8vector(vector):
            raise PduDropped("bit PDU vector must be a u8vector (one bit per byte)")
        bits = checked_length(np.asarray(pmt.u8vector_elements(vector), dtype=np.uint8),
                              self.mapper.num_bits, "bit")
        indices, clamped = self.mapper.from_bits(bits[None, :])
        meta = pmt.dict_add(meta, CLAMPED_KEY, pmt.from_long(int(clamped[0])))
        return pmt.cons(meta, pmt.init_s32vector(indices.shape[1], indices[0].astype(np.int32)))
