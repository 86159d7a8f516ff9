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


def _socket(kind: str, address: str, hwm: int, bind: bool):
    """A ZMQ ``PUSH`` (``bind``) or ``PULL`` socket on ``address`` that closes at once (no linger); ``hwm``: its
    high-water mark in messages (-1: ZMQ's default)."""
    import zmq

    socket = zmq.Context.instance().socket(getattr(zmq, kind))
    socket.setsockopt(zmq.LINGER, 0)
    if hwm >= 0:
        socket.setsockopt(zmq.SNDHWM if kind == "PUSH" else zmq.RCVHWM, hwm)
    (socket.bind if bind else socket.connect)(address)
    return socket


class IqReader:
    """ZMQ PULL socket connected to ``address`` whose messages are complex64 samples (``timeout_ms``: how long
    :meth:`read_into` waits for a message; ``hwm``: the receive high-water mark in messages, -1: ZMQ's
    default). A message whose size is not a whole number of samples is dropped: counted in ``dropped`` and
    ``dropped_bytes``; reading goes on with the next message."""

    def __init__(self, address: str, timeout_ms: float = 100, hwm: int = -1):
        self._socket = _socket("PULL", address, hwm, bind=False)
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


# ------------------------------------------------------------------------------------------ timed streams
# The attacker's links carry time: each message is the absolute index of its first sample (little-endian
# uint64, the transmitter's sample count) followed by complex64 samples. The channel thereby places the
# attacker's waveform at the samples it was made for, whenever it arrives, and neither side blocks on the other:
# a dead, restarted, slow or garbage-sending attacker costs the receiver at most one wait (`AlignedStream`).
INDEX = np.dtype("<u8")  #: the header of a timed message


def pack_timed(index: int, samples) -> bytes:
    """One timed message: ``index`` (the absolute index of ``samples[0]``) and the samples."""
    return np.array([index], INDEX).tobytes() + np.ascontiguousarray(samples, SAMPLE).tobytes()


def unpack_timed(message) -> tuple[int, np.ndarray] | None:
    """``(index, samples)`` of a timed message, or None when it is malformed (shorter than the header, or not a
    whole number of samples after it)."""
    size = len(message)
    if size < INDEX.itemsize or (size - INDEX.itemsize) % SAMPLE.itemsize:
        return None
    buffer = memoryview(message)
    return int(np.frombuffer(buffer[:INDEX.itemsize], INDEX)[0]), np.frombuffer(buffer[INDEX.itemsize:], SAMPLE)


class TimedIqWriter:
    """ZMQ PUSH socket bound to ``address`` sending timed messages without ever blocking: a message no peer can
    take now (none connected, or its queue of ``hwm`` messages is full) is dropped and its samples counted in
    ``dropped_samples`` (a radio's air does not wait for listeners either)."""

    def __init__(self, address: str, hwm: int = -1):
        import zmq

        self._zmq = zmq
        self._socket = _socket("PUSH", address, hwm, bind=True)
        self.sent_samples = self.dropped_samples = 0

    def send(self, index: int, samples) -> bool:
        """Send ``samples`` whose first is the stream's sample ``index``; False when dropped."""
        try:
            self._socket.send(pack_timed(index, samples), self._zmq.NOBLOCK)
        except self._zmq.Again:
            self.dropped_samples += len(samples)
            return False
        self.sent_samples += len(samples)
        return True

    def close(self) -> None:
        self._socket.close(linger=0)


class TimedIqReader:
    """ZMQ PULL socket connected to ``address`` reading timed messages; a malformed one is dropped and counted
    (``dropped``, ``dropped_bytes``)."""

    def __init__(self, address: str, hwm: int = -1):
        self._socket = _socket("PULL", address, hwm, bind=False)
        self.dropped = self.dropped_bytes = 0

    def receive(self, wait_ms: float) -> tuple[int, np.ndarray] | None:
        """The next well-formed message, waiting up to ``wait_ms`` for each; None when none came in time."""
        while self._socket.poll(max(0, int(wait_ms))):
            message = self._socket.recv(copy=False)
            timed = unpack_timed(message.buffer)
            if timed is not None:
                return timed
            self.dropped += 1
            self.dropped_bytes += len(message)
        return None

    def close(self) -> None:
        self._socket.close(linger=0)


class AlignedStream:
    """A timed stream read at the indices of another (the channel's attacker input, read at the transmitter's).

    :meth:`read` ``(start, count)`` returns samples ``start .. start + count - 1`` of the stream: what arrived for
    them, zeros for the rest. While the peer is *present* it waits up to ``wait_ms`` for the samples it lacks;
    when they do not come the peer is *absent* (counted in ``outages``) and reads stop waiting until a message
    arrives again (a restarted peer). A sender's messages arrive in index order, so a hole before a sample already
    received is never filled: reads do not wait for it. Counters: ``used_samples`` (placed), ``missing_samples`` (zeros),
    ``late_samples`` (arrived after their index was read: dropped), and the reader's malformed ``dropped``."""

    def __init__(self, reader: TimedIqReader, wait_ms: float = 1000.0):
        self.reader, self.wait_ms = reader, float(wait_ms)
        self.present = True
        self.used_samples = self.missing_samples = self.late_samples = self.outages = 0
        self._pending: list[tuple[int, np.ndarray]] = []
        self._frontier = 0  # end index of the furthest message received: one sender's holes before it stay holes

    def read(self, start: int, count: int) -> np.ndarray:
        out, filled = np.zeros(int(count), SAMPLE), np.zeros(int(count), bool)
        self._place(out, filled, start)
        wait_ms = self.wait_ms if self.present else 0.0
        while not filled.all() and self._frontier <= start + int(np.argmin(filled)):
            timed = self.reader.receive(wait_ms)
            if timed is None:
                if self.present:
                    self.present, self.outages = False, self.outages + 1
                break
            self.present, wait_ms = True, self.wait_ms
            self._pending.append(timed)
            self._frontier = max(self._frontier, timed[0] + len(timed[1]))
            self._place(out, filled, start)
        used = int(np.count_nonzero(filled))
        self.used_samples += used
        self.missing_samples += len(out) - used
        return out

    def _place(self, out: np.ndarray, filled: np.ndarray, start: int) -> None:
        """Copy the pending samples that belong in ``out`` (stream index ``start``) and mark them ``filled``;
        count and drop those before ``start`` (late); keep those after the end of ``out``."""
        end, keep = start + len(out), []
        for index, samples in self._pending:
            stop = index + len(samples)
            self.late_samples += max(0, min(stop, start) - index)
            lo, hi = max(index, start), min(stop, end)
            if hi > lo:
                out[lo - start:hi - start] = samples[lo - index:hi - index]
                filled[lo - start:hi - start] = True
            if stop > end:
                keep.append((max(index, end), samples[max(index, end) - index:]))
        self._pending = keep
