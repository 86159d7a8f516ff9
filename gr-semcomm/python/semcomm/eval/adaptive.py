"""Adaptive evaluation of the white-box robustness numbers (``semcomm eval adaptive``).

Setting of Table III / fig 6 (:mod:`semcomm.eval.report`): the first ``images`` test images, L-inf semantic
noise of radius ``eps`` (8/255), Es/N0 ``snr_db`` (12 dB), each scheme's real chain: digital codecs through
:class:`~semcomm.sim.exact_chain.ExactChain` (:func:`semcomm.eval.accuracy.classify`), analog JSCC through its
own channel, JPEG schemes through :class:`~semcomm.baselines.jpeg.JpegLink` with the noise on the received,
decoded image (as :mod:`semcomm.eval.jpeg`; lost frames count as wrong for every attack).

Attacks per family (:mod:`semcomm.attacks.adaptive`); ``none`` is the clean image (delta = 0 is in the ball):

* every family: ``pgd_k5`` (the reported attack: :func:`~semcomm.eval.accuracy.white_box_attack`, K = 5,
  alpha = eps/4, ``baseline_draws`` channel draws for analog), ``pgd_ce`` and ``pgd_margin`` (``steps``
  cosine-decayed steps from alpha = eps/2, ``restarts`` restarts, best iterate), ``square`` (``queries``
  forward passes of the Square attack on the margin);
* digital codecs: gradients of ``pgd_ce`` / ``pgd_margin`` straight through the quantiser (BPDA identity),
  plus ``pgd_soft`` (CE through the soft quantiser at temperature ``tau``) and ``pgd_transfer`` (CE on the
  decoder fed the continuous features), both judged by the real (hard) decision for the best iterate;
  ``square`` queries the real decision over the error-free link;
* analog JSCC: the mean log-softmax over ``draws`` channel draws per query (EOT) for every adaptive attack;
* JPEG: the classifier of the received image (no quantiser in the attacked path).

Every attack's chain evaluation at a batch uses the same random numbers (receiver noise, analog channel draws,
JPEG frames): the attacks differ only in their images. ``robust`` of a scheme is the share of images that no
attack flips (correct under every attack, ``none`` included); ``only_flipped_by`` counts, per attack, the
images that attack alone gets wrong.
"""
from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np
import torch

from ..attacks import adaptive
from .accuracy import classify, white_box_attack
from .adaptive_settings import AdaptiveSettings

REPORTED = "pgd_k5"  #: the attack behind the reported white-box figures (cards, README, report)


def attacks_for(model, family: str, s: AdaptiveSettings, generator: torch.Generator) -> dict:
    """Attack name -> ``attack(images, labels) -> adversarial images`` for a model of ``family``."""
    eps, snr = s.eps, s.snr_db
    pgd = dict(eps=eps, steps=s.steps, restarts=s.restarts, schedule="cosine", generator=generator)
    if family == "jpeg":
        decided = gradient = model.logits
    elif family == "analog":
        decided = gradient = adaptive.analog_logits(model, snr, s.draws, generator)
    else:
        decided, gradient = adaptive.hard_logits(model, snr), adaptive.straight_through_logits(model, snr)
    attacks = {
        "none": lambda x, y: x,
        REPORTED: lambda x, y: white_box_attack(model, x, y, snr, eps, eps / 4, s.baseline_steps, "linf",
                                                generator, s.baseline_draws),
        "pgd_ce": lambda x, y: adaptive.adaptive_pgd(x, y, gradient, loss="ce", **pgd),
        "pgd_margin": lambda x, y: adaptive.adaptive_pgd(x, y, gradient, loss="margin", **pgd),
    }
    if family not in ("jpeg", "analog"):
        soft = adaptive.soft_quantiser_logits(model, snr, s.tau)
        attacks["pgd_soft"] = lambda x, y: adaptive.adaptive_pgd(x, y, soft, loss="ce", judge=decided, **pgd)
        continuous = adaptive.continuous_logits(model, snr)
        attacks["pgd_transfer"] = lambda x, y: adaptive.adaptive_pgd(x, y, continuous, loss="ce", judge=decided,
                                                                     **pgd)
    attacks["square"] = lambda x, y: adaptive.square_attack(x, y, decided, eps, s.queries, s.p_init, generator)
    return attacks


