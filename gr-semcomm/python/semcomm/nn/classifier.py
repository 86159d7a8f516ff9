"""Plain ViT image classifier: the receiver of the JPEG + LDPC baselines ("JPEG+LDPC(+AT)", Hu et al. Sec. V).

The classical scheme sends JPEG bytes through the digital PHY; the receiver decodes the JPEG and
classifies the image with this network, the same ViT building blocks as the semantic codecs:

image ``[N, C, H, W]`` in ``[0, 1]`` -> ``P`` patches of ``p x p`` -> linear embedding + fixed 2-D
position embedding -> ``depth`` pre-norm Transformer blocks over all patches -> LayerNorm -> mean
pool over tokens -> linear head -> class logits ``[N, K]``.

There is no channel inside the model and no SNR input (the JPEG frame either arrives intact or not
at all). Training interface: the one of :class:`semcomm.nn.masked_vqvae.MaskedVQVAE`, so that
:class:`semcomm.train.trainer.Trainer` trains it with or without PGD adversarial training (``keep``,
``labels`` and ``channel`` are ignored; there is no codebook: ``vq_loss`` is 0).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config.schema import section
from .vit import POSITIVE_INT, Block, ViTConfig, patchify, sincos_position_embedding


@dataclass
class ClassifierConfig(ViTConfig):
    depth: int = 6

    TASKS = ("classification",)
    SCHEMA = section({**ViTConfig.SCHEMA_FIELDS, "depth": POSITIVE_INT})

    @property
    def uses_snr(self) -> bool:
        return False


class ImageClassifier(nn.Module):
    """The training and evaluation interface of the image classifiers (this ViT, the ResNet attack surrogate
    of :mod:`semcomm.nn.resnet`): subclasses define :meth:`logits`."""

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[N, C, H, W]`` in ``[0, 1]`` -> class logits ``[N, K]``."""
        raise NotImplementedError

    def sample_keep(self, batch: int, generator: torch.Generator | None = None):
        """No masking: the classifier sees the whole image (the Trainer's keep is None)."""
        return None

    def forward(self, images: torch.Tensor, snr_db: torch.Tensor | None = None, keep=None, labels=None,
                channel=None) -> dict:
        """Training pass on (clean or adversarial) images; the other arguments are ignored."""
        output = self.logits(images)
        return {"output": output, "aux_logits": [], "vq_loss": output.new_zeros(()), "indices": None}

    def task_loss(self, output: torch.Tensor, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(output, labels)


class ViTClassifier(ImageClassifier):
    """The JPEG baselines' receiver (module doc)."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = cfg = config
        channels, height, width = cfg.image_shape
        self.patch_embed = nn.Linear(channels * cfg.patch**2, cfg.dim)
        self.register_buffer("pos_embed", sincos_position_embedding(height // cfg.patch, width // cfg.patch, cfg.dim),
                             persistent=False)
        self.blocks = nn.ModuleList(Block(cfg.dim, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim)
        self.head = nn.Linear(cfg.dim, cfg.num_classes)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[N, C, H, W]`` in ``[0, 1]`` -> class logits ``[N, K]``."""
        tokens = self.patch_embed(patchify(images, self.config.patch)) + self.pos_embed
        for block in self.blocks:
            tokens = block(tokens)
        return self.head(self.norm(tokens).mean(dim=1))
