"""Small ResNet image classifier: the surrogate of black-box (transfer) semantic noise (Hu et al. Table III).

The paper crafts black-box semantic noise on a ResNet-based and on a Transformer-based model that the
attacked system does not contain, then feeds the perturbed images to every scheme. This is the ResNet:
the CIFAR variant of He et al. (2016, Sec. 4.2), sized for 28 x 28 or 32 x 32 images:

image ``[N, C, H, W]`` in ``[0, 1]`` -> 3 x 3 conv (``widths[0]`` channels) + BatchNorm + ReLU ->
``len(widths)`` stages of ``blocks`` basic residual blocks (two 3 x 3 conv + BatchNorm, identity
shortcut, or a strided 1 x 1 conv + BatchNorm where the shape changes); every stage after the first
halves the resolution -> global average pool -> linear head -> class logits ``[N, K]``.
With ``widths = (16, 32, 64)`` and ``blocks = 1`` it is ResNet-8 (about 78k parameters).

It is trained like the JPEG baselines' classifier (``scheme: resnet_surrogate``, no channel, see
:mod:`semcomm.train.trainer`) and shipped as a PyTorch state dict (:mod:`semcomm.export.surrogate`): it
is never deployed on a link, only differentiated by the attack.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config.schema import section
from .classifier import ImageClassifier
from .vit import POSITIVE_INT


@dataclass
class ResNetConfig:
    image_shape: tuple = (1, 28, 28)
    widths: tuple = (16, 32, 64)   #: channels of each stage
    blocks: int = 1                #: basic blocks per stage
    num_classes: int = 10
    task: str = "classification"   #: the only task (kept for the exporters' common checks)

    SCHEMA = section({"widths": {"type": "array", "items": POSITIVE_INT, "minItems": 1},
                             "blocks": POSITIVE_INT})

    def __post_init__(self):
        self.image_shape = tuple(int(v) for v in self.image_shape)
        self.widths = tuple(int(v) for v in self.widths)
        check_trunk(self.widths, self.blocks, "a ResNet", ("widths", "blocks"))
        if self.task != "classification":
            raise ValueError(f"a ResNet classifier has task 'classification', got {self.task!r}")

    @property
    def uses_snr(self) -> bool:
        return False

    def to_dict(self) -> dict:
        data = asdict(self)
        data["image_shape"], data["widths"] = list(self.image_shape), list(self.widths)
        return data


def check_trunk(widths, blocks: int, what: str, names: tuple[str, str]) -> None:
    """ValueError unless :func:`resnet_trunk` can build ``widths`` / ``blocks``: at least one stage, every
    width and the blocks per stage >= 1. ``what`` and the config field ``names`` go into the message."""
    if not widths or min(widths) < 1 or blocks < 1:
        raise ValueError(f"{what} needs >= 1 stage of >= 1 block and positive widths, got "
                         f"{names[0]} {widths}, {names[1]} {blocks}")


class BasicBlock(nn.Module):
    """``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``, the first conv with ``stride``."""

    def __init__(self, channels_in: int, channels_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or channels_in != channels_out:
            self.shortcut = nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(channels_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def resnet_trunk(channels_in: int, widths, blocks: int) -> tuple[nn.Sequential, nn.Sequential]:
    """(stem, stages) of the ResNet: ``channels_in`` -> ``widths[-1]`` channels at ``1 / 2**(len(widths) - 1)``
    of the input resolution (every stage after the first halves it)."""
    width = widths[0]
    stem = nn.Sequential(nn.Conv2d(channels_in, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
    layers = []
    for stage, channels in enumerate(widths):
        for block in range(blocks):
            layers.append(BasicBlock(width, channels, 2 if stage > 0 and block == 0 else 1))
            width = channels
    return stem, nn.Sequential(*layers)


class ResNetClassifier(ImageClassifier):

    def __init__(self, config: ResNetConfig):
        super().__init__()
        self.config = cfg = config
        self.stem, self.stages = resnet_trunk(cfg.image_shape[0], cfg.widths, cfg.blocks)
        self.head = nn.Linear(cfg.widths[-1], cfg.num_classes)

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[N, C, H, W]`` in ``[0, 1]`` -> class logits ``[N, K]``."""
        return self.head(self.stages(self.stem(images)).mean(dim=(2, 3)))
