"""The ResNet black-box attack surrogate (Table III): the network, its files (weights + card, verified on
load) and ``semcomm train`` / ``semcomm export`` of ``scheme: resnet_surrogate``."""
import json

import pytest
import yaml

torch = pytest.importorskip("torch")

from semcomm.cli import main  # noqa: E402
from semcomm.eval.schemes import discover_surrogates  # noqa: E402
from semcomm.export.surrogate import SurrogateError, export_surrogate, load_surrogate  # noqa: E402
from semcomm.nn.resnet import ResNetClassifier, ResNetConfig  # noqa: E402
from semcomm.config import ConfigError  # noqa: E402
from semcomm.train.config import validate  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture
from test_jscc import write_fashion  # noqa: E402

CLASSES = [f"class{i}" for i in range(10)]


def test_resnet_shapes_stages_and_gradients():
    model = ResNetClassifier(ResNetConfig(widths=(4, 8, 16), blocks=2)).eval()
    assert len(model.stages) == 6 and model.head.in_features == 16
    strides = [block.conv1.stride[0] for block in model.stages]
    assert strides == [1, 1, 2, 1, 2, 1]  # each stage after the first halves the resolution
    images = torch.rand(3, 1, 28, 28, requires_grad=True)
    logits = model.logits(images)
    assert logits.shape == (3, 10) and model(images)["vq_loss"] == 0 and model.sample_keep(3) is None
    logits.sum().backward()
    assert images.grad.abs().sum() > 0  # the attack differentiates through it
    assert ResNetClassifier(ResNetConfig(image_shape=(3, 32, 32))).logits(torch.rand(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="positive widths"):
        ResNetConfig(widths=())


def test_surrogate_files_round_trip_and_refuse_tampering(tmp_path):
    torch.manual_seed(0)
    model = ResNetClassifier(ResNetConfig(widths=(4, 8))).eval()
    paths = export_surrogate(model, tmp_path, "tiny", scheme="resnet_surrogate", dataset="fashion-mnist",
                             classes=CLASSES, card_extra={"metrics": {"clean": 0.5}, "reproduce": "semcomm train x"})
    loaded, card = load_surrogate(paths["card"])
    images = torch.rand(4, 1, 28, 28)
    assert torch.equal(loaded.logits(images), model.logits(images))
    assert card["metrics"] == {"clean": 0.5} and card["files"]["weights"]["file"] == "tiny.pt"
    surrogates, problems = discover_surrogates(tmp_path)
    assert [s.name for s in surrogates] == ["tiny"] and surrogates[0].family == "surrogate" and not problems

    weights = tmp_path / "surrogates" / "tiny.pt"
    original = weights.read_bytes()
    weights.write_bytes(original + b"x")
    with pytest.raises(SurrogateError, match="sha256 of .* differs"):
        load_surrogate(paths["card"])
    assert "sha256" in discover_surrogates(tmp_path)[1][0]["reason"]
    weights.unlink()
    with pytest.raises(SurrogateError, match="weights file .* is absent"):
        load_surrogate(paths["card"])
    weights.write_bytes(original)
    text = json.loads((tmp_path / "surrogates" / "tiny.card.json").read_text())
    (tmp_path / "surrogates" / "tiny.card.json").write_text(json.dumps({**text, "config": {"widths": [4, 16]}}))
    with pytest.raises(SurrogateError, match="does not fit the card's config"):
        load_surrogate(paths["card"])
    del text["model_id"]
    (tmp_path / "surrogates" / "tiny.card.json").write_text(json.dumps(text))
    with pytest.raises(SurrogateError, match="missing model_id"):
        load_surrogate(paths["card"])
    with pytest.raises(ValueError, match="scheme must be one of resnet_surrogate"):
        export_surrogate(model, tmp_path, "bad", scheme="jpeg_ldpc", dataset="fashion-mnist", classes=CLASSES)


def _config(tmp_path, **model):
    return {"name": "tiny_resnet", "scheme": "resnet_surrogate", "seed": 2,
            "data": {"dataset": "fashion-mnist", "root": str(tmp_path / "data")}, "model": model,
            "link": {"modulation": "16qam", "code": "wifi1944_r12", "snr_db": [12, 12], "enabled": False},
            "train": {"epochs": 1, "batch_size": 64, "lr": 2e-3}}


def test_train_then_export_a_surrogate(tmp_path):
    write_fashion(tmp_path / "data", n_train=128, n_test=16)
    path = tmp_path / "resnet.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path, widths=[4, 8], blocks=1)))
    runs, models = str(tmp_path / "runs"), tmp_path / "models"
    assert main(["train", str(path), "--run-dir", runs, "--eval-images", "16", "--threads", "1",
                 "--eval-sweep", ""]) == 0
    metrics = json.loads((tmp_path / "runs" / "tiny_resnet" / "metrics.json").read_text())["metrics"]
    assert metrics["clean"]["images"] == 16 and metrics["white_box_pgd"]["attack"]["steps"] == 5
    assert main(["export", str(path), "--run-dir", runs, "--out", str(models)]) == 0
    model, card = load_surrogate(models / "surrogates" / "tiny_resnet.card.json")
    assert card["metrics"] == metrics and card["reproduce"] == f"semcomm train {path} && semcomm export {path}"
    assert card["config"]["widths"] == [4, 8] and card["training"]["history"][0]["epoch"] == 1
    assert not list(models.glob("*.onnx"))  # a surrogate ships no ONNX files


def test_config_schema_checks_the_resnet_section(tmp_path):
    assert validate(_config(tmp_path, widths=[16, 32, 64]))["model"] == {"widths": [16, 32, 64]}
    with pytest.raises(ConfigError, match="model: Additional properties .*'dim'"):
        validate(_config(tmp_path, dim=16))
    with pytest.raises(ConfigError, match="model/blocks"):
        validate(_config(tmp_path, blocks=0))
