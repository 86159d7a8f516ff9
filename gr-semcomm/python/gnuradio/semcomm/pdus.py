"""PDU conventions shared by all semcomm blocks (one place for port names and metadata keys).

A PDU is ``pmt.cons(metadata, vector)``; ``metadata`` is a PMT dict (``PMT_NIL`` counts as empty).
Metadata travels with an image from block to block; each block adds its keys and passes the rest on.

PDU kinds (vector type) and the block that makes them::

    image    f32vector [C*H*W], values in [0, 1]   image_source          -> semantic_encoder
    indices  s32vector [T]                         semantic_encoder      -> index_to_bits
    bits     u8vector, one bit per byte            index_to_bits         -> framer
    frame    u8vector, frame bytes                 framer                -> ldpc_encoder
    coded    u8vector, coded bits                  ldpc_encoder          -> qam_mapper
    symbols  c32vector, frame symbols              qam_mapper            -> pdu_to_tagged_stream
    (receiver)
    rxframe  c32vector, payload symbols            frame_sync            -> soft_demapper
    llr      f32vector, payload LLRs ln P(0)/P(1)  soft_demapper         -> ldpc_decoder
    bits     u8vector, payload bits (no CRC)       deframer              -> bits_to_index
    indices  s32vector [T]                         bits_to_index         -> semantic_decoder
    result   f32vector logits [K] (or image)       semantic_decoder      -> metrics_sink (port rx)

Metadata keys (all PMT symbols below; types in brackets):

transmitter
    ``seq`` [long] image / frame sequence number; ``label`` [long] true class; ``index`` [long]
    dataset index; ``t_tx`` [double] ``time.time()`` when the image left the source.
    ``tx_payload_bits`` (payload + CRC) / ``tx_coded_bits`` [u8vector]: reference bits for BER, set
    by the LDPC encoder on the PDUs it publishes on its ``tx_log`` port (-> metrics_sink ``tx``).
receiver
    ``detected`` [bool] a preamble was found; ``sample`` [uint64] stream offset of the frame start;
    ``snr_est_db``, ``cfo_est``, ``noise_var`` [double] sync estimates (cfo in cycles/symbol);
    ``header_ok`` [bool]; ``header`` [u8vector] the 18 header bytes; ``model_id`` [symbol] its model
    id (8 hex digits); ``modulation``, ``code`` [symbol]; ``payload_len`` [long];
    ``coded_hard`` [u8vector] pre-FEC hard decisions; ``fec_ok`` [bool] all codewords valid;
    ``payload_crc_ok`` [bool]; ``rx_payload_bits`` [u8vector] decoded payload+CRC bits;
    ``reject`` [symbol] why a frame went no further (:class:`semcomm.phy.framing.Reject` values, plus
    ``decode_error``); ``clamped`` [long] indices clamped by bits_to_index;
    ``pred`` [long] decoded class; ``t_rx`` [double] ``time.time()`` at the semantic decoder.

A frame rejected before the semantic decoder (header CRC, unknown model id, ...) is published on the
rejecting block's ``rejects`` port with ``reject`` set, so the metrics sink counts it.
"""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

PDUS = pmt.intern("pdus")
REJECTS = pmt.intern("rejects")
TX_LOG = pmt.intern("tx_log")

_KEYS = ("seq", "label", "index", "t_tx", "tx_payload_bits", "tx_coded_bits", "detected", "sample",
         "snr_est_db", "cfo_est", "noise_var", "header_ok", "header", "model_id", "modulation", "code", "payload_len", "coded_hard",
         "fec_ok", "payload_crc_ok", "rx_payload_bits", "reject", "clamped", "pred", "t_rx")
KEYS = {name: pmt.intern(name) for name in _KEYS}


class PduDropped(ValueError):
    """A message that a block drops (with the reason as its text)."""


PACKET_LEN = pmt.intern("packet_len")  #: PDU to Tagged Stream's length tag (symbols, on each frame's first item)
RX_TIME = pmt.intern("rx_time")  #: a USRP source's time tag: (full seconds, fractional seconds) of the tagged sample


def frame_tags(block: gr.basic_block, start: int, end: int, sps: int) -> list[tuple[int, int, int]]:
    """``(offset, length in samples, seq)`` of the frames whose first sample, in ``[start, end)`` of ``block``'s
    input 0, carries the transmitter's ``seq`` / ``packet_len`` tags, in stream order."""
    lengths = {tag.offset: pmt.to_long(tag.value) for tag in block.get_tags_in_range(0, start, end, PACKET_LEN)}
    return sorted((tag.offset, lengths.get(tag.offset, 0) * sps, pmt.to_long(tag.value))
                  for tag in block.get_tags_in_range(0, start, end, KEYS["seq"]))


