"""Image datasets for training and evaluation, read from local files only (never downloaded).

Every reader returns an :class:`ImageDataset`: images uint8 ``[N, C, H, W]`` (0..255), labels
int64 ``[N]`` in ``[0, K)``, the ``K`` class names and the dataset name;
:meth:`ImageDataset.float_images` gives the encoder input, float32 ``[N, C, H, W]`` in ``[0, 1]``.

* Fashion-MNIST (default): IDX files of the Debian package ``dataset-fashion-mnist``,
  ``[N, 1, 28, 28]``, 60000 train / 10000 test, 10 classes;
* CIFAR-10: the python pickle batches in a given directory, ``[N, 3, 32, 32]``;
* ImageFolder trees ``root/<class name>/<image files>`` read with Pillow.

A dataset meets a model's classes by name: ``load_dataset(..., classes=card["classes"])`` re-indexes the
labels to the model's class list (:func:`match_classes`).

    data = load_dataset("fashion-mnist", "test")
    data = load_dataset("folder", "train", root="my_images", size=(32, 32), mode="RGB")

Torch adaptors (importing torch) live in :mod:`semcomm.data.torch_data`.
"""
from .cifar import load_cifar10
from .classes import class_key, match_classes
from .dataset import SPLITS, ImageDataset
from .folder import load_image_folder
from .idx import FASHION_MNIST_CLASSES, FASHION_MNIST_ROOT, load_fashion_mnist, read_idx
from .registry import DATASETS, detect_format, load_dataset

__all__ = [
    "DATASETS", "FASHION_MNIST_CLASSES", "FASHION_MNIST_ROOT", "SPLITS", "ImageDataset", "class_key", "detect_format",
    "load_cifar10", "load_dataset", "load_fashion_mnist", "load_image_folder", "match_classes", "read_idx",
]
