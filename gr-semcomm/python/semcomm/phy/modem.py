"""Frame modem: payload bytes <-> baseband symbols, batched over frames.

Symbol layout of one frame (one complex symbol per entry, before pulse shaping)::

    | preamble: 64 BPSK | header: 468 BPSK | payload: ceil(N_c / k) symbols of the header's QAM |

* preamble: the BPSK image of a length-63 m-sequence (x^6 + x^5 + 1) plus one chip, for detection
  and synchronisation (:func:`preamble`).
* header: the 18 header bytes (:mod:`semcomm.phy.framing`) = 144 bits, carried by one shortened
  802.11n ``wifi648_r12`` codeword (rate 144/468 ≈ 0.31) in BPSK, so it survives SNRs well below
  what the payload needs.
* payload: payload bytes + CRC-32 -> bits -> shortened LDPC codewords of the frame's code
  (:class:`semcomm.phy.ldpc.ShortenedCoder`; ``N_c`` coded bits) -> QAM. When ``N_c`` is not a
  multiple of the bits per symbol ``k``, zero tail bits fill the last symbol; the receiver knows
  their number from the header and ignores them.

The receiver reads modulation, code and length from the header, so one receiver demodulates any
frame mix. LLRs follow :mod:`semcomm.phy.qam` (``ln P(0)/P(1)``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from .framing import (DEFAULT_MAX_PAYLOAD, FLAG_SEMANTIC, HEADER_SIZE, CRC32_SIZE, DeframeResult, FrameHeader,
                      Reject, build_frame, check_payload, parse_header)
from .ldpc import CODE_IDS, CUSTOM_CODE_ID, DECODER_ALGORITHMS, ShortenedCoder, code_id, get_code
from .qam import LLR_METHODS, MODULATION_IDS, QAM, check_modulation

PREAMBLE_LENGTH = 64
HEADER_CODE = "wifi648_r12"
HEADER_BITS = 8 * HEADER_SIZE


@functools.lru_cache(maxsize=1)
def preamble() -> np.ndarray:
    """64 BPSK symbols: m-sequence of the LFSR x^6 + x^5 + 1 (63 chips) and a closing +1."""
    state = [1] * 6
    chips = []
    for _ in range(63):
        chips.append(state[-1])
        feedback = state[5] ^ state[4]
        state = [feedback] + state[:-1]
    bits = np.array(chips + [0], dtype=np.float32)
    symbols = (1.0 - 2.0 * bits).astype(np.complex64)
    symbols.setflags(write=False)
    return symbols


@dataclass
class LinkConfig:
    """Transmitter/receiver settings of the digital link."""
    modulation: str = "16qam"
    code: str = "wifi1944_r12"       #: an LDPC code name (:func:`semcomm.phy.ldpc.get_code`) or "none"
    decoder: str = "nms"             #: nms | oms | spa
    max_iterations: int = 20
    llr_method: str = "maxlog"       #: maxlog | exact
    model_id: bytes = bytes(4)       #: first 4 bytes of the codec's model id
    semantic: bool = True            #: flag frames as semantic (decode even on payload CRC failure)
    max_payload: int = DEFAULT_MAX_PAYLOAD

    def __post_init__(self):
        self.modulation = check_modulation(self.modulation)
        if self.code != "none":
            get_code(self.code)
        if self.decoder not in DECODER_ALGORITHMS:
            raise ValueError(f"unknown LDPC decoder {self.decoder!r}; allowed: {', '.join(DECODER_ALGORITHMS)}")
        if self.llr_method not in LLR_METHODS:
            raise ValueError(f"unknown LLR method {self.llr_method!r}; allowed: {', '.join(LLR_METHODS)}")
        if int(self.max_iterations) < 1:
            raise ValueError(f"max_iterations must be >= 1, got {self.max_iterations}")
        self.model_id = bytes(self.model_id[:4]).ljust(4, b"\0")


def framed_payload_bits(payload_len: int) -> int:
    """Bits of a payload of ``payload_len`` bytes and its CRC-32: what the payload's LDPC codewords carry."""
    return 8 * (int(payload_len) + CRC32_SIZE)