def evaluate_scheme(ev, scheme, s: AdaptiveSettings) -> dict:
    """Per-attack accuracy, seconds and largest ``|delta|``, per-image correctness and the worst case."""
    model = scheme.model().eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    generator = torch.Generator().manual_seed(s.seed)
    attacks = attacks_for(model, scheme.family, s, generator)
    correct = {name: [] for name in attacks}
    seconds = dict.fromkeys(attacks, 0.0)
    largest = dict.fromkeys(attacks, 0.0)
    link = ev.link(scheme)
    for number, b in enumerate(ev.progress(ev.batches(), f"{scheme.name} adaptive")):
        images, labels, ok = ev.images[b], ev.labels[b], None
        if scheme.family == "jpeg":
            images, ok = _received(link, images, s.snr_db, np.random.default_rng([s.seed, number]))
        for name, attack in attacks.items():
            start = time.perf_counter()
            adversarial = attack(images, labels) if ok is None else _attack_received(attack, images, labels, ok)
            seconds[name] += time.perf_counter() - start
            largest[name] = max(largest[name], _check_in_ball(adversarial, images, s.eps, name))
            rng = np.random.default_rng([s.seed, number])  # the same receiver noise for every attack
            correct[name].append(_correct(model, adversarial, labels, s.snr_db, link, rng, ok))
    return _summary(scheme, {name: torch.cat(rows).numpy() for name, rows in correct.items()}, seconds, largest)


def _received(link, images: torch.Tensor, snr_db: float, rng) -> tuple[torch.Tensor, torch.Tensor]:
    reception = link.transmit(images.numpy(), snr_db, rng)
    return torch.from_numpy(reception.images), torch.from_numpy(reception.ok)


def _attack_received(attack, received: torch.Tensor, labels: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
    adversarial = received.clone()
    if bool(ok.any()):
        adversarial[ok] = attack(received[ok], labels[ok])
    return adversarial


def _check_in_ball(adversarial: torch.Tensor, images: torch.Tensor, eps: float, name: str) -> float:
    distance = float((adversarial - images).abs().max())
    if distance > eps + 1e-6 or float(adversarial.min()) < 0 or float(adversarial.max()) > 1:
        raise RuntimeError(f"attack {name} left the eps ball or [0, 1] (max |delta| {distance:.6f})")
    return distance


def _correct(model, images, labels, snr_db: float, link, rng, ok) -> torch.Tensor:
    """Correct decisions ``[N]`` through the chain; JPEG (``ok`` given): the classifier of the received images."""
    if ok is not None:
        with torch.no_grad():
            return (model.logits(images).argmax(dim=1) == labels) & ok
    predicted, _ = classify(model, images, snr_db, link, rng)
    return predicted == labels


def _summary(scheme, correct: dict, seconds: dict, largest: dict) -> dict:
    table = np.stack(list(correct.values()))  # [attacks, N]
    robust = table.all(axis=0)
    wrong_count = (~table).sum(axis=0)
    drop = float((correct[REPORTED] & ~robust).mean())  # images the reported attack misses and another flips
    return {"scheme": scheme.scheme, "family": scheme.family, "images": int(table.shape[1]),
            "accuracy": {name: float(row.mean()) for name, row in correct.items()},
            "robust": float(robust.mean()),
            "drop_vs_reported": drop, "drop_vs_reported_se": float(np.sqrt(drop * (1 - drop) / table.shape[1])),
            "only_flipped_by": {name: int(((~row) & (wrong_count == 1)).sum()) for name, row in correct.items()},
            "seconds": {name: round(value, 2) for name, value in seconds.items()},
            "max_abs_delta": largest,
            "correct": {name: row.astype(int).tolist() for name, row in correct.items()}}


def run_adaptive(s: AdaptiveSettings) -> dict:
    """The evaluation of every selected scheme with PyTorch weights (module doc); ``missing`` lists the rest."""
    from .figures import evaluator

    ev = evaluator(s.report_settings())
    results = {}
    for scheme in ev.schemes:
        if scheme.differentiable:
            results[scheme.name] = evaluate_scheme(ev, scheme, s)
    return {"settings": {**asdict(s), "schemes": list(s.schemes)}, "dataset": s.dataset,
            "images": int(len(ev.images)), "results": results,
            "missing": [item for item in ev.missing if not _unselected_scheme(item["item"], s.schemes)]}


def _unselected_scheme(item: str, selected: tuple) -> bool:
    """``scheme NAME`` missing items of paper schemes that were not asked for."""
    return item.startswith("scheme ") and item.split(" ", 1)[1] not in selected


def format_table(report: dict) -> str:
    """Accuracy (%) per scheme and attack, the per-image worst case, and how far it lies below the reported
    attack's figure (points +- standard error)."""
    names = list(dict.fromkeys(name for row in report["results"].values() for name in row["accuracy"]))
    lines = [f"{'scheme':22}" + "".join(f"{name:>14}" for name in names) + f"{'robust (min)':>14}"
             + f"{'below ' + REPORTED:>18}"]
    for scheme, row in report["results"].items():
        cells = "".join(f"{_percent(row['accuracy'].get(name)):>14}" for name in names)
        drop = f"{100 * row['drop_vs_reported']:.1f} +- {100 * row['drop_vs_reported_se']:.1f}"
        lines.append(f"{scheme:22}{cells}{_percent(row['robust']):>14}{drop:>18}")
    return "\n".join(lines)


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"
