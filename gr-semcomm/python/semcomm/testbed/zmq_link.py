"""The testbed's ZMQ IQ links, without GNU Radio: endpoints a run may bind, and the receiving end.

The ZMQ roles exchange complex64 samples over PUSH/PULL sockets: each PUSH side binds its endpoint
(``tx`` binds ``endpoints.tx_out``, ``attacker`` ``endpoints.attacker_out``, ``channel``
``endpoints.channel_out`` and ``endpoints.sense_out``, what the attacker's antenna receives) and each PULL
side connects to it. A connecting socket never fails on a busy
port: a second run on the same ports would connect its receiver to the first run's channel, which then
deals it a share of the first run's frames. :func:`check_endpoints_free` therefore bind-tests every endpoint a run will bind before
any role starts, and refuses (:class:`EndpointInUse`) when another run holds one.

:class:`IqReader` is the PULL side: it reads messages of whole complex64 samples; a message of any other
size (e.g. a peer's bug or a stray sender) is dropped and counted (``dropped``, ``dropped_bytes``) and the
reader goes on with the next one. (GNU Radio's ``zeromq.pull_source`` throws on such a message and its
thread stops: the receiver goes deaf for the rest of the run.)
"""
from __future__ import annotations

import numpy as np

SAMPLE = np.dtype(np.complex64)  #: what one item of an IQ message is (8 bytes)
BOUND_BY = {"tx_out": "tx", "attacker_out": "attacker", "channel_out": "channel", "sense_out": "channel"}  #: endpoint field -> its role


class EndpointInUse(ValueError):
    """An endpoint a run would bind is held by another run or program (the message says which and how to
    choose others)."""


def check_endpoints_free(config: dict, roles) -> None:
    """Refuse with :class:`EndpointInUse` when an endpoint of ``config`` that one of ``roles`` binds cannot be
    bound now, naming each such endpoint, its role, and a free port to use instead."""
    problems = [_endpoint_problem(field, config["endpoints"][field], role)
                for field, role in BOUND_BY.items() if role in roles]
    problems = [problem for problem in problems if problem]
    if problems:
        raise EndpointInUse("\n".join(problems))


def _endpoint_problem(field: str, endpoint: str, role: str) -> str | None:
    """Why the ``role`` process could not bind ``endpoint`` (``endpoints.<field>``), or None when it can."""
    import zmq

    context = zmq.Context()
    socket = context.socket(zmq.PUSH)
    try:
        socket.bind(endpoint)
        return None
    except zmq.ZMQError as err:
        if err.errno != zmq.EADDRINUSE:
            return f"endpoints.{field} = {endpoint} (bound by the {role} role) cannot be bound: {err}"
        host = endpoint.rsplit(":", 1)[0]
        return (f"endpoints.{field} = {endpoint} (bound by the {role} role) is in use: another run (or program) "
                f"holds it; choose a free port for this run, e.g. --set endpoints.{field}={host}:{_free_port(host)}")
    finally:
        context.destroy(linger=0)  # waits until the listening socket is closed: the role can bind it next


def _free_port(host: str) -> int:
    """A port on ``host`` (``tcp://<address>``) that nothing is bound to now."""
    import zmq

    context = zmq.Context()
    try:
        socket = context.socket(zmq.PUSH)
        socket.bind(f"{host}:*")
        return int(socket.last_endpoint.decode().rsplit(":", 1)[1])
    finally:
        context.destroy(linger=0)


class IqReader:
    """ZMQ PULL socket connected to ``address`` whose messages are complex64 samples (``timeout_ms``: how long
    :meth:`read_into` waits for a message; ``hwm``: the receive high-water mark in messages, -1: ZMQ's
    default). A message whose size is not a whole number of samples is dropped: counted in ``dropped`` and
    ``dropped_bytes``; reading goes on with the next message."""

    def __init__(self, address: str, timeout_ms: float = 100, hwm: int = -1):
        import zmq

        self._socket = zmq.Context.instance().socket(zmq.PULL)
        self._socket.setsockopt(zmq.LINGER, 0)
        if hwm >= 0:
            self._socket.setsockopt(zmq.RCVHWM, hwm)
        self._socket.connect(address)
        self.timeout_ms = int(timeout_ms)
        self._pending = np.empty(0, SAMPLE)
        self.samples = self.dropped = self.dropped_bytes = 0

    def read_into(self, out: np.ndarray) -> int:
        """Fill ``out`` with the samples received, waiting up to the timeout for the first message when none
        is pending; returns how many were written (0: nothing arrived in time)."""
        written = 0
        wait_ms = self.timeout_ms
        while written < len(out):
            if not self._pending.size and not self._receive(wait_ms):
                break
            count = min(len(out) - written, self._pending.size)
            out[written: written + count] = self._pending[:count]
            self._pending = self._pending[count:]
            written += count
            wait_ms = 0  # after the first message: only what has already arrived
        self.samples += written
        return written

    def _receive(self, wait_ms: float) -> bool:
        """Take the next message into the pending samples; False when none arrived within ``wait_ms``."""
        if not self._socket.poll(wait_ms):
            return False
        message = self._socket.recv(copy=False)
        if len(message) % SAMPLE.itemsize:
            self.dropped += 1
            self.dropped_bytes += len(message)
        else:
            self._pending = np.frombuffer(message.buffer, dtype=SAMPLE)
        return True

    def close(self) -> None:
        self._socket.close(linger=0)
