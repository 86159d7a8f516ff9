"""``load_dataset``: one entry point for every supported dataset format."""
from __future__ import annotations

import os
from pathlib import Path

from .cifar import CIFAR10_SUBDIR, load_cifar10
from .classes import match_classes
from .dataset import ImageDataset, check_split
from .folder import load_image_folder
from .idx import FASHION_MNIST_FILES, load_fashion_mnist

DATASETS = ("fashion-mnist", "cifar10", "folder")
_ALIASES = {"fashion_mnist": "fashion-mnist", "fashionmnist": "fashion-mnist", "cifar-10": "cifar10"}


def _dataset_name(name_or_path) -> str | None:
    """The canonical dataset name of ``name_or_path``, or None when it is not a name."""
    if isinstance(name_or_path, os.PathLike):
        return None
    name = str(name_or_path).lower()
    return name if name in DATASETS else _ALIASES.get(name)


def detect_format(path) -> str:
    """The format of directory ``path``: "fashion-mnist" when it holds the IDX image files,
    "cifar10" when it holds ``batches.meta`` or ``cifar-10-batches-py``, else "folder"."""
    path = Path(path)
    idx_files = [f"{base}{gz}" for base, _ in FASHION_MNIST_FILES.values() for gz in (".gz", "")]
    if any((path / f).is_file() for f in idx_files):
        return "fashion-mnist"
    if (path / "batches.meta").is_file() or (path / CIFAR10_SUBDIR).is_dir():
        return "cifar10"
    return "folder"


def load_dataset(name_or_path, split: str = "train", *, root=None, classes=None, **folder_options) -> ImageDataset:
    """Load ``split`` ("train" or "test") of a dataset given by name or by directory; with ``classes`` (the
    class names of the model it meets, e.g. a card's ``classes``), labels index those
    (:func:`~semcomm.data.classes.match_classes`).

    * ``"fashion-mnist"``: IDX files in ``root`` (default ``/usr/share/datasets/fashion-mnist``);
    * ``"cifar10"``: python pickle batches in ``root`` (required);
    * ``"folder"``: an ImageFolder tree at ``root`` (required); ``folder_options`` (``mode``,
      ``size``, ``test_fraction``, ``seed``) go to :func:`~semcomm.data.folder.load_image_folder`;
    * a directory path: its format is detected by :func:`detect_format` (``root`` must be None).

    Returns an :class:`ImageDataset` (images uint8 ``[N, C, H, W]``, labels int64 ``[N]``).
    Raises ValueError for an unknown name or split, a missing required ``root``, options the
    format does not take or a class ``classes`` does not name; FileNotFoundError for a missing directory.
    """
    data = _load(name_or_path, split, root, folder_options)
    return data if classes is None else match_classes(data, classes)


def _load(name_or_path, split: str, root, folder_options: dict) -> ImageDataset:
    """:func:`load_dataset` before the classes are matched."""
    check_split(split)
    name = _dataset_name(name_or_path)
    if name is None:
        path = Path(name_or_path)
        if not path.is_dir():
            text = str(name_or_path)
            if isinstance(name_or_path, os.PathLike) or os.sep in text or text.startswith("."):
                raise FileNotFoundError(f"dataset directory {path} not found")
            raise ValueError(f"unknown dataset {name_or_path!r}: expected one of {', '.join(DATASETS)} "
                             "or an existing directory")
        if root is not None:
            raise ValueError(f"root={root!r} given together with the dataset directory {path}; give one of them")
        name, root = detect_format(path), path
    if name == "folder":
        if root is None:
            raise ValueError("dataset 'folder' needs root=<directory holding <class name>/<image files>>")
        return load_image_folder(root, split, **folder_options)
    if folder_options:
        raise ValueError(f"{', '.join(folder_options)} only apply to image folders, not to {name}")
    if name == "cifar10":
        if root is None:
            raise ValueError("dataset 'cifar10' needs root=<directory holding data_batch_1..5, test_batch, "
                             "batches.meta>")
        return load_cifar10(root, split)
    return load_fashion_mnist(split, root)
