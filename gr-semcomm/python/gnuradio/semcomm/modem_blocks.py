"""Digital link PDU blocks: framer, LDPC encoder/decoder, QAM mapper / soft demapper, deframer.

Thin wrappers of :class:`semcomm.phy.modem.FrameModem` stages (the algorithms live in the core);
PDU formats and metadata keys: :mod:`.pdus`. Transmit chain::

    bits -> framer -> frame bytes -> ldpc_encoder -> coded bits -> qam_mapper -> symbols (+ guard)

Receive chain (after :class:`.frame_sync.frame_sync`, which decodes the header)::

    payload symbols -> soft_demapper -> LLRs -> ldpc_decoder -> bits -> deframer -> payload bits

LLRs are ``ln P(b=0) / P(b=1)`` (:mod:`semcomm.phy.qam`). A semantic frame whose payload CRC fails
is passed on with ``payload_crc_ok = False`` (the semantic decoder still gets its indices); a
non-semantic frame is then refused. A header naming another model id is refused and counted.
"""
from __future__ import annotations

import numpy as np
import pmt

from semcomm.phy.framing import HEADER_SIZE, Reject, check_payload, parse_header
from semcomm.phy.modem import HEADER_SYMBOLS, FrameModem, LinkConfig, payload_layout

from .pdus import TX_LOG, FrameRejected, PduBlock, PduDropped, make_pdu, meta_value, vector_array, with_meta


def model_id_bytes(model_id: str) -> bytes:
    """First 4 bytes of a hex model id (``semcomm.model_id``; at least 8 hex digits)."""
    try:
        raw = bytes.fromhex(str(model_id)[:8])
    except ValueError:
        raw = b""
    if len(raw) != 4:
        raise ValueError(f"model_id must be a hex string of at least 8 digits, got {model_id!r}")
    return raw


def _vector(vector, is_type, what: str) -> np.ndarray:
    if not is_type(vector):
        raise PduDropped(f"{what} PDU vector must be a {is_type.__name__.removeprefix('is_')}")
    return vector_array(vector)


def _u8(vector, what: str) -> np.ndarray:
    return _vector(vector, pmt.is_u8vector, what)


def _layout(meta):
    """Payload layout from the receiver metadata (set by frame_sync from the header)."""
    try:
        return payload_layout(int(meta_value(meta, "payload_len")), str(meta_value(meta, "modulation")),
                              str(meta_value(meta, "code")))
    except (TypeError, ValueError, KeyError) as err:
        raise PduDropped(f"PDU metadata lacks a valid payload_len/modulation/code: {err}") from None


class framer(PduBlock):
    """Payload bits (u8vector, one bit per byte, zero-padded to whole bytes) -> frame bytes: header
    (version, model id, ``seq`` from the metadata, length, modulation and code ids, flags, CRC-16),
    payload, CRC-32."""

    def __init__(self, model_id: str, modulation: str = "16qam", code: str = "wifi1944_r12", semantic: bool = True):
        PduBlock.__init__(self, "semcomm_framer")
        self.modem = FrameModem(LinkConfig(modulation=modulation, code=code, model_id=model_id_bytes(model_id),
                                           semantic=bool(semantic)))

    def map_pdu(self, meta, vector):
        bits = _u8(vector, "bit") & 1
        if bits.size == 0:
            raise PduDropped("empty bit PDU")
        payload = np.packbits(bits).tobytes()
        seq = meta_value(meta, "seq", self.processed)
        return make_pdu(meta, np.frombuffer(self.modem.frame_bytes(int(seq) & 0xFFFFFFFF, payload), dtype=np.uint8))


class ldpc_encoder(PduBlock):
    """Frame bytes -> coded bits (u8vector): the 468 header bits (``wifi648_r12``) then the payload's
    shortened codewords of ``code``. Also publishes the reference bits on ``tx_log``."""

    def __init__(self, code: str = "wifi1944_r12"):
        PduBlock.__init__(self, "semcomm_ldpc_encoder")
        self.message_port_register_out(TX_LOG)
        self.modem = FrameModem(LinkConfig(code=code))

    def map_pdu(self, meta, vector):
        frame = _u8(vector, "frame")
        if frame.size <= HEADER_SIZE + 4:
            raise PduDropped(f"frame of {frame.size} bytes is shorter than header + CRC")
        header_coded, payload_coded, payload_bits = self.modem.encode_frames(frame[None, :])
        record = with_meta(meta, tx_payload_bits=payload_bits[0], tx_coded_bits=payload_coded[0])
        self.message_port_pub(TX_LOG, pmt.cons(record, pmt.init_u8vector(0, [])))
        return make_pdu(meta, np.concatenate([header_coded[0], payload_coded[0]]).astype(np.uint8))


