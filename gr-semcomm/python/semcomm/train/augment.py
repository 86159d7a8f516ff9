"""Training-time image augmentation: random horizontal flips and random translations.

``augment(images, flip, max_shift)`` works on a batch ``[N, C, H, W]`` in ``[0, 1]``. Each image is
mirrored left-right with probability 1/2 (if ``flip``) and moved by ``(dy, dx)`` pixels drawn
uniformly from ``[-max_shift, max_shift]``; pixels shifted in from outside are 0, the background of
Fashion-MNIST (the usual "pad by s, random crop" augmentation). Random numbers come from torch's
global generator, which the trainer seeds and checkpoints.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def random_flip(images: torch.Tensor) -> torch.Tensor:
    """Each image mirrored along its width with probability 1/2."""
    mirrored = torch.rand(images.shape[0], device=images.device) < 0.5
    return torch.where(mirrored[:, None, None, None], images.flip(-1), images)


def random_shift(images: torch.Tensor, max_shift: int) -> torch.Tensor:
    """Each image translated by ``(dy, dx)`` in ``[-max_shift, max_shift]^2``, zero-filled."""
    n, c, h, w = images.shape
    padded = F.pad(images, (max_shift,) * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), device=images.device)
    rows = dy[:, None] + torch.arange(h, device=images.device)  # [N, H] rows of the padded image
    cols = dx[:, None] + torch.arange(w, device=images.device)  # [N, W]
    crop_rows = torch.gather(padded, 2, rows[:, None, :, None].expand(n, c, h, padded.shape[3]))
    return torch.gather(crop_rows, 3, cols[:, None, None, :].expand(n, c, h, w))


def augment(images: torch.Tensor, flip: bool, max_shift: int) -> torch.Tensor:
    """``images`` with :func:`random_flip` (if ``flip``) and :func:`random_shift` (if ``max_shift > 0``)."""
    if flip:
        images = random_flip(images)
    if max_shift > 0:
        images = random_shift(images, max_shift)
    return images
