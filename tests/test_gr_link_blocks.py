"""The digital link as GNU Radio blocks, run by the real scheduler: framer -> LDPC encoder -> QAM
mapper -> RRC -> channel emulator -> matched filter -> frame sync -> soft demapper -> LDPC decoder
-> deframer. Frames must come back bit-exact at a good SNR, and bad input must be counted."""
import time

import numpy as np
import pytest

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")

import pmt  # noqa: E402
from gnuradio import blocks, filter as grfilter, gr, pdu  # noqa: E402

from gnuradio.semcomm.channel_emulator import channel_emulator  # noqa: E402
from gnuradio.semcomm.frame_sync import frame_sync  # noqa: E402
from gnuradio.semcomm.modem_blocks import (deframer, framer, ldpc_decoder, ldpc_encoder, qam_mapper,  # noqa: E402
                                           soft_demapper)
from gnuradio.semcomm.pdus import make_pdu, meta_value, with_meta  # noqa: E402
from semcomm.phy.pulse import rrc_taps  # noqa: E402

pytestmark = pytest.mark.gnuradio

MODEL_ID = "0123abcd" + "0" * 56
SPS = 4


class Link(gr.top_block):
    """The whole link with a message-debug sink on each output of interest."""

    def __init__(self, snr_db=12.0, cfo=0.0, timing_offset=0.0, rx_model_id=MODEL_ID):
        gr.top_block.__init__(self, "link")
        taps = rrc_taps(SPS)
        self.tx_blocks = [framer(MODEL_ID), ldpc_encoder(), qam_mapper(guard_symbols=64)]
        self.to_stream = pdu.pdu_to_tagged_stream(gr.types.complex_t, "packet_len")
        self.shaper = grfilter.interp_fir_filter_ccf(SPS, taps)
        self.channel = channel_emulator(snr_db=snr_db, sps=SPS, cfo=cfo, timing_offset=timing_offset, seed=3)
        self.matched = grfilter.fir_filter_ccf(1, taps)
        self.sync = frame_sync(sps=SPS)
        self.rx_blocks = [soft_demapper(), ldpc_decoder(), deframer(rx_model_id)]
        self.out, self.rejects, self.tx_log = blocks.message_debug(), blocks.message_debug(), blocks.message_debug()
        chain = self.tx_blocks
        for a, b in zip(chain, chain[1:]):
            self.msg_connect(a, "pdus", b, "pdus")
        self.msg_connect(chain[-1], "pdus", self.to_stream, "pdus")
        self.msg_connect(self.tx_blocks[1], "tx_log", self.tx_log, "store")
        self.connect(self.to_stream, self.shaper, self.channel, self.matched, self.sync)
        rx = [self.sync] + self.rx_blocks
        for a, b in zip(rx, rx[1:]):
            self.msg_connect(a, "pdus", b, "pdus")
        self.msg_connect(rx[-1], "pdus", self.out, "store")
        for block in rx:
            self.msg_connect(block, "rejects", self.rejects, "store")

    def send(self, payload_bits: list[np.ndarray]):
        for seq, bits in enumerate(payload_bits):
            msg = make_pdu(with_meta(pmt.make_dict(), seq=seq), bits.astype(np.uint8))
            self.tx_blocks[0].to_basic_block()._post(pmt.intern("pdus"), msg)


def run_link(link: Link, payload_bits, expect: int, timeout=30.0):
    link.start()
    link.send(payload_bits)
    deadline = time.time() + timeout
    while link.out.num_messages() + link.rejects.num_messages() < expect and time.time() < deadline:
        time.sleep(0.05)
    link.stop()
    link.wait()


def test_link_delivers_frames_bit_exact_with_cfo_and_timing_offset():
    rng = np.random.default_rng(0)
    sent = [rng.integers(0, 2, 200) for _ in range(12)]
    # a trailing frame flushes the last real one through the filters (the stream only moves when fed)
    link = Link(snr_db=12.0, cfo=0.002 / SPS, timing_offset=5.37)
    run_link(link, sent + [sent[0]], expect=12)
    received = {meta_value(pmt.car(m), "seq"): m for m in (link.out.get_message(i) for i in range(link.out.num_messages()))}
    assert set(range(12)) <= set(received)
    for seq in range(12):
        meta, vector = pmt.car(received[seq]), pmt.cdr(received[seq])
        assert meta_value(meta, "payload_crc_ok") and meta_value(meta, "fec_ok")
        np.testing.assert_array_equal(np.asarray(pmt.u8vector_elements(vector)), sent[seq])
        assert abs(meta_value(meta, "snr_est_db") - 12.0) < 1.5
        assert abs(meta_value(meta, "cfo_est") - 0.002) < 2e-4
    assert link.tx_log.num_messages() == 13
    assert link.sync.header_failures == 0


