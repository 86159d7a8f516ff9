"""Every model shipped in models/: it loads under the model contract with its card (sha256, model id), its
card holds the measured metrics, the training config and the command that reproduces it, its PyTorch
weights come back from the ONNX files, and models/ stays under its 40 MB budget. The same for the attack
surrogates in models/surrogates/ (PyTorch weights, verified on load)."""
import glob
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

from semcomm.eval.schemes import card_model  # noqa: E402
from semcomm.export.recover import recover_weights  # noqa: E402
from semcomm.export.contract import load_card  # noqa: E402
from semcomm.export.runtime import CPU, OnnxImageClassifier, SemanticCodec  # noqa: E402
from semcomm.export.surrogate import load_surrogate  # noqa: E402
from semcomm.registry import family  # noqa: E402
from semcomm.train import config as train_config  # noqa: E402
from semcomm.train.reproduce import reproduce_command  # noqa: E402

CARDS = sorted(glob.glob("models/*.card.json"))
SURROGATE_CARDS = sorted(glob.glob("models/surrogates/*.card.json"))
ZOO_BUDGET_BYTES = 40 * 2**20


def test_the_zoo_fits_its_budget_and_has_the_default_model():
    size = sum(os.path.getsize(p) for p in glob.glob("models/**", recursive=True) if os.path.isfile(p))
    assert size < ZOO_BUDGET_BYTES, f"models/ holds {size / 2**20:.1f} MB"
    assert "models/masked_vqvae_fim_at.card.json" in CARDS
    assert "models/surrogates/resnet_surrogate.card.json" in SURROGATE_CARDS  # table III's ResNet


def _check_training_card(card: dict, name: str) -> dict:
    """The card's scheme and reproduce command agree with ``models/configs/<name>.yaml``; its metrics cover
    the whole test set. Returns the config."""
    path = f"models/configs/{name}.yaml"
    config = train_config.load(path)
    assert card["reproduce"] == reproduce_command(path, config, card["metrics"])
    assert config["scheme"] == card["scheme"]
    for key in ("clean", "white_box_pgd"):
        assert card["metrics"][key]["images"] == 10000 and 0 <= card["metrics"][key]["accuracy"] <= 1
    return config


@pytest.mark.parametrize("card_path", CARDS)
def test_shipped_model(card_path):
    card = load_card(card_path)
    prefix = card_path[:-len(".card.json")]
    name = os.path.basename(prefix)
    loader = OnnxImageClassifier if family(card["scheme"]).name == "jpeg" else SemanticCodec
    loaded = loader.from_prefix(prefix, [CPU], card=True)  # metadata, card model id and file sha256s
    assert loaded.model_id == card["model_id"]
    _check_training_card(card, name)
    assert card["scheme"] == card["metadata"]["semcomm.scheme"]
    recover_weights(card_model(card), card, prefix)  # every weight, checked by the model id


@pytest.mark.parametrize("card_path", SURROGATE_CARDS)
def test_shipped_surrogate(card_path):
    model, card = load_surrogate(card_path)  # file sha256 and model id
    assert card["name"] == os.path.basename(card_path)[:-len(".card.json")]
    config = _check_training_card(card, card["name"])
    assert card["config"]["widths"] == config["model"]["widths"] and not model.training


def test_the_zoo_table_in_models_readme_is_current():
    run = subprocess.run([sys.executable, "tools/zoo_table.py", "--check"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
