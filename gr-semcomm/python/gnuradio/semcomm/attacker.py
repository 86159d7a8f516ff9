"""Attacker source: unit-power jamming from :class:`semcomm.channel.jammer.StreamJammer` as a stream.

One complex input (the sensed transmitter stream; ignored in ``free_running`` mode, so a null source
may feed it) and one complex output of the same length. The output has unit power while jamming;
the PSR scaling and the attacker channel ``H_a`` are applied by the channel emulator.
"""
from __future__ import annotations

import numpy as np
from gnuradio import gr

from semcomm.channel.jammer import StreamJammer


class attacker_source(gr.sync_block):
    """Jamming stream (see module docstring). Parameters are those of :class:`StreamJammer`: ``kind``
    (``gaussian`` | ``tone``), ``mode`` (``free_running`` | ``frame_aligned``), ``tone_freq``
    (cycles/sample), ``seed``, ``sense_window`` (samples), ``sense_threshold`` (power per sample;
    a frame on the air has ``1 / sps``)."""

    def __init__(self, kind="gaussian", mode="free_running", tone_freq=0.1, seed=0, sense_window=64,
                 sense_threshold=0.125):
        gr.sync_block.__init__(self, name="semcomm_attacker_source", in_sig=[np.complex64], out_sig=[np.complex64])
        self.jammer = StreamJammer(kind, mode, tone_freq=tone_freq, seed=seed, sense_window=sense_window,
                                   sense_threshold=sense_threshold)

    def work(self, input_items, output_items):
        output_items[0][:] = self.jammer.process(input_items[0])
        return len(output_items[0])
