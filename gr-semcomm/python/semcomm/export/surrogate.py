"""Files of the black-box attack surrogate (:class:`semcomm.nn.resnet.ResNetClassifier`, Hu et al. Table III).

The surrogate is never deployed on a link: it only crafts transfer semantic noise, which needs its
gradients. So it ships as PyTorch weights, not ONNX, in ``<models_dir>/surrogates/``:

* ``<name>.pt``: ``{"model": state_dict}``, loaded with ``weights_only=True``;
* ``<name>.card.json``: ``format`` (:data:`SURROGATE_CARD_FORMAT`), ``name``, ``scheme``, ``task``, ``dataset``,
  ``classes``, ``config`` (:meth:`ResNetConfig.to_dict`), ``model_id`` (:func:`surrogate_model_id`: config +
  the whole state dict the ``.pt`` file holds, BatchNorm counters included), ``files.weights`` (file, sha256, bytes), ``metrics``,
  ``training``, ``reproduce`` and ``created_with``.

:func:`load_surrogate` refuses a card whose keys are missing, whose weights file is absent or has another
sha256, or whose weights give another model id, naming which.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
from torch import nn

from ..nn.resnet import ResNetClassifier, ResNetConfig
from ..registry import schemes_of
from .cards import check_export_arguments, file_entry, write_json
from .contract import sha256_file
from ..util import write_atomic
from .graphs import created_with
from .model_id import state_fingerprint

SURROGATES_DIR = "surrogates"
SURROGATE_CARD_FORMAT = "semcomm-surrogate-card/1"
CARD_KEYS = ("format", "name", "scheme", "task", "dataset", "classes", "config", "model_id", "files")


class SurrogateError(ValueError):
    pass


def surrogate_model_id(model: ResNetClassifier) -> str:
    """``model_id`` of a surrogate: :func:`state_fingerprint` of its config and whole state dict (the ``.pt`` file
    ships all of it, unlike an ONNX codec's id, which leaves out BatchNorm's training counters)."""
    return state_fingerprint(model.state_dict(), model.config.to_dict())


def surrogate_paths(out_dir, name: str) -> dict:
    directory = Path(out_dir) / SURROGATES_DIR
    return {"weights": str(directory / f"{name}.pt"), "card": str(directory / f"{name}.card.json")}


def export_surrogate(model: ResNetClassifier, out_dir, name: str, *, dataset: str, scheme: str, classes,
                     card_extra: Mapping | None = None, verify: bool = True) -> dict:
    """Write ``out_dir/surrogates/<name>.pt`` and ``<name>.card.json`` (module doc); ``card_extra`` holds
    ``metrics``, ``training``, ``reproduce``. ``verify`` loads the result back. Returns ``{"weights", "card",
    "model_id"}``."""
    if scheme not in schemes_of("surrogate"):
        raise ValueError(f"scheme must be one of {', '.join(schemes_of('surrogate'))} for a surrogate, got {scheme!r}")
    check_export_arguments(model.config, name, classes, card_extra, example_batch=2)
    paths = surrogate_paths(out_dir, name)
    Path(paths["weights"]).parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save({"model": {key: value.cpu() for key, value in model.state_dict().items()}}, buffer)
    write_atomic(Path(paths["weights"]), buffer.getvalue())
    model_id = surrogate_model_id(model)
    extra = dict(card_extra or {})
    card = {"format": SURROGATE_CARD_FORMAT, "name": name, "scheme": scheme, "task": "classification",
            "dataset": dataset, "classes": list(classes), "config": model.config.to_dict(), "model_id": model_id,
            "files": {"weights": file_entry(paths["weights"])},
            "metrics": extra.pop("metrics", {}), "reproduce": extra.pop("reproduce", None),
            **extra, "created_with": created_with()}
    write_json(paths["card"], card)
    if verify:
        load_surrogate(paths["card"])
    return {**paths, "model_id": model_id}


def load_surrogate(card_path) -> tuple[ResNetClassifier, dict]:
    """``(model in eval mode, card)`` from a surrogate card and the weights file next to it (module doc)."""
    card_path = Path(card_path)
    try:
        card = json.loads(card_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise SurrogateError(f"cannot read surrogate card {card_path}: {err}") from err
    absent = [key for key in CARD_KEYS if key not in card]
    if absent or card["format"] != SURROGATE_CARD_FORMAT:
        raise SurrogateError(f"{card_path} is not a surrogate card ({SURROGATE_CARD_FORMAT}): "
                             + (f"missing {', '.join(absent)}" if absent else f"format {card['format']!r}"))
    entry = card["files"].get("weights", {})
    weights = card_path.parent / str(entry.get("file"))
    if not weights.is_file():
        raise SurrogateError(f"{card_path}: weights file {weights} is absent")
    if sha256_file(weights) != entry.get("sha256"):
        raise SurrogateError(f"{card_path}: sha256 of {weights} differs from the card's files.weights.sha256")
    try:
        model = ResNetClassifier(ResNetConfig(**card["config"]))
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True)["model"])
    except (KeyError, RuntimeError, TypeError, ValueError) as err:  # another architecture or config
        raise SurrogateError(f"{card_path}: {weights.name} does not fit the card's config "
                             f"({str(err).splitlines()[0]})") from err
    if surrogate_model_id(model) != card["model_id"]:
        raise SurrogateError(f"{card_path}: the weights in {weights.name} give another model_id than the card's")
    return model.eval(), card


def check_surrogate_parity(model: nn.Module, paths: Mapping, images) -> dict:
    """Max abs difference of the logits of the written surrogate and ``model`` on ``images`` (0 expected)."""
    loaded, card = load_surrogate(paths["card"])
    images = torch.as_tensor(np.asarray(images, dtype=np.float32))
    device = next(model.parameters()).device
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model.logits(images.to(device)).cpu()
            reloaded = loaded.logits(images)
    finally:
        model.train(training)
    diff = float((reloaded - logits).abs().max()) if len(images) else 0.0
    return {"batch": len(images), "model_id": card["model_id"], "decoder_max_abs_diff": diff, "ok": diff == 0.0}


__all__ = ["SURROGATES_DIR", "SurrogateError", "check_surrogate_parity", "export_surrogate", "load_surrogate",
           "surrogate_paths"]