def split_pdu(msg):
    """``(metadata dict, vector)`` of a PDU, or :class:`PduDropped`."""
    if not pmt.is_pair(msg) or not pmt.is_uniform_vector(pmt.cdr(msg)):
        raise PduDropped("message is not a PDU (cons of a metadata dict and a uniform vector)")
    meta = pmt.car(msg)
    if pmt.is_null(meta):
        meta = pmt.make_dict()
    if not pmt.is_dict(meta):
        raise PduDropped("PDU metadata is not a dict")
    return meta, pmt.cdr(msg)


_VECTOR_MAKERS = {np.dtype(np.uint8): pmt.init_u8vector, np.dtype(np.int32): pmt.init_s32vector,
                  np.dtype(np.float32): pmt.init_f32vector, np.dtype(np.complex64): pmt.init_c32vector}
_VECTOR_READERS = ((pmt.is_u8vector, pmt.u8vector_elements, np.uint8), (pmt.is_s32vector, pmt.s32vector_elements, np.int32),
                   (pmt.is_f32vector, pmt.f32vector_elements, np.float32),
                   (pmt.is_c32vector, pmt.c32vector_elements, np.complex64))


def to_pmt(value):
    """A Python/numpy value as PMT: bool, int, float, str (symbol), uint8/int32/float32/complex64 arrays
    (converted through a list: several times faster than handing numpy arrays to the bindings)."""
    if isinstance(value, (bool, np.bool_)):
        return pmt.from_bool(bool(value))
    if isinstance(value, (int, np.integer)):
        return pmt.from_long(int(value))
    if isinstance(value, (float, np.floating)):
        return pmt.from_double(float(value))
    if isinstance(value, str):
        return pmt.intern(value)
    array = np.asarray(value)
    if array.dtype not in _VECTOR_MAKERS:
        raise TypeError(f"no PMT conversion for {type(value).__name__} {array.dtype}")
    return _VECTOR_MAKERS[array.dtype](array.size, array.ravel().tolist())


def vector_array(vector) -> np.ndarray | None:
    """A u8/s32/f32/c32 uniform vector as a numpy array of its type, or None for another type."""
    for is_type, elements, dtype in _VECTOR_READERS:
        if is_type(vector):
            return np.array(elements(vector), dtype=dtype)
    return None


def with_meta(meta, **values):
    """``meta`` with the given keys (names from :data:`KEYS`) set."""
    for name, value in values.items():
        meta = pmt.dict_add(meta, KEYS[name], to_pmt(value))
    return meta


def meta_value(meta, name: str, default=None):
    """Python value of metadata key ``name`` (vectors as numpy arrays), or ``default``."""
    value = pmt.dict_ref(meta, KEYS[name], pmt.PMT_NIL)
    if pmt.is_null(value):
        return default
    if pmt.is_uniform_vector(value):
        array = vector_array(value)
        return np.asarray(pmt.to_python(value)) if array is None else array
    return pmt.to_python(value)


def make_pdu(meta, array):
    """PDU of ``meta`` and a numpy array (dtype picks the vector type, see :func:`to_pmt`)."""
    return pmt.cons(meta, to_pmt(np.ascontiguousarray(array)))


class PduBlock(gr.basic_block):
    """A message block with input ``pdus`` and outputs ``pdus`` and ``rejects``. Subclasses define
    ``map_pdu(meta, vector)`` returning the output PDU, or raising :class:`PduDropped` (malformed
    input: counted in ``dropped`` and logged) or :class:`FrameRejected` (a valid frame refused by
    the link, e.g. a CRC or model id failure: counted in ``rejected`` and published on ``rejects``).
    The block never raises inside a running flowgraph."""

    def __init__(self, name: str):
        gr.basic_block.__init__(self, name=name, in_sig=None, out_sig=None)
        self.processed = self.dropped = self.rejected = 0
        self.message_port_register_in(PDUS)
        self.message_port_register_out(PDUS)
        self.message_port_register_out(REJECTS)
        self.set_msg_handler(PDUS, self._handle)

    def _handle(self, msg):
        try:
            out = self.map_pdu(*split_pdu(msg))
        except PduDropped as err:
            self.dropped += 1
            self.logger.warn(f"dropped PDU #{self.dropped}: {err}")
            return
        except FrameRejected as err:
            self.rejected += 1
            self.logger.debug(f"rejected frame #{self.rejected}: {err.reason}")
            self.message_port_pub(REJECTS, pmt.cons(with_meta(err.meta, reject=err.reason), pmt.init_u8vector(0, [])))
            return
        except Exception as err:  # a bug must not take the flowgraph down: count and log it
            self.dropped += 1
            self.logger.error(f"dropped PDU #{self.dropped}: {type(err).__name__}: {err}")
            return
        self.processed += 1
        self.message_port_pub(PDUS, out)

    def map_pdu(self, meta, vector):
        raise NotImplementedError


class FrameRejected(Exception):
    """A frame the link refuses; ``reason`` is a :class:`semcomm.phy.framing.Reject` value."""

    def __init__(self, reason: str, meta):
        super().__init__(reason)
        self.reason, self.meta = reason, meta
