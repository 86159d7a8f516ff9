"""ZMQ IQ source: thin wrapper of :class:`semcomm.testbed.zmq_link.IqReader` (in place of GNU Radio's
``zeromq.pull_source``, whose thread dies on a message that is not a whole number of samples)."""
from __future__ import annotations

import numpy as np
from gnuradio import gr

from semcomm.testbed.zmq_link import SAMPLE, IqReader


class MalformedCounters:
    """``dropped`` / ``dropped_bytes``: the malformed messages the block's ``reader`` dropped (for the run's
    counters)."""

    @property
    def dropped(self) -> int:
        return self.reader.dropped

    @property
    def dropped_bytes(self) -> int:
        return self.reader.dropped_bytes


class zmq_iq_source(MalformedCounters, gr.sync_block):
    """complex64 samples from a ZMQ PULL socket connected to ``address`` (``timeout``: ms a call waits for a
    message; ``hwm``: receive high-water mark, -1: ZMQ's default). A malformed message is dropped, counted in
    ``dropped`` / ``dropped_bytes`` and logged (the 1st, 10th, 100th, ...); the stream goes on."""

    def __init__(self, address="tcp://127.0.0.1:55503", timeout=100.0, hwm=-1):
        gr.sync_block.__init__(self, name="semcomm_zmq_iq_source", in_sig=None, out_sig=[np.complex64])
        self.reader = IqReader(address, timeout, hwm)
        self.address = address

    def work(self, input_items, output_items):
        before = self.reader.dropped
        written = self.reader.read_into(output_items[0])
        after = self.reader.dropped
        if after > before and (before == 0 or len(str(after)) > len(str(before))):  # the 1st, 10th, 100th, ...
            self.logger.warn(f"{self.address}: dropped a malformed message (not a whole number of "
                             f"{SAMPLE.itemsize}-byte samples): {self.reader.dropped} messages, "
                             f"{self.reader.dropped_bytes} bytes so far")
        return written

    def stop(self):
        if self.reader.dropped:
            self.logger.warn(f"{self.address}: {self.reader.dropped} malformed messages "
                             f"({self.reader.dropped_bytes} bytes) dropped")
        return True
