"""An image folder meets a model in the real loopback graph: class folders named by class, in an order
other than the card's, are scored as the model's classes; a class the model lacks is refused by
``semcomm run`` before anything is sent."""
import json
import os
import shutil

import numpy as np
import pytest

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
Image = pytest.importorskip("PIL.Image", reason="Pillow is needed to write image folders")

from semcomm.cli import main  # noqa: E402
from semcomm.data import load_dataset  # noqa: E402

pytestmark = pytest.mark.gnuradio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = os.path.join(ROOT, "hw_configs", "loopback.yaml")
PER_CLASS = 5  # 4 in the train split of the folder (a fifth of each class is its test split)


@pytest.fixture(scope="module")
def fashion_folder(tmp_path_factory):
    """``PER_CLASS`` Fashion-MNIST test images per class as PNGs in ``<root>/<class name>/`` (``/`` written
    ``_``, lower case), and the card's label of each class folder."""
    try:
        fashion = load_dataset("fashion-mnist", "test")
    except FileNotFoundError as err:
        pytest.skip(str(err))
    root = tmp_path_factory.mktemp("fashion_png")
    label_of = {}
    for label, name in enumerate(fashion.classes):
        folder = name.replace("/", "_").lower()
        label_of[folder] = label
        for index in np.flatnonzero(fashion.labels == label)[:PER_CLASS]:
            (root / folder).mkdir(exist_ok=True)
            Image.fromarray(fashion.images[index, 0]).save(root / folder / f"{index:05d}.png")
    return root, label_of


def run_folder(root, out, capsys):
    """``semcomm run loopback`` on 40 images of the folder's train split: (exit code, captured output)."""
    code = main(["run", "loopback", "--config", LOOPBACK, "--out", str(out), "--set", "data.dataset=folder",
                 "--set", f"data.path={root}", "--set", "data.split=train", "--set", "data.num_images=40"])
    return code, capsys.readouterr()


def test_class_folders_are_scored_as_the_models_classes(fashion_folder, tmp_path, capsys):
    root, label_of = fashion_folder
    code, _ = run_folder(root, tmp_path, capsys)
    assert code == 0
    frames = [json.loads(line) for line in (tmp_path / "frames.jsonl").read_text().splitlines()]
    # images leave in the folder's order: sorted class folders (ankle boot, bag, coat, ...), 4 images each
    assert [frame["label"] for frame in sorted(frames, key=lambda f: f["seq"])] \
        == [label_of[folder] for folder in sorted(label_of) for _ in range(PER_CLASS - 1)]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames_missed"] == 0 and summary["accuracy"] >= 0.75  # alphabetical labels: 36 %


def test_a_class_the_model_lacks_is_refused_naming_it(fashion_folder, tmp_path, capsys):
    root, _ = fashion_folder
    renamed = tmp_path / "folder"
    shutil.copytree(root, renamed)
    (renamed / "bag").rename(renamed / "Handbag")
    code, output = run_folder(renamed, tmp_path / "out", capsys)
    assert code == 2 and "'Handbag' not among the model's classes" in output.err and "(unmatched: 'Bag')" in output.err
