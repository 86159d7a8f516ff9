"""Adversarial weight perturbation (Hu et al., eq. 11; Wu et al., AWP).

One ascent step on the weights of each perturbed layer ``l`` (matrices and convolution kernels;
biases and norms are left alone):

    nu_l = Pi_gamma( eta * g_l / ||g_l|| * ||theta_l|| ),   g_l = grad_{theta_l} L(f_{theta+nu}(s + Delta s), z)

with the projection ``||nu_l|| <= gamma ||theta_l||`` (layer-wise relative norm) and ``eta = gamma``
by default (a single step reaches the ball's surface). :meth:`WeightPerturbation.perturb` adds
``nu`` in place, :meth:`restore` removes it after the gradient of the training loss at
``theta + nu`` has been computed, so the optimiser updates ``theta`` with that gradient.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn


class WeightPerturbation:
    def __init__(self, model: nn.Module, gamma: float = 5e-3, eta: float | None = None):
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma = gamma
        self.eta = gamma if eta is None else eta
        self.params = [p for name, p in model.named_parameters() if p.requires_grad and p.dim() >= 2]
        self._applied: list[torch.Tensor] = []

    def perturb(self, loss_fn: Callable[[], torch.Tensor]) -> None:
        """Compute ``nu`` from ``loss_fn()`` at the current weights and add it to them."""
        if self._applied:
            raise RuntimeError("weights are already perturbed; call restore() first")
        loss = loss_fn()
        grads = torch.autograd.grad(loss, self.params, allow_unused=True)
        with torch.no_grad():
            for param, grad in zip(self.params, grads):
                nu = torch.zeros_like(param) if grad is None else self._step(param, grad)
                param.add_(nu)
                self._applied.append(nu)

    def _step(self, param: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        weight_norm = param.norm()
        nu = self.eta * grad / grad.norm().clamp_min(1e-12) * weight_norm
        limit = self.gamma * weight_norm
        return nu * (limit / nu.norm().clamp_min(1e-12)).clamp(max=1.0)

    def restore(self) -> None:
        with torch.no_grad():
            for param, nu in zip(self.params, self._applied):
                param.sub_(nu)
        self._applied = []
