"""``semcomm export`` takes the model and the card's training config from the run's own record
(``RUN_DIR/<name>/metrics.json``, :mod:`semcomm.export.run_record`), not from the YAML as it is at export time,
and refuses a run that has no record."""
import json
import shutil

import pytest
import yaml

pytest.importorskip("torch")

from semcomm.cli import main  # noqa: E402
from semcomm.export.contract import load_card  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture
from test_jscc import write_fashion  # noqa: E402

TRAINED = {"seed": 2, "train": {"epochs": 1, "batch_size": 64, "lr": 2e-3},
           "adversarial": {"enabled": True, "start_epoch": 1, "eps": 4 / 255, "alpha": 1 / 255, "steps": 1,
                           "clean_weight": 0.7, "awp_gamma": 2e-3}}
EDITED = {"seed": 9, "train": {"epochs": 5, "batch_size": 32, "lr": 1e-3},
          "adversarial": {"enabled": True, "start_epoch": 2, "eps": 16 / 255, "alpha": 4 / 255, "steps": 3,
                          "clean_weight": 0.2, "awp_gamma": 1e-2}}


def write_config(path, root, validation_images: int, settings: dict) -> None:
    path.write_text(yaml.safe_dump({
        "name": "tiny_record", "scheme": "masked_vqvae_at", **settings,
        "data": {"dataset": "fashion-mnist", "root": str(root), "validation_images": validation_images},
        "model": dict(dim=16, heads=2, encoder_depth=1, decoder_dim=16, decoder_depth=1, code_dim=8, codebook_size=16),
        "link": {"modulation": "16qam", "code": "wifi1944_r12", "snr_db": [4, 12]}}))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """``(config path, run dir)`` of one finished tiny training (the YAML still as trained)."""
    base = tmp_path_factory.mktemp("record")
    write_fashion(base / "data", n_train=128, n_test=16)
    path = base / "tiny_record.yaml"
    write_config(path, base / "data", 32, TRAINED)
    runs = base / "runs"
    assert main(["train", str(path), "--run-dir", str(runs), "--eval-images", "16", "--threads", "1",
                 "--device", "cpu", "--eval-sweep", ""]) == 0
    return path, runs / "tiny_record"


def copy_run(trained_run, tmp_path):
    """A copy of the trained run in ``tmp_path/runs`` and the path of its YAML, edited after the training."""
    path, run = trained_run
    shutil.copytree(run, tmp_path / "runs" / run.name)
    edited = tmp_path / path.name
    write_config(edited, path.parent / "data", 0, EDITED)
    return str(edited), tmp_path / "runs" / run.name


def test_the_card_holds_the_trained_config_not_the_edited_yaml(trained_run, tmp_path):
    path, run = copy_run(trained_run, tmp_path)
    assert main(["export", path, "--run-dir", str(run.parent), "--out", str(tmp_path / "models")]) == 0
    card = load_card(tmp_path / "models" / "tiny_record.card.json")
    trained = card["training"]["config"]
    assert trained == json.loads((run / "metrics.json").read_text())["config"]
    assert trained["seed"] == 2 and trained["data"]["validation_images"] == 32
    assert {key: trained["train"][key] for key in TRAINED["train"]} == TRAINED["train"]
    assert {key: trained["adversarial"][key] for key in TRAINED["adversarial"]} == TRAINED["adversarial"]
    assert card["training"]["history"][0]["epoch"] == 1 and len(card["training"]["history"]) == 1


@pytest.mark.parametrize("record", [None, {"metrics": {}, "history": []}], ids=["absent", "without config"])
def test_export_refuses_a_run_without_its_record(trained_run, tmp_path, capsys, record):
    path, run = copy_run(trained_run, tmp_path)
    if record is None:
        (run / "metrics.json").unlink()
    else:
        (run / "metrics.json").write_text(json.dumps(record))
    assert main(["export", path, "--run-dir", str(run.parent), "--out", str(tmp_path / "models")]) == 2
    err = capsys.readouterr().err
    assert str(run / "metrics.json") in err and "training config" in err
    assert not (tmp_path / "models").exists()


def test_export_refuses_a_record_whose_config_this_version_no_longer_accepts(trained_run, tmp_path, capsys):
    path, run = copy_run(trained_run, tmp_path)
    record = json.loads((run / "metrics.json").read_text())
    record["config"]["link"]["channel"] = record["config"].pop("channel")["fading"]  # the spelling before 3c73997
    (run / "metrics.json").write_text(json.dumps(record))
    assert main(["export", path, "--run-dir", str(run.parent), "--out", str(tmp_path / "models")]) == 2
    err = capsys.readouterr().err
    assert str(run / "metrics.json") in err and "not valid in this version" in err and "link" in err
    assert not (tmp_path / "models").exists()
