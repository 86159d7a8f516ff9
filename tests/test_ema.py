"""Weight averaging (``train.ema_decay``, :mod:`semcomm.train.ema`): the average's arithmetic, what it copies
instead of averaging, and a run with averaging on: checkpoint, resume, metrics of both weight sets, and the
export deploying the average."""
import json

import pytest
import yaml

torch = pytest.importorskip("torch")

from semcomm.cli import main  # noqa: E402
from semcomm.eval.schemes import card_model  # noqa: E402
from semcomm.export.contract import load_card  # noqa: E402
from semcomm.export.model_id import codec_model_id  # noqa: E402
from semcomm.nn.masked_vqvae import CodecConfig, MaskedVQVAE  # noqa: E402
from semcomm.train import config as train_config  # noqa: E402
from semcomm.train.ema import WeightAverage, deployed_weights  # noqa: E402
from semcomm.train.trainer import Trainer  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture
from test_jscc import write_fashion  # noqa: E402
from test_train_cli import MODELS  # noqa: E402


def _codec():
    torch.manual_seed(0)
    return MaskedVQVAE(CodecConfig(image_shape=(1, 28, 28), **MODELS["masked_vqvae_at"]))


def test_the_average_follows_the_ramped_decay_and_copies_what_is_not_learned():
    model = _codec()
    average = WeightAverage(model, decay=0.9)
    start = {key: value.clone() for key, value in model.state_dict().items()}
    expected = start["to_code.weight"].clone()
    for step in range(1, 4):
        with torch.no_grad():
            model.to_code.weight.add_(1.0)
            model.keep_logits.fill_(float(step))  # masking state: set by the config, never averaged
        weight = 1 - min(0.9, (1 + step) / (10 + step))
        expected = expected + weight * (model.to_code.weight - expected)
        average.update()
    assert average.updates == 3 and average.current_decay() == pytest.approx(4 / 13)  # the ramp, below 0.9
    assert torch.allclose(average.weights["to_code.weight"], expected, atol=1e-6)
    assert torch.equal(average.weights["keep_logits"], torch.full_like(model.keep_logits, 3.0))
    assert torch.equal(average.weights["inference_keep"], model.inference_keep)  # integer: copied
    counter = next(key for key in start if key.endswith("num_batches_tracked"))
    assert average.weights[counter].dtype == torch.int64


def test_decay_outside_the_open_unit_interval_is_refused():
    with pytest.raises(ValueError, match=r"ema decay must lie in \(0, 1\), got 1"):
        WeightAverage(_codec(), decay=1)


def test_deployed_weights_prefer_the_average():
    trained, averaged = {"w": torch.zeros(1)}, {"w": torch.ones(1)}
    assert deployed_weights({"model": trained, "ema": {"weights": averaged}}) is averaged
    assert deployed_weights({"model": trained}) is trained
    assert deployed_weights(trained) is trained  # a bare state dict


def _ema_config(tmp_path, decay=0.9) -> str:
    config = {"name": "tiny_ema", "scheme": "masked_vqvae_at", "seed": 4,
              "data": {"dataset": "fashion-mnist", "root": str(tmp_path / "data"), "validation_images": 0},
              "model": MODELS["masked_vqvae_at"],
              "link": {"modulation": "16qam", "code": "wifi1944_r12", "snr_db": [4, 12]},
              "train": {"epochs": 2, "batch_size": 32, "lr": 2e-3, "ema_decay": decay},
              "adversarial": {"enabled": True, "start_epoch": 2, "steps": 1, "awp_gamma": 0}}
    path = tmp_path / "tiny_ema.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_a_run_with_averaging_deploys_the_average_and_reports_both(tmp_path, capsys):
    write_fashion(tmp_path / "data", n_train=64, n_test=16)
    path, runs, models = _ema_config(tmp_path), str(tmp_path / "runs"), tmp_path / "models"
    assert main(["train", path, "--run-dir", runs, "--eval-images", "16", "--threads", "1", "--eval-sweep", "12"]) == 0
    out = capsys.readouterr().out
    assert "trained weights, accuracy at Es/N0" in out and "weight average, accuracy at Es/N0" in out
    metrics = json.loads((tmp_path / "runs" / "tiny_ema" / "metrics.json").read_text())["metrics"]
    assert set(metrics["trained_weights"]) == {"clean", "white_box_pgd"}  # no SNR sweep for them
    assert [point["snr_db"] for point in metrics["clean_vs_snr"]] == [12.0]

    state = torch.load(tmp_path / "runs" / "tiny_ema" / "checkpoint.pt", weights_only=True)
    assert state["ema"]["updates"] == 4 and state["ema"]["decay"] == 0.9  # 2 epochs x 2 batches
    assert not torch.equal(state["ema"]["weights"]["to_code.weight"], state["model"]["to_code.weight"])
    assert main(["export", path, "--run-dir", runs, "--out", str(models)]) == 0
    card = load_card(models / "tiny_ema.card.json")
    deployed = card_model(card)
    deployed.load_state_dict(state["ema"]["weights"])
    assert card["model_id"] == codec_model_id(deployed) and card["metrics"] == metrics


def test_resume_restores_the_average_and_refuses_a_checkpoint_without_one(tmp_path):
    write_fashion(tmp_path / "data", n_train=64, n_test=16)
    config, runs = train_config.load(_ema_config(tmp_path)), str(tmp_path / "runs")
    config["train"]["epochs"] = 1
    trainer = Trainer(config, run_dir=runs)
    trainer.fit(progress=lambda line: None)
    resumed = Trainer(config, run_dir=runs)
    assert resumed.resume() and resumed.average.updates == trainer.average.updates == 2
    assert all(torch.equal(resumed.average.weights[key], value) for key, value in trainer.average.weights.items())

    config["train"]["ema_decay"] = None
    Trainer(config, run_dir=runs).save()  # a checkpoint of the same run without an average
    config["train"]["ema_decay"] = 0.9
    with pytest.raises(ValueError, match="holds no weight average, but the config sets train.ema_decay: 0.9"):
        Trainer(config, run_dir=runs).resume()
