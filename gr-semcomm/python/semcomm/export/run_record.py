"""The record a training run leaves: ``<run_dir>/<name>/metrics.json``, written by ``semcomm train`` when the run
ends, with the resolved config the run trained with (``extends`` applied, defaults filled in, command-line
overrides such as ``--epochs`` included), its per-epoch history, its final metrics and the runs it read
(``pretrained``, ``teacher``).

``semcomm export`` builds the model and the card from this record, not from the YAML as it is at export
time: a card's ``training.config`` is the config that produced its weights (adversarial eps, alpha and
steps, clean weight, AWP gamma, learning rate, epochs, seed, data split), even when the YAML was edited
after the training. A run without a record (an interrupted training, or one recorded before the config was)
is refused.

Needs only the standard library.
"""
from __future__ import annotations

import json
import os

RECORD_FILE = "metrics.json"


class RunRecordError(ValueError):
    pass


def load_run_record(run_dir: str) -> dict:
    """The record of the run in ``run_dir`` (module doc); :class:`RunRecordError` when there is none or it
    holds no config."""
    path = os.path.join(run_dir, RECORD_FILE)
    if not os.path.isfile(path):
        raise RunRecordError(f"no training record {path}: `semcomm train` writes it, with the config the run "
                             "trained with, when the run ends; the card's training config comes from it, so "
                             "finish the training first")
    with open(path, encoding="utf-8") as handle:
        record = json.load(handle)
    if not isinstance(record.get("config"), dict):
        raise RunRecordError(f"{path} holds no 'config': it does not say which config the run trained with, "
                             "so its weights cannot be exported with their training config; train the run again")
    return record


def training_entry(record: dict) -> dict:
    """The card's ``training`` entry: ``config`` (the run's resolved config), ``history``, and the pre-training
    (``init_from``) and teacher (``teacher``) records when the config reads them."""
    config = record["config"]
    training = {"config": config, "history": record.get("history", [])}
    if config["train"].get("init_from"):
        training["init_from"] = record.get("pretrained")
    if config["train"].get("distill_from"):
        training["teacher"] = record.get("teacher")
    return training
