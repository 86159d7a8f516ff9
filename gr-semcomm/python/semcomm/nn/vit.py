"""Vision Transformer pieces: the config fields every ViT model shares, patchify/unpatchify and a pre-norm
Transformer block.

Shapes: images ``[N, C, H, W]``; patches ``[N, P, C * p * p]`` with ``P = (H / p) * (W / p)`` in
row-major patch order; tokens ``[N, L, D]``. Attention is written with plain matmuls so that
it exports to ONNX (opset >= 17) without custom operators.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

TASKS = ("classification", "reconstruction")
POSITIVE_INT = {"type": "integer", "minimum": 1}
#: a token width (the 2-D sine-cosine position embedding splits it in four)
TOKEN_WIDTH = {"type": "integer", "minimum": 4, "multipleOf": 4}


@dataclass
class ViTConfig:
    """The fields of the ViT models' configs (:class:`~semcomm.nn.masked_vqvae.CodecConfig`,
    :class:`~semcomm.nn.jscc.JSCCConfig`, :class:`~semcomm.nn.classifier.ClassifierConfig`): the image, its
    ``patch x patch`` patches, the token width ``dim``, attention heads, MLP ratio and the task. A subclass adds
    its own fields and sets ``SCHEMA``, the JSON schema of a training config's ``model`` section (the fields
    there, ``SCHEMA_FIELDS`` for these; ``image_shape`` and ``num_classes`` come from the dataset)."""
    image_shape: tuple = (1, 28, 28)
    patch: int = 4
    dim: int = 64
    heads: int = 4
    mlp_ratio: float = 2.0
    num_classes: int = 10
    task: str = "classification"

    TASKS = TASKS  #: the tasks the model can be trained for
    TOKEN_WIDTHS = ("dim",)  #: fields that are token widths (multiples of 4, see TOKEN_WIDTH)
    SCHEMA_FIELDS = {"patch": POSITIVE_INT, "dim": TOKEN_WIDTH, "heads": POSITIVE_INT,
                     "mlp_ratio": {"type": "number", "exclusiveMinimum": 0}}

    def __post_init__(self):
        self.image_shape = tuple(int(v) for v in self.image_shape)
        c, h, w = self.image_shape
        if h % self.patch or w % self.patch:
            raise ValueError(f"image {h}x{w} is not divisible into {self.patch}x{self.patch} patches")
        for name in self.TOKEN_WIDTHS:
            if getattr(self, name) % 4:
                raise ValueError(f"{name} must be a multiple of 4, got {getattr(self, name)}")
        if self.task not in self.TASKS:
            raise ValueError(f"unknown task {self.task!r}; allowed: {', '.join(self.TASKS)}")

    @property
    def num_patches(self) -> int:
        return (self.image_shape[1] // self.patch) * (self.image_shape[2] // self.patch)

    def to_dict(self) -> dict:
        """The config as JSON-ready values (what a model card holds and the model id hashes)."""
        data = asdict(self)
        data["image_shape"] = list(self.image_shape)
        return data


#: the ``model`` section's schema of the fields of an encoder-decoder ViT (masked VQ-VAE, JSCC)
ENCODER_DECODER_FIELDS = {"encoder_depth": POSITIVE_INT, "decoder_dim": TOKEN_WIDTH, "decoder_depth": POSITIVE_INT,
                          "task": {"enum": list(TASKS)}}


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    n, c, h, w = images.shape
    x = images.reshape(n, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 1, 3, 5).reshape(n, (h // patch) * (w // patch), c * patch * patch)


def unpatchify(patches: torch.Tensor, patch: int, channels: int, height: int, width: int) -> torch.Tensor:
    n = patches.shape[0]
    x = patches.reshape(n, height // patch, width // patch, channels, patch, patch)
    return x.permute(0, 3, 1, 4, 2, 5).reshape(n, channels, height, width)


def sincos_position_embedding(grid_h: int, grid_w: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embedding ``[grid_h * grid_w, dim]`` (as in MAE)."""
    if dim % 4:
        raise ValueError(f"embedding dimension must be a multiple of 4, got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float32) / (dim // 4))
    ys, xs = torch.meshgrid(torch.arange(grid_h, dtype=torch.float32),
                            torch.arange(grid_w, dtype=torch.float32), indexing="ij")
    parts = []
    for coordinate in (ys.reshape(-1), xs.reshape(-1)):
        angles = coordinate[:, None] * omega[None, :]
        parts += [torch.sin(angles), torch.cos(angles)]
    return torch.cat(parts, dim=1)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dimension {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.scale = 1.0 / math.sqrt(dim // heads)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        weights = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.proj((weights @ v).transpose(1, 2).reshape(n, length, dim))


class Block(nn.Module):
    """Pre-norm Transformer block: ``x + Attn(LN(x))`` then ``x + MLP(LN(x))``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))
