"""Frame format (byte level): header with its own CRC, payload, payload CRC-32.

Byte layout of a frame (big-endian)::

    offset size field
    0      1    version            (FRAME_VERSION)
    1      4    model id           first 4 bytes of the codec's ``semcomm.model_id`` (sha256)
    5      4    sequence number    uint32
    9      4    payload length     bytes, uint32, at most ``max_payload`` (receiver setting)
    13     1    modulation id      :data:`semcomm.phy.qam.MODULATION_IDS`
    14     1    code id            :data:`semcomm.phy.ldpc.CODE_IDS` (255: custom code from config)
    15     1    flags              bit 0: semantic payload (decode even when the payload CRC fails)
    16     2    header CRC-16      CRC-16/CCITT-FALSE over bytes 0..15
    18     L    payload
    18+L   4    payload CRC-32     zlib/IEEE 802.3 CRC-32 over the payload

:func:`parse_frame` validates every field and returns a :class:`DeframeResult` whose ``reason``
says why a frame was rejected. It never raises on received bytes. A payload CRC failure keeps the
payload (``payload_crc_ok=False``): semantic frames are still decoded, the failure is flagged.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .ldpc import CODE_IDS, CUSTOM_CODE_ID
from .qam import MODULATION_IDS

FRAME_VERSION = 1
HEADER_FORMAT = ">B4sIIBBB"
HEADER_BODY_SIZE = struct.calcsize(HEADER_FORMAT)  # 16
HEADER_SIZE = HEADER_BODY_SIZE + 2
CRC32_SIZE = 4
DEFAULT_MAX_PAYLOAD = 1 << 20
FLAG_SEMANTIC = 0x01


class Reject:
    """Reasons a frame is rejected (values of :attr:`DeframeResult.reason`)."""
    TOO_SHORT = "too_short"
    HEADER_CRC = "header_crc"
    BAD_VERSION = "bad_version"
    UNKNOWN_MODULATION = "unknown_modulation"
    UNKNOWN_CODE = "unknown_code"
    PAYLOAD_TOO_LONG = "payload_too_long"
    LENGTH_MISMATCH = "length_mismatch"
    MODEL_ID_MISMATCH = "model_id_mismatch"
    PAYLOAD_CRC = "payload_crc"


def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC16_TABLE = _crc16_table()


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no xor-out)."""
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16_TABLE[(crc >> 8) ^ byte]
    return crc


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


@dataclass(frozen=True)
class FrameHeader:
    model_id: bytes
    seq: int
    payload_len: int
    modulation_id: int
    code_id: int
    flags: int = 0
    version: int = FRAME_VERSION

    def __post_init__(self):
        if len(self.model_id) != 4:
            raise ValueError(f"model_id must be 4 bytes (first bytes of the sha256), got {len(self.model_id)}")
        for name, value, bits in (("seq", self.seq, 32), ("payload_len", self.payload_len, 32),
                                  ("modulation_id", self.modulation_id, 8), ("code_id", self.code_id, 8),
                                  ("flags", self.flags, 8), ("version", self.version, 8)):
            if not 0 <= int(value) < (1 << bits):
                raise ValueError(f"header field {name}={value} outside [0, 2^{bits})")

    @property
    def semantic(self) -> bool:
        return bool(self.flags & FLAG_SEMANTIC)

    def pack(self) -> bytes:
        body = struct.pack(HEADER_FORMAT, self.version, bytes(self.model_id), self.seq, self.payload_len,
                           self.modulation_id, self.code_id, self.flags)
        return body + struct.pack(">H", crc16(body))


@dataclass
class DeframeResult:
    reason: str | None            #: ``None`` when the frame is fully valid, else a :class:`Reject` value
    header: FrameHeader | None = None
    payload: bytes | None = None  #: present when the header was valid, also on a payload CRC failure
    header_ok: bool = False
    payload_crc_ok: bool = False

    @property
    def ok(self) -> bool:
        return self.reason is None


def payload_with_crc(payload: bytes) -> bytes:
    """The payload followed by its CRC-32 (big-endian): the part of a frame after the header."""
    return bytes(payload) + struct.pack(">I", crc32(payload))


def build_frame(header: FrameHeader, payload: bytes) -> bytes:
    if header.payload_len != len(payload):
        raise ValueError(f"header says {header.payload_len} payload bytes, payload has {len(payload)}")
    return header.pack() + payload_with_crc(payload)


def parse_header(data: bytes, expected_model_id: bytes | None = None,
                 max_payload: int = DEFAULT_MAX_PAYLOAD,
                 known_code_ids: set[int] | None = None) -> tuple[FrameHeader | None, str | None]:
    """Validate the first :data:`HEADER_SIZE` bytes; returns ``(header, None)`` or ``(None|header, reason)``."""
    if len(data) < HEADER_SIZE:
        return None, Reject.TOO_SHORT
    body, (crc,) = data[:HEADER_BODY_SIZE], struct.unpack(">H", data[HEADER_BODY_SIZE:HEADER_SIZE])
    if crc16(body) != crc:
        return None, Reject.HEADER_CRC
    version, model_id, seq, payload_len, modulation_id, code_id, flags = struct.unpack(HEADER_FORMAT, body)
    header = FrameHeader(model_id, seq, payload_len, modulation_id, code_id, flags, version)
    allowed_codes = known_code_ids if known_code_ids is not None else set(CODE_IDS.values()) | {CUSTOM_CODE_ID}
    if version != FRAME_VERSION:
        return header, Reject.BAD_VERSION
    if modulation_id not in MODULATION_IDS.values():
        return header, Reject.UNKNOWN_MODULATION
    if code_id not in allowed_codes:
        return header, Reject.UNKNOWN_CODE
    if payload_len > max_payload:
        return header, Reject.PAYLOAD_TOO_LONG
    if expected_model_id is not None and bytes(model_id) != bytes(expected_model_id[:4]):
        return header, Reject.MODEL_ID_MISMATCH
    return header, None


def parse_frame(data: bytes, expected_model_id: bytes | None = None,
                max_payload: int = DEFAULT_MAX_PAYLOAD) -> DeframeResult:
    """Validate a whole frame (header, length, payload CRC); never raises on received bytes."""
    data = bytes(data)
    header, reason = parse_header(data, expected_model_id, max_payload)
    if reason is not None:
        return DeframeResult(reason, header)
    if len(data) != HEADER_SIZE + header.payload_len + CRC32_SIZE:
        return DeframeResult(Reject.LENGTH_MISMATCH, header, header_ok=True)
    return check_payload(header, data[HEADER_SIZE:])


def check_payload(header: FrameHeader, payload_and_crc: bytes) -> DeframeResult:
    """Split payload and CRC-32 (lengths already validated) and check the CRC."""
    payload = payload_and_crc[:header.payload_len]
    (crc,) = struct.unpack(">I", payload_and_crc[header.payload_len:header.payload_len + CRC32_SIZE])
    crc_ok = crc32(payload) == crc
    return DeframeResult(None if crc_ok else Reject.PAYLOAD_CRC, header, payload, True, crc_ok)
