"""Burst receiver: matched-filtered samples -> decoded frames, every stage in one call per chunk.

:class:`BurstReceiver` chains :class:`semcomm.phy.sync.FrameSynchronizer` (detection, timing, CFO,
phase, gain, noise, header) with the :class:`semcomm.phy.modem.FrameModem` stages (soft demapping,
LDPC decoding, payload CRC), batching the frames of a chunk that share a layout. It makes the decisions of
the separate GNU Radio blocks (frame_sync -> soft_demapper -> ldpc_decoder -> deframer), plus a retry:

* a header naming another model id is refused (``model_id_mismatch``) before its payload is decoded;
* a payload whose CRC-32 fails is kept and flagged when the frame is semantic, refused otherwise;
* before that, a failed frame is decoded once more after removing the residual carrier phase ramp
  measured against its re-encoded first decoding (the phase extrapolated from the preamble and header
  drifts over the payload at low SNR; iterative, decision-directed synchronisation).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .framing import Reject, check_payload
from .modem import FrameModem
from .sync import FrameSynchronizer, SyncedFrame, refine_phase


@dataclass
class ReceivedFrame:
    sync: SyncedFrame                      #: detection, header and estimates
    reject: str | None = None              #: why the frame went no further (None: delivered)
    payload_bits: np.ndarray | None = None  #: decoded payload + CRC-32 bits
    coded_hard: np.ndarray | None = None   #: pre-FEC hard decisions of the coded payload bits
    fec_ok: bool = False                   #: every LDPC codeword's syndrome is zero
    payload_crc_ok: bool = False


class BurstReceiver:
    """:meth:`push` matched-filtered samples, get the :class:`ReceivedFrame` s completed by them."""

    def __init__(self, modem: FrameModem, sps: int, threshold: float = 0.5, expected_model_id: bytes | None = None,
                 cfo_range: float = 0.0):
        self.modem = modem
        self.sync = FrameSynchronizer(modem, sps, threshold, cfo_range)
        self.expected_model_id = expected_model_id

    def push(self, samples) -> list[ReceivedFrame]:
        return self._decode(self.sync.push(samples))

    def warm_up(self) -> None:
        """Receive one synthetic frame on a scratch synchroniser, so that the compiled kernels are
        loaded before the first real frame arrives (instead of stalling it for a fraction of a second)."""
        from .pulse import matched_filter, rrc_taps, shape

        taps = rrc_taps(self.sync.sps)
        symbols = np.concatenate([self.modem.modulate(np.zeros((1, 8), dtype=np.uint8)).symbols[0],
                                  np.zeros(64, dtype=np.complex64)])
        scratch = BurstReceiver(self.modem, self.sync.sps, self.sync.threshold)
        scratch.push(matched_filter(shape(symbols, taps, self.sync.sps), taps))

    def flush(self) -> list[ReceivedFrame]:
        return self._decode(self.sync.flush())

    def _decode(self, synced: list[SyncedFrame]) -> list[ReceivedFrame]:
        frames = [ReceivedFrame(s, s.reject) for s in synced]
        groups: dict[tuple[int, int, int], list[ReceivedFrame]] = {}
        for frame in frames:
            header = frame.sync.header
            if frame.reject is None and self.expected_model_id is not None and header.model_id != self.expected_model_id:
                frame.reject = Reject.MODEL_ID_MISMATCH
            if frame.reject is None:
                groups.setdefault((header.payload_len, header.modulation_id, header.code_id), []).append(frame)
        for group in groups.values():
            self._decode_group(group)
        return frames

    def _decode_group(self, group: list[ReceivedFrame]) -> None:
        """Demap and decode frames of one layout together (one batched LDPC call); frames whose CRC
        fails get one more try after :func:`refine_phase` against their re-encoded first decoding."""
        layout = self.modem.header_layout(group[0].sync.header)
        symbols = np.stack([frame.sync.payload for frame in group])
        noise_var = np.array([[frame.sync.noise_var] for frame in group], dtype=np.float32)
        llr, payload_bytes, ok = self._demap_decode(layout, symbols, noise_var)
        crc_ok = np.array([check_payload(f.sync.header, payload_bytes[i].tobytes()).payload_crc_ok
                           for i, f in enumerate(group)])
        retry = np.flatnonzero(~crc_ok)
        if retry.size:
            reference = self.modem.payload_reference(layout, np.unpackbits(payload_bytes[retry], axis=1))
            llr2, bytes2, ok2 = self._demap_decode(layout, refine_phase(symbols[retry], reference), noise_var[retry])
            for j, i in enumerate(retry):
                if check_payload(group[i].sync.header, bytes2[j].tobytes()).payload_crc_ok:
                    llr[i], payload_bytes[i], crc_ok[i] = llr2[j], bytes2[j], True
                    if ok is not None:
                        ok[i] = ok2[j]
        for i, frame in enumerate(group):
            frame.payload_bits = np.unpackbits(payload_bytes[i])
            frame.coded_hard = (llr[i] < 0).astype(np.uint8)
            frame.fec_ok = True if ok is None else bool(np.all(ok[i]))
            frame.payload_crc_ok = bool(crc_ok[i])
            if not frame.payload_crc_ok and not frame.sync.header.semantic:
                frame.reject = Reject.PAYLOAD_CRC

    def _demap_decode(self, layout, symbols, noise_var):
        llr = self.modem.demap_payload(layout, symbols, noise_var)
        payload_bytes, ok, _ = self.modem.decode_payload(layout, llr)
        return llr, payload_bytes, ok
