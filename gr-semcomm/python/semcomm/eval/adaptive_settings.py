"""Settings of ``semcomm eval adaptive`` (:mod:`semcomm.eval.adaptive`). Light: no torch, so the command line
registers without loading it."""
from __future__ import annotations

from dataclasses import dataclass

from ..registry import PAPER_SCHEMES
from .settings import ReportSettings


@dataclass(frozen=True)
class AdaptiveSettings:
    models_dir: str = "models"
    run_dir: str | None = "runs"
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    schemes: tuple = PAPER_SCHEMES
    images: int = 1000                     #: first test images
    batch_size: int = 100
    eps: float = 8 / 255
    snr_db: float = 12.0                   #: Es/N0 of Table III / fig 6
    steps: int = 20                        #: iterations of each adaptive PGD run
    restarts: int = 2
    queries: int = 300                     #: Square attack forward passes
    p_init: float = 0.1                    #: Square attack's initial share of pixels in the window
    tau: float = 0.1                       #: soft-quantiser temperature
    draws: int = 4                         #: analog channel draws per adaptive-attack query (EOT)
    baseline_steps: int = 5                #: K of the reported attack
    baseline_draws: int = 1                #: analog draws of the reported attack (ReportSettings.eot_draws)
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        if min(self.images, self.batch_size, self.steps, self.restarts, self.draws, self.baseline_steps,
               self.baseline_draws) < 1 or self.queries < 0 or self.eps <= 0 or self.tau <= 0:
            raise ValueError("images, batch_size, steps, restarts, draws, baseline_steps, baseline_draws must be "
                             ">= 1, queries >= 0, eps and tau > 0")

    def report_settings(self) -> ReportSettings:
        """The :class:`ReportSettings` whose evaluator (data, models, links) this evaluation uses."""
        return ReportSettings(models_dir=self.models_dir, run_dir=self.run_dir, dataset=self.dataset,
                              data_root=self.data_root, images=self.images, batch_size=self.batch_size,
                              noise_eps=self.eps, eps_snr=self.snr_db, steps=self.baseline_steps,
                              eot_draws=self.baseline_draws, only_models=tuple(self.schemes), seed=self.seed,
                              progress=self.progress)
