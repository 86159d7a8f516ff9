"""CIFAR-10 from its python pickle batches (the ``cifar-10-batches-py`` folder).

Each batch is a pickled dict with ``b"data"`` (uint8 ``[n, 3072]``: 1024 red, then green, then
blue values, each a row-major 32x32 plane) and ``b"labels"`` (n ints); ``batches.meta`` holds
``b"label_names"``. Unpickling is restricted to plain containers and numpy arrays, so a batch
file cannot run code.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from .dataset import ImageDataset, check_split

CIFAR10_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
CIFAR10_SUBDIR = "cifar-10-batches-py"
_ALLOWED_GLOBALS = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),  # protocol-2 array bytes
                    *((f"numpy.{core}.multiarray", name) for core in ("core", "_core")
                      for name in ("_reconstruct", "scalar")),
                    *((f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core"))}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: CIFAR batches hold only "
                                         "dicts, lists, bytes and numpy arrays")
        return super().find_class(module, name)


def _load_pickle(path: Path) -> dict:
    """The dict pickled in ``path`` (keys as stored: bytes for the original files)."""
    try:
        with path.open("rb") as f:
            obj = _ArrayUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a CIFAR-10 python pickle batch ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return obj


def _field(batch: dict, key: str, path: Path):
    """``batch[b"key"]`` (or ``batch["key"]`` for batches re-pickled with str keys)."""
    for k in (key.encode(), key):
        if k in batch:
            return batch[k]
    raise ValueError(f"{path}: missing key b{key!r} (found keys {sorted(map(repr, batch))})")


def _batch_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """images uint8 ``[n, 3, 32, 32]`` and labels int64 ``[n]`` of one batch file."""
    batch = _load_pickle(path)
    data = np.asarray(_field(batch, "data", path))
    labels = np.asarray(_field(batch, "labels", path))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: b'data' must be uint8 [n, 3072] (3x32x32 per row), got {data.dtype} {data.shape}")
    if labels.shape != (len(data),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{path}: b'labels' must be {len(data)} integers (one per image), "
                         f"got {labels.dtype} {labels.shape}")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _cifar10_dir(root) -> Path:
    """``root/cifar-10-batches-py`` when it exists, else ``root``; FileNotFoundError if neither does."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"CIFAR-10 directory {root} not found")
    return root / CIFAR10_SUBDIR if (root / CIFAR10_SUBDIR).is_dir() else root


def load_cifar10(root, split: str = "train") -> ImageDataset:
    """CIFAR-10 ``split`` ("train": data_batch_1..5, 50000 images; "test": test_batch, 10000).

    ``root`` is the folder holding the batches and ``batches.meta``, or its parent holding
    ``cifar-10-batches-py``. Returns images uint8 ``[N, 3, 32, 32]`` (RGB), labels int64 ``[N]``
    in ``[0, 10)`` and the class names from ``batches.meta``. Raises FileNotFoundError naming every
    missing file, ValueError for a malformed batch.
    """
    names = CIFAR10_FILES[check_split(split)] + ["batches.meta"]
    folder = _cifar10_dir(root)
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"CIFAR-10 directory {folder} is missing {', '.join(missing)}; expected the python "
                                "pickle batches data_batch_1..5, test_batch and batches.meta (cifar-10-python.tar.gz)")
    meta_path = folder / "batches.meta"
    classes = [c.decode() if isinstance(c, bytes) else str(c)
               for c in _field(_load_pickle(meta_path), "label_names", meta_path)]
    images, labels = zip(*(_batch_arrays(folder / name) for name in names[:-1]))
    return ImageDataset(np.concatenate(images), np.concatenate(labels), classes, "cifar10")
