"""The in-memory image dataset every reader returns, and the split names."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "test")


def check_split(split: str) -> str:
    """``split`` if it is one of :data:`SPLITS`, else a ValueError naming the allowed ones."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(map(repr, SPLITS))}")
    return split


def to_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels (any shape) as float32 in ``[0, 1]``: ``pixel / 255``, same shape, a new array."""
    out = images.astype(np.float32)
    out /= 255
    return out


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A labelled image set held in memory.

    * ``images``: uint8 ``[N, C, H, W]``, pixel values 0..255, ``C`` = 1 (grayscale) or 3 (RGB);
    * ``labels``: int64 ``[N]``, each in ``[0, len(classes))``;
    * ``classes``: the class names, ``classes[k]`` naming label ``k``;
    * ``name``: the dataset's name (``"fashion-mnist"``, ``"cifar10"``, ``"folder:<dir>"``).

    Construction checks all of these and raises ValueError naming the one that is wrong.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    name: str

    def __post_init__(self):
        images, labels = self.images, self.labels
        if not (isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.ndim == 4
                and images.shape[1] in (1, 3)):
            raise ValueError(f"images must be a uint8 ndarray [N, C, H, W] with C in (1, 3), got "
                             f"{getattr(images, 'dtype', type(images).__name__)} {np.shape(images)}")
        if not (isinstance(labels, np.ndarray) and labels.dtype == np.int64 and labels.shape == images.shape[:1]):
            raise ValueError(f"labels must be an int64 ndarray [N] with N = {len(images)} (one per image), got "
                             f"{getattr(labels, 'dtype', type(labels).__name__)} {np.shape(labels)}")
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes must be a non-empty list of distinct names, got {self.classes!r}")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise ValueError(f"labels must lie in [0, {len(self.classes)}) (one per class), "
                             f"got values {labels.min()}..{labels.max()}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of every image."""
        return self.images.shape[1:]

    def float_images(self) -> np.ndarray:
        """The images as float32 ``[N, C, H, W]`` in ``[0, 1]`` (``pixel / 255``): the encoder input."""
        return to_unit_float(self.images)

    def class_counts(self) -> np.ndarray:
        """int64 ``[len(classes)]``: how many images carry each label."""
        return np.bincount(self.labels, minlength=len(self.classes))

    def subset(self, indices) -> ImageDataset:
        """A new dataset holding ``images[indices]`` and ``labels[indices]`` (int array, slice or mask)."""
        return ImageDataset(self.images[indices], self.labels[indices], list(self.classes), self.name)

    def hold_out_tail(self, count: int | None) -> tuple[ImageDataset, ImageDataset]:
        """``(kept, held_out)``: the first ``len - count`` images and the last ``count``, e.g. a validation
        split held out of the training images (the same images on every run: no shuffling). ``count`` 0
        holds out nothing, None the last twelfth (5 000 of Fashion-MNIST's 60 000 training images); a count
        that would leave no image to keep is a ValueError."""
        if count is None:
            count = len(self) // 12
        if not 0 <= count < len(self):
            raise ValueError(f"cannot hold out {count} of {len(self)} images: the count must lie in "
                             f"[0, {len(self)})")
        cut = len(self) - count
        return self.subset(slice(0, cut)), self.subset(slice(cut, len(self)))
