"""GNU Radio blocks of the semcomm testbed: thin adapters between PDUs/streams and the
``semcomm`` core library (the algorithms live there, not here).

Blocks: :class:`index_to_bits`, :class:`bits_to_index` (see :mod:`.index_bits` for the PDU formats).
gr-fec interoperability and benchmark helpers: :mod:`gnuradio.semcomm.grfec` (imported on demand).
"""
from .index_bits import bits_to_index, index_to_bits

__all__ = ["index_to_bits", "bits_to_index"]
