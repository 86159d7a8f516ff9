"""Semantic encoder and decoder blocks: image PDUs -> index PDUs -> result PDUs through the ONNX
runtime of :mod:`semcomm.export.runtime` (one session per block, created at construction).

Batching: the message handler only checks a PDU and queues it; a worker thread (started in
``start()``, stopped in ``stop()``) waits up to ``batch_wait_ms`` after the first queued PDU for more
(default :data:`BATCH_WAIT_MS`: one ONNX call per several frames costs much less CPU than one per
frame, for a few ms of latency), takes everything queued (at most :data:`MAX_BATCH` PDUs), runs
one batched inference and publishes the outputs in arrival order. PDUs still queued when the
flowgraph stops are not processed.

A PDU the block cannot use (not a PDU, wrong vector type, length or value range) is dropped, counted
in ``dropped`` and logged with the reason; ``processed`` counts published outputs. The blocks never
raise in a running flowgraph: an inference failure drops (and counts) the whole batch.
"""
from __future__ import annotations

import threading
import time

import numpy as np
from gnuradio import gr

from semcomm.export.runtime import SemanticCodec, session_options

from . import index_bits
from .pdus import PDUS, PduDropped, make_pdu, meta_value, split_pdu, vector_array, with_meta

MAX_BATCH = 256
BATCH_WAIT_MS = 5.0


class _BatchedModelBlock(gr.basic_block):
    """Message plumbing and the batching worker; a subclass defines ``check(meta, vector) -> item``
    (raising :class:`PduDropped`) and ``run(metas, items) -> list of output PDUs``."""

    def __init__(self, name, model, batch_wait_ms=BATCH_WAIT_MS):
        gr.basic_block.__init__(self, name=name, in_sig=None, out_sig=None)
        self.batch_wait_s = max(float(batch_wait_ms), 0.0) / 1e3
        # one intra-op thread, no spinning: the flowgraph's other blocks need the cores
        self.codec = SemanticCodec.from_prefix(model, session_options=session_options(1))
        if self.codec.analog:
            raise ValueError(f"{model} is an analog codec (symbols, no indices): not supported by {name}")
        self.processed = 0
        self.dropped = 0
        self._queue = []
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = None
        self.message_port_register_in(PDUS)
        self.message_port_register_out(PDUS)
        self.set_msg_handler(PDUS, self._handle)

    def _drop(self, reason, count=1):
        self.dropped += count
        self.logger.warn(f"dropped {count} PDU(s) (total {self.dropped}): {reason}")

    def _handle(self, msg):
        try:
            meta, vector = split_pdu(msg)
            item = self.check(meta, vector)
        except PduDropped as err:
            self._drop(err)
            return
        with self._wake:
            self._queue.append((meta, item))
            self._wake.notify()

    def start(self):
        self._stopping = False
        self._thread = threading.Thread(target=self._work, name=self.name(), daemon=True)
        self._thread.start()
        return True

    def stop(self):
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
        return True

    def _work(self):
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._queue or self._stopping)
                if self.batch_wait_s and not self._stopping:
                    self._wake.wait_for(lambda: len(self._queue) >= MAX_BATCH or self._stopping, self.batch_wait_s)
                if self._stopping:
                    return
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            metas, items = zip(*batch)
            try:
                outputs = self.run(list(metas), list(items))
            except Exception as err:  # noqa: BLE001 - a running block never raises
                self._drop(f"inference failed: {type(err).__name__}: {err}", len(batch))
                continue
            for out in outputs:
                self.message_port_pub(PDUS, out)
            self.processed += len(outputs)


class semantic_encoder(_BatchedModelBlock):
    """Image PDU (f32vector ``[C*H*W]`` in ``[0, 1]``) -> index PDU (s32vector ``[T]``), metadata kept.

    ``model``: the codec's path prefix (``<prefix>.encoder.onnx``, see :class:`SemanticCodec`). An
    image of the wrong size, type or value range is dropped with the runtime's message.
    """

    def __init__(self, model="models/masked_vqvae_fim_at", batch_wait_ms=BATCH_WAIT_MS):
        _BatchedModelBlock.__init__(self, "semcomm_semantic_encoder", model, batch_wait_ms)

    def check(self, meta, vector):
        image = vector_array(vector)
        if image is None:
            raise PduDropped("image PDU vector must be an f32vector of pixels in [0, 1]")
        shape = self.codec.image_shape
        if image.size != np.prod(shape):
            raise PduDropped(f"image PDU has {image.size} values, the model takes C*H*W = {np.prod(shape)} "
                             f"(C, H, W = {shape})")
        try:
            return self.codec.encoder.check_images(image.reshape(1, *shape))[0]
        except ValueError as err:
            raise PduDropped(f"image PDU: {err}") from None

    def run(self, metas, images):
        indices = self.codec.encode(np.stack(images)).astype(np.int32)
        return [make_pdu(meta, row) for meta, row in zip(metas, indices)]


class semantic_decoder(_BatchedModelBlock):
    """Index PDU (integer vector ``[T]``, s32vector canonical) -> result PDU.

    Output: f32vector logits ``[K]`` with metadata ``pred`` (argmax class) for classification codecs,
    f32vector image ``[C*H*W]`` for reconstruction codecs; both add ``t_rx`` (``time.time()``) and set
    ``clamped`` to the incoming ``clamped`` (from bits_to_index) plus the indices outside ``[0, J)``
    that the runtime clamps. A codec that uses the SNR gets ``snr_db`` (dB) when it is not None, else
    the PDU's ``snr_est_db`` metadata; a PDU with neither is dropped. Wrong length is dropped.
    """

    def __init__(self, model="models/masked_vqvae_fim_at", snr_db=None, batch_wait_ms=BATCH_WAIT_MS):
        _BatchedModelBlock.__init__(self, "semcomm_semantic_decoder", model, batch_wait_ms)
        self.snr_db = None if snr_db is None else float(snr_db)

    def check(self, meta, vector):
        indices = index_bits.checked_length(index_bits.integer_elements(vector), self.codec.num_tokens, "index")
        clamped = meta_value(meta, "clamped", 0)
        if not isinstance(clamped, int):
            raise PduDropped(f"metadata clamped={clamped!r} is not an integer")
        snr = self.snr_db if self.snr_db is not None else meta_value(meta, "snr_est_db")
        if self.codec.uses_snr and not (isinstance(snr, (int, float)) and np.isfinite(snr)):
            raise PduDropped(f"the model uses the SNR but the PDU's snr_est_db is {snr!r} (need a finite number) "
                             "and the block has no snr_db")
        return indices, snr, clamped

    def run(self, metas, items):
        indices, snr, clamped_in = zip(*items)
        snr = np.array(snr, dtype=np.float32) if self.codec.uses_snr else None
        outputs, clamped = self.codec.decode(np.stack(indices), snr)
        t_rx = time.time()
        results = []
        for meta, out, count, count_in in zip(metas, outputs, clamped, clamped_in):
            extra = {"pred": int(np.argmax(out))} if self.codec.task == "classification" else {}
            meta = with_meta(meta, t_rx=t_rx, clamped=count_in + int(count), **extra)
            results.append(make_pdu(meta, out.astype(np.float32).ravel()))
        return results
