"""Message source of image PDUs read from a dataset (:func:`semcomm.data.load_dataset`).

Each image leaves on port ``pdus`` as an f32vector ``[C*H*W]`` in ``[0, 1]`` (``pixel / 255``) with
metadata ``seq`` (0 .. N-1), ``label``, ``index`` (position in the dataset split) and ``t_tx``
(``time.time()`` at publication), see :mod:`.pdus`.

Rate control: ``images_per_s > 0`` publishes on a fixed schedule (image ``k`` at ``t0 + k / rate``).
``images_per_s = 0`` publishes as fast as possible but in bursts of :data:`BURST` images followed by
a :data:`BURST_PAUSE_S` sleep, i.e. at most ``BURST / BURST_PAUSE_S`` = 3200 images/s: GNU Radio gives
a message source no back-pressure (a downstream queue over its ``max_messages`` limit drops
messages), so the bound keeps downstream queues short for any realistic consumer.

The source does not end the flowgraph: after the last image it sets :attr:`done`, and the app stops
the flowgraph once the sink has accounted for the images (or on a timeout).
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pmt
from gnuradio import gr

from semcomm.data import load_dataset
from semcomm.data.dataset import to_unit_float

from .pdus import PDUS, make_pdu, with_meta

BURST = 16
BURST_PAUSE_S = 0.005


def select_indices(size: int, num_images: int, start: int = 0, seed=None) -> np.ndarray:
    """Dataset indices of the images to send: ``order[start:start + num_images]`` where ``order`` is
    the dataset order, or a permutation drawn with ``seed`` (``None`` or negative: dataset order)."""
    if num_images < 1 or start < 0 or start + num_images > size:
        raise ValueError(f"num_images={num_images} from start={start} needs {start + num_images} images, "
                         f"the dataset split has {size}")
    order = np.arange(size) if seed is None or seed < 0 else np.random.default_rng(seed).permutation(size)
    return order[start:start + num_images]


class image_source(gr.basic_block):
    """Image PDU source (see module docstring).

    Parameters: ``dataset`` (``fashion-mnist`` | ``cifar10`` | ``folder`` | a directory), ``path``
    (dataset directory; ``""`` for the default Fashion-MNIST location), ``split`` (``test`` | ``train``),
    ``num_images``, ``start``, ``images_per_s`` (0: burst pacing), ``seed`` (-1: dataset order).
    ``data`` may be an already loaded :class:`semcomm.data.ImageDataset` (then ``dataset``, ``path``
    and ``split`` are ignored). Attributes: ``sent`` (images published), ``done`` (threading.Event).
    A flowgraph stopped and started again continues with the next unsent image.
    """

    def __init__(self, dataset="fashion-mnist", path="", split="test", num_images=100, start=0,
                 images_per_s=0.0, seed=-1, data=None):
        gr.basic_block.__init__(self, name="semcomm_image_source", in_sig=None, out_sig=None)
        if images_per_s < 0:
            raise ValueError(f"images_per_s must be >= 0 (0: as fast as possible), got {images_per_s}")
        self.data = data if data is not None else load_dataset(dataset, split, root=path or None)
        self.indices = select_indices(len(self.data), int(num_images), int(start), seed)
        self.images_per_s = float(images_per_s)
        self.sent = 0
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self.message_port_register_out(PDUS)

    def start(self):
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="semcomm_image_source", daemon=True)
        self._thread.start()
        return True

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return True

    def _run(self):
        t0, first = time.monotonic(), self.sent
        for seq in range(first, len(self.indices)):
            if self.images_per_s > 0:
                pause = t0 + (seq - first) / self.images_per_s - time.monotonic()
            else:
                pause = BURST_PAUSE_S if seq > first and (seq - first) % BURST == 0 else 0.0
            if self._stop.wait(max(pause, 0.0)):
                return
            index = int(self.indices[seq])
            meta = with_meta(pmt.make_dict(), seq=seq,
                             label=int(self.data.labels[index]), index=index, t_tx=time.time())
            self.message_port_pub(PDUS, make_pdu(meta, to_unit_float(self.data.images[index]).ravel()))
            self.sent = seq + 1
        self.done.set()
