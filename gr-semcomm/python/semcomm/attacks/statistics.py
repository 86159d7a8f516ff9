"""Where semantic noise concentrates: per-patch energy of PGD perturbations (masking strategy input).

For ``n`` training images, the sample-dependent semantic noise ``Delta s = s' - s`` of eq. (7) is
computed against the current model; its energy ``||Delta s_p||^2`` is averaged per patch ``p``.
Patches with high energy are where the attack has leverage; the noise-related masking strategy
masks them more often (:func:`semcomm.nn.masked_vqvae.noise_keep_logits`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..nn.vit import patchify
from .pgd import pgd_attack


def patch_noise_energy(model, images: torch.Tensor, labels: torch.Tensor, snr_db: torch.Tensor, eps: float,
                       alpha: float, steps: int, norm: str = "linf", batch_size: int = 256) -> torch.Tensor:
    """Mean perturbation energy per patch ``[P]`` over ``images [N, C, H, W]`` (all patches visible)."""
    patch = model.config.patch
    all_patches = torch.arange(model.config.num_patches)
    total = torch.zeros(model.config.num_patches)
    for start in range(0, len(images), batch_size):
        x, y, snr = images[start:start + batch_size], labels[start:start + batch_size], snr_db[start:start + batch_size]
        keep = all_patches[None, :].expand(len(x), -1)

        def loss_fn(batch, y=y, snr=snr, keep=keep):
            z = model.encode_features(batch, keep)
            vectors = model.codebook.straight_through(z, model.codebook.nearest(z))
            return F.cross_entropy(model.decode_vectors(vectors, snr, keep)[0], y)

        delta = pgd_attack(x, loss_fn, eps, alpha, steps, norm) - x
        total += patchify(delta, patch).pow(2).sum(dim=2).sum(dim=0)
    return total / len(images)
