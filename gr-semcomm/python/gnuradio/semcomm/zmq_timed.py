"""Timed ZMQ IQ links (:mod:`semcomm.testbed.zmq_link`): every message carries the absolute index of its first
sample, so the attacker's waveform lands on the samples it was made for and no side blocks on the other.

* :class:`zmq_timed_sink`: PUSH (binds), never blocks: what no peer takes is dropped and counted. The index
  of an input sample is its count in the stream, re-based by ``stream_index`` tags (an attacker's output
  carries the index its sensed input had).
* :class:`zmq_timed_source`: PULL (connects), samples in arrival order; a ``stream_index`` tag on the first
  sample of each message that does not continue the previous one (the first, and after a gap).
* :class:`zmq_aligned_source`: PULL (connects), one input that only clocks it: output sample ``n`` is the timed
  stream's sample ``n`` where it arrived in time, else zero (:class:`~semcomm.testbed.zmq_link.AlignedStream`).
"""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from semcomm.testbed.zmq_link import AlignedStream, TimedIqReader, TimedIqWriter

from .zmq_source import MalformedCounters

STREAM_INDEX = pmt.intern("stream_index")


class StreamIndices:
    """The stream index of a sink's input samples: their count, re-based by each ``stream_index`` tag (the
    tagged sample's index)."""

    def __init__(self):
        self._base = 0  # stream index of input sample 0 under the latest tag

    def segments(self, block: gr.basic_block, count: int) -> list[tuple[int, int, int]]:
        """``(lo, hi, index)`` runs of the ``count`` samples ``block`` is given now (relative positions; ``index``:
        the stream index of sample ``lo``)."""
        first = block.nitems_read(0)
        tags = sorted(block.get_tags_in_range(0, first, first + count, STREAM_INDEX), key=lambda tag: tag.offset)
        runs, lo = [], 0
        for tag in tags:
            if tag.offset - first > lo:
                runs.append((lo, tag.offset - first, self._base + first + lo))
            lo = tag.offset - first
            self._base = pmt.to_uint64(tag.value) - tag.offset
        if count > lo:
            runs.append((lo, count, self._base + first + lo))
        return runs


class zmq_timed_sink(gr.sync_block):
    """Timed messages of the input on a PUSH socket bound to ``address`` (module doc). ``sent_samples``,
    ``dropped_samples``: counters."""

    def __init__(self, address="tcp://127.0.0.1:55504", hwm=-1):
        gr.sync_block.__init__(self, name="semcomm_zmq_timed_sink", in_sig=[np.complex64], out_sig=None)
        self.writer, self.address, self.indices = TimedIqWriter(address, int(hwm)), address, StreamIndices()

    @property
    def sent_samples(self) -> int:
        return self.writer.sent_samples

    @property
    def dropped_samples(self) -> int:
        return self.writer.dropped_samples

    def work(self, input_items, output_items):
        samples = input_items[0]
        for lo, hi, index in self.indices.segments(self, len(samples)):
            self.writer.send(index, samples[lo:hi])
        return len(samples)

    def stop(self):
        if self.writer.dropped_samples:
            self.logger.info(f"{self.address}: {self.writer.dropped_samples} samples dropped (no peer took them)")
        self.writer.close()
        return True


class zmq_timed_source(MalformedCounters, gr.sync_block):
    """Samples of timed messages from a PULL socket connected to ``address`` (module doc); ``timeout``: ms one
    call waits. ``dropped`` / ``dropped_bytes``: malformed messages."""

    def __init__(self, address="tcp://127.0.0.1:55504", timeout=100.0, hwm=-1):
        gr.sync_block.__init__(self, name="semcomm_zmq_timed_source", in_sig=None, out_sig=[np.complex64])
        self.reader, self.timeout = TimedIqReader(address, int(hwm)), float(timeout)
        self._next = None  # the stream index the next sample would continue with
        self._pending: tuple[int, np.ndarray] | None = None

    def work(self, input_items, output_items):
        out, written, wait = output_items[0], 0, self.timeout
        while written < len(out):
            timed = self._pending or self.reader.receive(wait)
            self._pending, wait = None, 0
            if timed is None:
                break
            index, samples = timed
            take = min(len(samples), len(out) - written)
            if index != self._next:
                self.add_item_tag(0, self.nitems_written(0) + written, STREAM_INDEX, pmt.from_uint64(index))
            out[written:written + take] = samples[:take]
            written, self._next = written + take, index + take
            if take < len(samples):
                self._pending = (index + take, samples[take:])
        return written

    def stop(self):
        self.reader.close()
        return True


class zmq_aligned_source(MalformedCounters, gr.sync_block):
    """The timed stream from a PULL socket connected to ``address`` at the indices of its input (module doc);
    ``wait``: ms it waits for a present peer's samples. Counters: :meth:`counters`; ``dropped`` /
    ``dropped_bytes``: malformed messages."""

    def __init__(self, address="tcp://127.0.0.1:55502", wait=1000.0, hwm=-1):
        gr.sync_block.__init__(self, name="semcomm_zmq_aligned_source", in_sig=[np.complex64],
                               out_sig=[np.complex64])
        self.stream = AlignedStream(TimedIqReader(address, int(hwm)), float(wait))
        self.reader = self.stream.reader

    def counters(self) -> dict:
        """The attacker link's counters (for the channel role's summary)."""
        stream = self.stream
        return {"used_samples": stream.used_samples, "missing_samples": stream.missing_samples,
                "late_samples": stream.late_samples, "outages": stream.outages, "malformed": self.dropped}

    def work(self, input_items, output_items):
        output_items[0][:] = self.stream.read(self.nitems_read(0), len(output_items[0]))
        return len(output_items[0])

    def stop(self):
        self.reader.close()
        return True
