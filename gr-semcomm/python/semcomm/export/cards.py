"""Writing model cards (``<name>.card.json``) and the argument checks every exporter makes before it writes
anything; the surrogate's weights card (:mod:`semcomm.export.surrogate`) shares them. Reading a card is
:func:`semcomm.export.contract.load_card`.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Mapping

from .contract import sha256_file
from ..util import write_atomic
from .graphs import EXPORTER, OPSET, created_with

CARD_FORMAT = "semcomm.card/1"
#: card fields computed here; card_extra may add other keys (metrics, reproduce, training, data, ...)
CARD_RESERVED = ("format", "name", "scheme", "task", "model_id", "dataset", "classes", "config", "metadata",
                 "interface", "files", "onnx", "created_with")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_model_name(name: str) -> None:
    if not MODEL_NAME.match(name):
        raise ValueError(f"model name {name!r} must match {MODEL_NAME.pattern} (it becomes a file name prefix)")


def check_card_extra(card_extra) -> dict:
    """A copy of ``card_extra``; refused when it sets a field the exporter computes (:data:`CARD_RESERVED`)."""
    extra = dict(card_extra or {})
    clash = sorted(set(extra) & set(CARD_RESERVED))
    if clash:
        raise ValueError(f"card_extra may not set {clash}: they are computed by the exporter")
    return extra


def check_export_arguments(cfg, name: str, classes, card_extra, example_batch: int) -> None:
    """Refuse bad export arguments before anything is written (shared by all exporters)."""
    check_card_extra(card_extra)
    check_model_name(name)
    if example_batch < 2:
        raise ValueError("example_batch must be >= 2 so that the batch axis is traced as dynamic")
    if cfg.task == "classification":
        if classes is None:
            raise ValueError("classification model: pass classes=[...] (the class names)")
        if len(classes) != cfg.num_classes:
            raise ValueError(f"{len(classes)} class names given, the model has {cfg.num_classes} classes")


def file_entry(path) -> dict:
    """A card's ``files.<role>`` entry: file name, sha256 and size."""
    return {"file": Path(path).name, "sha256": sha256_file(path), "bytes": Path(path).stat().st_size}


def write_json(path, data: dict) -> None:
    write_atomic(Path(path), (json.dumps(data, indent=2) + "\n").encode())


def write_card(path, *, name: str, scheme: str, task: str, model_id: str, dataset: str, classes, config: dict,
               metadata: Mapping[str, str], files: Mapping[str, str], interface: dict | None = None,
               card_extra: Mapping | None = None, opset: int = OPSET) -> dict:
    """Write ``<name>.card.json``: identity, config, contract metadata, file sha256s, metrics and the
    reproduce command (``card_extra["metrics"]`` / ``card_extra["reproduce"]``), ONNX opset, versions.
    Other ``card_extra`` keys (e.g. ``training``, ``data``) are copied; reserved keys are refused."""
    extra = check_card_extra(card_extra)
    card = {
        "format": CARD_FORMAT, "name": name, "scheme": scheme, "task": task, "model_id": model_id,
        "dataset": dataset, "classes": list(classes) if classes is not None else None, "config": config,
        "metadata": dict(sorted(metadata.items())),
        "files": {role: file_entry(p) for role, p in files.items()},
        "interface": interface or {},
        "metrics": extra.pop("metrics", {}),
        "reproduce": extra.pop("reproduce", None),
        "onnx": {"opset": opset, "exporter": EXPORTER, "external_data": False},
        "created_with": created_with(),
    }
    card.update(extra)
    write_json(path, card)
    return card
