"""The ZMQ IQ link helpers without GNU Radio, on real sockets on 127.0.0.1: the reader drops and counts a
malformed message and goes on; the endpoint check refuses an endpoint another socket holds."""
import time

import numpy as np
import pytest

zmq = pytest.importorskip("zmq", reason="pyzmq (python3-zmq) cannot be imported")

from semcomm.testbed.zmq_link import EndpointInUse, IqReader, check_endpoints_free  # noqa: E402

ENDPOINTS = {"tx_out": "tcp://127.0.0.1:55631", "attacker_out": "tcp://127.0.0.1:55632",
             "channel_out": "tcp://127.0.0.1:55633", "sense_out": "tcp://127.0.0.1:55634"}


@pytest.fixture
def push():
    """A PUSH socket bound where the reader connects (as the channel's ZMQ sink binds channel_out)."""
    socket = zmq.Context.instance().socket(zmq.PUSH)
    deadline = time.monotonic() + 5
    while True:  # a socket closed a moment ago (the previous test's) releases the port asynchronously
        try:
            socket.bind(ENDPOINTS["channel_out"])
            break
        except zmq.ZMQError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield socket
    socket.close(linger=0)


def read_all(reader: IqReader, expected: int, chunk: int) -> np.ndarray:
    out, parts = np.empty(chunk, np.complex64), []
    while sum(p.size for p in parts) < expected:
        count = reader.read_into(out)
        assert count, "no samples within the timeout"
        parts.append(out[:count].copy())
    return np.concatenate(parts)


def test_a_malformed_message_is_counted_and_dropped_and_reading_goes_on(push):
    reader = IqReader(ENDPOINTS["channel_out"], timeout_ms=2000)
    first, second = (np.arange(n, dtype=np.float32).astype(np.complex64) * (1 + 1j) for n in (700, 300))
    push.send(first.tobytes())
    push.send(b"\x01" * 12)  # one and a half samples
    push.send(second.tobytes())
    received = read_all(reader, 1000, chunk=256)  # smaller than a message: the rest waits for the next read
    np.testing.assert_array_equal(received, np.concatenate([first, second]))
    assert (reader.dropped, reader.dropped_bytes, reader.samples) == (1, 12, 1000)
    reader.close()


def test_reader_returns_nothing_when_nothing_arrives(push):
    reader = IqReader(ENDPOINTS["channel_out"], timeout_ms=50)
    assert reader.read_into(np.empty(16, np.complex64)) == 0 and reader.dropped == 0
    reader.close()


def test_an_endpoint_another_socket_holds_is_refused_with_its_role_and_a_free_port(push):
    config = {"endpoints": ENDPOINTS}
    check_endpoints_free(config, ["tx", "attacker"])  # channel_out is not theirs to bind
    with pytest.raises(EndpointInUse) as refused:
        check_endpoints_free(config, ["tx", "attacker", "channel", "rx"])
    message = str(refused.value)
    assert message.count("\n") == 0 and "endpoints.channel_out = tcp://127.0.0.1:55633" in message
    assert "channel role" in message and "another run" in message
    suggested = message.rsplit("--set endpoints.channel_out=", 1)[1]
    free = zmq.Context.instance().socket(zmq.PUSH)
    free.bind(suggested)  # the port it proposes is free
    free.close(linger=0)


def test_checked_endpoints_can_be_bound_right_after_the_check():
    check_endpoints_free({"endpoints": ENDPOINTS}, ["tx", "attacker", "channel"])
    sockets = [zmq.Context.instance().socket(zmq.PUSH) for _ in ENDPOINTS]
    for socket, endpoint in zip(sockets, ENDPOINTS.values()):
        socket.bind(endpoint)
        socket.close(linger=0)
