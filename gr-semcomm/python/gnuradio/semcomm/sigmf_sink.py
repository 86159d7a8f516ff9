"""SigMF sink: thin wrapper of :class:`semcomm.capture.SigmfRecorder` (records a complex stream at a tap).

The stream index of each sample (SigMF ``core:global_index``) is its count, re-based by ``stream_index`` tags
(a timed ZMQ source's). Frames the stream carries tags for (the transmitter's ``seq`` / ``packet_len`` on each
frame's first sample) are listed in :attr:`sigmf_sink.frames` for the run to annotate once it knows each frame's
outcome (:func:`semcomm.capture.annotate_frames`). Every :data:`PROGRESS_S` seconds it logs how much it has
recorded.
"""
from __future__ import annotations

import json
import time

import numpy as np
from gnuradio import gr

from semcomm.capture import SigmfRecorder

from .pdus import frame_tags
from .zmq_timed import StreamIndices

PROGRESS_S = 5.0  #: seconds between progress lines of a recording


class sigmf_sink(gr.sync_block):
    """Records its input to the SigMF recording at ``path`` (``""``: records nothing). ``sample_rate`` (Hz),
    ``center_freq`` (Hz), ``hardware``, ``tap`` (where in the link), ``config`` (the testbed config as JSON, kept
    in the metadata), ``sps`` (samples per symbol: a frame's ``packet_len`` symbols in samples),
    ``checkpoint_s`` (metadata rewritten this often). Attributes: ``recorder`` (None when off), ``frames``."""

    def __init__(self, path="", sample_rate=1e6, center_freq=2.45e9, hardware="", tap="", config="{}", sps=4,
                 checkpoint_s=1.0):
        gr.sync_block.__init__(self, name="semcomm_sigmf_sink", in_sig=[np.complex64], out_sig=None)
        self.recorder = None
        if path:
            extra = {"semcomm:tap": tap, "semcomm:config": json.loads(config or "{}")}
            self.recorder = SigmfRecorder(path, float(sample_rate), float(center_freq), hardware,
                                          f"semcomm testbed IQ at the {tap} tap", extra, float(checkpoint_s))
        self.sps, self.indices, self.frames = int(sps), StreamIndices(), []
        self._reported = time.monotonic()

    @property
    def dropped_samples(self) -> int:
        return self.recorder.dropped_samples if self.recorder else 0

    def work(self, input_items, output_items):
        samples = input_items[0]
        if self.recorder is None:
            return len(samples)
        first = self.nitems_read(0)
        runs = self.indices.segments(self, len(samples))
        for lo, hi, index in runs:
            self.recorder.write(samples[lo:hi], index)
        self._note_frames(first, len(samples), runs)
        if time.monotonic() - self._reported >= PROGRESS_S:  # a long recording shows how far it is
            self._reported = time.monotonic()
            recorder = self.recorder
            self.logger.info(f"{recorder.base}: {recorder.samples} samples ({recorder.samples * 8 / 1e6:.1f} MB, "
                             f"{len(self.frames)} frames) recorded" + (f"; FAILED: {recorder.failed}" if recorder.failed
                                                                       else ""))
        return len(samples)

    def _note_frames(self, first: int, count: int, runs) -> None:
        for offset, length, seq in frame_tags(self, first, first + count, self.sps):
            lo, _, index = [run for run in runs if run[0] <= offset - first][-1]
            frame = {"seq": seq, "start": index + offset - first - lo, "samples": length}
            if not self.frames or self.frames[-1] != frame:  # a block with two tagged inputs repeats the tags
                self.frames.append(frame)

    def stop(self):
        if self.recorder is not None:
            self.recorder.close()
        return True
