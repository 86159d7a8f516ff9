"""The interface every receiver-side attack implements, and the attack registry.

An attack is a class with

* ``name`` (its registry key), ``families`` (the scheme families it applies to), ``span`` (where its PSR is measured, :data:`.threat.SPANS`) and ``threat``
  (a :class:`.threat.ThreatModel`);
* ``craft(context)``: the data-dependent part, run once on *training* images (:class:`CraftContext`);
  structural and classical attacks need nothing and keep the default; ``budget_crafted`` says whether what it
  crafts depends on the PSR budget (then an attacker that knows its budget crafts at that PSR,
  :class:`.campaign.PerBudget`);
* ``perturb(batch, psr_db, rng)``: the attacker's waveform for a batch of frames
  (:class:`.victim.FrameBatch`), complex64 ``[N, S]`` frame-aligned at the symbol rate, **already scaled**
  so that its PSR over ``span`` is ``psr_db`` for each frame (:meth:`Attack.scaled` does it), before the
  attacker channel ``H_a``. A universal attack returns the same waveform for every frame (scaled to
  each frame's power, which for unit-power constellations is the same scale).

The evaluation (:mod:`.evaluate`) applies ``H_a``, the noise and the victim's receiver.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

import numpy as np
import torch

from .threat import ThreatModel, scale_to_span, span_mask

#: attack name -> "module:Class" (relative to semcomm.attacks), imported on use
ATTACKS = {
    "gaussian": "jamming:GaussianJamming",
    "preamble": "jamming:PreambleJamming",
    "tone": "jamming:ToneJamming",
    "payload_gaussian": "jamming:PayloadJamming",
    "universal": "universal:UniversalNoise",
    "universal_shift": "universal:ShiftRobustNoise",
    "vulnerable_set": "vulnerable_set:VulnerableSetAttack",
    "pga": "pga:ProgressiveGradientAscent",
    "importance": "importance:ImportanceAttack",
}


@dataclass
class CraftContext:
    """What crafting may use: the victim (its scheme, model and PHY), *training* images, the Es/N0 and PSR
    the attack is crafted for, the attacker channel's statistics and a seed."""
    victim: object                 #: :class:`.victim.Victim`
    images: torch.Tensor           #: training images ``[M, C, H, W]``
    labels: torch.Tensor           #: their labels ``[M]``
    snr_db: float
    psr_db: float
    attacker_channel: str = "none"
    seed: int = 0
    progress: bool = False


class Attack:
    """Base class (module doc)."""
    name = "attack"
    span = "payload"
    threat = ThreatModel()
    families = ("digital", "analog", "jpeg")  #: the scheme families (:mod:`semcomm.registry`) it applies to
    budget_crafted = False  #: craft's result depends on ``context.psr_db`` (module doc)

    def craft(self, context: CraftContext) -> None:
        """Data-dependent crafting on training images (default: nothing to craft)."""

    def perturb(self, batch, psr_db: float, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def scaled(self, batch, delta, psr_db: float) -> np.ndarray:
        """``delta [N, S]`` (or one frame ``[S]``, broadcast) scaled to ``psr_db`` over this attack's span."""
        delta = np.broadcast_to(np.asarray(delta, dtype=np.complex64), batch.symbols.shape)
        mask = span_mask(self.span, batch.lengths, batch.symbols.shape[1])
        return scale_to_span(delta, batch.symbols, mask, psr_db)

    def describe(self) -> dict:
        """JSON-ready: name, span and threat model."""
        return {"name": self.name, "span": self.span, "threat": self.threat.to_dict()}


def attack_names() -> list[str]:
    return sorted(ATTACKS)


def make_attack(name: str, **options) -> Attack:
    """The attack registered as ``name`` (ValueError naming the known ones otherwise)."""
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; allowed: {', '.join(attack_names())}")
    module, cls = ATTACKS[name].split(":")
    return getattr(importlib.import_module(f"{__package__}.{module}"), cls)(**options)
