"""``semcomm train`` then ``semcomm export`` from a YAML file, for each model family, on a tiny generated
Fashion-MNIST: the path every shipped model takes (training, final evaluation through the chain, export
with parity, card with the measured metrics, weights recoverable from the ONNX files), and a reconstruction
pre-training fine-tuned for classification (``train.init_from``)."""
import hashlib
import json

import numpy as np
import pytest
import yaml

pytest.importorskip("torch")

from semcomm.cli import main  # noqa: E402
from semcomm.eval.schemes import card_model  # noqa: E402
from semcomm.export.recover import recover_weights  # noqa: E402
from semcomm.export.contract import load_card  # noqa: E402
from semcomm.train import config as train_config  # noqa: E402
from semcomm.train.pretrained import training_chain, weights_fingerprint  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture
from test_jscc import write_fashion  # noqa: E402

VIT = dict(dim=16, heads=2)
MODELS = {
    "masked_vqvae": dict(VIT, encoder_depth=1, decoder_dim=16, decoder_depth=1, code_dim=8, codebook_size=16),
    "jscc_at": dict(VIT, encoder_depth=1, decoder_dim=16, decoder_depth=1, symbols=32),
    "jpeg_ldpc_at": dict(VIT, depth=1),
    "masked_vqvae_at": dict(VIT, encoder_stem="resnet", stem_widths=[4, 4, 8], encoder_depth=1, decoder_dim=16,
                            decoder_depth=1, code_dim=8, codebook_size=16),  # BatchNorm weights travel too
}


@pytest.mark.parametrize("scheme", sorted(MODELS))
def test_train_then_export_writes_a_card_with_chain_metrics(tmp_path, scheme, capsys):
    write_fashion(tmp_path / "data", n_train=128, n_test=16)
    config = {"name": f"tiny_{scheme}", "scheme": scheme, "seed": 2,
              "data": {"dataset": "fashion-mnist", "root": str(tmp_path / "data")},
              "model": MODELS[scheme],
              "link": {"modulation": "16qam", "code": "wifi1944_r12", "snr_db": [4, 12]},
              "train": {"epochs": 1, "batch_size": 64, "lr": 2e-3},
              "adversarial": {"enabled": scheme.endswith("_at"), "start_epoch": 1, "steps": 1}}
    path = tmp_path / f"{scheme}.yaml"
    path.write_text(yaml.safe_dump(config))
    runs, models = str(tmp_path / "runs"), tmp_path / "models"
    assert main(["train", str(path), "--run-dir", runs, "--eval-images", "16", "--threads", "1",
                 "--device", "cpu", "--eval-sweep", "0,12"]) == 0
    assert f"training tiny_{scheme} on cpu" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "runs" / f"tiny_{scheme}" / "metrics.json").read_text())["metrics"]
    assert metrics["clean"]["images"] == 16 and metrics["white_box_pgd"]["attack"]["steps"] == 5
    assert [point["snr_db"] for point in metrics["clean_vs_snr"]] == [0.0, 12.0]
    assert metrics["clean_vs_snr"][1]["accuracy"] == metrics["clean"]["accuracy"]  # same images, same SNR
    if scheme.startswith("jpeg"):  # through the JPEG chain: failures are counted
        assert metrics["clean"]["decoder_failure_rate"] == 0.0
    assert main(["export", str(path), "--run-dir", runs, "--out", str(models)]) == 0
    card = load_card(models / f"tiny_{scheme}.card.json")
    assert card["metrics"] == metrics and card["scheme"] == scheme
    assert card["reproduce"].startswith(f"semcomm train {path}")
    recover_weights(card_model(card), card, models / f"tiny_{scheme}")  # the model id checks every weight