@dataclass(frozen=True)
class PayloadLayout:
    """Sizes of the payload part for one (payload length, modulation, code)."""
    payload_len: int
    qam: QAM
    coder: ShortenedCoder | None  #: None for uncoded frames

    @property
    def num_bits(self) -> int:
        return framed_payload_bits(self.payload_len)

    @property
    def num_coded_bits(self) -> int:
        return self.coder.num_coded_bits if self.coder else self.num_bits

    @property
    def num_symbols(self) -> int:
        return -(-self.num_coded_bits // self.qam.bits_per_symbol)

    @property
    def tail_bits(self) -> int:
        return self.num_symbols * self.qam.bits_per_symbol - self.num_coded_bits

    def encode(self, payload_bits) -> np.ndarray:
        """Payload + CRC bits ``[F, num_bits]`` -> coded bits ``[F, num_coded_bits]`` (uncoded: the bits)."""
        return self.coder.encode(payload_bits) if self.coder else np.asarray(payload_bits, dtype=np.uint8)

    def modulate(self, coded) -> np.ndarray:
        """Coded bits ``[F, num_coded_bits]`` -> payload symbols ``[F, num_symbols]``."""
        return _modulate_coded(self.qam, coded)


@functools.lru_cache(maxsize=256)
def payload_layout(payload_len: int, modulation: str, code: str) -> PayloadLayout:
    coder = None if code == "none" else ShortenedCoder(get_code(code), framed_payload_bits(payload_len))
    return PayloadLayout(payload_len, QAM(modulation), coder)


def _modulate_coded(qam: QAM, coded) -> np.ndarray:
    """Coded bits ``[F, N_c]`` -> QAM symbols, zero tail bits filling the last symbol."""
    tail = np.zeros((coded.shape[0], -coded.shape[1] % qam.bits_per_symbol), dtype=np.uint8)
    return qam.modulate(np.concatenate([coded, tail], axis=1))


@functools.lru_cache(maxsize=1)
def _header_coder() -> ShortenedCoder:
    return ShortenedCoder(get_code(HEADER_CODE), HEADER_BITS)


HEADER_SYMBOLS = 468  # = _header_coder().num_coded_bits, checked in tests


@dataclass
class TxBatch:
    symbols: np.ndarray       #: complex64 ``[F, S]`` (preamble + header + payload)
    coded_bits: np.ndarray    #: payload coded bits ``[F, N_c]`` (reference for pre-FEC BER)
    payload_bits: np.ndarray  #: payload + CRC bits ``[F, N_b]``
    layout: PayloadLayout


@dataclass
class RxFrame:
    deframe: DeframeResult
    coded_hard: np.ndarray | None = None   #: pre-FEC hard decisions of the payload coded bits
    codewords_ok: np.ndarray | None = None  #: per-codeword zero syndrome
    iterations: np.ndarray | None = None    #: per-codeword decoder iterations


@dataclass
class FrameModem:
    config: LinkConfig = field(default_factory=LinkConfig)

    def __post_init__(self):
        self._bpsk = QAM("bpsk")
        self._qam = QAM(self.config.modulation)
        self._code_names = {v: k for k, v in CODE_IDS.items()}
        self._modulation_names = {v: k for k, v in MODULATION_IDS.items()}

    # ----------------------------------------------------------------- transmitter
    def layout(self, payload_len: int) -> PayloadLayout:
        return payload_layout(int(payload_len), self.config.modulation, self.config.code)

    def frame_symbols(self, payload_len: int) -> int:
        return PREAMBLE_LENGTH + HEADER_SYMBOLS + self.layout(payload_len).num_symbols

    def modulate(self, payloads, seqs=None) -> TxBatch:
        """Payloads ``[F, L]`` uint8 (equal lengths) -> :class:`TxBatch`; ``seqs`` default 0..F-1."""
        payloads = np.asarray(payloads, dtype=np.uint8)
        if payloads.ndim != 2 or payloads.shape[1] < 1:
            raise ValueError(f"payloads must have shape [F, L] with L >= 1, got {list(payloads.shape)}")
        num_frames, payload_len = payloads.shape
        if payload_len > self.config.max_payload:
            raise ValueError(f"payload of {payload_len} bytes exceeds max_payload={self.config.max_payload}")
        seqs = np.arange(num_frames) if seqs is None else np.asarray(seqs)
        frames = np.stack([np.frombuffer(self.frame_bytes(int(seq), payload.tobytes()), dtype=np.uint8)
                           for seq, payload in zip(seqs, payloads)])
        header_coded, payload_coded, payload_bits = self.encode_frames(frames)
        return TxBatch(self.map_symbols(header_coded, payload_coded), payload_coded, payload_bits,
                       self.layout(payload_len))

    def frame_bytes(self, seq: int, payload: bytes) -> bytes:
        """Header (this modem's model id, modulation, code) + payload + CRC-32, as bytes."""
        return build_frame(self._header(seq, len(payload)), payload)

    def encode_frames(self, frames) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame bytes ``[F, 18 + L + 4]`` (equal lengths) -> (header coded bits ``[F, 468]``,
        payload coded bits ``[F, N_c]``, payload + CRC bits ``[F, 8 (L + 4)]``)."""
        frames = np.asarray(frames, dtype=np.uint8)
        frame_bits = np.unpackbits(frames, axis=1)
        header_bits, payload_bits = frame_bits[:, :HEADER_BITS], frame_bits[:, HEADER_BITS:]
        layout = self.layout(frames.shape[1] - HEADER_SIZE - CRC32_SIZE)
        return _header_coder().encode(header_bits), layout.encode(payload_bits), payload_bits

    def map_symbols(self, header_coded, payload_coded) -> np.ndarray:
        """Coded bits -> frame symbols ``[F, S]``: preamble, BPSK header, QAM payload (zero tail bits)."""
        num_frames = payload_coded.shape[0]
        return np.concatenate([np.broadcast_to(preamble(), (num_frames, PREAMBLE_LENGTH)),
                               self._bpsk.modulate(header_coded), _modulate_coded(self._qam, payload_coded)], axis=1)

    def payload_reference(self, layout: PayloadLayout, payload_bits) -> np.ndarray:
        """The payload symbols ``[F, layout.num_symbols]`` that payload + CRC bits ``[F, 8 (L + 4)]`` are
        sent as (re-encoding a decoder's output gives the receiver reference symbols)."""
        return layout.modulate(layout.encode(payload_bits))

    def _header(self, seq: int, payload_len: int) -> FrameHeader:
        cfg = self.config
        return FrameHeader(cfg.model_id, seq, payload_len, MODULATION_IDS[cfg.modulation], code_id(cfg.code),
                           FLAG_SEMANTIC if cfg.semantic else 0)

    # -------------------------------------------------------------------- receiver
    def demodulate(self, symbols, noise_var, expected_model_id: bytes | None = None) -> list[RxFrame]:
        """Frame-aligned symbols ``[F, S]`` (``S`` may differ from the sent length) -> one
        :class:`RxFrame` per frame. ``noise_var`` is N0, scalar or broadcastable to ``[F, S]``.
        Never raises on received data: bad frames come back with a :class:`Reject` reason."""
        symbols = np.asarray(symbols, dtype=np.complex64)
        if symbols.ndim != 2:
            raise ValueError(f"symbols must have shape [F, S], got {list(symbols.shape)}")
        noise_var = np.broadcast_to(np.asarray(noise_var, dtype=np.float32), symbols.shape)
        num_frames, num_symbols = symbols.shape
        header_end = PREAMBLE_LENGTH + HEADER_SYMBOLS
        if num_symbols < header_end:
            return [RxFrame(DeframeResult(Reject.TOO_SHORT)) for _ in range(num_frames)]
        parsed = self.decode_headers(symbols[:, PREAMBLE_LENGTH:header_end],
                                     noise_var[:, PREAMBLE_LENGTH:header_end], expected_model_id)
        results: list[RxFrame | None] = [None] * num_frames
        groups: dict[tuple[int, int, int], list[int]] = {}  # (payload_len, modulation id, code id) -> frames
        for f, (header, reason) in enumerate(parsed):
            if reason is None and num_symbols < header_end + self.header_layout(header).num_symbols:
                reason = Reject.LENGTH_MISMATCH
            if reason is not None:
                results[f] = RxFrame(DeframeResult(reason, header, header_ok=reason == Reject.LENGTH_MISMATCH))
                continue
            groups.setdefault((header.payload_len, header.modulation_id, header.code_id), []).append(f)
        for frames in groups.values():
            layout = self.header_layout(parsed[frames[0]][0])
            stop = header_end + layout.num_symbols
            llr = self.demap_payload(layout, symbols[frames, header_end:stop], noise_var[frames, header_end:stop])
            payload_bytes, ok, iterations = self.decode_payload(layout, llr)
            for i, f in enumerate(frames):
                results[f] = RxFrame(check_payload(parsed[f][0], payload_bytes[i].tobytes()), (llr[i] < 0).astype(np.uint8),
                                     None if ok is None else ok[i], None if iterations is None else iterations[i])
        return results

    def decode_headers(self, header_symbols, noise_var, expected_model_id: bytes | None = None):
        """BPSK header symbols ``[F, 468]`` -> one ``(FrameHeader | None, Reject reason | None)`` per frame."""
        return self.decode_header_codewords(header_symbols, noise_var, expected_model_id)[0]

    def decode_header_codewords(self, header_symbols, noise_var, expected_model_id: bytes | None = None):
        """Like :meth:`decode_headers`, plus the decoded header codeword bits ``[F, 468]`` (equal to the
        transmitted ones whenever the header CRC passes: the receiver's known symbols)."""
        llr = self._bpsk.demodulate_llr(header_symbols, noise_var, self.config.llr_method)
        decoded = _header_coder().decode(llr, max_iterations=self.config.max_iterations)
        header_bytes = np.packbits(decoded.bits, axis=1)
        known_codes = set(CODE_IDS.values()) | {CUSTOM_CODE_ID}
        parsed = [parse_header(row.tobytes(), expected_model_id, self.config.max_payload, known_codes)
                  for row in header_bytes]
        return parsed, decoded.coded_bits

    def header_layout(self, header: FrameHeader) -> PayloadLayout:
        """The payload layout a (valid) header announces."""
        return payload_layout(header.payload_len, self._modulation_names[header.modulation_id],
                              self.code_name(header.code_id))

    def demap_payload(self, layout: PayloadLayout, symbols, noise_var) -> np.ndarray:
        """Payload symbols ``[F, layout.num_symbols]`` -> coded-bit LLRs ``[F, N_c]`` (tail bits dropped)."""
        return layout.qam.demodulate_llr(symbols, noise_var, self.config.llr_method)[:, :layout.num_coded_bits]

    def decode_payload(self, layout: PayloadLayout, llr):
        """LLRs ``[F, N_c]`` -> (payload + CRC bytes ``[F, L + 4]``, per-codeword ok, iterations);
        ok and iterations are None for uncoded frames."""
        if layout.coder is None:
            return np.packbits((llr < 0).astype(np.uint8), axis=1), None, None
        decoded = layout.coder.decode(llr, max_iterations=self.config.max_iterations, algorithm=self.config.decoder)
        return np.packbits(decoded.bits, axis=1), decoded.syndrome_ok, decoded.iterations

    def code_name(self, code_id: int) -> str:
        """LDPC code name of a header code id (the custom id means this modem's configured code)."""
        return self.config.code if code_id == CUSTOM_CODE_ID else self._code_names[code_id]
