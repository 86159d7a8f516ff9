import pytest

from semcomm.train import config as train_config

SHIPPED = "models/configs/masked_vqvae_fim_at.yaml"


def test_shipped_config_is_valid_and_complete():
    config = train_config.load(SHIPPED)
    assert config["adversarial"]["enabled"] and config["model"]["fim_layers"]
    assert config["link"]["snr_db"] == [4, 12]


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["train"].update(epochs=0), "train/epochs: 0 is less than the minimum of 1"),
    (lambda c: c["model"].update(codebook_size=2048), "model/codebook_size: 2048 is greater than the maximum"),
    (lambda c: c["link"].update(modulation="8psk"), "link/modulation: '8psk' is not one of"),
    (lambda c: c["model"].update(depth=3), "Additional properties are not allowed ('depth'"),
    (lambda c: c["link"].update(snr_db=[12, -3]), "link/snr_db: low end 12 is above high end -3"),
])
def test_invalid_fields_are_reported_by_path(mutate, message):
    config = train_config.load(SHIPPED)
    mutate(config)
    with pytest.raises(train_config.ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        train_config.validate(config)


def test_unreadable_config(tmp_path):
    with pytest.raises(train_config.ConfigError, match="cannot read"):
        train_config.load(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(train_config.ConfigError, match="not valid YAML"):
        train_config.load(str(bad))
