import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from semcomm.channel import awgn
from semcomm.phy.framing import Reject
from semcomm.phy.modem import (HEADER_SYMBOLS, PREAMBLE_LENGTH, FrameModem, LinkConfig, _header_coder,
                               preamble)

MODEL = b"\xaa\xbb\xcc\xdd"


def _payloads(frames, length, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (frames, length), dtype=np.uint8)


def test_layout_constants():
    assert _header_coder().num_coded_bits == HEADER_SYMBOLS
    chips = preamble()
    assert len(chips) == PREAMBLE_LENGTH and set(np.unique(chips.real)) == {-1.0, 1.0}
    # m-sequence: periodic autocorrelation of the 63 chips is -1 off-peak
    m = chips.real[:63]
    assert all(np.dot(m, np.roll(m, s)) == -1 for s in range(1, 63))


@pytest.mark.parametrize("modulation, code", [("bpsk", "wifi648_r12"), ("qpsk", "wifi1944_r34"),
                                              ("16qam", "wifi1944_r12"), ("64qam", "wifi648_r56"),
                                              ("16qam", "none")])
def test_noiseless_round_trip(modulation, code):
    modem = FrameModem(LinkConfig(modulation=modulation, code=code, model_id=MODEL))
    payloads = _payloads(3, 101)
    tx = modem.modulate(payloads, seqs=[10, 11, 12])
    assert tx.symbols.shape == (3, modem.frame_symbols(101))
    rx = modem.demodulate(tx.symbols, 1e-3, expected_model_id=MODEL)
    for i, frame in enumerate(rx):
        assert frame.deframe.ok, frame.deframe.reason
        assert frame.deframe.payload == payloads[i].tobytes() and frame.deframe.header.seq == 10 + i
        np.testing.assert_array_equal(frame.coded_hard, tx.coded_bits[i])


def test_noisy_link_corrects_channel_errors():
    modem = FrameModem(LinkConfig(modulation="16qam", code="wifi1944_r12", model_id=MODEL))
    payloads = _payloads(40, 784)
    tx = modem.modulate(payloads)
    received, n0 = awgn(tx.symbols, 9.0, np.random.default_rng(1))
    rx = modem.demodulate(received, n0, MODEL)
    pre_fec = np.mean([np.mean(f.coded_hard != tx.coded_bits[i]) for i, f in enumerate(rx)])
    assert pre_fec > 0.02
    assert sum(f.deframe.ok for f in rx) >= 39


def test_receiver_reads_modulation_and_code_from_the_header():
    sender = FrameModem(LinkConfig(modulation="64qam", code="wifi648_r34"))
    receiver = FrameModem(LinkConfig(modulation="bpsk", code="wifi1944_r12"))
    payloads = _payloads(2, 50)
    rx = receiver.demodulate(sender.modulate(payloads).symbols, 1e-3)
    assert all(f.deframe.ok for f in rx)


def test_mismatched_model_id_and_truncation_are_rejected():
    modem = FrameModem(LinkConfig(model_id=MODEL))
    tx = modem.modulate(_payloads(2, 64))
    assert modem.demodulate(tx.symbols, 1e-3, b"\0\0\0\1")[0].deframe.reason == Reject.MODEL_ID_MISMATCH
    assert modem.demodulate(tx.symbols[:, :-1], 1e-3)[0].deframe.reason == Reject.LENGTH_MISMATCH
    assert modem.demodulate(tx.symbols[:, :100], 1e-3)[0].deframe.reason == Reject.TOO_SHORT


def test_payload_crc_failure_still_delivers_payload():
    modem = FrameModem(LinkConfig(code="none", model_id=MODEL))
    tx = modem.modulate(_payloads(1, 64))
    corrupted = tx.symbols.copy()
    corrupted[0, PREAMBLE_LENGTH + HEADER_SYMBOLS + 3] *= -1
    frame = modem.demodulate(corrupted, 1e-3)[0]
    assert frame.deframe.reason == Reject.PAYLOAD_CRC and frame.deframe.header_ok
    assert len(frame.deframe.payload) == 64


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 2**32 - 1))
def test_garbage_iq_is_rejected_without_exceptions(length, seed):
    rng = np.random.default_rng(seed)
    symbols = (rng.standard_normal((2, length)) + 1j * rng.standard_normal((2, length))).astype(np.complex64)
    for frame in FrameModem().demodulate(symbols, 1.0):
        assert not frame.deframe.ok and frame.deframe.reason in (Reject.TOO_SHORT, Reject.HEADER_CRC)


@pytest.mark.parametrize("bad, message", [
    (dict(modulation="8psk"), "unknown modulation"),
    (dict(code="ldpc42"), "unknown LDPC code 'ldpc42'"),
    (dict(decoder="bp"), "unknown LDPC decoder"),
    (dict(llr_method="approx"), "unknown LLR method"),
    (dict(max_iterations=0), "max_iterations must be >= 1"),
])
def test_bad_link_config_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        LinkConfig(**bad)


def test_payload_shape_errors():
    with pytest.raises(ValueError, match=r"\[F, L\]"):
        FrameModem().modulate(np.zeros(10, dtype=np.uint8))
    with pytest.raises(ValueError, match="exceeds max_payload"):
        FrameModem(LinkConfig(max_payload=10)).modulate(np.zeros((1, 11), dtype=np.uint8))