def test_train_refuses_a_cuda_device_it_does_not_have(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert main(["train", "models/configs/masked_vqvae.yaml", "--run-dir", str(tmp_path), "--device", "cuda"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err and not (tmp_path / "masked_vqvae").exists()


def _codec_config(tmp_path, name: str, **train) -> str:
    config = {"name": name, "scheme": "masked_vqvae", "seed": 3,
              "data": {"dataset": "fashion-mnist", "root": str(tmp_path / "data")},
              "model": dict(MODELS["masked_vqvae"]),
              "link": {"modulation": "16qam", "code": "wifi1944_r12", "snr_db": [4, 12]},
              "train": {"epochs": 1, "batch_size": 64, "lr": 2e-3, **train}}
    if name.endswith("recon"):
        config["model"]["task"] = "reconstruction"
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_reconstruction_pretraining_then_classification_fine_tuning(tmp_path, capsys):
    import torch

    write_fashion(tmp_path / "data", n_train=128, n_test=16)
    runs, models = str(tmp_path / "runs"), tmp_path / "models"
    pretraining = _codec_config(tmp_path, "tiny_recon")
    assert main(["train", pretraining, "--run-dir", runs, "--eval-images", "16", "--threads", "1",
                 "--eval-sweep", "0,12"]) == 0
    recon = json.loads((tmp_path / "runs" / "tiny_recon" / "metrics.json").read_text())["metrics"]
    assert recon["reconstruction"]["images"] == 16 and 0 < recon["reconstruction"]["mse"] < 1
    assert recon["reconstruction"]["psnr_db"] == pytest.approx(10 * np.log10(1 / recon["reconstruction"]["mse"]))
    assert [point["snr_db"] for point in recon["reconstruction_vs_snr"]] == [0.0, 12.0]
    pretrained = torch.load(tmp_path / "runs" / "tiny_recon" / "checkpoint.pt", weights_only=True)["model"]

    fine_tuning = _codec_config(tmp_path, "tiny_cls", init_from="tiny_recon")
    assert main(["train", fine_tuning, "--run-dir", runs, "--eval-images", "16", "--threads", "1", "--epochs", "1",
                 "--eval-sweep", ""]) == 0
    assert "fresh: head.weight, head.bias" in capsys.readouterr().out
    result = json.loads((tmp_path / "runs" / "tiny_cls" / "metrics.json").read_text())
    assert result["pretrained"]["fresh"] == ["head.weight", "head.bias"] and result["pretrained"]["epochs"] == 1
    assert main(["export", fine_tuning, "--run-dir", runs, "--out", str(models)]) == 0
    card = load_card(models / "tiny_cls.card.json")
    assert card["reproduce"].startswith(f"semcomm train {tmp_path / 'tiny_recon.yaml'} && semcomm train {fine_tuning}")
    assert card["training"]["init_from"]["loaded"] == len(pretrained) - 4  # head, masking state
    checkpoint = tmp_path / "runs" / "tiny_recon" / "checkpoint.pt"
    assert card["training"]["init_from"]["sha256"] == hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    assert card["training"]["init_from"]["weights_sha256"] == weights_fingerprint(pretrained)
    assert card["config"]["num_classes"] == 10 and pretrained["head.weight"].shape[0] == 16  # 4 x 4 pixels


def test_fine_tuning_refuses_a_pretraining_of_another_architecture(tmp_path, capsys):
    write_fashion(tmp_path / "data", n_train=128, n_test=16)
    runs = str(tmp_path / "runs")
    absent = _codec_config(tmp_path, "tiny_cls", init_from="tiny_recon")
    assert main(["train", absent, "--run-dir", runs]) == 2
    assert "no pre-training checkpoint" in capsys.readouterr().err
    pretraining = _codec_config(tmp_path, "tiny_recon")
    assert main(["train", pretraining, "--run-dir", runs, "--eval-images", "16", "--threads", "1",
                 "--eval-sweep", ""]) == 0
    config = yaml.safe_load(open(absent))
    config["model"]["code_dim"] = 4
    (tmp_path / "tiny_cls.yaml").write_text(yaml.safe_dump(config))
    capsys.readouterr()
    assert main(["train", absent, "--run-dir", runs]) == 2
    assert "to_code.weight is shape (8, 16), this model (4, 16)" in capsys.readouterr().err
    assert main(["train", pretraining, "--run-dir", runs, "--set", "data.validation_images=70"]) == 2
    assert "58 training images (70 held out for validation) are fewer than one batch of 64" in capsys.readouterr().err


def test_product_quantised_fine_tuning_and_eval_only_reproduces_the_metrics(tmp_path, capsys):
    """``model.code_groups`` 2 fine-tuned from a G = 1 pre-training (the codebook restarts), with a weight
    average; ``--eval-only`` then measures the finished run again without the pre-training's checkpoint."""
    write_fashion(tmp_path / "data", n_train=128, n_test=16)
    runs = str(tmp_path / "runs")
    assert main(["train", _codec_config(tmp_path, "tiny_recon"), "--run-dir", runs, "--eval-images", "16",
                 "--threads", "1", "--eval-sweep", ""]) == 0
    fine_tuning = _codec_config(tmp_path, "tiny_pq", init_from="tiny_recon", ema_decay=0.9)
    config = yaml.safe_load(open(fine_tuning))
    config["model"]["code_groups"] = 2
    (tmp_path / "tiny_pq.yaml").write_text(yaml.safe_dump(config))
    args = ["--run-dir", runs, "--eval-images", "16", "--threads", "1", "--eval-sweep", "12"]
    assert main(["train", fine_tuning, *args]) == 0
    assert "fresh: codebook.vectors, codebook.initialized, head.weight, head.bias" in capsys.readouterr().out
    trained = json.loads((tmp_path / "runs" / "tiny_pq" / "metrics.json").read_text())["metrics"]
    assert trained["clean"]["index_error_rate"] is not None
    (tmp_path / "runs" / "tiny_recon" / "checkpoint.pt").unlink()
    assert main(["train", fine_tuning, "--eval-only", *args]) == 0
    assert "evaluating" in capsys.readouterr().out
    again = json.loads((tmp_path / "runs" / "tiny_pq" / "evaluation_16_12dB.json").read_text())
    assert again["epoch"] == 1 and again["metrics"] == trained
    assert main(["train", fine_tuning, "--eval-only", "--eval-split", "train", *args, "--eval-images", "100"]) == 0
    assert "on 100 train images" in capsys.readouterr().out  # the test split has 16
    fit = json.loads((tmp_path / "runs" / "tiny_pq" / "evaluation_train_100_12dB.json").read_text())["metrics"]
    assert fit["clean"]["images"] == fit["white_box_pgd"]["images"] == 100
    assert main(["train", fine_tuning, "--eval-only", "--eval-split", "validation", *args]) == 0
    # the default validation split: the last twelfth of the 128 training images
    assert f"on {128 // 12} validation images" in capsys.readouterr().out
    assert (tmp_path / "runs" / "tiny_pq" / "evaluation_validation_16_12dB.json").is_file()
    assert main(["train", fine_tuning, "--eval-only", *args, "--eval-eps", "4/255"]) == 0
    weaker = json.loads((tmp_path / "runs" / "tiny_pq" / "evaluation_16_12dB_eps4of255.json").read_text())["metrics"]
    assert weaker["white_box_pgd"]["attack"] == {"eps": 0.0156863, "alpha": 0.0039216, "steps": 5, "norm": "linf"}
    assert weaker["clean"] == trained["clean"]
    assert main(["train", fine_tuning, "--eval-only", *args, "--eval-eps", "2"]) == 2
    assert "--eval-eps '2': expected one value in (0, 1)" in capsys.readouterr().err
    assert main(["train", _codec_config(tmp_path, "tiny_recon"), "--eval-eps", "8/255", *args]) == 2
    assert "a reconstruction run's evaluation has no semantic noise" in capsys.readouterr().err
    assert main(["train", fine_tuning, "--eval-split", "train", *args]) == 2
    assert "--eval-split train needs --eval-only" in capsys.readouterr().err
    assert main(["train", _codec_config(tmp_path, "tiny_untrained"), "--eval-only", "--run-dir", runs]) == 2
    assert "--eval-only: no checkpoint" in capsys.readouterr().err


def test_noise_masking_is_estimated_once_after_the_first_epoch_and_deployed(tmp_path):
    """The noise-related keep set is measured at the start of epoch 2, not at the start of adversarial
    training (epoch 3 here), so the clean epochs after the first already train on the deployed keep set."""
    from semcomm.train.trainer import Trainer

    write_fashion(tmp_path / "data", n_train=128, n_test=16)
    config = train_config.load(_codec_config(tmp_path, "tiny_noise", epochs=3, fixed_mask_fraction=1.0))
    config["model"]["masking"] = "noise"
    config["adversarial"].update(enabled=True, start_epoch=3, steps=1)
    trainer = Trainer(config, run_dir=str(tmp_path / "runs"), device="cpu")
    assert trainer.noise_masking_epoch == 2
    calls, estimate = [], trainer.estimate_noise_masking
    trainer.estimate_noise_masking = lambda: calls.append(trainer.epoch) or estimate()
    trainer.fit(progress=lambda line: None)
    assert calls == [1]  # once, after one finished epoch
    model = trainer.model
    assert model.keep_logits.abs().sum() > 0
    quietest = _top_positions(model.keep_logits, model.config.num_tokens)
    assert model.inference_keep.tolist() == quietest
    assert trainer.training_keep(4).tolist() == [quietest] * 4  # fixed_mask_fraction 1: the deployed set
    recorded = [record.get("noise_masking") for record in trainer.history]
    assert recorded[0] is None and recorded[2] is None and recorded[1]["inference_keep"] == quietest
    energy = model.keep_logits.new_tensor(recorded[1]["patch_noise_energy"])
    assert energy.shape == (49,) and _top_positions(-energy, 25) == quietest  # the least noisy patches
    config["model"]["masking"] = "random"
    assert Trainer(config, run_dir=str(tmp_path / "runs2"), device="cpu").noise_masking_epoch is None


def _top_positions(logits, count: int) -> list:
    """Sorted positions of the ``count`` largest ``logits``."""
    import torch

    return torch.sort(torch.topk(logits, count).indices).values.tolist()


def test_weights_fingerprint_ignores_key_order_and_sees_every_weight():
    import torch

    state = {"b": torch.arange(6, dtype=torch.float32).reshape(2, 3), "a": torch.tensor([True, False])}
    reordered = {"a": state["a"].clone(), "b": state["b"].clone()}
    assert weights_fingerprint(state) == weights_fingerprint(reordered)
    changed = dict(reordered, b=state["b"].clone().index_fill_(1, torch.tensor([2]), 7.0))
    assert weights_fingerprint(changed) != weights_fingerprint(state)
    reshaped = dict(reordered, b=state["b"].reshape(3, 2))  # same bytes, other shape
    assert weights_fingerprint(reshaped) != weights_fingerprint(state)


def test_reproduce_chain_follows_init_from_back_to_the_first_pretraining(tmp_path):
    _codec_config(tmp_path, "tiny_recon")
    _codec_config(tmp_path, "tiny_clean", init_from="tiny_recon")
    robust = _codec_config(tmp_path, "tiny_robust", init_from="tiny_clean")
    assert training_chain(robust, train_config.load(robust)) == [
        str(tmp_path / "tiny_recon.yaml"), str(tmp_path / "tiny_clean.yaml"), robust]
    looping = _codec_config(tmp_path, "tiny_recon", init_from="tiny_robust")  # recon now starts from robust
    with pytest.raises(ValueError, match="a cycle"):
        training_chain(looping, train_config.load(looping))


def test_a_rerun_of_a_training_reproduces_its_weights_fingerprint(tmp_path):
    import torch

    write_fashion(tmp_path / "data", n_train=128, n_test=16)
    config = _codec_config(tmp_path, "tiny_recon")
    fingerprints = []
    for runs in ("runs_a", "runs_b"):
        assert main(["train", config, "--run-dir", str(tmp_path / runs), "--eval-images", "16", "--threads", "1",
                     "--eval-sweep", ""]) == 0
        state = torch.load(tmp_path / runs / "tiny_recon" / "checkpoint.pt", weights_only=True)
        fingerprints.append(weights_fingerprint(state["model"]))
    assert fingerprints[0] == fingerprints[1]


def test_show_config_prints_the_resolved_config_and_trains_nothing(tmp_path, capsys):
    path = "models/configs/experiments/masked_vqvae_fim_at_2stage_fit_cw70.yaml"  # extends masked_vqvae_fim_at_2stage
    assert main(["train", path, "--run-dir", str(tmp_path), "--epochs", "2", "--show-config"]) == 0
    printed = capsys.readouterr().out
    expected = train_config.load(path)
    expected["train"]["epochs"] = 2
    assert yaml.safe_load(printed) == expected
    assert printed.splitlines()[-1] == ("# trains after: models/configs/masked_vqvae_recon.yaml, "
                                        "models/configs/masked_vqvae_aug.yaml, models/configs/masked_vqvae_aug_fit.yaml")
    assert not list(tmp_path.iterdir())  # no run directory


def test_export_reproduce_line_names_an_evaluation_eps_other_than_the_training_noise():
    from semcomm.train.reproduce import eval_eps_option

    config = {"adversarial": {"eps": 16 / 255}}
    assert eval_eps_option({"white_box_pgd": {"attack": {"eps": 0.0313725}}}, config) == " --eval-eps 8/255"
    assert eval_eps_option({"white_box_pgd": {"attack": {"eps": 0.03}}}, config) == " --eval-eps 0.03"
    assert eval_eps_option({"white_box_pgd": {"attack": {"eps": 0.0627451}}}, config) == ""
    assert eval_eps_option({"clean": {}}, config) == ""  # no PGD evaluation (e.g. reconstruction)
