"""Knowledge distillation from a trained classifier run (semcomm.train.distill) and its record in the card."""
import hashlib
import json

import pytest
import torch
import yaml

from semcomm.cli import main
from semcomm.export.runtime import load_card
from semcomm.train.distill import distillation_loss
from test_jpeg_baseline import one_torch_thread  # noqa: F401 - autouse fixture
from test_jscc import write_fashion
from test_train_cli import MODELS


def test_distillation_loss_is_the_scaled_kl_divergence():
    teacher = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    assert distillation_loss(teacher, teacher, 4.0) == pytest.approx(0.0, abs=1e-7)
    student = torch.zeros(2, 3, requires_grad=True)
    loss = distillation_loss(student, teacher, 2.0)
    p = torch.softmax(teacher / 2.0, dim=1)
    expected = 4.0 * (p * (p.log() - torch.log(torch.full_like(p, 1 / 3)))).sum(dim=1).mean()
    assert float(loss.detach()) == pytest.approx(float(expected))
    loss.backward()
    assert torch.allclose(student.grad.sum(dim=1), torch.zeros(2), atol=1e-6)  # softmax shift invariance
    assert student.grad[0, 0] < 0  # pulled towards the teacher's favourite class


def _write(tmp_path, name, scheme, model, **train):
    config = {"name": name, "scheme": scheme, "seed": 2,
              "data": {"dataset": "fashion-mnist", "root": str(tmp_path / "data")}, "model": model,
              "link": {"modulation": "16qam", "code": "wifi1944_r12", "snr_db": [4, 12]},
              "train": {"epochs": 1, "batch_size": 64, "lr": 2e-3, **train}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_a_codec_distilled_from_a_resnet_run_records_its_teacher(tmp_path, capsys):
    write_fashion(tmp_path / "data", n_train=128, n_test=16)
    runs, models = str(tmp_path / "runs"), str(tmp_path / "models")
    student = _write(tmp_path, "tiny_student", "masked_vqvae", MODELS["masked_vqvae"], distill_from="tiny_teacher",
                     distill_weight=0.5, distill_temperature=2.0)
    assert main(["train", student, "--run-dir", runs]) == 2
    assert "no checkpoint.pt for the teacher run 'tiny_teacher'" in capsys.readouterr().err
    teacher = _write(tmp_path, "tiny_teacher", "resnet_surrogate", {"widths": [4, 8]})
    common = ["--run-dir", runs, "--eval-images", "16", "--threads", "1", "--eval-sweep", ""]
    assert main(["train", teacher, *common]) == 0
    assert main(["train", student, *common]) == 0
    assert "distilling from" in capsys.readouterr().out
    record = json.loads((tmp_path / "runs" / "tiny_student" / "metrics.json").read_text())["teacher"]
    checkpoint = tmp_path / "runs" / "tiny_teacher" / "checkpoint.pt"
    assert record["run"] == "tiny_teacher" and record["images"] == 16 and 0 <= record["accuracy"] <= 1
    assert main(["export", student, "--run-dir", runs, "--out", models]) == 0
    card = load_card(tmp_path / "models" / "tiny_student.card.json")
    assert card["training"]["distill_from"]["sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert card["reproduce"].startswith(f"semcomm train {teacher} && semcomm train {student}")


def test_a_teacher_must_be_an_image_classifier(tmp_path, capsys):
    write_fashion(tmp_path / "data", n_train=64, n_test=16)
    runs = str(tmp_path / "runs")
    codec = _write(tmp_path, "tiny_codec", "masked_vqvae", MODELS["masked_vqvae"])
    assert main(["train", codec, "--run-dir", runs, "--eval-images", "16", "--threads", "1", "--eval-sweep", ""]) == 0
    student = _write(tmp_path, "tiny_student", "masked_vqvae", MODELS["masked_vqvae"], distill_from="tiny_codec")
    assert main(["train", student, "--run-dir", runs]) == 2
    assert "a teacher must be an image classifier" in capsys.readouterr().err
