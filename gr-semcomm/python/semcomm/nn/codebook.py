"""Discrete codebook shared by transmitter and receiver (paper Sec. III-B/C).

``J`` basis vectors ``e_j`` of dimension ``d``. Quantisation is the nearest-neighbour look-up (12);
the straight-through estimator copies the decoder-input gradient to the encoder output. Losses:

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

    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        """Indices ``[...]`` (int64) of the basis vectors nearest to ``z [..., d]`` (eq. 12)."""
        flat = z.reshape(-1, self.dim)
        distances = (flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.vectors.t()
                     + self.vectors.pow(2).sum(1)[None, :])
        return distances.argmin(dim=1).reshape(z.shape[:-1])

    def lookup(self, indices: torch.Tensor) -> torch.Tensor:
        """Basis vectors ``[..., d]`` of ``indices`` (already within ``[0, J)``)."""
        return F.embedding(indices, self.vectors)

    def quantize(self, z: torch.Tensor, beta: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(indices, z_q with straight-through gradient, codebook + beta * commitment loss)``."""
        indices = self.nearest(z)
        z_q = self.lookup(indices)
        loss = F.mse_loss(z_q, z.detach()) + beta * F.mse_loss(z, z_q.detach())
        return indices, z + (z_q - z).detach(), loss

    def straight_through(self, z: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        """Vectors of (possibly channel-corrupted) ``indices`` in the forward pass, gradient to ``z``."""
        return z + (self.lookup(indices) - z).detach()

    def similarity_loss(self) -> torch.Tensor:
        """Semantic-similarity loss (15) on the normalised codebook (see module docstring)."""
        normalised = F.normalize(self.vectors, dim=1)
        gram = normalised @ normalised.t()
        off_diagonal = gram - torch.eye(self.size, device=gram.device)
        return off_diagonal.pow(2).sum().sqrt() / self.size

    def similarity_matrix(self) -> torch.Tensor:
        """Cosine similarities ``[J, J]`` (Fig. 10 heat map)."""
        normalised = F.normalize(self.vectors.detach(), dim=1)
        return normalised @ normalised.t()
