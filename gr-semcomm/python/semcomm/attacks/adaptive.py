"""Adaptive semantic-noise attacks on the transmitter's input image (checks of the K = 5 PGD numbers).

Threat model of :func:`semcomm.eval.accuracy.white_box_attack`: images ``x [N, C, H, W]`` in ``[0, 1]``, the
attacker adds ``delta`` with ``||delta||_inf <= eps`` (and keeps ``x + delta`` in ``[0, 1]``), knows the model
and the true labels ``y [N]``, and attacks the error-free link. Every attack here returns images inside that
set; what differs is how it searches it:

* :func:`adaptive_pgd`: L-inf PGD with random restarts (restart 0 starts at the clean image, the others
  uniformly in the ball), a step-size schedule (``constant`` ``alpha``, or ``cosine``
  ``alpha_k = alpha / 2 * (1 + cos(pi k / K))``, ``k = 0..K-1``), the cross-entropy or the margin loss, and
  the best iterate per image (the one of largest margin under ``judge``, as APGD keeps its best point).
* gradient paths through the vector quantiser of a digital codec (``model.encode_features`` ->
  ``codebook`` -> ``model.decode_vectors``; ``z`` l2-normalised as the codebook does):
  :func:`straight_through_logits` (forward through the nearest code, gradient copied to ``z``: the
  BPDA identity approximation, the attack of the reported numbers), :func:`soft_quantiser_logits`
  (forward and gradient through ``softmax(-||z - e_j||^2 / tau) @ E``), :func:`continuous_logits` (transfer
  from the non-quantised model: the decoder fed ``z`` itself); :func:`hard_logits` is the real decision
  function (nearest code, no gradient use), the ``judge`` of the best iterate.
* :func:`square_attack`: the gradient-free L-inf Square attack (Andriushchenko et al., ECCV 2020) on the
  margin loss of a logits function, random square windows of side ``s`` set to ``+-eps`` per channel,
  accepted when the margin grows.

Logits functions map images ``[N, C, H, W]`` to logits ``[N, classes]`` (for the analog JSCC: the mean over
channel draws of the log-softmax, expectation over transformation). The margin of logits ``l`` and label
``y`` is ``max_{j != y} l_j - l_y``: positive iff the image is misclassified.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

LogitsFn = Callable[[torch.Tensor], torch.Tensor]
LOSSES = ("ce", "margin")
SCHEDULES = ("constant", "cosine")


# ---------------------------------------------------------------------------------------------- losses
def margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``max_{j != y} l_j - l_y`` per image ``[N]``; positive iff misclassified."""
    true = logits.gather(1, labels[:, None])[:, 0]
    others = logits.scatter(1, labels[:, None], float("-inf"))
    return others.max(dim=1).values - true


