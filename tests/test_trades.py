"""TRADES (``adversarial.loss: trades``, :mod:`semcomm.train.trades`): the divergence against its formula,
the config's checks, the trainer's TRADES loss against ``L(s) + beta KL`` and a run that trains with it."""
import json
import math

import pytest
import yaml

torch = pytest.importorskip("torch")

from semcomm.cli import main  # noqa: E402
from semcomm.config import ConfigError  # noqa: E402
from semcomm.train import config as train_config  # noqa: E402
from semcomm.train.trades import output_divergence  # noqa: E402
from semcomm.train.trainer import Trainer, objective  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture
from test_jscc import write_fashion  # noqa: E402
from test_train_cli import MODELS  # noqa: E402


def test_output_divergence_matches_its_formula():
    clean = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    adversarial = torch.tensor([[1.0, 1.0, -2.0], [0.0, 3.0, 0.0]])
    expected = 0.0
    for c, a in zip(clean, adversarial):
        p = torch.softmax(c, 0)
        expected += float((p * (torch.log(p) - torch.log_softmax(a, 0))).sum()) / 2
    assert float(output_divergence(clean, adversarial)) == pytest.approx(expected, rel=1e-6)
    assert float(output_divergence(clean, clean.clone())) == pytest.approx(0.0, abs=1e-7)


def _config(tmp_path, link=True, **adversarial) -> dict:
    return {"name": "tiny_trades", "scheme": "masked_vqvae_at", "seed": 5,
            "data": {"dataset": "fashion-mnist", "root": str(tmp_path / "data")},
            "model": MODELS["masked_vqvae_at"],
            "link": {"modulation": "16qam", "code": "wifi1944_r12", "snr_db": [4, 12], "enabled": link},
            "train": {"epochs": 1, "batch_size": 32, "lr": 2e-3},
            "adversarial": {"enabled": True, "steps": 2, "awp_gamma": 0, "loss": "trades", "trades_beta": 3.0,
                            **adversarial}}


def test_the_config_defaults_to_the_mixture_and_checks_trades(tmp_path):
    mixed = _config(tmp_path)
    del mixed["adversarial"]["loss"], mixed["adversarial"]["trades_beta"]
    defaults = train_config.validate(mixed)["adversarial"]
    assert defaults["loss"] == "mixed" and defaults["trades_beta"] == 6.0
    with pytest.raises(ConfigError, match="adversarial/loss: 'trade' is not one of"):
        train_config.validate(_config(tmp_path, loss="trade"))
    with pytest.raises(ConfigError, match="needs adversarial/random_start true"):
        train_config.validate(_config(tmp_path, random_start=False))
    reconstruction = _config(tmp_path)
    reconstruction["model"] = {**reconstruction["model"], "task": "reconstruction"}
    with pytest.raises(ConfigError, match="trades needs model/task classification"):
        train_config.validate(reconstruction)


def _trades_minus_clean(trainer: Trainer, beta: float) -> float:
    """``_trades_loss - L(s)`` on a fixed batch, the PGD start drawn from one seed."""
    trainer.config["adversarial"]["trades_beta"] = beta
    images = torch.from_numpy(trainer.train_set.float_images()[:8])
    labels = torch.from_numpy(trainer.train_set.labels[:8]).long()
    snr, keep, cfg = torch.full((8,), 12.0), trainer.model.inference_keep.expand(8, -1), trainer.config["train"]

    def loss_on(x, link=None, outputs=None):
        return objective(trainer.model, x, labels, snr, keep, link, cfg, outputs)

    torch.manual_seed(0)
    trades = trainer._trades_loss(images, labels, snr, keep, None, loss_on, {})
    return float((trades - loss_on(images)).detach())


def test_the_trades_loss_is_the_clean_objective_plus_beta_times_the_divergence(tmp_path):
    write_fashion(tmp_path / "data", n_train=64, n_test=16)
    trainer = Trainer(train_config.validate(_config(tmp_path, link=False, eps=0.2)), run_dir=str(tmp_path / "runs"))
    assert trainer.train_epoch()["adversarial"]  # two TRADES steps; the codebook is initialised from data
    extra = _trades_minus_clean(trainer, 2.0)
    assert extra > 1e-4  # the semantic noise moves the output: the divergence term is positive
    assert _trades_minus_clean(trainer, 4.0) == pytest.approx(2 * extra, abs=2e-6)  # linear in beta
    trainer.config["adversarial"]["eps"] = 0.0  # no noise: nothing beyond the clean objective
    assert _trades_minus_clean(trainer, 4.0) == pytest.approx(0.0, abs=1e-6)


def test_a_trades_run_trains_through_the_link_and_records_its_objective(tmp_path, capsys):
    write_fashion(tmp_path / "data", n_train=64, n_test=16)
    path = tmp_path / "tiny_trades.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path, awp_gamma=5e-3)))
    assert main(["train", str(path), "--run-dir", str(tmp_path / "runs"), "--eval-images", "16", "--threads", "1",
                 "--eval-sweep", ""]) == 0
    trained = json.loads((tmp_path / "runs" / "tiny_trades" / "metrics.json").read_text())
    assert trained["config"]["adversarial"]["loss"] == "trades"
    assert trained["history"][0]["adversarial"] and math.isfinite(trained["history"][0]["loss"])
    capsys.readouterr()
