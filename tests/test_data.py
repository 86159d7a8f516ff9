"""Dataset readers: Fashion-MNIST IDX, CIFAR-10 pickle batches, ImageFolder trees, load_dataset.

Fixtures are tiny files generated in each real format; the real Fashion-MNIST test split is
checked when the Debian package dataset-fashion-mnist is installed.
"""
import gzip
import os
import pickle
import re
import struct
import subprocess
import sys

import numpy as np
import pytest

from semcomm.data import (DATASETS, FASHION_MNIST_CLASSES, FASHION_MNIST_ROOT, ImageDataset, detect_format,
                          load_cifar10, load_dataset, load_fashion_mnist, load_image_folder, read_idx)
from semcomm.data import idx as idx_module

Image = pytest.importorskip("PIL.Image")

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
             np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


# --- fixture writers -------------------------------------------------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` (big-endian or single-byte dtype) as an IDX file."""
    header = bytes([0, 0, IDX_CODES[array.dtype], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_file(path, data: bytes, gz: bool):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_fashion(root, n_train=12, n_test=7, hw=(28, 28), gz=True, seed=0):
    """Four IDX files in ``root``; returns {split: (images [N, H, W], labels [N])}."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, prefix, n in (("train", "train", n_train), ("test", "t10k", n_test)):
        images = rng.integers(0, 256, (n, *hw), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_file(root / f"{prefix}-images-idx3-ubyte{suffix}", idx_bytes(images), gz)
        write_file(root / f"{prefix}-labels-idx1-ubyte{suffix}", idx_bytes(labels), gz)
        arrays[split] = images, labels
    return arrays


CIFAR_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]


def write_cifar(folder, per_batch=3, seed=0, protocol=2):
    """data_batch_1..5, test_batch, batches.meta in ``folder``; returns {split: (images, labels)}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    written = {"train": [], "test": []}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (per_batch, 3, 32, 32), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, per_batch)]
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": images.reshape(per_batch, -1),
                 b"filenames": [b"x.png"] * per_batch}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=protocol)
        written["test" if name == "test_batch" else "train"].append((images, labels))
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": CIFAR_NAMES, b"num_vis": 3072, b"num_cases_per_batch": per_batch}, f)
    return {split: (np.concatenate([i for i, _ in parts]), np.concatenate([l for _, l in parts]))
            for split, parts in written.items()}


