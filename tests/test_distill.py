"""Knowledge distillation (``train.distill_from``, :mod:`semcomm.train.distill`): the loss against its
formula and limits, the teacher's loading and refusals, and a teacher run followed by a distilled codec run
that records its teacher in metrics.json and the card."""
import json
import math

import pytest
import yaml

torch = pytest.importorskip("torch")

from semcomm.cli import main  # noqa: E402
from semcomm.export.contract import load_card  # noqa: E402
from semcomm.train.distill import TeacherError, distillation_loss  # noqa: E402
from semcomm.train.trainer import Trainer, objective  # noqa: E402
from semcomm.train import config as train_config  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture
from test_jscc import write_fashion  # noqa: E402
from test_train_cli import MODELS  # noqa: E402

LINK = {"modulation": "16qam", "code": "wifi1944_r12", "snr_db": [4, 12]}


def test_distillation_loss_matches_its_formula():
    student = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    teacher = torch.tensor([[1.0, 1.0, -2.0], [0.0, 3.0, 0.0]])
    labels = torch.tensor([0, 1])
    weight, temperature = 0.3, 2.0
    expected = 0.0
    for s, t, y in zip(student, teacher, labels):
        hard = -torch.log_softmax(s, 0)[y]
        p, log_q = torch.softmax(t / temperature, 0), torch.log_softmax(s / temperature, 0)
        soft = (p * (torch.log(p) - log_q)).sum()
        expected += ((1 - weight) * hard + weight * temperature**2 * soft) / 2
    got = distillation_loss(student, labels, teacher, weight, temperature)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


def test_distillation_loss_limits():
    student, labels = torch.randn(4, 5), torch.tensor([0, 1, 2, 3])
    ce = torch.nn.functional.cross_entropy(student, labels)
    assert float(distillation_loss(student, labels, torch.randn(4, 5), 0.0, 4.0)) == pytest.approx(float(ce))
    # a student that already agrees with the teacher pays only the hard term
    assert float(distillation_loss(student, labels, student.clone(), 1.0, 4.0)) == pytest.approx(0.0, abs=1e-6)


