"""Fine-tuning from a pre-trained run (paper Sec. IV: the masked VQ-VAE is pre-trained, e.g. for
reconstruction; for a downstream task the last layer is changed and the pre-trained model fine-tuned).

``train.init_from: <run name>`` starts a training from ``<run_dir>/<run name>/checkpoint.pt`` (the run of the
config ``<configs dir>/<run name>.yaml``): every state tensor of its deployed weights (the weight average
where that run kept one, :func:`semcomm.train.ema.deployed_weights`) whose name and shape match is copied into
the new model, the others keep their fresh initialisation. Only the task head (``head.*``, whose output size
differs between reconstruction and classification), the feature importance modules (``fims.*``, which a
reconstruction model has none of) and the codebook (``codebook.*``, whose vectors change shape with
``code_groups``: all of it then stays fresh, its codes restart on the first batch's encoder outputs, so a
fine-tuning re-quantises the pre-trained encoder) may stay fresh. The masking state (the model's
``masking_state`` buffers: ``keep_logits``, ``inference_keep``) always follows the fine-tuning config
(``masking``, ``keep_layout``), never the pre-training's. Any other tensor that does not load means the
pre-training run has another architecture, an error naming the tensor. Optimiser, schedule and epoch start
afresh. Two digests are recorded (metrics.json, then the model card): the sha256 of the checkpoint file,
which names the exact file, and :func:`weights_fingerprint` of its weights alone (the model id's digest with
an empty config), which a re-run of the pre-training reproduces when it yields the same weights (the file
also holds the training history with its wall times, so its own digest never repeats).
"""
from __future__ import annotations

import os

import torch
from torch import nn

from ..config import find_config
from ..export.contract import sha256_file
from ..export.model_id import state_fingerprint
from .config import load as load_config
from .ema import deployed_weights

#: state-dict prefixes that may differ between the pre-training model and the fine-tuned one
CODEBOOK_PREFIX = "codebook."
FRESH_PREFIXES = ("head.", "fims.", CODEBOOK_PREFIX)


class PretrainedError(ValueError):
    pass


def checkpoint_of(run_dir: str, run_name: str) -> str:
    return os.path.join(run_dir, run_name, "checkpoint.pt")


def prerequisite_runs(config: dict) -> list[str]:
    """Run names whose checkpoints a training of ``config`` reads: ``train.init_from`` (weights to start
    from), then ``train.distill_from`` (a teacher, :mod:`semcomm.train.distill`)."""
    return [name for name in (config["train"]["init_from"], config["train"]["distill_from"]) if name]


def training_chain(config_path: str, config: dict) -> list[str]:
    """Configs to train, in order, to reproduce ``config_path``: the runs it reads (:func:`prerequisite_runs`,
    each config found by :func:`semcomm.config.find_config` from the one that names it) come first, each
    preceded by its own, followed back as far as the configs exist; a config appears once."""
    chain: list[str] = []

    def visit(path: str, run_config: dict | None, path_here: tuple[str, ...]) -> None:
        for name in prerequisite_runs(run_config) if run_config else ():
            needed = find_config(path, name)
            if needed in path_here:
                raise ValueError(f"the runs read by {config_path} lead back to {needed}: a cycle")
            if needed not in chain:
                visit(needed, load_config(needed) if os.path.exists(needed) else None, path_here + (needed,))
        chain.append(path)

    visit(config_path, config, (config_path,))
    return chain


def weights_fingerprint(state: dict) -> str:
    """:func:`semcomm.export.model_id.state_fingerprint` of ``state`` alone (no config): names, dtypes,
    shapes and bytes of its tensors."""
    return state_fingerprint(state, {})


def load_pretrained(model: nn.Module, path: str) -> dict:
    """Copy the matching tensors of the checkpoint at ``path`` into ``model`` (module doc); returns what was
    done: ``checkpoint`` (path), ``sha256`` (of the file), ``weights_sha256`` (:func:`weights_fingerprint` of
    its weights), ``epochs`` of the pre-training, ``loaded`` (count),
    ``fresh`` and ``from_config`` (tensor names)."""
    if not os.path.isfile(path):
        raise PretrainedError(f"no pre-training checkpoint {path}: train the init_from run first")
    state = torch.load(path, map_location="cpu", weights_only=True)
    source = deployed_weights(state)
    loaded, fresh, from_config = {}, [], []
    masking_state = getattr(model, "masking_state", ())
    for key, tensor in model.state_dict().items():
        value = source.get(key)
        if key in masking_state:
            from_config.append(key)
        elif value is not None and value.shape == tensor.shape:
            loaded[key] = value
        elif key.startswith(FRESH_PREFIXES):
            fresh.append(key)
        else:
            found = "absent" if value is None else f"shape {tuple(value.shape)}, this model {tuple(tensor.shape)}"
            raise PretrainedError(f"pre-training checkpoint {path} does not fit this model: {key} is {found}")
    if any(key.startswith(CODEBOOK_PREFIX) for key in fresh):  # a codebook starts fresh as a whole
        loaded = {key: value for key, value in loaded.items() if not key.startswith(CODEBOOK_PREFIX)}
        fresh = [key for key in model.state_dict() if key not in loaded and key not in from_config]
    model.load_state_dict(loaded, strict=False)
    return {"checkpoint": path, "sha256": sha256_file(path), "weights_sha256": weights_fingerprint(source),
            "epochs": state.get("epoch"), "loaded": len(loaded),
            "fresh": fresh, "from_config": from_config}