def test_receiver_loaded_with_another_model_refuses_and_counts():
    sent = [np.ones(200, dtype=np.uint8)] * 4
    link = Link(rx_model_id="ffffffff" + "0" * 56)
    run_link(link, sent + [sent[0]], expect=4)
    assert link.out.num_messages() == 0
    reasons = {meta_value(pmt.car(link.rejects.get_message(i)), "reject") for i in range(link.rejects.num_messages())}
    assert reasons == {"model_id_mismatch"} and link.rx_blocks[2].rejected >= 4


def test_garbage_pdus_are_counted_not_fatal():
    link = Link()
    link.start()
    garbage = [pmt.intern("junk"), pmt.cons(pmt.PMT_NIL, pmt.init_f32vector(3, [1, 2, 3])),
               pmt.cons(pmt.make_dict(), pmt.init_u8vector(0, []))]
    for block in link.tx_blocks + link.rx_blocks:
        for msg in garbage:
            block.to_basic_block()._post(pmt.intern("pdus"), msg)
    time.sleep(0.5)
    link.stop()
    link.wait()
    for block in link.tx_blocks + link.rx_blocks:
        assert block.dropped == len(garbage), block.name()


def test_frame_receiver_block_matches_the_chain_of_separate_blocks():
    """frame_receiver (one block) and frame_sync -> soft_demapper -> ldpc_decoder -> deframer ->
    bits_to_index (five blocks) deliver the same indices and flags from the same IQ."""
    from gnuradio import semcomm
    from semcomm.channel.stream import StreamChannel, StreamChannelConfig
    from semcomm.phy.modem import FrameModem, LinkConfig
    from semcomm.phy.pulse import shape

    rng = np.random.default_rng(4)
    modem = FrameModem(LinkConfig(model_id=bytes.fromhex(MODEL_ID[:8])))
    tx = modem.modulate(rng.integers(0, 256, (10, 25), dtype=np.uint8))
    stream = np.concatenate([np.concatenate([np.zeros(64, np.complex64), s]) for s in tx.symbols]
                            + [np.zeros(64, np.complex64)])
    taps = rrc_taps(SPS)
    iq = StreamChannel(StreamChannelConfig(snr_db=3.0, sps=SPS, seed=2)).process(shape(stream, taps, SPS))
    top = gr.top_block()
    source, matched = blocks.vector_source_c(iq.tolist(), False), grfilter.fir_filter_ccf(1, taps)
    top.connect(source, matched)
    chain = [frame_sync(sps=SPS), soft_demapper(), ldpc_decoder(), deframer(MODEL_ID, 200),
             semcomm.bits_to_index(256, 25)]
    receiver = semcomm.frame_receiver(MODEL_ID, 256, 25, sps=SPS)
    top.connect(matched, chain[0])
    top.connect(matched, receiver)
    for a, b in zip(chain, chain[1:]):
        top.msg_connect(a, "pdus", b, "pdus")
    outputs = [blocks.message_debug(), blocks.message_debug()]
    top.msg_connect(chain[-1], "pdus", outputs[0], "store")
    top.msg_connect(receiver, "pdus", outputs[1], "store")
    top.run()
    time.sleep(0.3)  # the last PDUs through the message chain
    results = [[outputs[i].get_message(j) for j in range(outputs[i].num_messages())] for i in range(2)]
    assert len(results[0]) == len(results[1]) == 10
    for chained, single in zip(*results):
        np.testing.assert_array_equal(pmt.s32vector_elements(pmt.cdr(chained)), pmt.s32vector_elements(pmt.cdr(single)))
        for key in ("seq", "payload_crc_ok", "fec_ok", "clamped"):
            assert meta_value(pmt.car(chained), key) == meta_value(pmt.car(single), key)
