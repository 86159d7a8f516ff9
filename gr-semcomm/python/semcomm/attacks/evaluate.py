"""Attack evaluation: accuracy and link figures vs PSR through the victim's exact chain, and the attack-power table.

One point (:func:`run_point`): test images -> the victim's frames -> ``y = x + n + H_a delta`` with the
attack's ``delta`` at the requested PSR over its span, ``H_a`` drawn per frame from the attacker channel
(:func:`semcomm.attacks.threat.attacker_gains`), ``n`` at the Es/N0 -> the victim's receiver. It reports the
accuracy (lost frames count as wrong) with its binomial standard error, frames lost to sync (preamble not
detected, header not accepted), payload CRC failures, pre/post-FEC BER, the *measured* received PSR over the
span (mean of the per-frame linear ratios, in dB) and the attacker's energy per frame relative to the frame's.

Every point of a sweep draws its noise and jamming from a generator seeded by ``(seed, Es/N0)`` alone, so the
points of one curve differ only in the attack's power (common random numbers: smooth, monotone curves).

Minimum PSR for a target (:func:`crossing`): the PSR where the accuracy curve first falls to ``target``
(linear interpolation between grid points), and its 90 % confidence interval by a bootstrap over the test
images (the per-image outcomes at every grid point are resampled together). ``None`` when the curve never gets
there on the grid (the table says "> max PSR"), or when the clean link already scores 0 (:func:`no_target`).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch

from ..channel.awgn import awgn
from .threat import attacker_gains, energy_ratio_db, psr_db, span_mask

BOOTSTRAP = 400
CONFIDENCE = 0.90


@dataclass
class PointResult:
    """One (scheme, attack, Es/N0, PSR) point; ``correct`` is per image, for the bootstrap."""
    snr_db: float
    psr_db: float
    correct: np.ndarray
    figures: dict

    def to_dict(self) -> dict:
        return {"snr_db": self.snr_db, "psr_db": self.psr_db, **self.figures}


def _batches(count: int, size: int):
    return [slice(start, min(start + size, count)) for start in range(0, count, size)]


def run_point(victim, attack, images: torch.Tensor, labels: torch.Tensor, snr_db: float, psr: float,
              attacker_channel: str = "none", seed: int = 0, batch_size: int = 250, frames=None) -> PointResult:
    """Accuracy and link figures of ``victim`` under ``attack`` at one Es/N0 and PSR (module doc).
    ``frames``: the victim's transmitted batches for these images (:meth:`Victim.transmit`), reused across
    points when given."""
    rng = np.random.default_rng([int(seed), int(round(100 * snr_db)) & 0xFFFF])
    batches = _batches(len(images), batch_size)
    frames = frames or [victim.transmit(images[b], labels[b], snr_db) for b in batches]
    correct, tally = [], {"detected": 0, "header_ok": 0, "crc_fail": 0, "pre": 0, "coded": 0, "post": 0, "bits": 0}
    ratios, energies = [], []
    for batch in frames:
        batch.snr_db = float(snr_db)
        delta = attack.perturb(batch, psr, rng) if np.isfinite(psr) else np.zeros_like(batch.symbols)
        delta = attacker_gains(attacker_channel, len(delta), rng)[:, None] * delta
        received, _ = awgn(batch.symbols + delta, snr_db, rng)
        outcome = victim.receive(batch, received, snr_db)
        correct.append(outcome.correct(batch.labels.numpy()))
        decoded = outcome.header_ok
        tally["detected"] += int(outcome.detected.sum())
        tally["header_ok"] += int(decoded.sum())
        tally["crc_fail"] += int((decoded & ~outcome.crc_ok).sum())
        tally["pre"] += int(outcome.pre_fec_errors[decoded].sum())
        tally["coded"] += int(outcome.coded_bits[decoded].sum())
        tally["post"] += int(outcome.post_fec_errors[decoded].sum())
        tally["bits"] += int(outcome.payload_bits[decoded].sum())
        if np.isfinite(psr):
            mask = span_mask(attack.span, batch.lengths, batch.symbols.shape[1])
            ratios.append(10 ** (psr_db(delta, batch.symbols, mask) / 10))
            energies.append(10 ** (energy_ratio_db(delta, batch.symbols, batch.lengths) / 10))
    correct = np.concatenate(correct)
    n = len(correct)
    accuracy = float(correct.mean())
    figures = {
        "images": n,
        "accuracy": accuracy,
        "accuracy_se": float(np.sqrt(accuracy * (1 - accuracy) / n)),
        "lost_to_sync": n - tally["detected"],
        "header_failures": tally["detected"] - tally["header_ok"],
        "payload_crc_failures": tally["crc_fail"],
        "ber_pre_fec": tally["pre"] / tally["coded"] if tally["coded"] else None,
        "ber_post_fec": tally["post"] / tally["bits"] if tally["bits"] else None,
        "psr_db_measured": _mean_db(ratios),
        "energy_per_frame_db": _mean_db(energies),
    }
    return PointResult(float(snr_db), float(psr), correct, figures)


def _mean_db(values: list) -> float | None:
    if not values:
        return None
    return float(10 * np.log10(np.mean(np.concatenate(values))))


def crossing(psrs, accuracies, target: float) -> float | None:
    """The first PSR (linear interpolation on the grid, ascending) where the accuracy falls to ``target``."""
    psrs, accuracies = np.asarray(psrs, dtype=float), np.asarray(accuracies, dtype=float)
    if accuracies[0] <= target:
        return float(psrs[0])
    below = np.flatnonzero(accuracies <= target)
    if below.size == 0:
        return None
    i = below[0]
    a0, a1 = accuracies[i - 1], accuracies[i]
    return float(psrs[i - 1] + (psrs[i] - psrs[i - 1]) * (a0 - target) / (a0 - a1))


def minimum_psr(points: list[PointResult], target: float, seed: int = 0) -> dict:
    """The minimum PSR (and energy per frame) reaching ``target`` accuracy on a sweep's attacked points (the
    clean point is left out), with the bootstrap confidence interval (module doc). When the first grid point
    already reaches the target, the estimate is that point (the true minimum may be lower)."""
    points = sorted((p for p in points if np.isfinite(p.psr_db)), key=lambda p: p.psr_db)
    psrs = [p.psr_db for p in points]
    if target <= 0:
        return no_target(target, max(psrs))
    correct = np.stack([p.correct for p in points])  # [points, images]
    estimate = crossing(psrs, correct.mean(axis=1), target)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP):
        sample = correct[:, rng.integers(0, correct.shape[1], correct.shape[1])]
        value = crossing(psrs, sample.mean(axis=1), target)
        draws.append(np.inf if value is None else value)
    ordered = np.sort(draws)  # inf (never reached) sorts last; no interpolation across it
    low, high = (ordered[int(round(q * (BOOTSTRAP - 1)))] for q in ((1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2))
    offset = _energy_offset(points)
    return {"target_accuracy": target, "psr_db": estimate,
            "psr_db_ci": [_finite(low), _finite(high)], "confidence": CONFIDENCE,
            "energy_per_frame_db": None if estimate is None or offset is None else estimate + offset,
            "max_psr_db": max(psrs)}


def no_target(target: float, max_psr_db: float) -> dict:
    """The minimum of a curve whose clean link already fails (target accuracy 0): no attack power to find."""
    return {"target_accuracy": target, "psr_db": None, "psr_db_ci": [None, None], "confidence": CONFIDENCE,
            "energy_per_frame_db": None, "max_psr_db": max_psr_db,
            "note": "the clean link scores 0: there is no accuracy left to take"}


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _energy_offset(points: list[PointResult]) -> float | None:
    """Energy per frame minus PSR (dB): fixed by the span and frame layout, the same at every point."""
    for point in points:
        if point.figures["energy_per_frame_db"] is not None and point.figures["psr_db_measured"] is not None:
            return point.figures["energy_per_frame_db"] - point.figures["psr_db_measured"]
    return None


def sweep(victim, attack, images, labels, snr_values, psr_values, attacker_channel: str = "none", seed: int = 0,
          batch_size: int = 250, progress: bool = False) -> dict[float, list[PointResult]]:
    """:func:`run_point` over every Es/N0 and PSR (plus the clean point, PSR -inf) -> {snr: [points]}."""
    from tqdm import tqdm

    frames = [victim.transmit(images[b], labels[b], float(snr_values[0])) for b in _batches(len(images), batch_size)]
    results = {}
    grid = [(snr, psr) for snr in snr_values for psr in (-np.inf, *psr_values)]
    bar = tqdm(grid, desc=f"{victim.scheme.name}/{attack.name}", leave=False, file=sys.stderr, disable=not progress)
    for snr, psr in bar:
        point = run_point(victim, attack, images, labels, float(snr), float(psr), attacker_channel, seed, batch_size,
                          frames)
        results.setdefault(float(snr), []).append(point)
    return results
