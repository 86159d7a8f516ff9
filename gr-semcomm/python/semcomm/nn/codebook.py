"""Discrete codebook shared by transmitter and receiver (paper Sec. III-B/C).

``J`` basis vectors ``e_j`` of dimension ``d``. Quantisation is the nearest-neighbour look-up (12);
the straight-through estimator copies the decoder-input gradient to the encoder output.

Both the encoder output and the basis vectors are l2-normalised before the look-up (as in
ViT-VQGAN): with raw vectors a small codebook collapsed to 8 of 256 codes within one epoch on
Fashion-MNIST. Codes that fall out of use are restarted on recent encoder outputs
(:meth:`Codebook.restart_unused`) and the codes start on encoder outputs of the first training
batch, both standard VQ-VAE remedies. Losses:

* codebook term ``||ng[z_e] - e_j||^2`` and commitment ``beta ||z_e - ng[e_j]||^2`` of (13);
* semantic similarity (15): ``L_s = ||E^T E||_2`` with ``E`` the column-normalised codebook (14).
  We use the Frobenius norm of the *off-diagonal* cosine similarities divided by ``J``: the diagonal
  is identically 1 and only adds a constant, and the scale keeps ``L_s`` comparable across ``J``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Codebook(nn.Module):
    def __init__(self, size: int, dim: int):
        super().__init__()
        if not 2 <= size <= 65536:
            raise ValueError(f"codebook size J must be in [2, 65536], got {size}")
        self.size = size
        self.dim = dim
        self.vectors = nn.Parameter(torch.randn(size, dim) / dim**0.5)
        self.register_buffer("usage", torch.zeros(size), persistent=False)
        self.register_buffer("initialized", torch.tensor(False))

    def normalized(self) -> torch.Tensor:
        return F.normalize(self.vectors, dim=1)

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """Indices ``[...]`` (int64) of the basis vectors nearest to ``z [..., d]`` (eq. 12, normalised)."""
        flat = F.normalize(z.reshape(-1, self.dim), dim=1)
        return (flat @ self.normalized().t()).argmax(dim=1).reshape(z.shape[:-1])

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Normalised basis vectors ``[..., d]`` of ``indices`` (already within ``[0, J)``)."""
        return F.embedding(indices, self.normalized())

    def quantize(self, z: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(indices, z_q with straight-through gradient, codebook + beta * commitment loss)``."""
        z = F.normalize(z, dim=-1)
        if self.training and not bool(self.initialized):
            self._initialize_from(z.detach())
        indices = self.nearest(z)
        z_q = self.lookup(indices)
        loss = F.mse_loss(z_q, z.detach()) + beta * F.mse_loss(z, z_q.detach())
        if self.training:
            self.usage += torch.bincount(indices.reshape(-1), minlength=self.size).float()
        return indices, z + (z_q - z).detach(), loss

    def straight_through(self, z: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Vectors of (possibly channel-corrupted) ``indices`` in the forward pass, gradient to ``z``."""
        z = F.normalize(z, dim=-1)
        return z + (self.lookup(indices) - z).detach()

    @torch.no_grad()
    def _initialize_from(self, z: torch.Tensor) -> None:
        """Data-dependent initialisation: the codes start on random encoder outputs of the first batch."""
        samples = z.reshape(-1, self.dim)
        picks = samples[torch.randint(len(samples), (self.size,))]
        self.vectors.copy_(F.normalize(picks + 0.01 * torch.randn_like(picks), dim=1))
        self.initialized.fill_(True)

    @torch.no_grad()
    def restart_unused(self, recent: torch.Tensor, min_share: float = 0.03) -> int:
        """Re-seed codes used less than ``min_share`` of the uniform rate (since the last call)
        with random recent encoder outputs ``[..., d]``; returns how many were restarted."""
        total = self.usage.sum()
        if total == 0:
            return 0
        dead = torch.nonzero(self.usage < min_share * total / self.size).flatten()
        self.usage.zero_()
        if dead.numel():
            samples = recent.reshape(-1, self.dim)
            picks = samples[torch.randint(len(samples), (dead.numel(),))]
            self.vectors[dead] = F.normalize(picks + 0.01 * torch.randn_like(picks), dim=1)
        return int(dead.numel())

    def similarity_loss(self) -> torch.Tensor:
        """Semantic-similarity loss (15) on the normalised codebook (see module docstring)."""
        normalised = self.normalized()
        gram = normalised @ normalised.t()
        off_diagonal = gram - torch.eye(self.size, device=gram.device)
        return off_diagonal.pow(2).sum().sqrt() / self.size

    def similarity_matrix(self) -> torch.Tensor:
        """Cosine similarities ``[J, J]`` (Fig. 10 heat map)."""
        normalised = F.normalize(self.vectors.detach(), dim=1)
        return normalised @ normalised.t()
