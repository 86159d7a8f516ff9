"""Sample-dependent semantic noise by iterative FGSM / PGD (Hu et al., eq. 7).

``s^(k+1) = clip_[0,1]( Pi_eps( s^(k) + alpha * sign(grad_s L(f(s^(k)), z)) ) )`` for ``k = 0..K-1``
under the L-infinity norm (``Pi_eps`` clips the perturbation to ``[-eps, eps]`` per pixel), or
under L2 (normalised gradient step, projection onto the ``eps`` ball). Images live in ``[0, 1]``,
so ``eps = 8/255`` means 8 grey levels. The model's parameters are left untouched (no gradient
is accumulated in them).
"""
from __future__ import annotations

from typing import Callable

import torch

NORMS = ("linf", "l2")


def pgd_attack(images: torch.Tensor, loss_fn: Callable[[torch.Tensor], torch.Tensor], eps: float,
               alpha: float, steps: int, norm: str = "linf", random_start: bool = False,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Adversarial images ``[N, C, H, W]`` maximising ``loss_fn(images)`` (a scalar, e.g. mean CE)."""
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; allowed: {', '.join(NORMS)}")
    if eps < 0 or alpha <= 0 or steps < 0:
        raise ValueError(f"need eps >= 0, alpha > 0, steps >= 0; got eps={eps}, alpha={alpha}, steps={steps}")
    clean = images.detach()
    delta = torch.zeros_like(clean)
    if random_start and eps > 0:
        delta = (torch.rand(clean.shape, generator=generator, device=clean.device) * 2 - 1) * eps
        delta = _project(delta, eps, norm)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = loss_fn((clean + delta).clamp(0, 1))
        (grad,) = torch.autograd.grad(loss, delta)
        with torch.no_grad():
            delta = _project(delta + alpha * _direction(grad, norm), eps, norm)
            delta = (clean + delta).clamp(0, 1) - clean
    return (clean + delta).detach()


def _direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    if norm == "linf":
        return grad.sign()
    flat = grad.flatten(1).norm(dim=1).clamp_min(1e-12)
    return grad / flat.view(-1, *([1] * (grad.dim() - 1)))


def _project(delta: torch.Tensor, eps: float, norm: str) -> torch.Tensor:
    if norm == "linf":
        return delta.clamp(-eps, eps)
    flat = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
    factor = (eps / flat).clamp(max=1.0)
    return delta * factor.view(-1, *([1] * (delta.dim() - 1)))
