"""Sample-clock offset: thin wrapper of :class:`semcomm.channel.stream.ClockOffset` (the receiver's sample clock
``ppm`` off the transmitter's: a resampler, so it gives about ``1 + ppm 1e-6`` output samples per input sample).
At 0 ppm it copies its input."""
from __future__ import annotations

import numpy as np
from gnuradio import gr

from semcomm.channel.stream import ClockOffset


class clock_offset(gr.basic_block):
    """Input: the received stream at the transmitter's clock; output: sampled by a clock ``ppm`` faster (negative:
    slower). Stream tags keep their input offsets scaled by the rate."""

    def __init__(self, ppm=0.0):
        gr.basic_block.__init__(self, name="semcomm_clock_offset", in_sig=[np.complex64], out_sig=[np.complex64])
        self.resampler = ClockOffset(float(ppm)) if ppm else None
        self.set_relative_rate(1.0 + float(ppm) * 1e-6)
        self._pending = np.zeros(0, np.complex64)

    def forecast(self, noutput_items, ninputs):
        return [noutput_items] * ninputs

    def general_work(self, input_items, output_items):
        out = output_items[0]
        taken = min(len(input_items[0]), max(len(out) - self._pending.size, 0))
        if taken:
            chunk = input_items[0][:taken]
            produced = self.resampler.process(chunk) if self.resampler else chunk.copy()
            self._pending = np.concatenate([self._pending, produced])
            self.consume(0, taken)
        count = min(len(out), self._pending.size)
        out[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count
