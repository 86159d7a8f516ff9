"""A perturbation file as an attack of the simulated chain: what the attacker radio plays, evaluated through
the exact chain (:func:`.evaluate.run_point`), so the flowgraph's sweep has a simulated twin on the same file."""
from __future__ import annotations

import numpy as np

from .base import Attack
from .perturbation import Perturbation
from .threat import ThreatModel


class FileAttack(Attack):
    """Plays ``perturbation`` on every frame, row ``k mod R`` on the ``k``-th frame of a batch (the oracle's
    alignment), scaled to the PSR over the file's span."""
    name = "file"
    families = ("digital", "analog")

    def __init__(self, perturbation: Perturbation):
        self.perturbation = perturbation
        self.span = perturbation.span
        self.threat = ThreatModel(**perturbation.threat) if perturbation.threat else ThreatModel()
        self.name = f"file:{perturbation.kind}"

    def perturb(self, batch, psr_db: float, rng: np.random.Generator) -> np.ndarray:
        rows = np.atleast_2d(self.perturbation.symbols)
        width = batch.symbols.shape[1]
        delta = np.zeros_like(batch.symbols)
        take = min(width, rows.shape[1])
        delta[:, :take] = rows[np.arange(len(delta)) % len(rows), :take]
        return self.scaled(batch, delta, psr_db)
