"""``semcomm eval probe``: how much class information a digital codec's transmitted indices carry, measured
independently of the codec's own receiver.

The shipped ONNX encoder encodes the training and test images once (no channel: the indices as sent, which is
what the receiver gets at 12 dB, where the shortened LDPC code is error-free). A fresh receiver, the *probe*,
is then trained on the fixed indices of the training images and scored on those of the test images:

* ``linear``: ``logits = b + sum_t W_t[i_t]``, one weight vector per (position t, index value i_t): a linear
  classifier on the one-hot indices, the classic linear probe;
* ``transformer``: each index looked up in a learned embedding of its own (the codec's codebook is not used,
  so the probe sees only the indices, as a receiver does), plus a learned embedding per position, then
  ``depth`` pre-norm Transformer blocks, mean pooling and a linear head.

``linear`` is the default: on the shipped models it generalises better (``masked_vqvae_fim_at``, 15 epochs,
all 60 000 / 10 000 images: linear 88.14 % test at 93.7 % training accuracy, transformer 87.31 % at 94.7 %).

Compare the probe's test accuracy with the card's clean accuracy. A probe well above the card means the
codec's receiver wastes information the indices hold; a probe no better than the card (and a training
accuracy not far above it) means the indices themselves, i.e. the encoder, limit the accuracy. Shapes:
indices ``[N, T]`` int64 with ``0 <= i_t < J_t`` (the alphabet of position ``t``), labels ``[N]``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from ..nn.vit import Block
from ..phy.bits import IndexBitMapper
from .settings import PROBES


def position_alphabets(alphabet, num_tokens: int) -> list[int]:
    """Alphabet size ``J_t`` of each of the ``T`` positions from ``semcomm.alphabet`` (J or segments), as the
    index-to-bit mapping (:class:`semcomm.phy.bits.IndexBitMapper`) reads and checks it."""
    if isinstance(alphabet, str) and not alphabet.strip().isdigit():
        raise ValueError(f"a probe needs a digital codec (integer indices); this one's alphabet is {alphabet!r}")
    segments = IndexBitMapper(alphabet, num_indices=num_tokens).segments
    return [segment.alphabet for segment in segments for _ in range(segment.count)]


class LinearProbe(nn.Module):
    """``logits = b + sum_t W_t[i_t]``: one weight vector per (position, index value)."""

    def __init__(self, alphabets: list[int], num_classes: int):
        super().__init__()
        offsets = np.concatenate([[0], np.cumsum(alphabets)[:-1]])
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long))
        self.weights = nn.Embedding(int(sum(alphabets)), num_classes)
        nn.init.zeros_(self.weights.weight)
        self.bias = nn.Parameter(torch.zeros(num_classes))

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        return self.weights(indices + self.offsets).sum(dim=1) + self.bias


class TransformerProbe(nn.Module):
    """Index embedding + position embedding -> ``depth`` Transformer blocks -> mean -> linear."""

    def __init__(self, alphabets: list[int], num_classes: int, dim: int = 64, depth: int = 2, heads: int = 4):
        super().__init__()
        self.embed = nn.Embedding(max(alphabets), dim)
        self.position = nn.Parameter(torch.randn(len(alphabets), dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        tokens = self.embed(indices) + self.position
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(self.norm(tokens).mean(dim=1))


def build_probe(kind: str, alphabets: list[int], num_classes: int) -> nn.Module:
    if kind not in PROBES:
        raise ValueError(f"unknown probe {kind!r}; allowed: {', '.join(PROBES)}")
    return LinearProbe(alphabets, num_classes) if kind == "linear" else TransformerProbe(alphabets, num_classes)


def encode_images(codec, images: np.ndarray, batch_size: int = 500, desc: str = "encode") -> np.ndarray:
    """Indices ``[N, T]`` of uint8 images ``[N, C, H, W]`` through the codec's ONNX encoder."""
    from ..data.dataset import to_unit_float

    chunks = [codec.encode(to_unit_float(images[start:start + batch_size]))
              for start in tqdm(range(0, len(images), batch_size), desc=desc, leave=False, file=sys.stderr)]
    return np.concatenate(chunks).astype(np.int64)


def accuracy(probe: nn.Module, indices: torch.Tensor, labels: torch.Tensor, batch_size: int = 2000) -> float:
    probe.eval()
    with torch.no_grad():
        hits = sum(int((probe(indices[s:s + batch_size]).argmax(1) == labels[s:s + batch_size]).sum())
                   for s in range(0, len(indices), batch_size))
    return hits / len(indices)


def train_probe(probe: nn.Module, train: tuple, test: tuple, *, epochs: int, lr: float = 2e-3,
                batch_size: int = 128, seed: int = 0) -> list[dict]:
    """AdamW (weight decay 0.05) on a one-cycle schedule; ``train``/``test`` are (indices, labels) tensors.
    Returns one row per epoch: mean training loss, accuracy on (up to 10 000) training and on the test
    indices."""
    generator = torch.Generator().manual_seed(seed)
    indices, labels = train
    steps_per_epoch = max(1, len(indices) // batch_size)
    optimiser = torch.optim.AdamW(probe.parameters(), lr=lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, lr, total_steps=epochs * steps_per_epoch,
                                                   pct_start=0.1)
    history = []
    for epoch in tqdm(range(1, epochs + 1), desc="probe", leave=False, file=sys.stderr):
        probe.train()
        order = torch.randperm(len(indices), generator=generator)
        losses = []
        for step in range(steps_per_epoch):
            batch = order[step * batch_size:(step + 1) * batch_size]
            loss = F.cross_entropy(probe(indices[batch]), labels[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
        history.append({"epoch": epoch, "train_loss": float(np.mean(losses)),
                        "train_accuracy": accuracy(probe, indices[:10000], labels[:10000]),
                        "test_accuracy": accuracy(probe, *test)})
    return history


def run_probe(model_prefix, kind: str = "linear", *, epochs: int = 15, train_images: int | None = None,
              test_images: int | None = None, seed: int = 0, data_root=None) -> dict:
    """Encode the card's dataset with ``<model_prefix>`` (ONNX), train the probe, return the result dict."""
    from ..data.registry import load_dataset
    from ..export.runtime import SemanticCodec

    codec = SemanticCodec.from_prefix(model_prefix, card=True)
    alphabets = position_alphabets(codec.alphabet, codec.num_tokens)
    dataset = codec.card["dataset"]
    splits = {}
    for split, count in (("train", train_images), ("test", test_images)):
        data = load_dataset(dataset, split, root=data_root)
        chosen = slice(0, count)
        splits[split] = (torch.from_numpy(encode_images(codec, data.images[chosen], desc=f"encode {split}")),
                         torch.from_numpy(data.labels[chosen].astype(np.int64)))
    torch.manual_seed(seed)
    probe = build_probe(kind, alphabets, len(codec.card["classes"]))
    history = train_probe(probe, splits["train"], splits["test"], epochs=epochs, seed=seed)
    clean = codec.card.get("metrics", {}).get("clean", {})
    return {"model": Path(model_prefix).name, "model_id": codec.model_id, "probe": kind, "dataset": dataset,
            "epochs": epochs, "seed": seed, "train_images": len(splits["train"][0]),
            "test_images": len(splits["test"][0]), "num_tokens": codec.num_tokens, "alphabet": codec.alphabet,
            "test_accuracy": history[-1]["test_accuracy"], "train_accuracy": history[-1]["train_accuracy"],
            "card_clean_accuracy": clean.get("accuracy"), "card_clean_images": clean.get("images"),
            "history": history}
