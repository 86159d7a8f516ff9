"""Progressive gradient ascent (An et al. 2026) on the received symbols of an analog JSCC link.

The attacker adds ``delta`` to the payload the receiver sees (white box, exact channel, frame-aligned)::

    y = x + delta + n,   n ~ CN(0, N0),   N0 = 10^(-Es/N0[dB] / 10)

and, for a budget ``P`` (the PSR, linear), solves per frame by L2 projected gradient ascent::

    max_delta  E_n CE(f(x + delta + n, snr), label)   s.t.  sum_k |delta_k|^2 <= P sum_k |x_k|^2

over the payload symbols ``k`` (``f``: the JSCC decoder, :meth:`semcomm.nn.jscc.ViTJSCC.decode`; the
expectation over the channel noise is estimated with ``draws`` fresh draws per step, expectation over
transformation). A step is ``delta <- Pi(delta + alpha r g / ||g||)`` with ``r`` the budget's radius,
``alpha`` the step as a fraction of it and ``Pi`` the projection onto the ball.

:func:`minimum_power` is An et al.'s progressive search for the *minimum* attack power: the PSR is raised
in ``step_db`` steps from ``start_db``; at each level the ascent is warm-started from the previous level's
perturbation (rescaled to the new radius) and run on the frames not yet flipped; a frame's minimum PSR is
the first level at which it is *flipped*: misclassified on the majority of ``draws`` fixed noise draws
(common to every level, so the search is reproducible and the outcome at a level can be checked again).

Shapes: payload symbols as ``[N, S, 2]`` float32 (I/Q, the decoder's input); frames as complex64 ``[N, F]``
with the payload from symbol :data:`.threat.PAYLOAD_START`. The model's parameters are left untouched.
The digital codecs are out of scope here: their receiver (demapper, LDPC) is not differentiable.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .base import Attack
from .threat import PAYLOAD_START, ThreatModel


@dataclass(frozen=True)
class AscentSettings:
    """``steps`` ascent steps of ``alpha`` times the budget's radius, ``draws`` noise draws per step."""
    steps: int = 10
    alpha: float = 0.25
    draws: int = 4

    def __post_init__(self):
        if self.steps < 1 or self.draws < 1 or self.alpha <= 0:
            raise ValueError(f"need steps >= 1, draws >= 1, alpha > 0; got {self}")


def to_reals(symbols: np.ndarray) -> torch.Tensor:
    """Complex ``[N, S]`` -> float32 ``[N, S, 2]`` (I/Q)."""
    return torch.from_numpy(np.stack([symbols.real, symbols.imag], axis=-1).astype(np.float32))


def to_complex(reals: torch.Tensor) -> np.ndarray:
    """Float ``[N, S, 2]`` -> complex64 ``[N, S]``."""
    values = reals.detach().numpy()
    return (values[..., 0] + 1j * values[..., 1]).astype(np.complex64)


def budget_radius(x: torch.Tensor, psr_db) -> torch.Tensor:
    """L2 radius ``[N]`` of the budget: ``sqrt(10^(psr/10) sum_k |x_k|^2)`` (``psr_db`` scalar or ``[N]``)."""
    energy = x.pow(2).sum(dim=(1, 2))
    return torch.sqrt(torch.pow(10.0, torch.as_tensor(psr_db, dtype=x.dtype) / 10.0) * energy)


def project(delta: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """``delta [N, S, 2]`` projected onto the L2 balls of ``radius [N]``."""
    norm = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
    return delta * (radius / norm).clamp(max=1.0)[:, None, None]


def channel_noise(shape, snr_db: float, draws: int, generator: torch.Generator) -> torch.Tensor:
    """``draws`` noise draws ``[draws, N, S, 2]`` of ``CN(0, N0)`` at ``Es/N0 = snr_db`` (Es = 1)."""
    n0 = 10.0 ** (-snr_db / 10.0)
    return torch.randn((draws, *shape), generator=generator) * np.sqrt(n0 / 2)


def _logits(model, received: torch.Tensor, snr_db: float) -> torch.Tensor:
    """Decoder logits for ``received [..., S, 2]`` (leading axes flattened and restored)."""
    flat = received.reshape(-1, *received.shape[-2:])
    logits = model.decode(flat, torch.full((len(flat),), float(snr_db)))
    return logits.reshape(*received.shape[:-2], -1)


def ascend(model, x: torch.Tensor, labels: torch.Tensor, snr_db: float, radius: torch.Tensor,
           settings: AscentSettings, generator: torch.Generator, start: torch.Tensor | None = None) -> torch.Tensor:
    """Projected gradient ascent of the expected cross entropy (module doc) from ``start`` (zero by default);
    returns ``delta [N, S, 2]`` with ``||delta_i|| <= radius_i``."""
    delta = torch.zeros_like(x) if start is None else project(start.clone(), radius)
    targets = labels.repeat(settings.draws)
    for _ in range(settings.steps):
        delta.requires_grad_(True)
        noise = channel_noise(x.shape, snr_db, settings.draws, generator)
        logits = _logits(model, x + delta + noise, snr_db)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets, reduction="sum")
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            direction = grad / grad.flatten(1).norm(dim=1).clamp_min(1e-12)[:, None, None]
            delta = project(delta + settings.alpha * radius[:, None, None] * direction, radius)
    return delta.detach()


