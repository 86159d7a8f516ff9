"""What a USRP reports while it streams, counted for the run's summary (a radio's samples lost or late).

* :class:`uhd_rx_monitor`: on a USRP source's output. UHD's source tags ``rx_time`` on its first sample and again
  on the first sample after every gap in the stream (an overflow: the host did not read fast enough), so every
  ``rx_time`` tag after the first is one overflow.
* :class:`uhd_tx_monitor`: on a USRP sink's ``async_msgs`` port. gr-uhd publishes each of UHD's asynchronous
  events as ``(uhd_async_msg . dict)`` whose ``event_code`` is a list of symbols: ``underflow`` /
  ``underflow_in_packet`` (the host did not send fast enough), ``time_error`` (a ``tx_time`` already past: a late
  burst), ``seq_error`` / ``seq_error_in_burst`` (lost packets) and ``burst_ack``; each is counted.
"""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from .pdus import RX_TIME

#: gr-uhd's event symbol -> the counter it adds to
EVENTS = {"burst_ack": "burst_acks", "underflow": "underflows", "underflow_in_packet": "underflows",
          "seq_error": "sequence_errors", "seq_error_in_burst": "sequence_errors", "time_error": "late"}


class uhd_rx_monitor(gr.sync_block):
    """Counts the overflows of the USRP source feeding it (module doc): ``overflows``, ``rx_time_tags``."""

    def __init__(self):
        gr.sync_block.__init__(self, name="semcomm_uhd_rx_monitor", in_sig=[np.complex64], out_sig=None)
        self.rx_time_tags = 0

    @property
    def overflows(self) -> int:
        return max(0, self.rx_time_tags - 1)

    def counters(self) -> dict:
        return {"overflows": self.overflows}

    def work(self, input_items, output_items):
        first = self.nitems_read(0)
        self.rx_time_tags += len(self.get_tags_in_range(0, first, first + len(input_items[0]), RX_TIME))
        return len(input_items[0])


class uhd_tx_monitor(gr.basic_block):
    """Counts a USRP sink's asynchronous events (module doc) from its ``async_msgs`` port (input ``async``)."""

    def __init__(self):
        gr.basic_block.__init__(self, name="semcomm_uhd_tx_monitor", in_sig=None, out_sig=None)
        self.events = {name: 0 for name in sorted(set(EVENTS.values()))}
        self.events["other"] = 0
        self.message_port_register_in(pmt.intern("async"))
        self.set_msg_handler(pmt.intern("async"), self._on_event)

    def counters(self) -> dict:
        return dict(self.events)

    def _on_event(self, message) -> None:
        if pmt.is_pair(message) and pmt.is_symbol(pmt.car(message)):
            message = pmt.cdr(message)  # (uhd_async_msg . dict); a dict's car is a (key . value) pair
        try:
            codes = pmt.dict_ref(message, pmt.intern("event_code"), pmt.PMT_NIL)
            names = [pmt.symbol_to_string(pmt.nth(k, codes)) for k in range(pmt.length(codes))]
        except (RuntimeError, TypeError, ValueError):  # not gr-uhd's format: counted, never fatal
            names = []
        for name in names or ["?"]:
            self.events[EVENTS.get(name, "other")] += 1
