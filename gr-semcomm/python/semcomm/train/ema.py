"""Exponential moving average of the weights (``train.ema_decay``), the deployed model of a run.

After every optimiser step ``theta_avg <- d_n theta_avg + (1 - d_n) theta`` with
``d_n = min(ema_decay, (1 + n) / (10 + n))`` at update ``n``: the ramp keeps the first steps from pinning
the average to the random initialisation, and with ``ema_decay = 0.999`` over a few thousand steps the
average spans the last ``(10 + n) / 9`` steps (about two epochs of 468 batches at the end of a 16-epoch
run). Weight averaging is a standard companion of adversarial training: it smooths the last epochs'
oscillation between clean and robust accuracy (Rebuffi et al., "Data augmentation can improve robustness",
NeurIPS 2021, Sec. 4).

Every floating-point tensor of the state dict is averaged, BatchNorm running statistics included; the
others (counters, flags, integer keep sets) and the model's ``masking_state`` buffers (set from the config
or from noise statistics, not learned) are copied from the trained model.

A checkpoint holds the trained weights under ``model`` (training resumes from them) and, with averaging
on, :meth:`WeightAverage.state_dict` under ``ema``. :func:`deployed_weights` picks what export, evaluation
and fine-tuning use: the average where there is one.
"""
from __future__ import annotations

import torch
from torch import nn


class WeightAverage:
    """EMA of ``model``'s state dict (module doc); :meth:`update` after each optimiser step."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0 < decay < 1:
            raise ValueError(f"ema decay must lie in (0, 1), got {decay}")
        self.model = model
        self.decay = decay
        self.updates = 0
        self.weights = {key: value.detach().clone() for key, value in model.state_dict().items()}
        self._copied = set(getattr(model, "masking_state", ()))

    def current_decay(self) -> float:
        return min(self.decay, (1 + self.updates) / (10 + self.updates))

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        weight = 1 - self.current_decay()
        for key, value in self.model.state_dict().items():
            average = self.weights[key]
            if value.is_floating_point() and key not in self._copied:
                average.lerp_(value, weight)
            else:
                average.copy_(value)

    def state_dict(self) -> dict:
        return {"decay": self.decay, "updates": self.updates, "weights": self.weights}

    def load_state_dict(self, state: dict) -> None:
        if state["decay"] != self.decay:
            raise ValueError(f"checkpoint averages with decay {state['decay']}, the config with {self.decay}")
        self.updates = state["updates"]
        for key, value in state["weights"].items():
            self.weights[key].copy_(value)


def deployed_weights(state: dict) -> dict:
    """The weights a checkpoint deploys: its ``ema`` average if it has one, else its ``model`` entry; a bare
    state dict (no ``model`` key) is returned as is."""
    if "ema" in state:
        return state["ema"]["weights"]
    return state.get("model", state)