def per_image_loss(kind: str, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Loss ``[N]`` the attacker maximises: cross entropy (``ce``) or :func:`margin`."""
    if kind == "ce":
        return F.cross_entropy(logits, labels, reduction="none")
    if kind == "margin":
        return margin(logits, labels)
    raise ValueError(f"unknown loss {kind!r}; allowed: {', '.join(LOSSES)}")


def step_sizes(alpha: float, steps: int, schedule: str) -> list[float]:
    """PGD step sizes ``[K]``: ``alpha`` each (``constant``) or ``alpha / 2 * (1 + cos(pi k / K))`` (``cosine``)."""
    if schedule == "constant":
        return [alpha] * steps
    if schedule == "cosine":
        return [alpha / 2 * (1 + math.cos(math.pi * k / steps)) for k in range(steps)]
    raise ValueError(f"unknown schedule {schedule!r}; allowed: {', '.join(SCHEDULES)}")


def project(images: torch.Tensor, clean: torch.Tensor, eps: float) -> torch.Tensor:
    """``images`` moved into the L-inf ball of radius ``eps`` around ``clean`` and into ``[0, 1]``."""
    return torch.minimum(torch.maximum(images, clean - eps), clean + eps).clamp(0, 1)


# ---------------------------------------------------------------------------------------- adaptive PGD
def adaptive_pgd(images: torch.Tensor, labels: torch.Tensor, logits_fn: LogitsFn, eps: float, steps: int,
                 restarts: int = 1, alpha: float | None = None, schedule: str = "cosine", loss: str = "ce",
                 judge: LogitsFn | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Adversarial images ``[N, C, H, W]``: per image the iterate of largest margin under ``judge`` (default
    ``logits_fn``) over ``restarts`` runs of ``steps`` sign-gradient steps on ``loss`` of ``logits_fn``
    (``alpha`` default ``eps / 2`` for ``cosine``, ``eps / 4`` for ``constant``; restart ``r > 0`` starts
    uniformly in the ball, drawn from ``generator``)."""
    if eps < 0 or steps < 1 or restarts < 1:
        raise ValueError(f"need eps >= 0, steps >= 1, restarts >= 1; got {eps}, {steps}, {restarts}")
    alpha = alpha if alpha is not None else eps / (2 if schedule == "cosine" else 4)
    clean = images.detach()
    best, best_margin = clean.clone(), torch.full((len(clean),), float("-inf"))
    for restart in range(restarts):
        noise = torch.rand(clean.shape, generator=generator) * 2 - 1
        current = project(clean + eps * noise, clean, eps) if restart else clean.clone()
        for size in step_sizes(alpha, steps, schedule):
            current.requires_grad_(True)
            logits = logits_fn(current)
            (grad,) = torch.autograd.grad(per_image_loss(loss, logits, labels).sum(), current)
            current = current.detach()
            judged = margin(logits.detach(), labels) if judge is None else _margin_of(judge, current, labels)
            best, best_margin = _keep_better(best, best_margin, current, judged)
            current = project(current + size * grad.sign(), clean, eps)
        best, best_margin = _keep_better(best, best_margin, current, _margin_of(judge or logits_fn, current, labels))
    return best


@torch.no_grad()
def _margin_of(logits_fn: LogitsFn, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return margin(logits_fn(images), labels)


def _keep_better(best, best_margin, candidate, candidate_margin):
    better = candidate_margin > best_margin
    return torch.where(better[:, None, None, None], candidate, best), torch.where(better, candidate_margin,
                                                                                   best_margin)


# ------------------------------------------------------------------------------------------ square attack
def square_size(p_init: float, query: int, queries: int, pixels: int) -> int:
    """Side of the square window at ``query`` (0-based) of ``queries``: ``round(sqrt(p * H * W))`` (>= 1) with
    ``p`` halved after 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 of 10000 queries (the schedule of
    Andriushchenko et al., rescaled to ``queries``)."""
    scaled = int(query / queries * 10000)
    halvings = sum(scaled > mark for mark in (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000))
    return max(int(round(math.sqrt(p_init / 2 ** halvings * pixels))), 1)


@torch.no_grad()
def square_attack(images: torch.Tensor, labels: torch.Tensor, logits_fn: LogitsFn, eps: float, queries: int,
                  p_init: float = 0.1, generator: torch.Generator | None = None) -> torch.Tensor:
    """L-inf Square attack: start from vertical stripes ``delta[c, :, w] = +-eps``, then at each query draw a
    square of side :func:`square_size` at a uniform position, set ``delta`` there to ``+-eps`` per channel
    (uniform signs) for every image not yet misclassified, and keep the change where the margin grew.
    Returns images ``[N, C, H, W]`` in ``[0, 1]`` within ``eps`` of ``images``; ``queries`` forward passes."""
    if eps < 0 or queries < 0 or not 0 < p_init <= 1:
        raise ValueError(f"need eps >= 0, queries >= 0, 0 < p_init <= 1; got {eps}, {queries}, {p_init}")
    clean = images.detach()
    count, channels, height, width = clean.shape
    stripes = _signs((count, channels, 1, width), generator).expand(-1, -1, height, -1)
    best = project(clean + eps * stripes, clean, eps)
    best_margin = margin(logits_fn(best), labels)
    for query in range(queries):
        active = best_margin <= 0
        if not bool(active.any()):
            break
        side = min(square_size(p_init, query, queries, height * width), height, width)
        row, col = (int(torch.randint(extent - side + 1, (1,), generator=generator)) for extent in (height, width))
        candidate = best[active].clone()
        signs = _signs((int(active.sum()), channels, 1, 1), generator)
        candidate[:, :, row:row + side, col:col + side] = clean[active][:, :, row:row + side, col:col + side] \
            + eps * signs
        candidate = project(candidate, clean[active], eps)
        candidate_margin = margin(logits_fn(candidate), labels[active])
        better = candidate_margin > best_margin[active]
        index = active.nonzero()[:, 0][better]
        best[index], best_margin[index] = candidate[better], candidate_margin[better]
    return best


def _signs(shape: tuple, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randint(2, shape, generator=generator).float() * 2 - 1


# ---------------------------------------------------------------------------- logits functions of the schemes
def straight_through_logits(model, snr_db: float) -> LogitsFn:
    """Digital codec, forward through the nearest code, gradient copied to ``z`` (BPDA identity)."""
    def logits(images):
        z = model.encode_features(images)
        snr = torch.full((len(images),), float(snr_db))
        return model.decode_vectors(model.codebook.straight_through(z, model.codebook.nearest(z)), snr)[0]
    return logits


def soft_quantiser_logits(model, snr_db: float, tau: float) -> LogitsFn:
    """Digital codec through the soft assignment ``softmax(-||z - e_j||^2 / tau) @ E`` (``z``, ``e_j``
    l2-normalised, so ``||z - e_j||^2 = 2 - 2 z.e_j``); ``tau -> 0`` is the hard quantiser."""
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")

    def logits(images):
        z = F.normalize(model.encode_features(images), dim=-1)
        codes = model.codebook.normalized()
        weights = torch.softmax((2 * z @ codes.t() - 2) / tau, dim=-1)
        snr = torch.full((len(images),), float(snr_db))
        return model.decode_vectors(weights @ codes, snr)[0]
    return logits


def continuous_logits(model, snr_db: float) -> LogitsFn:
    """Digital codec without its quantiser (transfer source): the decoder fed the normalised ``z``."""
    def logits(images):
        snr = torch.full((len(images),), float(snr_db))
        return model.decode_vectors(F.normalize(model.encode_features(images), dim=-1), snr)[0]
    return logits


def hard_logits(model, snr_db: float) -> LogitsFn:
    """Digital codec's real decision over the error-free link: nearest-code indices -> decoder."""
    def logits(images):
        snr = torch.full((len(images),), float(snr_db))
        return model.decode(model.encode(images), snr)
    return logits


def analog_logits(model, snr_db: float, draws: int, generator: torch.Generator | None = None) -> LogitsFn:
    """Analog JSCC through its channel: the mean over ``draws`` noise draws (from ``generator``) of the
    log-softmax of the decoder's logits (expectation over transformation)."""
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")

    def logits(images):
        snr = torch.full((len(images),), float(snr_db))
        symbols = model.encode(images)
        return sum(F.log_softmax(model.decode(model.channel(symbols, snr, generator), snr), dim=1)
                   for _ in range(draws)) / draws
    return logits
