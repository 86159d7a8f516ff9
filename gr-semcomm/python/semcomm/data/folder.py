"""ImageFolder-style trees: ``root/<class name>/<image files>`` read with Pillow.

Classes are the sorted sub-folder names (label ``k`` = ``classes[k]``; a model's outputs index its own
class list, to which :func:`semcomm.data.match_classes` maps them by name); image files are found
recursively below each class folder by extension (:data:`IMAGE_EXTENSIONS`, any case) and read in
sorted path order; hidden (dot) files and folders are skipped. The train/test split comes from
``root/train`` and ``root/test`` trees when both exist, else from a seeded, per-class random
fraction of one tree.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import ImageDataset, check_split

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm")
MODES = ("L", "RGB")
_GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _pil_image():
    """PIL.Image, imported only when a folder is read."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError("reading image folders needs Pillow (Debian: python3-pil, or pip install pillow)") from None
    return Image


def _is_image_file(path: Path, folder: Path) -> bool:
    """A file with an image extension and no hidden (dot) component below ``folder``."""
    hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
    return path.suffix.lower() in IMAGE_EXTENSIONS and not hidden and path.is_file()


def _class_files(tree: Path) -> dict[str, list[Path]]:
    """class name -> sorted image paths, for each sub-folder of ``tree``; ValueError if one is empty."""
    classes = sorted(p for p in tree.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = {c.name: sorted(p for p in c.rglob("*") if _is_image_file(p, c)) for c in classes}
    empty = [name for name, paths in files.items() if not paths]
    if not files or empty:
        what = f"class folder(s) {', '.join(empty)} hold" if empty else "it holds no class folders, so it has"
        raise ValueError(f"image folder {tree}: {what} no images; expected {tree}/<class name>/<image files> "
                         f"with extensions {', '.join(IMAGE_EXTENSIONS)}")
    return files


def _tree_files(root: Path, test_fraction: float, seed: int) -> dict[str, dict[str, list[Path]]]:
    """split -> class name -> sorted image paths, for both splits of the tree at ``root``."""
    trees = {split: root / split for split in ("train", "test")}
    if any(t.is_dir() for t in trees.values()):
        if not all(t.is_dir() for t in trees.values()):
            raise ValueError(f"image folder {root}: has only one of train/ and test/; give both or neither")
        return {split: _class_files(tree) for split, tree in trees.items()}
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction!r}")
    rng, splits = np.random.default_rng(seed), {"train": {}, "test": {}}
    for name, paths in _class_files(root).items():
        order = rng.permutation(len(paths))
        n_test = round(test_fraction * len(paths))
        splits["test"][name] = [paths[i] for i in sorted(order[:n_test])]
        splits["train"][name] = [paths[i] for i in sorted(order[n_test:])]
    return splits


def _check_format(paths: list[Path], mode: str | None, size) -> tuple[str, tuple[int, int] | None]:
    """The target mode (inferred: "L" if every image is grayscale, else "RGB") and (W, H) to resize to.

    Reads only the image headers. Without ``size``, all images must share one size.
    """
    Image = _pil_image()
    modes, sizes = {}, {}
    for path in paths:
        try:
            with Image.open(path) as im:
                modes.setdefault(im.mode, path)
                sizes.setdefault(im.size, path)
        except (OSError, SyntaxError) as exc:  # Pillow's errors for bad files
            raise ValueError(f"{path}: not a readable image ({exc})") from None
    if mode is None:
        mode = "L" if set(modes) <= set(_GRAY_MODES) else "RGB"
    if size is None and len(sizes) > 1:
        examples = ", ".join(f"{h}x{w} ({p})" for (w, h), p in list(sizes.items())[:3])
        raise ValueError(f"images differ in size (HxW: {examples}); pass size=(H, W) to resize them")
    return mode, (None if size is None else (size[1], size[0]))


def _read_image(path: Path, mode: str, wh: tuple[int, int] | None) -> np.ndarray:
    """uint8 ``[C, H, W]`` of ``path`` converted to ``mode`` and resized (bilinear) to ``wh``."""
    Image = _pil_image()
    try:
        with Image.open(path) as im:
            im = im.convert(mode)
            if wh is not None and im.size != wh:
                im = im.resize(wh, Image.Resampling.BILINEAR)
            array = np.asarray(im, dtype=np.uint8)
    except (OSError, SyntaxError) as exc:  # Pillow's errors for bad files
        raise ValueError(f"{path}: not a readable image ({exc})") from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _check_options(mode, size) -> tuple[int, int] | None:
    """Validate ``mode``; ``size`` as ``(H, W)`` (an int means square)."""
    if mode is not None and mode not in MODES:
        raise ValueError(f"unknown image mode {mode!r}: expected one of {', '.join(MODES)} or None (inferred)")
    if size is None:
        return None
    hw = (size, size) if np.isscalar(size) else tuple(size)
    if len(hw) != 2 or not all(isinstance(v, (int, np.integer)) and v > 0 for v in hw):
        raise ValueError(f"size must be a positive int or (H, W) of positive ints, got {size!r}")
    return int(hw[0]), int(hw[1])


def load_image_folder(root, split: str = "train", *, mode: str | None = None, size=None,
                      test_fraction: float = 0.2, seed: int = 0) -> ImageDataset:
    """One split of the image tree at ``root``.

    * ``mode``: "L" (C = 1) or "RGB" (C = 3; alpha is dropped); None infers "L" when every image
      in the tree is grayscale, else "RGB", so both splits agree.
    * ``size``: ``(H, W)`` or an int (square) to resize every image to (bilinear); None requires
      all images in the tree to share one size.
    * ``test_fraction``, ``seed``: without ``root/train`` and ``root/test``, each class's files
      are permuted with ``numpy.random.default_rng(seed)`` and the first
      ``round(test_fraction * n)`` form the test split (the two splits are disjoint and complete).

    Returns images uint8 ``[N, C, H, W]``, labels int64 ``[N]`` indexing the sorted class names of
    the whole tree, name ``"folder:<root name>"``. Raises FileNotFoundError for a missing ``root``,
    ValueError for an empty folder or class, an unreadable image or differing sizes without ``size``.
    """
    check_split(split)
    hw = _check_options(mode, size)
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} not found; expected {root}/<class name>/<image files>")
    tree = _tree_files(root, test_fraction, seed)
    classes = sorted({name for files in tree.values() for name in files})
    mode, wh = _check_format([p for files in tree.values() for paths in files.values() for p in paths], mode, hw)
    items = [(path, classes.index(name)) for name, paths in tree[split].items() for path in paths]
    if not items:
        raise ValueError(f"image folder {root}: the {split} split is empty (test_fraction={test_fraction} "
                         "leaves no image for it); use more images or another test_fraction")
    images = np.stack([_read_image(path, mode, wh) for path, _ in items])
    labels = np.array([label for _, label in items], dtype=np.int64)
    return ImageDataset(images, labels, classes, f"folder:{root.resolve().name}")
