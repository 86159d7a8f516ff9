"""Frame acknowledgements from a sample stream: where a transmitter's frames enter its output.

``pdu_to_tagged_stream`` turns each key of a frame PDU's metadata into a stream tag on the frame's first
sample, and the filters after it carry the tags along; this sink publishes ``{seq}`` on port ``acks``
for every ``seq`` tag it reads, which the image source's in-flight window counts
(:mod:`semcomm.testbed.pacing`). Fed from the same buffer as the transmitter's sink (ZMQ or UHD), it
acknowledges a frame once its first sample is in that buffer, which the sink drains at its own pace.
"""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from .pdus import KEYS, with_meta

ACKS = pmt.intern("acks")


class frame_acks(gr.sync_block):
    """Complex stream in; port ``acks``: a metadata dict ``{seq}`` per ``seq`` tag. Attribute ``acked``."""

    def __init__(self):
        gr.sync_block.__init__(self, name="semcomm_frame_acks", in_sig=[np.complex64], out_sig=None)
        self.acked = 0
        self.message_port_register_out(ACKS)

    def work(self, input_items, output_items):
        start = self.nitems_read(0)
        for tag in self.get_tags_in_range(0, start, start + len(input_items[0]), KEYS["seq"]):
            self.message_port_pub(ACKS, with_meta(pmt.make_dict(), seq=int(pmt.to_long(tag.value))))
            self.acked += 1
        return len(input_items[0])
