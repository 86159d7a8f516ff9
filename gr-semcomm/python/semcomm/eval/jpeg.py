"""Task accuracy of the JPEG + LDPC baselines through the digital chain, with or without semantic noise.

image -> JPEG -> frame (header, CRC-32, LDPC, QAM) -> channel at the SNR -> receiver -> decoded image
(:class:`semcomm.baselines.jpeg.JpegLink`; ``link=None``: no JPEG and no channel, the classifier sees
the original images) -> (semantic noise, optional) -> ViT classifier -> label.

Scoring: an image whose frame is lost (header rejected, payload CRC-32 failed) or whose JPEG does not
decode is a *decoder failure* and counts as misclassified (predicted label -1). ``decoder_failure_rate``
is their share, ``failures`` their reasons.

Semantic noise: added to the *received, decoded* image before the classifier, white-box PGD against the
classifier with the true labels (``K``, ``eps``, ``alpha`` and norm of eq. 7, as for the semantic
codecs in :mod:`semcomm.eval.accuracy`), on the images that were received. (The semantic codecs get
their noise at the transmitter input; for JPEG that would be partly removed by the compression, and
the receiver-side noise is the stronger, worst-case attack on this baseline.) ``perturbation`` adds a
given noise pattern there instead (transfer attacks, Table III).
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from .accuracy import white_box_attack


def classify_jpeg(model, images: torch.Tensor, labels: torch.Tensor, snr_db: float, link=None, rng=None,
                  attack: dict | None = None, perturbation: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
    """Predicted labels ``[N]`` (-1 for decoder failures) and ``{"failures": {reason: count}, "payload_bytes": [N]}``.

    ``images`` float32 ``[N, C, H, W]`` in ``[0, 1]``; ``perturbation`` ``[N, C, H, W]`` is added to the received
    images (then clipped to ``[0, 1]``); ``attack`` = dict(eps, alpha, steps[, norm]) runs white-box PGD on them."""
    if link is None:
        received, ok, stats = images, torch.ones(len(images), dtype=torch.bool), {"failures": {}, "payload_bytes": None}
    else:
        reception = link.transmit(images.numpy(), snr_db, rng if rng is not None else np.random.default_rng())
        received, ok = torch.from_numpy(reception.images), torch.from_numpy(reception.ok)
        stats = {"failures": reception.failures(), "payload_bytes": reception.payload_bytes}
    if perturbation is not None:
        received = (received + perturbation).clamp(0, 1)
    if attack and bool(ok.any()):
        received = received.clone()
        received[ok] = white_box_attack(model, received[ok], labels[ok], snr_db, **attack)
    with torch.no_grad():
        predicted = model.logits(received).argmax(dim=1)
    return torch.where(ok, predicted, torch.full_like(predicted, -1)), stats


def jpeg_accuracy(model, dataset, snr_db: float, link=None, attack: dict | None = None, batch_size: int = 500,
                  limit: int | None = None, seed: int = 0) -> dict:
    """Accuracy of a JPEG scheme on ``dataset`` (first ``limit`` images) at one SNR (module doc for the scoring).

    Returns the keys of :func:`semcomm.eval.accuracy.accuracy` (``index_error_rate`` None) plus
    ``decoder_failure_rate``, ``failures`` and ``mean_payload_bytes`` (None without a link)."""
    from ..data.torch_data import make_loader

    model.eval()
    rng = np.random.default_rng(seed)
    data = dataset if limit is None else dataset.subset(np.arange(min(limit, len(dataset))))
    correct = total = failed = 0
    failures: Counter = Counter()
    sizes = []
    for images, labels in make_loader(data, batch_size):
        predicted, stats = classify_jpeg(model, images, labels, snr_db, link, rng, attack)
        correct += int((predicted == labels).sum())
        failed += int((predicted < 0).sum())
        total += len(labels)
        failures.update(stats["failures"])
        if stats["payload_bytes"] is not None:
            sizes.append(stats["payload_bytes"])
    return {"snr_db": float(snr_db), "accuracy": correct / total, "images": total, "index_error_rate": None,
            "attack": attack or None, "decoder_failure_rate": failed / total, "failures": dict(failures),
            "mean_payload_bytes": float(np.concatenate(sizes).mean()) if sizes else None}
