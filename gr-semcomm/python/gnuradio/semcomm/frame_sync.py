"""Receiver synchronisation block: matched-filtered sample stream -> payload symbol PDUs.

Thin wrapper of :class:`semcomm.phy.sync.FrameSynchronizer` (detection, timing, CFO, phase, gain,
noise and header decoding live there). Put GNU Radio's ``fir_filter_ccf`` with the same
:func:`semcomm.phy.pulse.rrc_taps` in front of it as the matched filter.
"""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from semcomm.phy.modem import FrameModem, LinkConfig
from semcomm.phy.sync import FrameSynchronizer, SyncedFrame

from .pdus import PDUS, REJECTS, make_pdu, with_meta


class frame_sync(gr.sync_block):
    """Complex stream in; ``pdus`` out: one c32vector of equalised payload symbols per frame whose
    header decoded, with metadata seq, header, model_id, modulation, code, payload_len, detected,
    header_ok, sample, snr_est_db, cfo_est, noise_var. Frames whose header fails go to ``rejects``.
    Counters: ``detections``, ``frames``, ``header_failures``, ``samples``."""

    def __init__(self, sps: int = 4, threshold: float = 0.5, max_iterations: int = 20, llr_method: str = "maxlog"):
        gr.sync_block.__init__(self, name="semcomm_frame_sync", in_sig=[np.complex64], out_sig=None)
        modem = FrameModem(LinkConfig(max_iterations=int(max_iterations), llr_method=llr_method))
        self.sync = FrameSynchronizer(modem, int(sps), float(threshold))
        self.frames = 0
        self.samples = 0
        self.message_port_register_out(PDUS)
        self.message_port_register_out(REJECTS)

    @property
    def detections(self) -> int:
        return self.sync.detections

    @property
    def header_failures(self) -> int:
        return self.sync.header_failures

    def work(self, input_items, output_items):
        samples = input_items[0]
        self.samples += len(samples)
        for frame in self.sync.push(samples):
            self._publish(frame)
        return len(samples)

    def stop(self):
        for frame in self.sync.flush():
            self._publish(frame)
        return True

    def _publish(self, frame: SyncedFrame) -> None:
        meta = with_meta(pmt.make_dict(), detected=True, sample=int(round(frame.start)), header_ok=frame.reject is None)
        if frame.header is not None:
            meta = with_meta(meta, seq=frame.header.seq, model_id=frame.header.model_id.hex())
        if frame.reject is not None:
            self.message_port_pub(REJECTS, pmt.cons(with_meta(meta, reject=frame.reject), pmt.init_u8vector(0, [])))
            return
        header, layout = frame.header, self.sync.modem.header_layout(frame.header)
        meta = with_meta(meta, header=np.frombuffer(header.pack(), dtype=np.uint8), payload_len=header.payload_len,
                         modulation=layout.qam.name, code=self.sync.modem.code_name(header.code_id),
                         snr_est_db=frame.snr_db, cfo_est=frame.cfo, noise_var=frame.noise_var)
        self.frames += 1
        self.message_port_pub(PDUS, make_pdu(meta, frame.payload))
