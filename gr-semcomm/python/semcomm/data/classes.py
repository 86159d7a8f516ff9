"""A dataset's classes matched to a model's by name (a model card's ``semcomm.classes``).

Labels index a dataset's own class list (an image folder's is its sorted sub-folder names), a model's
outputs index the card's list: scoring one against the other needs the labels re-indexed by class
name. Names are compared by :func:`class_key` (a folder cannot be named ``T-shirt/top``).
"""
from __future__ import annotations

import numpy as np

from .dataset import ImageDataset


def class_key(name: str) -> str:
    """``name`` as class names are compared: its letters and digits, case-folded
    (``"T-shirt/top"``, ``"t_shirt_top"`` and ``"TShirt Top"`` all read ``"tshirttop"``)."""
    return "".join(char for char in name.casefold() if char.isalnum())


def match_classes(data: ImageDataset, classes) -> ImageDataset:
    """``data`` with its labels indexing ``classes`` (a model's class names) instead of its own list.

    Each of the dataset's classes must name one of ``classes`` (:func:`class_key`); a dataset with
    only some of them is fine. Raises ValueError naming the dataset's classes the model does not
    have and the model's classes no dataset class matched.
    """
    classes = list(classes)
    if list(data.classes) == classes:
        return data
    model_index = {class_key(name): k for k, name in enumerate(classes)}
    if len(model_index) != len(classes):
        raise ValueError(f"the model's class names {classes} are not distinct when compared without case "
                         "and punctuation; cannot match a dataset's classes to them")
    unknown = [name for name in data.classes if class_key(name) not in model_index]
    if unknown:
        matched = {class_key(name) for name in data.classes}
        unmatched = [name for name in classes if class_key(name) not in matched]
        raise ValueError(f"dataset {data.name}: class(es) {_names(unknown)} not among the model's classes "
                         f"{_names(classes)} (unmatched: {_names(unmatched) or 'none'}); class names are compared "
                         "ignoring case, spaces and punctuation")
    relabel = np.array([model_index[class_key(name)] for name in data.classes], dtype=np.int64)
    return ImageDataset(data.images, relabel[data.labels], classes, data.name)


def _names(names) -> str:
    return ", ".join(map(repr, names))
