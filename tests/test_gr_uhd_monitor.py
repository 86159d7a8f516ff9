"""The USRP monitors in real GNU Radio graphs, fed what gr-uhd emits (no radio here): rx_time tags on a stream
(the first, then one after each overflow) and async messages in gr-uhd's format; a malformed message is counted,
never fatal. The B210 graphs connect them (checked on the generated flowgraphs)."""
import os
import time

import numpy as np
import pytest
import yaml

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")

import pmt  # noqa: E402
from gnuradio import blocks, gr  # noqa: E402
from gnuradio.semcomm import uhd_rx_monitor, uhd_tx_monitor  # noqa: E402

pytestmark = pytest.mark.gnuradio
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rx_time(offset, seconds):
    tag = gr.tag_t()
    tag.offset, tag.key = offset, pmt.intern("rx_time")
    tag.value = pmt.make_tuple(pmt.from_uint64(seconds), pmt.from_double(0.0))
    return tag


def test_every_rx_time_tag_after_the_first_is_an_overflow():
    top = gr.top_block()
    tags = [rx_time(0, 10), rx_time(5000, 11), rx_time(9000, 12)]
    monitor = uhd_rx_monitor()
    top.connect(blocks.vector_source_c(np.zeros(20_000, np.complex64).tolist(), False, 1, tags), monitor)
    top.run()
    assert monitor.counters() == {"overflows": 2}


def async_message(*events):
    codes = pmt.PMT_NIL
    for event in events:
        codes = pmt.list_add(codes, pmt.intern(event))
    return pmt.cons(pmt.intern("uhd_async_msg"), pmt.dict_add(pmt.make_dict(), pmt.intern("event_code"), codes))


class AsyncSource(gr.basic_block):
    """Stands in for the USRP sink's async_msgs port: publishes what it is given."""

    def __init__(self):
        gr.basic_block.__init__(self, name="async_source", in_sig=None, out_sig=None)
        self.message_port_register_out(pmt.intern("async_msgs"))


def test_async_events_are_counted_by_kind():
    top = gr.top_block()
    source, monitor = AsyncSource(), uhd_tx_monitor()
    top.msg_connect(source, "async_msgs", monitor, "async")
    top.start()
    for message in [async_message("underflow"), async_message("time_error"), async_message("burst_ack", "underflow"),
                    async_message("seq_error_in_burst"), pmt.intern("garbage")]:
        source.message_port_pub(pmt.intern("async_msgs"), message)
    deadline = time.monotonic() + 5
    while sum(monitor.counters().values()) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    top.stop()
    top.wait()
    assert monitor.counters() == {"burst_acks": 1, "late": 1, "sequence_errors": 1, "underflows": 2, "other": 1}


def test_the_b210_graphs_connect_their_monitors():
    def connections(role):
        with open(os.path.join(ROOT, "flowgraphs", f"{role}.grc")) as handle:
            return yaml.safe_load(handle)["connections"]

    assert ["src", "0", "uhd_events", "0"] in connections("rx_b210")
    for role in ("tx_b210", "attacker_b210"):
        assert ["out", "async_msgs", "uhd_events", "async"] in connections(role)
