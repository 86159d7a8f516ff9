import glob
import os
import re

import pytest

from semcomm.config import ConfigError
from semcomm.train import config as train_config
from semcomm.train.pretrained import training_chain

SHIPPED = "models/configs/masked_vqvae_fim_at.yaml"


def test_shipped_config_is_valid_and_complete():
    config = train_config.load(SHIPPED)
    assert config["adversarial"]["enabled"] and config["model"]["fim_layers"]
    assert config["link"]["snr_db"] == [4, 12]
    assert config["channel"] == {"fading": "none", "k_factor_db": 6}


def test_the_channel_is_spelled_as_in_the_testbed_configs_and_reaches_the_chain_and_the_analog_model():
    from semcomm.train.trainer import build_model, chain_settings

    rayleigh = train_config.load("models/configs/jscc.yaml", {"channel.fading": "rayleigh"})
    assert chain_settings(rayleigh).fading == "rayleigh"
    assert build_model(rayleigh, (1, 28, 28), 10).config.channel == "rayleigh"
    shipped = train_config.load("models/configs/jscc.yaml")
    assert build_model(shipped, (1, 28, 28), 10).config.channel == "awgn"  # as in the model card


def test_overrides_apply_to_the_resolved_config_before_validation():
    assert train_config.load(SHIPPED, {"train.epochs": 2, "channel.fading": "rician"})["train"]["epochs"] == 2
    with pytest.raises(ConfigError, match=r"fim_at\.yaml: invalid training config:\s+train/epochs: 0 is less"):
        train_config.load(SHIPPED, {"train.epochs": 0})


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["train"].update(epochs=0), "train/epochs: 0 is less than the minimum of 1"),
    (lambda c: c["model"].update(codebook_size=2048), "model/codebook_size: 2048 is greater than the maximum"),
    (lambda c: c["link"].update(modulation="8psk"), "link/modulation: '8psk' is not one of"),
    (lambda c: c["model"].update(depth=3), "Additional properties are not allowed ('depth'"),
    (lambda c: c["link"].update(snr_db=[12, -3]), "link/snr_db: low end 12 is above high end -3"),
    (lambda c: c["train"].update(augment_shift=-1), "train/augment_shift: -1 is less than the minimum of 0"),
    (lambda c: c["channel"].update(fading="awgn"),
     "channel/fading: 'awgn' is not one of ['none', 'rayleigh', 'rician']; allowed: one of 'none', 'rayleigh'"),
    (lambda c: c["link"].update(channel="awgn"),
     "link: Additional properties are not allowed ('channel' was unexpected)"),
    (lambda c: c["link"].update(code="turbo"), "link/code: unknown LDPC code 'turbo'; allowed: wifi648_r12"),
])
def test_invalid_fields_are_reported_by_path(mutate, message):
    config = train_config.load(SHIPPED)
    mutate(config)
    with pytest.raises(ConfigError, match=re.escape(message)):
        train_config.validate(config)