def flipped(model, x: torch.Tensor, delta: torch.Tensor, labels: torch.Tensor, snr_db: float,
            noise: torch.Tensor) -> np.ndarray:
    """``[N]`` bool: misclassified on more than half of the noise draws ``noise [D, N, S, 2]``."""
    with torch.no_grad():
        wrong = _logits(model, x + delta + noise, snr_db).argmax(dim=-1) != labels
    return (wrong.float().mean(dim=0) > 0.5).numpy()


@dataclass
class MinimumPower:
    """Per-frame outcome of :func:`minimum_power` over ``N`` frames."""
    psr_db: np.ndarray        #: minimum PSR ``[N]`` in dB (``inf``: not flipped up to the last level)
    delta: torch.Tensor       #: the perturbation that flipped each frame at that PSR ``[N, S, 2]``
    clean_correct: np.ndarray  #: ``[N]`` correct without attack (on the same noise draws)
    noise: torch.Tensor       #: the evaluation's noise draws ``[D, N, S, 2]``

    def median_psr_db(self) -> float:
        """PSR at which half of the clean-correct frames are flipped (``inf`` if fewer than half ever are)."""
        values = np.sort(self.psr_db[self.clean_correct])
        if not len(values):
            return float("nan")
        return float(values[(len(values) - 1) // 2])


def minimum_power(model, x: torch.Tensor, labels: torch.Tensor, snr_db: float, start_db: float = -30.0,
                  stop_db: float = 10.0, step_db: float = 0.5, settings: AscentSettings = AscentSettings(),
                  eval_draws: int = 8, seed: int = 0) -> MinimumPower:
    """An et al.'s progressive search (module doc) on transmitted payloads ``x [N, S, 2]``. A frame
    misclassified without attack gets minimum PSR ``-inf`` and a zero perturbation."""
    generator = torch.Generator().manual_seed(int(seed))
    noise = channel_noise(x.shape, snr_db, eval_draws, generator)
    delta = torch.zeros_like(x)
    clean_correct = ~flipped(model, x, delta, labels, snr_db, noise)
    result = np.where(clean_correct, np.inf, -np.inf)
    for level in np.arange(start_db, stop_db + step_db / 2, step_db):
        active = np.flatnonzero(np.isposinf(result))
        if not active.size:
            break
        idx = torch.from_numpy(active)
        radius = budget_radius(x[idx], level)
        start = delta[idx] * (radius / delta[idx].flatten(1).norm(dim=1).clamp_min(1e-12))[:, None, None]
        trial = ascend(model, x[idx], labels[idx], snr_db, radius, settings, generator, start)
        delta[idx] = trial
        result[active[flipped(model, x[idx], trial, labels[idx], snr_db, noise[:, idx])]] = level
    return MinimumPower(result, delta, clean_correct, noise)


class ProgressiveGradientAscent(Attack):
    """The per-frame gradient ascent at a fixed PSR (module doc) as an :class:`.base.Attack`. ``craft``
    takes the victim's JSCC model (white box); the true labels are the batch's."""
    name, span, families = "pga", "payload", ("analog",)
    threat = ThreatModel(model="white_box", channel="exact", sync="oracle")

    def __init__(self, steps: int = 10, alpha: float = 0.25, draws: int = 4):
        self.settings = AscentSettings(steps, alpha, draws)
        self.model = None

    def craft(self, context) -> None:
        if context.victim.family != "analog":
            raise ValueError(f"pga attacks analog JSCC only, not a {context.victim.family} scheme")
        self.model = context.victim.model

    def perturb(self, batch, psr_db: float, rng: np.random.Generator) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("pga needs craft(context) first: it takes the victim's model from it")
        x = to_reals(batch.payload)
        generator = torch.Generator().manual_seed(int(rng.integers(2**62)))
        delta = ascend(self.model, x, batch.labels, batch.snr_db, budget_radius(x, psr_db), self.settings,
                       generator)
        frames = np.zeros_like(batch.symbols)
        frames[:, PAYLOAD_START:] = to_complex(delta)
        return self.scaled(batch, frames, psr_db)

    def describe(self) -> dict:
        return {**super().describe(), "steps": self.settings.steps, "alpha": self.settings.alpha,
                "draws": self.settings.draws}
