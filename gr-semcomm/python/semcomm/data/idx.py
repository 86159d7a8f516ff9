"""IDX files (the MNIST format) and Fashion-MNIST read from them.

An IDX file is a 4-byte magic number ``00 00 <type> <ndim>``, ``ndim`` big-endian uint32
dimensions, then the values in row-major order. Files may be gzip-compressed (detected from their
content, whatever their name).
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from .dataset import ImageDataset, check_split

IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

FASHION_MNIST_ROOT = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
FASHION_MNIST_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                       "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when they start with the gzip magic ``1f 8b``."""
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None


def read_idx(path) -> np.ndarray:
    """The array stored in IDX file ``path`` (plain or gzip), in native byte order.

    Shape: the file's dimensions; dtype: uint8, int8, int16, int32, float32 or float64 per the
    type byte. Raises ValueError for a wrong magic number or a data length that does not match the
    dimensions exactly (no truncation, no trailing bytes).
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (magic number 0x{data[:4].hex():0>8}; expected "
                         f"0x0000TTDD with type TT in {{{', '.join(f'{t:02x}' for t in IDX_TYPES)}}})")
    dtype, ndim = np.dtype(IDX_TYPES[data[2]]), data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: IDX header declares {ndim} dimensions but the file has only {len(data)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{path}: IDX dimensions {shape} of {dtype} need {expected} bytes, the file has {len(data)}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _idx_array(path: Path, ndim: int, what: str) -> np.ndarray:
    """The uint8 IDX array of ``ndim`` dimensions in ``path`` (magic ``0x000008<ndim>``)."""
    array = read_idx(path)
    if array.dtype != np.uint8 or array.ndim != ndim:
        raise ValueError(f"{path}: expected {what} as an unsigned-byte IDX file with {ndim} dimensions "
                         f"(magic 0x0000080{ndim}), got {array.dtype} with shape {array.shape}")
    return array


def _find_idx(root: Path, base: str, default_root: bool) -> Path:
    """``root/base.gz`` or else ``root/base``; FileNotFoundError naming both when neither exists."""
    for path in (root / f"{base}.gz", root / base):
        if path.is_file():
            return path
    hint = "; install the Debian package dataset-fashion-mnist" if default_root else ""
    raise FileNotFoundError(f"Fashion-MNIST file {root / base}.gz (or {base}) not found{hint}")


def load_fashion_mnist(split: str = "train", root=None) -> ImageDataset:
    """Fashion-MNIST ``split`` ("train": 60000 images, "test": 10000) from its four IDX files.

    ``root`` (default :data:`FASHION_MNIST_ROOT`, the Debian package ``dataset-fashion-mnist``)
    holds ``{train,t10k}-{images-idx3,labels-idx1}-ubyte`` with or without ``.gz``. Returns images
    uint8 ``[N, 1, 28, 28]`` (0 = background), labels int64 ``[N]`` in ``[0, 10)`` and the 10
    class names. Raises FileNotFoundError for a missing file, ValueError for a malformed one.
    """
    images_base, labels_base = FASHION_MNIST_FILES[check_split(split)]
    root_path = Path(root) if root is not None else FASHION_MNIST_ROOT
    images_path = _find_idx(root_path, images_base, root is None)
    labels_path = _find_idx(root_path, labels_base, root is None)
    images = _idx_array(images_path, 3, "images [N, H, W]")
    labels = _idx_array(labels_path, 1, "labels [N]")
    if len(labels) != len(images):
        raise ValueError(f"{labels_path} holds {len(labels)} labels but {images_path} holds {len(images)} images")
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise ValueError(f"{labels_path}: labels must be 0..9 (Fashion-MNIST classes), found {labels.max()}")
    return ImageDataset(images[:, None], labels.astype(np.int64), list(FASHION_MNIST_CLASSES), "fashion-mnist")
