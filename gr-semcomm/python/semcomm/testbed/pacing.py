"""Back-pressure for a message source: a window of frames in flight, closed by acknowledgements.

GNU Radio gives message ports no back-pressure: a source that publishes faster than the chain decides
frames fills the queues in between without bound (latency grows with every frame, and a queue of a
block without a message handler, e.g. ``pdu_to_tagged_stream``, drops its oldest messages beyond
GNU Radio's ``max_messages``). :class:`InFlightWindow` bounds them: the source sends a frame only
while fewer than ``limit`` frames are in flight, i.e. sent and not yet acknowledged by the point the
window ends at (the receiver in the loopback graph, the transmitter's sample stream in a ZMQ or radio
transmitter). Frames travel the chain in order, so an acknowledgement of ``seq`` also settles every
earlier frame (decided or lost for good); an acknowledgement without a sequence number (a frame
whose header failed) settles the oldest frame in flight. The frames no acknowledgement ever comes
for (the last frames of a run, all lost on the channel) would close the window for good: after
``stall_s`` without any acknowledgement the window counts them as settled (``stalls``) and opens.

Separate processes (``semcomm run zmq``, the B210 graphs): the receiver's decisions do not reach the
transmitter, so its window ends at its own output stream. It bounds the queue inside the transmitter
(which used to take every image at once and lose what it still held when it stopped, 1 s after its
source finished: 88 of 400 unpaced images) and lets the transmitter stop only once every frame is on its
output. Between the processes the ZMQ PUSH/PULL sockets give the back-pressure, up to their high-water
marks (the graphs' ``hwm = -1``: ZMQ's default of 1000 messages per socket), so an unpaced ZMQ run's
latency is bounded by those queues, not by the window (measured: median 0.28 s over 400 images,
0.9 s over 1 500, no frame lost); smaller high-water marks would bound it further.
"""
from __future__ import annotations

import threading
import time

#: frames in flight the testbed graphs allow. Unpaced loopback, 600 images, on the 2-core machine: limit 2:
#: 103 images/s, 4: 169, 8: 185-224 (mean latency 36-41 ms), 16: 254-291 (52-60 ms), 32: 235 (121 ms);
#: without a limit 52 images/s and latency growing by 18 ms per image (11 s at the 600th)
DEFAULT_LIMIT = 16
#: seconds without an acknowledgement after which a full window counts its frames as settled
STALL_S = 2.0


class InFlightWindow:
    """Frames sent and not yet acknowledged, at most ``limit`` (see module docstring).

    The sender calls :meth:`wait_for_room` before and :meth:`sent` after each frame, and
    :meth:`wait_settled` after the last; acknowledgements come through :meth:`acknowledge` from another
    thread. :meth:`close` wakes a waiting sender for good. Counters: ``stalls`` (windows opened by the
    stall timeout), ``max_in_flight`` (the most frames in flight at once).
    """

    def __init__(self, limit: int = DEFAULT_LIMIT, stall_s: float = STALL_S):
        if int(limit) != limit or limit < 1:
            raise ValueError(f"the in-flight limit must be an integer >= 1, got {limit!r}")
        if not stall_s > 0:
            raise ValueError(f"stall_s must be > 0, got {stall_s!r}")
        self.limit, self.stall_s = int(limit), float(stall_s)
        self.next_seq = 0   #: sequence number of the next frame to send
        self.settled = 0    #: every frame with a smaller sequence number is acknowledged or given up
        self.stalls = 0
        self.max_in_flight = 0
        self._changed = threading.Condition()
        self._last_progress = time.monotonic()
        self._closed = False

    @property
    def in_flight(self) -> int:
        return self.next_seq - self.settled

    def start_at(self, seq: int) -> None:
        """The next frame sent has sequence number ``seq``; nothing is in flight (a source that restarts)."""
        with self._changed:
            self.next_seq = self.settled = int(seq)
            self._closed = False

    def sent(self) -> None:
        """A frame left with sequence number :attr:`next_seq`."""
        with self._changed:
            if self.in_flight == 0:
                self._last_progress = time.monotonic()  # the stall clock runs only while frames are in flight
            self.next_seq += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def acknowledge(self, seq: int | None = None) -> None:
        """Frame ``seq`` got through (None: some frame got through, the oldest in flight as far as is known)."""
        with self._changed:
            self._last_progress = time.monotonic()
            settled = self.settled + 1 if seq is None else int(seq) + 1
            self.settled = max(self.settled, min(settled, self.next_seq))
            self._changed.notify_all()

    def close(self) -> None:
        """Stop waiting: the waits return False from now on."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def wait_for_room(self) -> bool:
        """Block until fewer than ``limit`` frames are in flight; False when closed first."""
        return self._wait_until(self.limit - 1)

    def wait_settled(self) -> bool:
        """Block until no frame is in flight; False when closed first."""
        return self._wait_until(0)

    def _wait_until(self, most_in_flight: int) -> bool:
        with self._changed:
            while not self._closed and self.in_flight > most_in_flight:
                quiet = time.monotonic() - self._last_progress
                if quiet >= self.stall_s:
                    self.stalls += 1
                    self.settled = self.next_seq
                    break
                self._changed.wait(self.stall_s - quiet)
            return not self._closed
