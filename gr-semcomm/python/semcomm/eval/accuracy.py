"""Task accuracy of a codec through the digital link, with or without semantic noise.

image -> (white-box PGD semantic noise on the transmitter's input, optional) -> encoder -> indices
-> digital link at the given SNR (``link.corrupt``; ``None`` = error-free) -> decoder -> label.
The attacker of the white-box case knows the whole model and attacks over an error-free link with
the true labels (it cannot predict the channel noise); ``K``, ``eps``, ``alpha`` and the norm are
those of eq. (7).

Analog JSCC baselines (the ``analog`` family of :mod:`semcomm.registry`, :class:`semcomm.nn.jscc.ViTJSCC`;
``link`` must be None): image -> encoder -> symbols -> the model's own AWGN (or Rayleigh) channel at the SNR, noise
drawn from a torch generator seeded from ``seed`` -> decoder. Their white-box attacker
differentiates through encoder, channel (fresh noise at every PGD step, the loss averaged over ``draws``
of them, from its own generator seeded from ``seed``, so the figure does not depend on what ran before)
and decoder.
``index_error_rate`` is None for them.

JPEG + LDPC baselines and the other image classifiers (families whose models have ``image_input``,
:class:`semcomm.nn.classifier.ViTClassifier`; ``link`` a :class:`semcomm.baselines.jpeg.JpegLink` or None):
:func:`accuracy` hands over to their family's evaluator, :func:`semcomm.eval.jpeg.jpeg_accuracy` (decoder
failures scored as wrong, noise on the received image).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..attacks.pgd import pgd_attack
from ..registry import family_of


@torch.no_grad()
def _decode(model, indices: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
    return model.decode(indices, snr_db)


def classify(model, images: torch.Tensor, snr_db: float, link=None, rng=None) -> tuple[torch.Tensor, dict]:
    """Predicted labels ``[N]`` and link statistics for one batch (model in eval mode)."""
    if family_of(model).name == "analog":
        return _classify_analog(model, images, snr_db, link, rng)
    output, stats = received_output(model, images, snr_db, link, rng)
    return output.argmax(dim=1), stats


def received_output(model, images: torch.Tensor, snr_db: float, link=None, rng=None) -> tuple[torch.Tensor, dict]:
    """The digital codec's task output for one batch after the link (logits, or images for reconstruction)
    and the link statistics."""
    with torch.no_grad():
        indices = model.encode(images)
    snr = torch.full((len(images),), float(snr_db))
    stats = {"index_errors": 0}
    if link is not None:
        received, _ = link.corrupt(indices.numpy(), snr.numpy(), rng)
        received = torch.from_numpy(np.asarray(received, dtype=np.int64))
        stats["index_errors"] = int((received != indices).sum())
        indices = received
    return _decode(model, indices, snr), stats


def _classify_analog(model, images: torch.Tensor, snr_db: float, link, rng) -> tuple[torch.Tensor, dict]:
    if link is not None:
        raise ValueError("an analog JSCC model has its channel inside the model: pass link=None")
    rng = rng if rng is not None else np.random.default_rng()
    generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
    snr = torch.full((len(images),), float(snr_db))
    with torch.no_grad():
        logits = model.decode(model.channel(model.encode(images), snr, generator), snr)
    return logits.argmax(dim=1), {"index_errors": 0}


def white_box_attack(model, images, labels, snr_db: float, eps: float, alpha: float, steps: int,
                     norm: str = "linf", generator: torch.Generator | None = None, draws: int = 1) -> torch.Tensor:
    """PGD semantic noise (eq. 7) against ``model``; ``generator`` draws an analog model's channel noise at
    each PGD step (default: torch's global generator, whose state depends on everything run before).

    ``draws``: channel noise draws per PGD step for an analog model; its loss is the mean cross entropy over
    them (expectation over transformation, EOT), the stronger attack on a stochastic model. 1 (default): one
    draw per step. The other models' attack gradients are deterministic (error-free link), so it does not
    apply to them."""
    draws = int(draws)
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    snr = torch.full((len(images),), float(snr_db))
    kind = family_of(model)
    if kind.image_input:  # a classifier of (received) images
        return pgd_attack(images, lambda x: F.cross_entropy(model.logits(x), labels), eps, alpha, steps, norm)
    if kind.name == "analog":  # through the analog channel, noise included
        def analog_loss(x):
            symbols = model.encode(x)
            return sum(F.cross_entropy(model.decode(model.channel(symbols, snr, generator), snr), labels)
                       for _ in range(draws)) / draws

        return pgd_attack(images, analog_loss, eps, alpha, steps, norm)

    def loss_fn(x):
        z = model.encode_features(x)  # inference mask; straight-through gradient across the quantiser
        logits, _ = model.decode_vectors(model.codebook.straight_through(z, model.codebook.nearest(z)), snr)
        return F.cross_entropy(logits, labels)

    return pgd_attack(images, loss_fn, eps, alpha, steps, norm)


def accuracy(model, dataset, snr_db: float, link=None, attack: dict | None = None, batch_size: int = 500,
             limit: int | None = None, seed: int = 0) -> dict:
    """Accuracy on ``dataset`` (first ``limit`` images) at one SNR; ``attack`` = dict(eps, alpha, steps[, norm,
    draws]), the arguments of :func:`white_box_attack`. Measured by the evaluator of the model's family
    (:mod:`semcomm.registry`): :func:`codec_accuracy`, or for image classifiers
    :func:`semcomm.eval.jpeg.jpeg_accuracy`."""
    evaluate = family_of(model).evaluator_function()
    return evaluate(model, dataset, snr_db, link, attack, batch_size, limit, seed)


def codec_accuracy(model, dataset, snr_db: float, link=None, attack: dict | None = None, batch_size: int = 500,
                   limit: int | None = None, seed: int = 0) -> dict:
    """:func:`accuracy` of a digital or analog codec."""
    from ..data.torch_data import make_loader

    analog = family_of(model).name == "analog"
    model.eval()
    rng = np.random.default_rng(seed)
    data = dataset if limit is None else dataset.subset(np.arange(min(limit, len(dataset))))
    correct = total = index_errors = 0
    attack_noise = torch.Generator().manual_seed(seed)  # an analog attacker's channel draws
    for images, labels in make_loader(data, batch_size):
        if attack:
            images = white_box_attack(model, images, labels, snr_db, **attack, generator=attack_noise)
        predicted, stats = classify(model, images, snr_db, link, rng)
        correct += int((predicted == labels).sum())
        total += len(labels)
        index_errors += stats["index_errors"]
    return {"snr_db": float(snr_db), "accuracy": correct / total, "images": total,
            "index_error_rate": None if analog else index_errors / (total * model.config.num_tokens),
            "attack": attack or None}


def reconstruction_quality(model, dataset, snr_db: float, link=None, batch_size: int = 500, limit: int | None = None,
                           seed: int = 0) -> dict:
    """Reconstruction quality of a digital codec with ``task: reconstruction`` through the link at one SNR on
    ``dataset`` (first ``limit`` images): ``mse`` per pixel (images in ``[0, 1]``) and ``psnr_db`` =
    ``10 log10(1 / mse)`` of that mean, plus the index error rate. No semantic noise: the paper's attack
    targets the classification decision."""
    from ..data.torch_data import make_loader

    model.eval()
    rng = np.random.default_rng(seed)
    data = dataset if limit is None else dataset.subset(np.arange(min(limit, len(dataset))))
    squared = total = index_errors = 0
    for images, _ in make_loader(data, batch_size):
        output, stats = received_output(model, images, snr_db, link, rng)
        squared += float(((output - images) ** 2).sum())
        total += len(images)
        index_errors += stats["index_errors"]
    mse = squared / (total * images[0].numel())
    return {"snr_db": float(snr_db), "mse": mse, "psnr_db": float(10 * np.log10(1 / max(mse, 1e-12))),
            "images": total, "index_error_rate": index_errors / (total * model.config.num_tokens)}
