"""Decoder adaptation on captures (``semcomm adapt``): fine-tune a digital codec's decoder on what the receiver
saw in SigMF recordings (:mod:`semcomm.capture.dataset`), keeping the encoder and codebook fixed so that deployed
transmitters stay valid, and export the result next to them.

* The PyTorch codec is recovered from the shipped ONNX files (:func:`semcomm.export.recover.recover_weights`).
* Only the decoder's parameters train (:data:`DECODER_PARTS`); cross-entropy on the received indices with the
  receiver's SNR estimate, AdamW; the frames of the training recordings are split (seeded) into training and a
  validation part that picks the epoch (epoch 0: the base decoder, so adaptation never ships a worse decoder on
  the validation frames). Held-out recordings (``eval_captures``) give the before/after figures, each on its own
  (e.g. one under the conditions trained for and a clean one: what the adaptation costs elsewhere).
* Export: ``<out>.encoder.onnx`` is the base encoder byte for byte; ``<out>.decoder.onnx`` the adapted decoder,
  whose ``semcomm.model_id`` stays the base's (the id names the index space frames carry: a receiver loaded with
  the adapted model accepts the deployed transmitters' frames); the card adds ``adaptation``: the base model, the
  recordings (path, sha512, frames) it learned from, the split, the recipe, the accuracies before and after, and
  ``decoder_id``, the model id of the adapted weights (config + state dict, as for any export).
"""
from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..capture.dataset import CapturedFrames, captured_frames

#: the parameters of a masked VQ-VAE that decode (the encoder, patch embedding, ``to_code`` and codebook stay)
DECODER_PARTS = ("from_code", "mask_token", "decoder", "fims", "decoder_norm", "head")


def correct(model, frames: CapturedFrames, batch: int = 256) -> np.ndarray:
    """Per frame: whether ``model.decode`` gives the true label (bool ``[N]``)."""
    model.eval()
    hits = []
    with torch.no_grad():
        for first in range(0, len(frames), batch):
            rows = slice(first, first + batch)
            logits = model.decode(torch.from_numpy(frames.indices[rows]), torch.from_numpy(frames.snr_db[rows]))
            hits.append(logits.argmax(1).numpy() == frames.labels[rows])
    return np.concatenate(hits) if hits else np.zeros(0, bool)


def accuracy(model, frames: CapturedFrames) -> float | None:
    """Top-1 accuracy of ``model.decode`` on ``frames`` (None: no frames)."""
    return float(correct(model, frames).mean()) if len(frames) else None


def paired_difference(after: np.ndarray, before: np.ndarray) -> dict:
    """Accuracy after minus before on the same frames, with the standard error of the paired difference."""
    difference = after.astype(float) - before.astype(float)
    return {"difference": float(difference.mean()),
            "difference_se": float(difference.std(ddof=1) / np.sqrt(difference.size))}


def _trainable(model) -> list:
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.split(".")[0] in DECODER_PARTS)
    params = [parameter for parameter in model.parameters() if parameter.requires_grad]
    if not params:
        raise ValueError(f"{type(model).__name__} has no decoder parts to adapt ({', '.join(DECODER_PARTS)})")
    return params


def fine_tune(model, train: CapturedFrames, val: CapturedFrames, epochs: int, lr: float, batch: int,
              seed: int, progress=None) -> list[dict]:
    """Train the decoder parts of ``model`` in place; keeps the state of the best validation epoch (0: as
    given). Returns the per-epoch history."""
    params = _trainable(model)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    generator = np.random.default_rng(seed)
    torch.manual_seed(seed)
    best_state, best = copy.deepcopy(model.state_dict()), accuracy(model, val)
    history = [{"epoch": 0, "val_accuracy": best}]
    for epoch in range(1, epochs + 1):
        model.train()
        order, losses = generator.permutation(len(train)), []
        for first in range(0, len(order), batch):
            rows = order[first:first + batch]
            logits = model.decode(torch.from_numpy(train.indices[rows]), torch.from_numpy(train.snr_db[rows]))
            loss = F.cross_entropy(logits, torch.from_numpy(train.labels[rows]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        score = accuracy(model, val)
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "val_accuracy": score})
        if progress:
            progress(history[-1])
        if score is not None and score > best:
            best, best_state = score, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return history