class qam_mapper(PduBlock):
    """Coded bits -> frame symbols (c32vector): 64 BPSK preamble, 468 BPSK header, payload in
    ``modulation``, then ``guard_symbols`` zeros (room for the pulse tail and the receiver)."""

    def __init__(self, modulation: str = "16qam", guard_symbols: int = 64):
        PduBlock.__init__(self, "semcomm_qam_mapper")
        if int(guard_symbols) < 0:
            raise ValueError(f"guard_symbols must be >= 0, got {guard_symbols}")
        self.modem = FrameModem(LinkConfig(modulation=modulation))
        self.guard = np.zeros(int(guard_symbols), dtype=np.complex64)

    def map_pdu(self, meta, vector):
        coded = _u8(vector, "coded bit")
        if coded.size <= HEADER_SYMBOLS:
            raise PduDropped(f"coded PDU of {coded.size} bits is shorter than the {HEADER_SYMBOLS}-bit header")
        symbols = self.modem.map_symbols(coded[None, :HEADER_SYMBOLS] & 1, coded[None, HEADER_SYMBOLS:] & 1)[0]
        return make_pdu(meta, np.concatenate([symbols, self.guard]).astype(np.complex64))


class soft_demapper(PduBlock):
    """Equalised payload symbols (c32vector, noise variance in metadata ``noise_var``) -> LLRs
    (f32vector, tail bits removed); adds ``coded_hard`` (pre-FEC hard decisions)."""

    def __init__(self, llr_method: str = "maxlog"):
        PduBlock.__init__(self, "semcomm_soft_demapper")
        self.modem = FrameModem(LinkConfig(llr_method=llr_method))

    def map_pdu(self, meta, vector):
        symbols = _vector(vector, pmt.is_c32vector, "symbol")
        layout = _layout(meta)
        if symbols.size != layout.num_symbols:
            raise PduDropped(f"symbol PDU has {symbols.size} symbols, the header announces {layout.num_symbols}")
        noise_var = float(meta_value(meta, "noise_var", 1.0))
        llr = self.modem.demap_payload(layout, symbols[None, :], noise_var)[0].astype(np.float32)
        return make_pdu(with_meta(meta, coded_hard=(llr < 0).astype(np.uint8)), llr)


class ldpc_decoder(PduBlock):
    """Payload LLRs (f32vector) -> payload + CRC bits (u8vector) with the core's layered decoder;
    adds ``fec_ok`` (every codeword's syndrome is zero)."""

    def __init__(self, decoder: str = "nms", max_iterations: int = 20):
        PduBlock.__init__(self, "semcomm_ldpc_decoder")
        self.modem = FrameModem(LinkConfig(decoder=decoder, max_iterations=int(max_iterations)))

    def map_pdu(self, meta, vector):
        llr = _vector(vector, pmt.is_f32vector, "LLR")
        layout = _layout(meta)
        if llr.size != layout.num_coded_bits:
            raise PduDropped(f"LLR PDU has {llr.size} values, the header announces {layout.num_coded_bits}")
        payload_bytes, ok, _ = self.modem.decode_payload(layout, llr[None, :])
        fec_ok = True if ok is None else bool(np.all(ok))
        return make_pdu(with_meta(meta, fec_ok=fec_ok), np.unpackbits(payload_bytes[0]))


class deframer(PduBlock):
    """Payload + CRC bits (u8vector) and the header bytes (metadata ``header``) -> payload bits
    (the first ``num_bits``; 0 = all), checking the model id and the payload CRC-32. Adds
    ``payload_crc_ok`` and ``rx_payload_bits`` (decoded payload + CRC, for the BER)."""

    def __init__(self, model_id: str, num_bits: int = 0):
        PduBlock.__init__(self, "semcomm_deframer")
        self.model_id = model_id_bytes(model_id)
        self.num_bits = int(num_bits)
        if self.num_bits < 0:
            raise ValueError(f"num_bits must be >= 0, got {num_bits}")

    def map_pdu(self, meta, vector):
        bits = _u8(vector, "bit") & 1
        header_bytes = meta_value(meta, "header")
        if header_bytes is None or len(header_bytes) != HEADER_SIZE:
            raise PduDropped("PDU metadata lacks the 18 header bytes")
        header, reason = parse_header(bytes(np.asarray(header_bytes, dtype=np.uint8)), self.model_id)
        if reason is not None:
            raise FrameRejected(reason, meta)
        if bits.size != 8 * (header.payload_len + 4):
            raise PduDropped(f"bit PDU has {bits.size} bits, the header announces {8 * (header.payload_len + 4)}")
        result = check_payload(header, np.packbits(bits).tobytes())
        meta = with_meta(meta, payload_crc_ok=result.payload_crc_ok, rx_payload_bits=bits)
        if not result.payload_crc_ok and not header.semantic:
            raise FrameRejected(Reject.PAYLOAD_CRC, meta)
        payload_bits = bits[:8 * header.payload_len]
        if self.num_bits:
            if self.num_bits > payload_bits.size:
                raise FrameRejected(Reject.LENGTH_MISMATCH, meta)
            payload_bits = payload_bits[:self.num_bits]
        return make_pdu(meta, payload_bits)

