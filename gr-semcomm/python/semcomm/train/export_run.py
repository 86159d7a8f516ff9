"""Export a finished training run: its weights, built into the model of the config the run trained with (its
record, :mod:`semcomm.export.run_record`), go through the scheme's exporter (:mod:`semcomm.registry`) with a card
holding the run's metrics, training record and reproduce line, and the files are checked against the model."""
from __future__ import annotations

import os

import torch

from ..config import ConfigError
from ..data import load_dataset
from ..export.run_record import RECORD_FILE, RunRecordError, load_run_record, training_entry
from ..registry import check_model_parity, export_model
from . import config as train_config
from .ema import deployed_weights
from .reproduce import reproduce_command
from .trainer import build_model

#: test images the parity check compares the exported files with the model on
PARITY_IMAGES = 64


def export_run(config_path: str, runs_dir: str, out_dir: str) -> tuple[dict, dict, str]:
    """Export the run of the config at ``config_path`` (its checkpoint and record in ``runs_dir/<name>/``) to
    ``out_dir``. Returns the exporter's paths, the parity check and its one-line summary. A run without a
    checkpoint or record, or whose recorded config this version no longer accepts, is refused (ValueError)."""
    run_dir = os.path.join(runs_dir, train_config.load(config_path)["name"])
    checkpoint = os.path.join(run_dir, "checkpoint.pt")
    if not os.path.exists(checkpoint):
        raise ValueError(f"no checkpoint at {checkpoint}; train first: semcomm train {config_path}")
    trained = load_run_record(run_dir)
    config = _recorded_config(trained, os.path.join(run_dir, RECORD_FILE))
    test_set = load_dataset(config["data"]["dataset"], "test", root=config["data"]["root"])
    model = build_model(config, test_set.image_shape, len(test_set.classes))
    model.load_state_dict(deployed_weights(torch.load(checkpoint, map_location="cpu", weights_only=True)))
    metrics = trained.get("metrics", {})
    card_extra = {"metrics": metrics, "training": training_entry(trained),
                  "reproduce": reproduce_command(config_path, config, metrics)}
    paths = export_model(model, out_dir, config["name"], dataset=config["data"]["dataset"], scheme=config["scheme"],
                         classes=list(test_set.classes), card_extra=card_extra)
    images = torch.from_numpy(test_set.float_images()[:PARITY_IMAGES])
    parity, summary = check_model_parity(model, paths, images, snr_db=12.0)
    return paths, parity, summary


def _recorded_config(record: dict, path: str) -> dict:
    """The config the run trained with (not the YAML as it is now), checked against this version's schema."""
    try:
        train_config.validate(record["config"])
    except ConfigError as err:
        raise RunRecordError(f"{path}: the config the run trained with is not valid in this version of semcomm "
                             f"(a run recorded before a config field changed?): {err}") from None
    return record["config"]