def split(frames: CapturedFrames, val_fraction: float, seed: int) -> tuple[CapturedFrames, CapturedFrames]:
    order = np.random.default_rng(seed).permutation(len(frames))
    cut = int(round(len(frames) * (1 - val_fraction)))
    return frames.subset(np.sort(order[:cut])), frames.subset(np.sort(order[cut:]))


def adapt(model_prefix: str, captures: list[str], out_prefix: str, eval_captures: list[str] = (), epochs: int = 10,
          lr: float = 1e-4, batch: int = 64, val_fraction: float = 0.2, seed: int = 0, progress=None,
          command: str = "") -> dict:
    """The whole adaptation (module doc); returns the card's ``adaptation`` section."""
    from ..eval.schemes import card_model
    from ..export.contract import load_card
    from ..export.recover import recover_weights

    card = load_card(f"{model_prefix}.card.json")
    model = recover_weights(card_model(card), card, model_prefix)
    frames = captured_frames(captures, model_prefix)
    if len(frames) < 10:
        raise ValueError(f"only {len(frames)} decodable annotated frames in {', '.join(captures)}: too few to adapt on")
    train, val = split(frames, val_fraction, seed)
    held_out = {path: captured_frames([path], model_prefix) for path in eval_captures}
    before_hits = {path: correct(model, frames) for path, frames in held_out.items()}
    before = {"val": accuracy(model, val), **{path: float(hits.mean()) for path, hits in before_hits.items()}}
    history = fine_tune(model, train, val, epochs, lr, batch, seed, progress)
    after_hits = {path: correct(model, frames) for path, frames in held_out.items()}
    after = {"val": accuracy(model, val), **{path: float(hits.mean()) for path, hits in after_hits.items()}}
    differences = {path: paired_difference(after_hits[path], before_hits[path]) for path in held_out}
    section = {"base": model_prefix, "base_model_id": card["model_id"], "recordings": frames.recordings,
               "eval_recordings": [frames.recordings[0] for frames in held_out.values()], "frames_train": len(train),
               "frames_val": len(val), "frames_eval": {path: len(frames) for path, frames in held_out.items()},
               "recipe": {"epochs": epochs, "lr": lr, "batch": batch, "val_fraction": val_fraction, "seed": seed,
                          "optimizer": "AdamW (weight decay 0.01)", "trained": list(DECODER_PARTS)},
               "best_epoch": max(history, key=lambda h: (h["val_accuracy"] or 0, -h["epoch"]))["epoch"],
               "history": history, "accuracy_before": before, "accuracy_after": after, "eval_differences": differences}
    export_adapted(model, card, model_prefix, out_prefix, section, command)
    return section


def export_adapted(model, card: dict, base_prefix: str, out_prefix: str, section: dict, command: str) -> None:
    """Write ``<out>.{encoder,decoder}.onnx`` and ``<out>.card.json`` (module doc)."""
    import onnx

    from ..export.contract import KEY_MODEL_ID, codec_paths, sha256_file
    from ..registry import export_model

    out = Path(out_prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    base, paths = codec_paths(base_prefix), codec_paths(str(out))
    with tempfile.TemporaryDirectory(prefix="semcomm-adapt-") as tmp:
        exported = export_model(model.eval(), tmp, "adapted", dataset=card["dataset"], scheme=card["scheme"],
                                classes=card.get("classes"), verify=False)
        decoder = onnx.load(exported["decoder"])
        decoder_id = exported["model_id"]
        for prop in decoder.metadata_props:
            if prop.key == KEY_MODEL_ID:
                prop.value = card["model_id"]
        onnx.save(decoder, paths["decoder"])
    shutil.copyfile(base["encoder"], paths["encoder"])
    adapted = {**card, "name": out.name, "files": {role: {"file": Path(paths[role]).name, "sha256": sha256_file(paths[role]),
                                                          "bytes": Path(paths[role]).stat().st_size}
                                                   for role in ("encoder", "decoder")},
               "adaptation": {**section, "decoder_id": decoder_id},
               "reproduce": command or card.get("reproduce")}
    Path(paths["card"]).write_text(json.dumps(adapted, indent=1))