def write_image(path, array: np.ndarray, **save_args):
    """uint8 [H, W] (L) or [H, W, 3] (RGB) saved with Pillow (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **save_args)
    return path


def write_gray_tree(root, counts, hw=(6, 5), value=lambda label, i: 20 * label + i):
    """PNG images of constant value ``value(label, i)`` under root/<class>/; classes named c0, c1, ..."""
    for label, n in enumerate(counts):
        for i in range(n):
            write_image(root / f"c{label}" / f"img{i:02d}.png", np.full(hw, value(label, i), np.uint8))


def test_readers_import_without_torch_or_pillow():
    code = "import sys, semcomm.data; print(sorted(m for m in ('torch', 'PIL') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- ImageDataset ----------------------------------------------------------------------------------

def small_dataset():
    images = np.arange(4 * 3 * 2 * 2, dtype=np.uint8).reshape(4, 3, 2, 2) * 5
    return ImageDataset(images, np.array([0, 1, 1, 2], dtype=np.int64), ["a", "b", "c"], "tiny")


def test_image_dataset_float_images_subset_counts():
    data = small_dataset()
    floats = data.float_images()
    assert floats.dtype == np.float32 and floats.shape == (4, 3, 2, 2)
    np.testing.assert_array_equal(floats, data.images.astype(np.float32) / np.float32(255))
    assert floats.min() == 0.0 and floats.max() <= 1.0
    assert len(data) == 4 and data.image_shape == (3, 2, 2)
    np.testing.assert_array_equal(data.class_counts(), [1, 2, 1])
    sub = data.subset(np.array([3, 0]))
    np.testing.assert_array_equal(sub.labels, [2, 0])
    np.testing.assert_array_equal(sub.images, data.images[[3, 0]])
    assert sub.classes == data.classes and sub.name == "tiny"


def test_hold_out_tail_splits_off_the_last_images():
    data = small_dataset()
    kept, held_out = data.hold_out_tail(1)
    np.testing.assert_array_equal(kept.images, data.images[:3])
    np.testing.assert_array_equal(held_out.labels, data.labels[3:])
    assert len(data.hold_out_tail(0)[0]) == 4 and len(data.hold_out_tail(0)[1]) == 0
    assert len(ImageDataset(np.zeros((24, 1, 2, 2), np.uint8), np.zeros(24, np.int64), ["a"], "z").hold_out_tail(None)[1]) == 2
    for count in (4, -1):
        with pytest.raises(ValueError, match=r"cannot hold out .* must lie in \[0, 4\)"):
            data.hold_out_tail(count)


@pytest.mark.parametrize("change, message", [
    (dict(images=np.zeros((2, 3, 4, 4), np.float32)), "images must be a uint8 ndarray"),
    (dict(images=np.zeros((2, 4, 4), np.uint8)), "images must be a uint8 ndarray"),
    (dict(images=np.zeros((2, 2, 4, 4), np.uint8)), "C in (1, 3)"),
    (dict(labels=np.array([0, 1], np.int32)), "labels must be an int64 ndarray [N] with N = 2"),
    (dict(labels=np.array([0, 1, 1], np.int64)), "labels must be an int64 ndarray [N] with N = 2"),
    (dict(labels=np.array([0, 2], np.int64)), "labels must lie in [0, 2)"),
    (dict(labels=np.array([-1, 0], np.int64)), "labels must lie in [0, 2)"),
    (dict(classes=["a", "a"]), "distinct names"),
    (dict(classes=[]), "non-empty list"),
])
def test_image_dataset_rejects_bad_fields(change, message):
    fields = dict(images=np.zeros((2, 1, 4, 4), np.uint8), labels=np.array([0, 1], np.int64),
                  classes=["a", "b"], name="x")
    with pytest.raises(ValueError, match=re.escape(message)):
        ImageDataset(**{**fields, **change})


# --- IDX / Fashion-MNIST ---------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.uint8, np.int8, ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trips_every_type(tmp_path, dtype, gz):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    out = read_idx(write_file(tmp_path / "a.idx", idx_bytes(array), gz))
    assert out.shape == (2, 3, 4) and out.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_mnist_round_trip(tmp_path, gz):
    written = write_fashion(tmp_path, gz=gz)
    for split in ("train", "test"):
        data = load_fashion_mnist(split, root=tmp_path)
        images, labels = written[split]
        assert data.images.dtype == np.uint8 and data.images.shape == (len(images), 1, 28, 28)
        assert data.labels.dtype == np.int64
        np.testing.assert_array_equal(data.images[:, 0], images)
        np.testing.assert_array_equal(data.labels, labels)
        assert data.classes == FASHION_MNIST_CLASSES and data.name == "fashion-mnist"
        assert data.images.flags.writeable


def test_fashion_mnist_other_image_size_and_mixed_compression(tmp_path):
    written = write_fashion(tmp_path, hw=(5, 4), gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").rename(tmp_path / "plain")
    write_file(tmp_path / "t10k-labels-idx1-ubyte.gz", (tmp_path / "plain").read_bytes(), gz=True)
    data = load_fashion_mnist("test", root=tmp_path)
    assert data.image_shape == (1, 5, 4)
    np.testing.assert_array_equal(data.labels, written["test"][1])


def test_fashion_mnist_missing_default_root_names_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(idx_module, "FASHION_MNIST_ROOT", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="not found; install the Debian package dataset-fashion-mnist"):
        load_fashion_mnist("test")
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_dataset("fashion-mnist", "train")


def test_fashion_mnist_missing_file_in_given_root(tmp_path):
    write_fashion(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte\.gz \(or t10k-labels-idx1-ubyte\) not found$"):
        load_fashion_mnist("test", root=tmp_path)
    assert len(load_fashion_mnist("train", root=tmp_path)) == 12


def corrupt(root, name, data: bytes):
    (root / f"{name}.gz").write_bytes(gzip.compress(data))


def test_fashion_mnist_wrong_magic(tmp_path):
    write_fashion(tmp_path)
    corrupt(tmp_path, "t10k-images-idx3-ubyte", b"\x12\x34\x08\x03" + bytes(12))
    with pytest.raises(ValueError, match=r"not an IDX file \(magic number 0x12340803; expected 0x0000TTDD"):
        load_fashion_mnist("test", root=tmp_path)


def test_fashion_mnist_labels_file_swapped_for_images(tmp_path):
    written = write_fashion(tmp_path)
    corrupt(tmp_path, "t10k-images-idx3-ubyte", idx_bytes(written["test"][1]))
    with pytest.raises(ValueError, match=r"expected images \[N, H, W\] .* 3 dimensions \(magic 0x00000803\), "
                                         r"got uint8 with shape \(7,\)"):
        load_fashion_mnist("test", root=tmp_path)


def test_fashion_mnist_non_byte_labels(tmp_path):
    write_fashion(tmp_path)
    corrupt(tmp_path, "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(7, ">i4")))
    with pytest.raises(ValueError, match=r"expected labels \[N\] as an unsigned-byte IDX file"):
        load_fashion_mnist("test", root=tmp_path)


@pytest.mark.parametrize("edit, message", [
    (lambda b: b[:-1], r"need 32 bytes, the file has 31"),
    (lambda b: b + b"\0", r"need 32 bytes, the file has 33"),
    (lambda b: b[:6], r"declares 3 dimensions but the file has only 6 bytes"),
    (lambda b: b[:3], r"not an IDX file"),
])
def test_read_idx_rejects_size_mismatch(tmp_path, edit, message):
    data = idx_bytes(np.zeros((2, 2, 4), np.uint8))
    with pytest.raises(ValueError, match=message):
        read_idx(write_file(tmp_path / "x", edit(data), gz=False))


def test_fashion_mnist_label_count_must_match_image_count(tmp_path):
    write_fashion(tmp_path)
    corrupt(tmp_path, "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(6, np.uint8)))
    with pytest.raises(ValueError, match=r"holds 6 labels but .*t10k-images-idx3-ubyte.gz holds 7 images"):
        load_fashion_mnist("test", root=tmp_path)


def test_fashion_mnist_label_out_of_range(tmp_path):
    write_fashion(tmp_path)
    corrupt(tmp_path, "t10k-labels-idx1-ubyte", idx_bytes(np.full(7, 10, np.uint8)))
    with pytest.raises(ValueError, match=r"labels must be 0\.\.9 \(Fashion-MNIST classes\), found 10"):
        load_fashion_mnist("test", root=tmp_path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((3, 2, 2), np.uint8)))[:-6])
    with pytest.raises(ValueError, match="corrupt gzip data"):
        read_idx(path)


# --- CIFAR-10 --------------------------------------------------------------------------------------

@pytest.mark.parametrize("subdir, protocol", [("", 2), ("cifar-10-batches-py", 4), ("", 5)])
def test_cifar10_round_trip(tmp_path, subdir, protocol):
    written = write_cifar(tmp_path / subdir if subdir else tmp_path, protocol=protocol)
    for split, n in (("train", 15), ("test", 3)):
        data = load_cifar10(tmp_path, split)
        images, labels = written[split]
        assert data.images.dtype == np.uint8 and data.images.shape == (n, 3, 32, 32)
        assert data.labels.dtype == np.int64
        np.testing.assert_array_equal(data.images, images)
        np.testing.assert_array_equal(data.labels, labels)
        assert data.classes == [c.decode() for c in CIFAR_NAMES] and data.name == "cifar10"


def test_cifar10_planes_are_red_green_blue(tmp_path):
    write_cifar(tmp_path, per_batch=1)
    row = np.concatenate([np.full(1024, 200), np.full(1024, 100), np.zeros(1024)]).astype(np.uint8)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": row[None], b"labels": [3]}, f)
    data = load_cifar10(tmp_path, "test")
    assert data.images[0, :, 5, 7].tolist() == [200, 100, 0] and data.labels.tolist() == [3]


def test_cifar10_accepts_str_keys(tmp_path):
    write_cifar(tmp_path, per_batch=2)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({"data": np.zeros((2, 3072), np.uint8), "labels": [1, 9]}, f)
    assert load_cifar10(tmp_path, "test").labels.tolist() == [1, 9]


def test_cifar10_missing_batches_are_named(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    (tmp_path / "data_batch_5").unlink()
    with pytest.raises(FileNotFoundError, match=r"is missing data_batch_3, data_batch_5; expected the python "
                                                r"pickle batches data_batch_1\.\.5, test_batch and batches\.meta"):
        load_cifar10(tmp_path, "train")
    assert len(load_cifar10(tmp_path, "test")) == 3
    (tmp_path / "batches.meta").unlink()
    with pytest.raises(FileNotFoundError, match="is missing batches.meta"):
        load_cifar10(tmp_path, "test")


def test_cifar10_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="CIFAR-10 directory .*nowhere not found"):
        load_cifar10(tmp_path / "nowhere")


@pytest.mark.parametrize("batch, message", [
    ({b"data": np.zeros((2, 3072), np.uint8)}, r"missing key b'labels'"),
    ({b"labels": [0, 1]}, r"missing key b'data'"),
    ({b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}, r"b'data' must be uint8 \[n, 3072\]"),
    ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, r"b'data' must be uint8 \[n, 3072\]"),
    ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1, 2]}, r"b'labels' must be 2 integers"),
    ([1, 2], r"expected a pickled dict, got list"),
])
def test_cifar10_malformed_batch(tmp_path, batch, message):
    write_cifar(tmp_path)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump(batch, f)
    with pytest.raises(ValueError, match=message):
        load_cifar10(tmp_path, "test")


def test_cifar10_label_out_of_range(tmp_path):
    write_cifar(tmp_path)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((1, 3072), np.uint8), b"labels": [10]}, f)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        load_cifar10(tmp_path, "test")


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_cifar10_refuses_code_in_pickles(tmp_path):
    write_cifar(tmp_path)
    with open(tmp_path / "test_batch", "wb") as f:
        pickle.dump({b"data": _Exploit()}, f)
    with pytest.raises(ValueError, match=r"refusing to load (posix|os|nt)\.system"):
        load_cifar10(tmp_path, "test")
    (tmp_path / "test_batch").write_bytes(b"this is not a pickle")
    with pytest.raises(ValueError, match="not a CIFAR-10 python pickle batch"):
        load_cifar10(tmp_path, "test")


# --- image folders ---------------------------------------------------------------------------------

def test_folder_split_subfolders_round_trip(tmp_path):
    write_gray_tree(tmp_path / "train", [2, 3])
    write_gray_tree(tmp_path / "test", [1, 1, 2])  # a class only in test still gets a shared label
    train = load_image_folder(tmp_path, "train")
    test = load_image_folder(tmp_path, "test")
    assert train.classes == test.classes == ["c0", "c1", "c2"]
    assert train.images.shape == (5, 1, 6, 5) and train.images.dtype == np.uint8
    assert train.labels.dtype == np.int64 and train.labels.tolist() == [0, 0, 1, 1, 1]
    assert train.images[:, 0, 3, 2].tolist() == [0, 1, 20, 21, 22]
    assert test.labels.tolist() == [0, 1, 2, 2] and test.images[:, 0, 0, 0].tolist() == [0, 20, 40, 41]
    assert train.name == f"folder:{tmp_path.name}"


def test_folder_rgb_png_exact_and_jpeg_close(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (4, 7, 3), dtype=np.uint8)
    write_image(tmp_path / "a" / "x.png", pixels)
    write_image(tmp_path / "b" / "y.jpg", np.full((4, 7, 3), (200, 40, 90), np.uint8), quality=95)
    write_image(tmp_path / "b" / "z.JPEG", np.full((4, 7, 3), (10, 250, 30), np.uint8), quality=95)
    data = load_image_folder(tmp_path, "train", test_fraction=0.01)
    assert data.images.shape == (3, 3, 4, 7) and data.classes == ["a", "b"]
    np.testing.assert_array_equal(data.images[0], pixels.transpose(2, 0, 1))
    assert np.abs(data.images[1].reshape(3, -1).mean(1) - [200, 40, 90]).max() < 4
    assert np.abs(data.images[2].reshape(3, -1).mean(1) - [10, 250, 30]).max() < 4


def test_folder_mode_inference_and_conversion(tmp_path):
    write_image(tmp_path / "a" / "x.png", np.full((3, 3), 77, np.uint8))
    write_image(tmp_path / "b" / "y.bmp", np.full((3, 3), 120, np.uint8))
    assert load_image_folder(tmp_path, test_fraction=0.01).image_shape == (1, 3, 3)
    rgb = load_image_folder(tmp_path, mode="RGB", test_fraction=0.01)
    assert rgb.image_shape == (3, 3, 3) and rgb.images[0, :, 1, 1].tolist() == [77, 77, 77]
    write_image(tmp_path / "b" / "z.png", np.full((3, 3, 3), (255, 0, 0), np.uint8))
    mixed = load_image_folder(tmp_path, test_fraction=0.01)
    assert mixed.image_shape == (3, 3, 3) and mixed.images[2, :, 0, 0].tolist() == [255, 0, 0]
    gray = load_image_folder(tmp_path, mode="L", test_fraction=0.01)
    assert gray.image_shape == (1, 3, 3) and gray.images[2, 0, 0, 0] == 76  # ITU-R 601-2 luma of red


def test_folder_sizes_must_agree_unless_resized(tmp_path):
    write_image(tmp_path / "a" / "x.png", np.zeros((4, 6), np.uint8))
    write_image(tmp_path / "b" / "y.png", np.full((8, 5), 50, np.uint8))
    with pytest.raises(ValueError, match=r"images differ in size \(HxW: 4x6 .*, 8x5 .*\); pass size=\(H, W\)"):
        load_image_folder(tmp_path, test_fraction=0.01)
    data = load_image_folder(tmp_path, size=(3, 2), test_fraction=0.01)
    assert data.image_shape == (1, 3, 2) and data.images[1].min() == data.images[1].max() == 50
    assert load_image_folder(tmp_path, size=5, test_fraction=0.01).image_shape == (1, 5, 5)


def test_folder_seeded_fraction_split(tmp_path):
    write_gray_tree(tmp_path, [10, 5, 4])
    train = load_image_folder(tmp_path, "train", test_fraction=0.2, seed=3)
    test = load_image_folder(tmp_path, "test", test_fraction=0.2, seed=3)
    np.testing.assert_array_equal(test.class_counts(), [2, 1, 1])
    np.testing.assert_array_equal(train.class_counts(), [8, 4, 3])
    ids = lambda d: {(int(label), int(img[0, 0, 0])) for img, label in zip(d.images, d.labels)}
    assert ids(train).isdisjoint(ids(test)) and len(ids(train) | ids(test)) == 19
    again = load_image_folder(tmp_path, "test", test_fraction=0.2, seed=3)
    np.testing.assert_array_equal(again.images, test.images)
    others = [load_image_folder(tmp_path, "test", test_fraction=0.2, seed=s).images for s in range(4, 10)]
    assert any(not np.array_equal(o, test.images) for o in others)


def test_folder_ignores_non_images_and_hidden_folders(tmp_path):
    write_gray_tree(tmp_path, [2, 2])
    (tmp_path / "c0" / "notes.txt").write_text("not an image")
    write_image(tmp_path / ".cache" / "x.png", np.zeros((2, 2), np.uint8))
    write_image(tmp_path / "c1" / "nested" / "deep.png", np.full((6, 5), 99, np.uint8))
    (tmp_path / "c1" / "._img00.png").write_bytes(b"macOS AppleDouble metadata, not a PNG")
    (tmp_path / "c1" / ".thumbs").mkdir()
    (tmp_path / "c1" / ".thumbs" / "t.png").write_bytes(b"junk")
    data = load_image_folder(tmp_path, test_fraction=0.01)
    assert data.classes == ["c0", "c1"] and data.class_counts().tolist() == [2, 3]


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"image folder .*absent not found; expected .*<class name>/<image"):
        load_image_folder(tmp_path / "absent")
    with pytest.raises(ValueError, match=r"it holds no class folders, so it has no images; expected .*<class name>"):
        load_image_folder(tmp_path)
    write_gray_tree(tmp_path, [2, 0])
    (tmp_path / "c1").mkdir()
    (tmp_path / "c1" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match=r"class folder\(s\) c1 hold no images; expected .* extensions \.png, \.jpg"):
        load_image_folder(tmp_path)


def test_folder_unreadable_image(tmp_path):
    write_gray_tree(tmp_path, [2])
    (tmp_path / "c0" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"broken\.png: not a readable image"):
        load_image_folder(tmp_path)
    png = (tmp_path / "c0" / "img00.png").read_bytes()
    (tmp_path / "c0" / "broken.png").write_bytes(png[:len(png) // 2])  # valid header, truncated pixels
    with pytest.raises(ValueError, match=r"broken\.png: not a readable image"):
        load_image_folder(tmp_path, test_fraction=0.01)


def test_folder_split_layout_errors(tmp_path):
    write_gray_tree(tmp_path / "train", [2])
    with pytest.raises(ValueError, match="has only one of train/ and test/; give both or neither"):
        load_image_folder(tmp_path)
    (tmp_path / "test" / "c0").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"image folder .*test: class folder\(s\) c0 hold no images"):
        load_image_folder(tmp_path, "train")


def test_folder_empty_split_and_bad_options(tmp_path):
    write_gray_tree(tmp_path, [1, 1])
    with pytest.raises(ValueError, match="the test split is empty"):
        load_image_folder(tmp_path, "test", test_fraction=0.2)
    for options, message in ((dict(test_fraction=1.0), r"test_fraction must lie in \(0, 1\)"),
                             (dict(mode="RGBA"), r"unknown image mode 'RGBA': expected one of L, RGB or None"),
                             (dict(size=(0, 4)), r"size must be a positive int or \(H, W\)"),
                             (dict(size=(2, 3, 4)), r"size must be a positive int or \(H, W\)"),
                             (dict(size=2.5), r"size must be a positive int or \(H, W\)")):
        with pytest.raises(ValueError, match=message):
            load_image_folder(tmp_path, **options)


def test_folder_labels_index_the_models_classes_matched_by_name(tmp_path):
    model = ["T-shirt/top", "Trouser", "Pullover", "Ankle boot"]
    for folder, value in (("ankle_boot", 3), ("t-shirt top", 0), ("TROUSER", 1)):  # sorted: TROUSER, ankle, t-shirt
        write_image(tmp_path / folder / "x.png", np.full((2, 2), value, np.uint8))
    data = load_dataset(tmp_path, "train", classes=model)
    assert data.classes == model and dict(zip(data.images[:, 0, 0, 0].tolist(), data.labels.tolist())) \
        == {0: 0, 1: 1, 3: 3}  # the folder of pixel value k holds model class k; no Pullover folder: fine
    write_image(tmp_path / "Handbag" / "x.png", np.full((2, 2), 9, np.uint8))
    with pytest.raises(ValueError, match=r"class\(es\) 'Handbag' not among the model's classes 'T-shirt/top', "
                                         r"'Trouser', 'Pullover', 'Ankle boot' \(unmatched: 'Pullover'\)"):
        load_dataset(tmp_path, "train", classes=model)


# --- load_dataset ----------------------------------------------------------------------------------

def test_load_dataset_by_name(tmp_path):
    write_fashion(tmp_path / "fm")
    write_cifar(tmp_path / "cifar")
    write_gray_tree(tmp_path / "tree", [3, 3])
    assert DATASETS == ("fashion-mnist", "cifar10", "folder")
    assert load_dataset("fashion-mnist", "test", root=tmp_path / "fm").images.shape == (7, 1, 28, 28)
    assert load_dataset("Fashion_MNIST", root=tmp_path / "fm").images.shape == (12, 1, 28, 28)
    assert load_dataset("cifar10", "test", root=tmp_path / "cifar").images.shape == (3, 3, 32, 32)
    assert load_dataset("CIFAR-10", root=tmp_path / "cifar").images.shape == (15, 3, 32, 32)
    data = load_dataset("folder", "train", root=tmp_path / "tree", size=(4, 4), mode="RGB", test_fraction=0.34)
    assert data.images.shape == (4, 3, 4, 4) and data.classes == ["c0", "c1"]


def test_load_dataset_detects_directory_format(tmp_path):
    write_fashion(tmp_path / "fm", gz=False)
    write_cifar(tmp_path / "cifar" / "cifar-10-batches-py")
    write_gray_tree(tmp_path / "tree", [2, 2])
    assert detect_format(tmp_path / "fm") == "fashion-mnist"
    assert detect_format(tmp_path / "cifar") == "cifar10"
    assert detect_format(tmp_path / "cifar" / "cifar-10-batches-py") == "cifar10"
    assert detect_format(tmp_path / "tree") == "folder"
    assert load_dataset(tmp_path / "fm", "test").name == "fashion-mnist"
    assert load_dataset(str(tmp_path / "cifar"), "test").name == "cifar10"
    assert load_dataset(tmp_path / "tree", test_fraction=0.5).name == "folder:tree"


def test_load_dataset_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist': expected one of fashion-mnist, cifar10, folder "
                                         r"or an existing directory"):
        load_dataset("mnist")
    with pytest.raises(FileNotFoundError, match=r"dataset directory .*absent not found"):
        load_dataset(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match=r"dataset directory .*absent not found"):
        load_dataset(str(tmp_path / "absent"))
    with pytest.raises(ValueError, match=r"unknown split 'val': expected one of 'train', 'test'"):
        load_dataset("fashion-mnist", "val")
    for name in ("cifar10", "folder"):
        with pytest.raises(ValueError, match=f"dataset '{name}' needs root="):
            load_dataset(name)
    with pytest.raises(ValueError, match="size only apply to image folders, not to fashion-mnist"):
        load_dataset("fashion-mnist", size=(32, 32))
    write_gray_tree(tmp_path / "tree", [2])
    with pytest.raises(ValueError, match="given together with the dataset directory"):
        load_dataset(tmp_path / "tree", root=tmp_path)
    for loader in (lambda: load_fashion_mnist("valid", tmp_path), lambda: load_cifar10(tmp_path, "all"),
                   lambda: load_image_folder(tmp_path / "tree", "dev")):
        with pytest.raises(ValueError, match="unknown split"):
            loader()


# --- torch adaptor ---------------------------------------------------------------------------------

def test_torch_loader_batches_cover_the_dataset():
    torch = pytest.importorskip("torch")
    from semcomm.data.torch_data import TorchImageDataset, make_loader

    rng = np.random.default_rng(0)
    data = ImageDataset(rng.integers(0, 256, (10, 1, 4, 4), dtype=np.uint8), rng.integers(0, 3, 10),
                        ["a", "b", "c"], "rand")
    image, label = TorchImageDataset(data)[4]
    assert image.dtype == torch.float32 and image.shape == (1, 4, 4) and label.dtype == torch.int64
    np.testing.assert_array_equal(image.numpy(), data.float_images()[4])
    batches = list(make_loader(data, 4))
    assert [tuple(x.shape) for x, _ in batches] == [(4, 1, 4, 4), (4, 1, 4, 4), (2, 1, 4, 4)]
    np.testing.assert_array_equal(torch.cat([x for x, _ in batches]).numpy(), data.float_images())
    np.testing.assert_array_equal(torch.cat([y for _, y in batches]).numpy(), data.labels)
    shuffled = list(make_loader(data, 3, shuffle=True, seed=7, drop_last=True))
    assert len(shuffled) == 3
    labels = torch.cat([y for _, y in shuffled])
    assert torch.equal(labels, torch.cat([y for _, y in make_loader(data, 3, shuffle=True, seed=7, drop_last=True)]))
    assert not torch.equal(labels, torch.as_tensor(data.labels[:9]))


# --- the real Fashion-MNIST ------------------------------------------------------------------------

@pytest.mark.skipif(not FASHION_MNIST_ROOT.is_dir(),
                    reason=f"{FASHION_MNIST_ROOT} absent (Debian package dataset-fashion-mnist not installed)")
def test_real_fashion_mnist_test_split():
    data = load_dataset("fashion-mnist", "test")
    assert data.images.shape == (10000, 1, 28, 28) and data.images.dtype == np.uint8
    assert data.labels.shape == (10000,) and data.labels.dtype == np.int64
    assert data.classes == FASHION_MNIST_CLASSES and len(data.classes) == 10
    counts = data.class_counts()
    assert counts.sum() == 10000 and np.all(np.abs(counts - 1000) <= 100), counts
    assert data.images.min() == 0 and data.images.max() == 255
    assert 0.2 < data.float_images().mean() < 0.4  # mostly dark background, bright garments
