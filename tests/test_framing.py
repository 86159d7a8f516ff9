import struct

import pytest
from hypothesis import given, settings, strategies as st

from semcomm.phy.framing import (HEADER_SIZE, DeframeResult, FrameHeader, Reject, build_frame, crc16,
                                 parse_frame)

MODEL = b"\x12\x34\x56\x78"
REASONS = {value for key, value in vars(Reject).items() if not key.startswith("_")}


def _frame(payload=b"semantic indices", **fields):
    header = dict(model_id=MODEL, seq=7, payload_len=len(payload), modulation_id=3, code_id=5, flags=1)
    header.update(fields)
    return build_frame(FrameHeader(**header), payload)


def test_crc16_check_value():
    assert crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value


def test_round_trip():
    result = parse_frame(_frame(), expected_model_id=MODEL)
    assert result.ok and result.header_ok and result.payload_crc_ok
    assert result.payload == b"semantic indices"
    assert (result.header.seq, result.header.modulation_id, result.header.code_id) == (7, 3, 5)
    assert result.header.semantic and len(_frame()) == HEADER_SIZE + 16 + 4


def test_corrupted_header_is_rejected_by_its_crc():
    frame = bytearray(_frame())
    frame[6] ^= 0x01  # sequence number
    assert parse_frame(bytes(frame)).reason == Reject.HEADER_CRC


def test_corrupted_payload_keeps_the_payload_and_flags_crc():
    frame = bytearray(_frame())
    frame[HEADER_SIZE + 2] ^= 0x80
    result = parse_frame(bytes(frame))
    assert result.reason == Reject.PAYLOAD_CRC and not result.ok
    assert result.header_ok and not result.payload_crc_ok
    assert result.payload is not None and len(result.payload) == 16


@pytest.mark.parametrize("fields, reason", [
    (dict(version=2), Reject.BAD_VERSION),
    (dict(modulation_id=99), Reject.UNKNOWN_MODULATION),
    (dict(code_id=77), Reject.UNKNOWN_CODE),
    (dict(model_id=b"abcd"), Reject.MODEL_ID_MISMATCH),
])
def test_invalid_header_fields_have_their_reason(fields, reason):
    assert parse_frame(_frame(**fields), expected_model_id=MODEL).reason == reason


def test_length_problems():
    frame = _frame()
    assert parse_frame(frame[:-1]).reason == Reject.LENGTH_MISMATCH
    assert parse_frame(frame + b"\0").reason == Reject.LENGTH_MISMATCH
    assert parse_frame(frame[:HEADER_SIZE - 1]).reason == Reject.TOO_SHORT
    assert parse_frame(_frame(payload=b"x" * 300), max_payload=256).reason == Reject.PAYLOAD_TOO_LONG


def test_header_refuses_invalid_values():
    with pytest.raises(ValueError, match="model_id must be 4 bytes"):
        FrameHeader(b"abc", 0, 0, 1, 1)
    with pytest.raises(ValueError, match="seq=-1"):
        FrameHeader(MODEL, -1, 0, 1, 1)
    with pytest.raises(ValueError, match="header says 3 payload bytes"):
        build_frame(FrameHeader(MODEL, 0, 3, 1, 1), b"ab")


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data):
    result = parse_frame(data, expected_model_id=MODEL)
    assert isinstance(result, DeframeResult)
    assert result.reason in REASONS  # random bytes essentially never carry two valid CRCs


@settings(max_examples=300, deadline=None)
@given(st.integers(0, HEADER_SIZE + 20 + 3), st.integers(1, 255))
def test_any_single_byte_error_is_detected(position, flip):
    frame = bytearray(_frame(payload=b"0123456789abcdefghij"))
    frame[position] ^= flip
    result = parse_frame(bytes(frame), expected_model_id=MODEL)
    assert not result.ok
    if position >= HEADER_SIZE:
        assert result.reason == Reject.PAYLOAD_CRC


def test_header_layout_is_big_endian():
    frame = _frame(seq=0x01020304)
    assert frame[0] == 1 and frame[1:5] == MODEL and struct.unpack(">I", frame[5:9])[0] == 0x01020304