def test_unreadable_config(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        train_config.load(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        train_config.load(str(bad))


def test_fixed_mask_fraction_defaults_to_random_masking_and_is_bounded():
    config = train_config.load(SHIPPED)
    del config["train"]["fixed_mask_fraction"]
    assert train_config.validate(config)["train"]["fixed_mask_fraction"] == 0.0
    config["train"]["fixed_mask_fraction"] = 1.5
    with pytest.raises(ConfigError, match="train/fixed_mask_fraction: 1.5 is greater than the maximum"):
        train_config.validate(config)


@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_training_keep_mixes_random_masks_with_the_inference_keep_set(fraction):
    import torch

    from semcomm.nn.jscc import JSCCConfig, ViTJSCC
    from semcomm.nn.masked_vqvae import CodecConfig, MaskedVQVAE
    from semcomm.train.trainer import Trainer

    torch.manual_seed(0)
    trainer = Trainer.__new__(Trainer)  # only the model and the train section are needed
    trainer.model = MaskedVQVAE(CodecConfig(dim=16, encoder_depth=1, decoder_dim=16, decoder_depth=1, heads=2))
    trainer.config = {"train": {"fixed_mask_fraction": fraction}}
    keep = trainer.training_keep(400)
    assert keep.shape == (400, trainer.model.config.num_tokens)
    assert torch.equal(keep.sort(dim=1).values, keep)  # sorted positions, as sample_keep gives
    fixed = (keep == trainer.model.inference_keep[None, :]).all(dim=1).float().mean().item()
    assert fixed == pytest.approx(fraction, abs=0.1)
    trainer.model = ViTJSCC(JSCCConfig(dim=16, encoder_depth=1, decoder_dim=16, decoder_depth=1, heads=2))
    assert trainer.training_keep(8) is None  # the analog baseline encodes every patch


@pytest.mark.parametrize("path", sorted(glob.glob("models/configs/**/*.yaml", recursive=True)))
def test_every_shipped_config_is_valid_and_builds_its_model(path):
    from semcomm.train.trainer import build_model

    config = train_config.load(path)
    assert os.path.basename(path) == f"{config['name']}.yaml"
    assert build_model(config, (1, 28, 28), 10) is not None


def _write_config(directory, name: str, text: str) -> str:
    path = directory / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def _write_base(directory) -> str:
    """The shipped config as ``base.yaml`` in ``directory``."""
    shipped = open(SHIPPED).read()
    return _write_config(directory, "base", shipped.replace("name: masked_vqvae_fim_at\n", "name: base\n"))


def test_a_config_extends_a_base_mappings_merge_other_values_replace(tmp_path):
    _write_base(tmp_path)
    child = _write_config(tmp_path, "child", "extends: base\nname: child\ntrain:\n  epochs: 2\n"
                                              "link:\n  snr_db: [0, 5]\n")
    grandchild = _write_config(tmp_path, "grandchild", "extends: child\nname: grandchild\n"
                                                        "adversarial:\n  clean_weight: 0.7\n")
    expected = train_config.load(SHIPPED)
    expected["name"] = "grandchild"
    expected["train"]["epochs"] = 2
    expected["link"]["snr_db"] = [0, 5]  # a list replaces the base's as a whole
    expected["adversarial"]["clean_weight"] = 0.7
    assert train_config.load(grandchild) == expected
    assert train_config.load(child)["adversarial"]["clean_weight"] == train_config.load(SHIPPED)["adversarial"][
        "clean_weight"]
    init_from = expected["train"]["init_from"]  # inherited: the run to train first is the base's
    assert training_chain(grandchild, expected) == [str(tmp_path / f"{init_from}.yaml"), grandchild]


def test_a_config_in_a_subdirectory_finds_configs_one_level_up(tmp_path):
    _write_base(tmp_path)
    recon = train_config.load(SHIPPED)["train"]["init_from"]  # the run the base starts from
    _write_config(tmp_path, recon, open(f"models/configs/{recon}.yaml").read())
    (tmp_path / "experiments").mkdir()
    child = _write_config(tmp_path / "experiments", "child", "extends: base\nname: child\n")
    config = train_config.load(child)
    assert config["name"] == "child" and config["model"] == train_config.load(SHIPPED)["model"]
    assert training_chain(child, config) == [str(tmp_path / f"{recon}.yaml"), child]


@pytest.mark.parametrize("files, message", [
    ({"child": "extends: base\ntrain:\n  epochs: 2\n"}, "extends base and must set its own name"),
    ({"child": "extends: absent\nname: child\n"}, "extends absent, but there is no .*absent.yaml"),
    ({"child": "extends: ../base\nname: child\n"}, "extends must name a config .*, got '../base'"),
    ({"child": "extends: other\nname: child\n", "other": "extends: child\nname: other\n"},
     r"extends child, a cycle \(child.yaml -> other.yaml -> child.yaml\)"),
])
def test_a_broken_extends_is_an_error_naming_the_file(tmp_path, files, message):
    for name, text in files.items():
        _write_config(tmp_path, name, text)
    with pytest.raises(ConfigError, match=message):
        train_config.load(str(tmp_path / "child.yaml"))


def test_an_extended_base_is_validated_with_its_overrides(tmp_path):
    _write_base(tmp_path)
    child = _write_config(tmp_path, "child", "extends: base\nname: child\nmodel:\n  codebook_size: 2048\n")
    with pytest.raises(ConfigError,  # the file named, the key of the resolved config
                       match=r"child\.yaml: invalid training config:\s+model/codebook_size: 2048 is greater than"):
        train_config.load(child)
