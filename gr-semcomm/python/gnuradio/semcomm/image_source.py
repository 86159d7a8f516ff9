"""Message source of image PDUs read from a dataset (:func:`semcomm.data.load_dataset`).

Each image leaves on port ``pdus`` as an f32vector ``[C*H*W]`` in ``[0, 1]`` (``pixel / 255``) with
metadata ``seq`` (0 .. N-1), ``label``, ``index`` (position in the dataset split) and ``t_tx``
(``time.time()`` at publication), see :mod:`.pdus`. Given the model's class names (``classes``), labels
index those, matched by name to the dataset's (:func:`semcomm.data.match_classes`): an image folder's
labels index its sorted sub-folder names, which a classifier's outputs do not.

Rate control: ``images_per_s > 0`` publishes on a fixed schedule (image ``k`` at ``t0 + k / rate``),
``images_per_s = 0`` as fast as the chain takes the images. GNU Radio gives message ports no
back-pressure, so with ``max_in_flight > 0`` the source also keeps at most that many images in flight
(:class:`semcomm.testbed.pacing.InFlightWindow`): published and not yet acknowledged on port ``acks``
by a message carrying ``seq`` (a result or reject PDU of the receiver in the loopback graph, a
:class:`~.frame_acks.frame_acks` report of the transmitter's sample stream in a transmitter graph).
Without it (``max_in_flight = 0``, or nothing connected to ``acks`` for ``STALL_S`` at a time) the
queues between the source and the slowest block grow with every image the chain cannot take.

The source does not end the flowgraph: after the last image it sets :attr:`done` (with a window, once
every image is acknowledged), and the app stops the flowgraph once the sink has accounted for the
images (or on a timeout).
"""
from __future__ import annotations

import threading
import time

import numpy as np
import pmt
from gnuradio import gr

from semcomm.data import load_dataset, match_classes
from semcomm.data.dataset import to_unit_float
from semcomm.testbed.pacing import InFlightWindow

from .pdus import PDUS, make_pdu, meta_value, with_meta

ACKS = pmt.intern("acks")


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
    ``num_images``, ``start``, ``images_per_s`` (0: unpaced), ``seed`` (-1: dataset order),
    ``max_in_flight`` (images published and not yet acknowledged on ``acks``; 0: no limit), ``classes``
    (the model's class names that labels index; None: the dataset's own).
    ``data`` may be an already loaded :class:`semcomm.data.ImageDataset` (then ``dataset``, ``path``
    and ``split`` are ignored). Attributes: ``sent`` (images published), ``done`` (threading.Event),
    ``window`` (the :class:`~semcomm.testbed.pacing.InFlightWindow`, None without a limit).
    A flowgraph stopped and started again continues with the next unsent image.
    """

    def __init__(self, dataset="fashion-mnist", path="", split="test", num_images=100, start=0,
                 images_per_s=0.0, seed=-1, data=None, max_in_flight=0, classes=None):
        gr.basic_block.__init__(self, name="semcomm_image_source", in_sig=None, out_sig=None)
        if images_per_s < 0:
            raise ValueError(f"images_per_s must be >= 0 (0: as fast as possible), got {images_per_s}")
        if max_in_flight < 0:
            raise ValueError(f"max_in_flight must be >= 0 (0: no limit), got {max_in_flight}")
        data = data if data is not None else load_dataset(dataset, split, root=path or None)
        self.data = match_classes(data, classes) if classes else data
        self.indices = select_indices(len(self.data), int(num_images), int(start), seed)
        self.images_per_s = float(images_per_s)
        self.window = InFlightWindow(int(max_in_flight)) if max_in_flight else None
        self.sent = 0
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self.message_port_register_out(PDUS)
        self.message_port_register_in(ACKS)
        self.set_msg_handler(ACKS, self._on_ack)

    def _on_ack(self, msg):
        """An image got through: ``seq`` from the metadata of a PDU or dict (None when it has none)."""
        meta = pmt.car(msg) if pmt.is_pair(msg) else msg
        seq = meta_value(meta, "seq") if pmt.is_dict(meta) else None
        if self.window is not None:
            self.window.acknowledge(seq if isinstance(seq, int) and seq >= 0 else None)

    def start(self):
        self._stop.clear()
        if self.window is not None:
            self.window.start_at(self.sent)
        self._thread = threading.Thread(target=self._run, name="semcomm_image_source", daemon=True)
        self._thread.start()
        return True

    def stop(self):
        self._stop.set()
        if self.window is not None:
            self.window.close()
        if self._thread is not None:
            self._thread.join()
        return True

    def _run(self):
        t0, first = time.monotonic(), self.sent
        for seq in range(first, len(self.indices)):
            pause = t0 + (seq - first) / self.images_per_s - time.monotonic() if self.images_per_s > 0 else 0.0
            if self._stop.wait(max(pause, 0.0)) or not self._wait(InFlightWindow.wait_for_room):
                return
            index = int(self.indices[seq])
            meta = with_meta(pmt.make_dict(), seq=seq,
                             label=int(self.data.labels[index]), index=index, t_tx=time.time())
            if self.window is not None:
                self.window.sent()  # before publishing: the acknowledgement may come back at once
            self.message_port_pub(PDUS, make_pdu(meta, to_unit_float(self.data.images[index]).ravel()))
            self.sent = seq + 1
        if self._wait(InFlightWindow.wait_settled):
            self.done.set()

    def _wait(self, wait) -> bool:
        """``wait(self.window)`` (True without a window); False when the source was stopped."""
        return self.window is None or wait(self.window)
