"""The timed ZMQ blocks in real GNU Radio graphs on 127.0.0.1: the attacker's chain (timed source -> block ->
timed sink) keeps each sample's stream index; the channel's aligned input gives the attacker's samples at the
transmitter's indices and, with no attacker at all, zeros after one wait instead of stalling the channel."""
import time

import numpy as np
import pytest

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")

from gnuradio import blocks, gr  # noqa: E402
from gnuradio.semcomm import zmq_aligned_source, zmq_timed_sink, zmq_timed_source  # noqa: E402

from semcomm.testbed.zmq_link import TimedIqReader, TimedIqWriter  # noqa: E402

pytestmark = pytest.mark.gnuradio
SENSE, ATTACK = "tcp://127.0.0.1:55651", "tcp://127.0.0.1:55652"


def ramp(start: int, count: int) -> np.ndarray:
    return (np.arange(start, start + count) * (1 - 1j)).astype(np.complex64)


def test_the_attackers_chain_keeps_the_stream_indices_of_what_it_sensed():
    """What the channel sent from sample 70 000 on comes back from the attacker's graph with those indices."""
    sensed = TimedIqWriter(SENSE)
    top = gr.top_block()
    source, sink = zmq_timed_source(SENSE, timeout=50), zmq_timed_sink(ATTACK)
    conjugate = blocks.conjugate_cc()  # stands for the attacker: a sync block, tags pass through
    top.connect(source, conjugate, sink)
    back = TimedIqReader(ATTACK)
    top.start()
    deadline = time.monotonic() + 5
    while not sensed.send(70_000, ramp(70_000, 500)) and time.monotonic() < deadline:
        time.sleep(0.02)  # until the attacker's source has connected
    for start in (70_500, 71_000, 71_500):
        sensed.send(start, ramp(start, 500))
    received = []
    while sum(len(s) for _, s in received) < 2000 and time.monotonic() < deadline:
        timed = back.receive(100)
        if timed is not None:
            received.append(timed)
    top.stop()
    top.wait()
    samples = np.concatenate([s for _, s in received])
    starts = [index for index, _ in received]
    assert starts == [70_000 + sum(len(s) for _, s in received[:k]) for k in range(len(received))]
    np.testing.assert_array_equal(samples, np.conj(ramp(70_000, 2000)))
    sensed.close()
    back.close()


def test_the_aligned_input_places_the_attackers_samples_at_the_transmitters_indices():
    attacker = TimedIqWriter(ATTACK)
    top = gr.top_block()
    clock, aligned, sink = blocks.vector_source_c(np.ones(4000, np.complex64).tolist()), \
        zmq_aligned_source(ATTACK, wait=2000), blocks.vector_sink_c()
    top.connect(clock, aligned, sink)
    top.start()
    deadline = time.monotonic() + 5
    while not attacker.send(1000, ramp(1000, 1500)) and time.monotonic() < deadline:
        time.sleep(0.02)  # until the aligned source has connected
    attacker.send(2500, ramp(2500, 1500))
    top.wait()
    out = np.array(sink.data(), np.complex64)
    assert out.size == 4000
    counters = aligned.counters()
    # what arrived before its index was read would be late; the rest is where it belongs
    placed = np.flatnonzero(out)
    np.testing.assert_array_equal(out[placed], ramp(0, 4000)[placed])
    assert counters["used_samples"] == placed.size and counters["used_samples"] + counters["missing_samples"] == 4000
    assert placed.size >= 1500 and counters["malformed"] == 0
    attacker.close()


def test_without_an_attacker_the_channel_goes_on_after_one_wait():
    top = gr.top_block()
    clock = blocks.vector_source_c(np.ones(200_000, np.complex64).tolist())
    aligned, sink = zmq_aligned_source(ATTACK, wait=300), blocks.vector_sink_c()
    top.connect(clock, aligned, sink)
    started = time.monotonic()
    top.run()
    assert time.monotonic() - started < 3.0
    assert len(sink.data()) == 200_000 and not np.any(sink.data())
    assert aligned.counters()["outages"] == 1 and aligned.counters()["missing_samples"] == 200_000
