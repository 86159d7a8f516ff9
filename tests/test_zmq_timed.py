"""The attacker's timed ZMQ links without GNU Radio, on real sockets on 127.0.0.1: messages carry the index of
their first sample; the writer never blocks; the aligned reader places samples at their indices, drops and counts
late or malformed ones, gives zeros where nothing came, stops waiting for an absent peer and takes a restarted
one back."""
import time

import numpy as np
import pytest

zmq = pytest.importorskip("zmq", reason="pyzmq (python3-zmq) cannot be imported")

from semcomm.testbed.zmq_link import (AlignedStream, TimedIqReader, TimedIqWriter, pack_timed,  # noqa: E402
                                      unpack_timed)

ADDRESS = "tcp://127.0.0.1:55641"
PORTS = iter(range(55642, 55660))  # a port per test: a closed socket releases its port asynchronously


def ramp(start: int, count: int) -> np.ndarray:
    return (np.arange(start, start + count) * (1 + 1j)).astype(np.complex64)


def test_a_timed_message_round_trips_and_malformed_ones_are_refused():
    index, samples = unpack_timed(pack_timed(2 ** 40 + 3, ramp(0, 5)))
    assert index == 2 ** 40 + 3
    np.testing.assert_array_equal(samples, ramp(0, 5))
    assert unpack_timed(b"\x00" * 7) is None and unpack_timed(b"\x00" * 12) is None
    assert unpack_timed(pack_timed(9, ramp(0, 0)))[0] == 9


def test_the_writer_never_blocks_and_counts_what_no_peer_took():
    writer = TimedIqWriter(ADDRESS)
    started = time.monotonic()
    assert not writer.send(0, ramp(0, 100))
    assert time.monotonic() - started < 0.5
    assert (writer.sent_samples, writer.dropped_samples) == (0, 100)
    writer.close()


def bind(address: str) -> TimedIqWriter:
    """A writer on ``address``, retried while a socket closed a moment ago still holds it."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return TimedIqWriter(address)
        except zmq.ZMQError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def link():
    address = f"tcp://127.0.0.1:{next(PORTS)}"
    writer = bind(address)
    stream = AlignedStream(TimedIqReader(address), wait_ms=300)
    yield writer, stream, address
    writer.close()
    stream.reader.close()


def test_samples_land_at_their_indices_and_late_or_malformed_ones_are_dropped_and_counted(link):
    writer, stream, _ = link
    time.sleep(0.2)  # the reader connects
    writer.send(0, ramp(0, 300))
    writer._socket.send(b"\x01" * 13)  # garbage: not a whole sample after the header
    writer.send(300, ramp(300, 400))
    writer.send(700, ramp(700, 300))
    np.testing.assert_array_equal(stream.read(0, 500), ramp(0, 500))
    np.testing.assert_array_equal(stream.read(500, 500), ramp(500, 500))
    assert (stream.used_samples, stream.missing_samples, stream.late_samples, stream.outages) == (1000, 0, 0, 0)
    assert (stream.reader.dropped, stream.reader.dropped_bytes) == (1, 13)
    writer.send(1100, ramp(1100, 200))  # [1100, 1200) arrives after its index was read
    stream.read(1000, 100)  # takes [1000, 1100): nothing came, zeros
    out = stream.read(1200, 200)
    np.testing.assert_array_equal(out[:100], ramp(1200, 100))
    assert not out[100:].any()
    assert stream.late_samples == 100 and stream.missing_samples == 100 + 100


def test_an_absent_peer_costs_one_wait_and_a_restarted_one_is_taken_back(link):
    writer, stream, address = link
    started = time.monotonic()
    assert not stream.read(0, 1000).any()  # nobody sends: one wait, zeros
    waited = time.monotonic() - started
    assert 0.25 < waited < 1.0 and stream.outages == 1 and not stream.present
    started = time.monotonic()
    for k in range(20):  # while the peer is absent reads do not wait
        assert not stream.read(1000 + 100 * k, 100).any()
    assert time.monotonic() - started < 0.2 and stream.missing_samples == 3000
    writer.close()  # the attacker restarts: a new socket on the same endpoint
    restarted = bind(address)
    deadline = time.monotonic() + 5
    while not restarted.send(10_000, ramp(10_000, 100)) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the reader has reconnected
    restarted.send(10_100, ramp(10_100, 100))
    time.sleep(0.2)
    np.testing.assert_array_equal(stream.read(10_000, 200), ramp(10_000, 200))  # no wait needed: it is back
    assert stream.present
    assert stream.outages == 1
    restarted.close()
