"""Receiver blocks on the matched-filtered sample stream (GNU Radio's ``fir_filter_ccf`` with the
same :func:`semcomm.phy.pulse.rrc_taps` in front):

* :class:`frame_sync` -> payload symbol PDUs, for the chain of separate blocks (soft_demapper ->
  ldpc_decoder -> deframer -> bits_to_index); thin wrapper of :class:`semcomm.phy.sync.FrameSynchronizer`;
* :class:`frame_receiver` -> index PDUs, the same stages in one block (:class:`semcomm.phy.receiver.BurstReceiver`).
  The testbed flowgraphs use it: every Python block is a thread and they all share one interpreter
  lock, so one block doing the per-frame work sequentially costs far less CPU than five handing PDUs
  to each other (measured: about 2x the receiver rate on the 2-core machine).
"""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from semcomm.phy.bits import IndexBitMapper
from semcomm.phy.framing import Reject
from semcomm.phy.modem import FrameModem, LinkConfig
from semcomm.phy.receiver import BurstReceiver, ReceivedFrame
from semcomm.phy.sync import FrameSynchronizer, SyncedFrame

from .modem_blocks import model_id_bytes
from .pdus import PDUS, REJECTS, make_pdu, with_meta


def sync_meta(frame: SyncedFrame, modem: FrameModem):
    """Metadata of a synchronised frame (see :mod:`.pdus`); the header fields when it decoded."""
    meta = with_meta(pmt.make_dict(), detected=True, sample=int(round(frame.start)), header_ok=frame.header is not None
                     and frame.reject in (None, "too_short"))
    if frame.header is None:
        return meta
    header, layout = frame.header, modem.header_layout(frame.header)
    meta = with_meta(meta, seq=header.seq, model_id=header.model_id.hex(),
                     header=np.frombuffer(header.pack(), dtype=np.uint8), payload_len=header.payload_len,
                     modulation=layout.qam.name, code=modem.code_name(header.code_id))
    if np.isfinite(frame.snr_db):
        meta = with_meta(meta, snr_est_db=frame.snr_db, cfo_est=frame.cfo, noise_var=frame.noise_var)
    return meta


def publish_reject(block, meta, reason: str) -> None:
    block.message_port_pub(REJECTS, pmt.cons(with_meta(meta, reject=reason), pmt.init_u8vector(0, [])))


class _FrameBlock(gr.sync_block):
    """Complex stream in, ``pdus`` and ``rejects`` out: feeds each chunk to ``engine`` (``push`` /
    ``flush`` at stop, see :class:`FrameSynchronizer` and :class:`BurstReceiver`) and publishes what it
    returns with ``_publish``. Counters: ``detections``, ``header_failures``, ``frames``, ``samples``."""

    def __init__(self, name: str, engine, synchronizer: FrameSynchronizer):
        gr.sync_block.__init__(self, name=name, in_sig=[np.complex64], out_sig=None)
        self._engine, self._synchronizer = engine, synchronizer
        self.frames = self.samples = 0
        self.message_port_register_out(PDUS)
        self.message_port_register_out(REJECTS)

    @property
    def detections(self) -> int:
        return self._synchronizer.detections

    @property
    def header_failures(self) -> int:
        return self._synchronizer.header_failures

    def work(self, input_items, output_items):
        samples = input_items[0]
        self.samples += len(samples)
        for frame in self._engine.push(samples):
            self._publish(frame)
        return len(samples)

    def stop(self):
        for frame in self._engine.flush():
            self._publish(frame)
        return True


class frame_sync(_FrameBlock):
    """``pdus``: one c32vector of equalised payload symbols per frame whose header decoded, with
    metadata seq, header, model_id, modulation, code, payload_len, detected, header_ok, sample,
    snr_est_db, cfo_est, noise_var. Frames whose header fails go to ``rejects``."""

    def __init__(self, sps: int = 4, threshold: float = 0.5, max_iterations: int = 20, llr_method: str = "maxlog",
                 cfo_range: float = 0.0):
        modem = FrameModem(LinkConfig(max_iterations=int(max_iterations), llr_method=llr_method))
        self.sync = FrameSynchronizer(modem, int(sps), float(threshold), float(cfo_range))
        _FrameBlock.__init__(self, "semcomm_frame_sync", self.sync, self.sync)

    def _publish(self, frame: SyncedFrame) -> None:
        meta = sync_meta(frame, self.sync.modem)
        if frame.reject is not None:
            publish_reject(self, meta, frame.reject)
            return
        self.frames += 1
        self.message_port_pub(PDUS, make_pdu(meta, frame.payload))


class frame_receiver(_FrameBlock):
    """``pdus``: one s32vector of the ``num_indices`` received codebook indices per delivered frame
    (the output of bits_to_index in the separate chain) with the metadata of frame_sync plus
    coded_hard, fec_ok, payload_crc_ok, rx_payload_bits and clamped; refused frames (header CRC, model
    id, non-semantic CRC failure) go to ``rejects`` and count in ``rejected``."""

    def __init__(self, model_id: str, alphabet, num_indices: int, sps: int = 4, threshold: float = 0.5,
                 decoder: str = "nms", max_iterations: int = 20, llr_method: str = "maxlog", cfo_range: float = 0.0):
        modem = FrameModem(LinkConfig(decoder=decoder, max_iterations=int(max_iterations), llr_method=llr_method))
        self.receiver = BurstReceiver(modem, int(sps), float(threshold), model_id_bytes(model_id), float(cfo_range))
        self.receiver.warm_up()
        self.mapper = IndexBitMapper(alphabet, num_indices=int(num_indices))
        self.rejected = 0
        _FrameBlock.__init__(self, "semcomm_frame_receiver", self.receiver, self.receiver.sync)

    def _publish(self, frame: ReceivedFrame) -> None:
        meta = sync_meta(frame.sync, self.receiver.modem)
        if frame.reject is None and frame.payload_bits.size < self.mapper.num_bits + 32:
            frame.reject = Reject.LENGTH_MISMATCH
        if frame.reject is not None:
            self.rejected += 1
            publish_reject(self, meta, frame.reject)
            return
        indices, clamped = self.mapper.from_bits(frame.payload_bits[None, :self.mapper.num_bits])
        meta = with_meta(meta, coded_hard=frame.coded_hard, fec_ok=frame.fec_ok, payload_crc_ok=frame.payload_crc_ok,
                         rx_payload_bits=frame.payload_bits, clamped=int(clamped[0]))
        self.frames += 1
        self.message_port_pub(PDUS, make_pdu(meta, indices[0].astype(np.int32)))