def _write_config(tmp_path, name, scheme, model, train, adversarial=None) -> str:
    config = {"name": name, "scheme": scheme, "seed": 3,
              "data": {"dataset": "fashion-mnist", "root": str(tmp_path / "data")},
              "model": model, "link": {**LINK, "enabled": scheme != "resnet_surrogate"},
              "train": {"epochs": 1, "batch_size": 32, "lr": 2e-3, **train},
              "adversarial": adversarial or {"enabled": False}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def _teacher_config(tmp_path) -> str:
    return _write_config(tmp_path, "tiny_teacher", "resnet_surrogate", {"widths": [4, 8], "blocks": 1}, {})


def _student_config(tmp_path, teacher="tiny_teacher", **train) -> str:
    return _write_config(tmp_path, "tiny_student", "masked_vqvae_fim_at", dict(MODELS["masked_vqvae"], fim_layers=[0]),
                         {"distill_from": teacher, "distill_weight": 0.5, "distill_temperature": 2.0, **train},
                         {"enabled": True, "steps": 1, "awp_gamma": 0})


def test_a_distilled_run_records_its_teacher_in_metrics_and_card(tmp_path, capsys):
    write_fashion(tmp_path / "data", n_train=64, n_test=16)
    runs, models = str(tmp_path / "runs"), str(tmp_path / "models")
    options = ["--run-dir", runs, "--eval-images", "16", "--threads", "1", "--eval-sweep", ""]
    assert main(["train", _teacher_config(tmp_path), *options]) == 0
    student = _student_config(tmp_path)
    assert main(["train", student, *options]) == 0
    trained = json.loads((tmp_path / "runs" / "tiny_student" / "metrics.json").read_text())
    teacher_metrics = json.loads((tmp_path / "runs" / "tiny_teacher" / "metrics.json").read_text())
    record = trained["teacher"]
    assert record["run"] == "tiny_teacher" and len(record["sha256"]) == 64
    assert record["clean_accuracy"] == teacher_metrics["metrics"]["clean"]["accuracy"]
    assert math.isfinite(trained["history"][0]["loss"]) and trained["history"][0]["adversarial"]
    assert main(["export", student, "--run-dir", runs, "--out", models]) == 0
    card = load_card(f"{models}/tiny_student.card.json")
    assert card["training"]["teacher"] == record
    assert "resnet_teacher" not in card["reproduce"]  # the chain follows this config's own teacher
    assert "tiny_teacher.yaml" in card["reproduce"].split("&&")[0]
    capsys.readouterr()


def _trained_teacher(tmp_path) -> str:
    """Fashion-MNIST-format data in ``tmp_path/data`` and the tiny teacher trained on it; returns the run dir."""
    write_fashion(tmp_path / "data", n_train=64, n_test=16)
    runs = str(tmp_path / "runs")
    assert main(["train", _teacher_config(tmp_path), "--run-dir", runs, "--eval-images", "16", "--threads", "1",
                 "--eval-sweep", ""]) == 0
    return runs


def test_the_teacher_is_frozen_and_changes_only_the_task_loss(tmp_path):
    runs = _trained_teacher(tmp_path)
    trainer = Trainer(train_config.load(_student_config(tmp_path)), run_dir=runs)
    assert not trainer.teacher.training
    assert not any(p.requires_grad for p in trainer.teacher.parameters())
    assert all(not key.startswith("teacher") for key in trainer.model.state_dict())  # never exported
    images = torch.from_numpy(trainer.train_set.float_images()[:8])
    labels = torch.from_numpy(trainer.train_set.labels[:8]).long()
    snr, keep, cfg = torch.full((8,), 12.0), trainer.model.sample_keep(8), trainer.config["train"]
    trainer.model.eval()
    with torch.no_grad():
        teacher_logits = trainer.teacher.logits(images)
        plain = objective(trainer.model, images, labels, snr, keep, None, cfg)
        distilled = objective(trainer.model, images, labels, snr, keep, None, cfg, teacher_logits=teacher_logits)
        student = trainer.model(images, snr, keep, labels, None)["output"]
    expected = (distilled - plain) - (distillation_loss(student, labels, teacher_logits, 0.5, 2.0)
                                      - torch.nn.functional.cross_entropy(student, labels))
    assert float(expected) == pytest.approx(0.0, abs=1e-5)  # only the task term changes
    assert float(distilled) != pytest.approx(float(plain))


def test_the_reproduce_chain_trains_the_teacher_before_its_student(tmp_path):
    from semcomm.train.pretrained import training_chain

    teacher = _teacher_config(tmp_path)
    pretraining = _write_config(tmp_path, "tiny_recon", "masked_vqvae", MODELS["masked_vqvae"], {})
    student = _student_config(tmp_path, init_from="tiny_recon")
    assert training_chain(student, train_config.load(student)) == [pretraining, teacher, student]


def test_a_missing_or_unfit_teacher_is_refused(tmp_path):
    write_fashion(tmp_path / "data", n_train=64, n_test=16)
    runs = str(tmp_path / "runs")
    with pytest.raises(TeacherError, match="train \\(to the end\\) the teacher run 'tiny_teacher' first"):
        Trainer(train_config.load(_student_config(tmp_path)), run_dir=runs)
    recon = _write_config(tmp_path, "tiny_recon", "masked_vqvae", {**MODELS["masked_vqvae_at"],
                                                                    "task": "reconstruction"}, {})
    assert main(["train", recon, "--run-dir", runs, "--eval-images", "16", "--threads", "1",
                 "--eval-sweep", ""]) == 0
    with pytest.raises(TeacherError, match="run 'tiny_recon' is a masked_vqvae model, not an image classifier"):
        Trainer(train_config.load(_student_config(tmp_path, teacher="tiny_recon")), run_dir=runs)


def test_a_teacher_whose_outputs_index_other_classes_is_refused(tmp_path):
    from PIL import Image

    from semcomm.data import load_dataset

    runs = _trained_teacher(tmp_path)
    for split in ("train", "test"):  # the teacher's images as an image folder: labels index the sorted folders
        data = load_dataset("fashion-mnist", split, root=tmp_path / "data")
        for index, (image, label) in enumerate(zip(data.images, data.labels)):
            path = tmp_path / "folder" / split / data.classes[label].replace("/", "_") / f"{index:02d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image[0]).save(path)
    student = train_config.load(_student_config(tmp_path), {"data.dataset": "folder",
                                                            "data.root": str(tmp_path / "folder")})
    with pytest.raises(TeacherError, match="the teacher run 'tiny_teacher' learned the classes \\['T-shirt/top', "):
        Trainer(student, run_dir=runs)
