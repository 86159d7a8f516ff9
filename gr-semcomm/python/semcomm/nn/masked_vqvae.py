"""Masked VQ-VAE semantic codec with ViT blocks, discrete codebook and FIM (Hu et al., Sec. III-IV).

Transmitter (``encode``): image ``[N, C, H, W]`` in ``[0, 1]`` -> ``P`` patch tokens + fixed 2-D
position embedding -> keep ``T`` of the ``P`` patches (the masking) -> encoder ViT blocks on the kept
tokens only -> projection to the codebook dimension ``d`` -> split into ``G`` sub-vectors of ``d / G``
(``code_groups``, default 1) -> nearest basis vector of each -> indices ``[N, T * G]`` in ``[0, J)``, the
``G`` indices of a patch adjacent. Only the indices of the kept patches are sent. ``G > 1`` is product
quantisation with one codebook shared by the sub-vectors: ``G log2 J`` bits per patch instead of
``log2 J`` (``J**G`` code words per patch) for ``G`` times the index count and the same codebook size.
The patch tokens come from (``encoder_stem``):

- ``linear``: a linear embedding of each ``p x p`` patch (ViT);
- ``resnet``: a ResNet over the *masked* image (pixels of dropped patches set to 0, so the encoder
  sees only the kept patches), whose stages halve the resolution down to the ``H/p x W/p`` patch
  grid (``2**(len(stem_widths) - 1) = p``), then a 1 x 1 convolution to ``dim``
  (:class:`ResNetPatchEmbed`).

Receiver (``decode``): indices -> basis vectors (the ``G`` of a patch joined back to ``d``) -> projection
-> at their patch positions among learned mask tokens (see "Inference graph") -> decoder ViT blocks (FIM
after chosen blocks, with the SNR as input) -> task head: class logits ``[N, K]`` or a reconstructed image
``[N, C, H, W]`` in ``[0, 1]``. The class logits come from the mean of the decoder's output tokens over all
``P`` positions (``decoder_pool: all``, default) or over the ``T`` kept ones only (``kept``: the mask
tokens' outputs are not pooled).

Masking
    *Training*: each image keeps ``T`` patches drawn without replacement with probabilities
    ``softmax(keep_logits)`` (Gumbel top-k). ``random`` masking has all ``keep_logits = 0``
    (uniform, as in MAE); the ``noise`` strategy sets ``keep_logits = -lambda * z-score(noise
    energy per patch)``, i.e. patches where semantic noise concentrates are masked more often
    (:func:`noise_keep_logits`).
    *Inference*: the kept positions are fixed and known to both ends, so only indices travel:
    the ``T`` patches with the highest ``keep_logits`` (noise strategy) or, for the random strategy,
    the layout ``keep_layout``: an evenly spread checkerboard-like subset (``spread``, default) or the
    ``T`` patches nearest the image centre (``center``; on Fashion-MNIST's 7 x 7 grid the central
    5 x 5 block). They are a buffer of the model, hence part of the exported ONNX files.
    Training can show the decoder these fixed positions for a share of the images
    (``train.fixed_mask_fraction`` of :mod:`semcomm.train.trainer`).

Inference graph (``keep=None``, the fixed keep set; what :mod:`semcomm.export` traces)
    The encoder embeds only the ``T`` kept patches (a linear stem; the resnet stem convolves the masked image
    and keeps the ``T`` tokens). The decoder does not scatter the received patches among the mask tokens: it
    holds its ``P`` tokens in a fixed order, the ``T`` received ones then the ``P - T`` mask tokens
    (:meth:`MaskedVQVAE.inference_token_order`), each plus its own position's embedding. Attention, the
    per-token layers and the FIM are permutation-equivariant and the pooling is a mean, so the output is the
    same function as the scattered layout (to float rounding; a reconstruction is put back in patch order at
    the end), without a scatter (ONNX Runtime's ScatterElements took about 5 % of the decoder's time at batch
    64). For the shipped ``masked_vqvae_fim_at`` (ONNX Runtime 1.20, one thread, an AVX2 EPYC, ten alternating
    rounds) the exported pair runs 4-5 % faster than the scattering graph at batch 64 and at batch 1.
    Per-image keep sets (training, other reserving ratios) scatter as before.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..config.schema import section
from .codebook import Codebook
from .fim import FeatureImportance
from .resnet import check_trunk, resnet_trunk
from .vit import (ENCODER_DECODER_FIELDS, POSITIVE_INT, Block, ViTConfig, patchify, sincos_position_embedding,
                  unpatchify)

MASKINGS = ("random", "noise")
KEEP_LAYOUTS = ("spread", "center")
DECODER_POOLS = ("all", "kept")
ENCODER_STEMS = ("linear", "resnet")


@dataclass
class CodecConfig(ViTConfig):
    encoder_depth: int = 4
    decoder_dim: int = 64
    decoder_depth: int = 2
    code_dim: int = 32
    codebook_size: int = 256
    code_groups: int = 1  #: G: sub-vectors per patch, each sent as one index (module docstring)
    mask_ratio: float = 0.5
    masking: str = "random"
    noise_mask_strength: float = 1.0
    keep_layout: str = "spread"  #: inference keep set of the random strategy: spread | center
    decoder_pool: str = "all"  #: classification: mean of the decoder's outputs over all | kept positions
    fim_layers: list = field(default_factory=list)  #: decoder blocks followed by a FIM
    fim_mode: str = "soft"  #: soft | label | mean, see :mod:`semcomm.nn.fim`
    beta: float = 0.25
    encoder_stem: str = "linear"  #: patch tokens from: linear | resnet (see the module docstring)
    stem_widths: list = field(default_factory=lambda: [32, 64, 128])  #: resnet stem: channels per stage
    stem_blocks: int = 1  #: resnet stem: basic blocks per stage

    TOKEN_WIDTHS = ("dim", "decoder_dim")
    SCHEMA = section({
        **ViTConfig.SCHEMA_FIELDS, **ENCODER_DECODER_FIELDS,
        "code_dim": POSITIVE_INT, "codebook_size": {"type": "integer", "minimum": 16, "maximum": 1024},
        "code_groups": POSITIVE_INT, "decoder_pool": {"enum": list(DECODER_POOLS)},
        "mask_ratio": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
        "masking": {"enum": list(MASKINGS)}, "noise_mask_strength": {"type": "number", "minimum": 0},
        "keep_layout": {"enum": list(KEEP_LAYOUTS)},
        "fim_layers": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "fim_mode": {"enum": ["soft", "label", "mean"]}, "beta": {"type": "number", "minimum": 0},
        "encoder_stem": {"enum": list(ENCODER_STEMS)},
        "stem_widths": {"type": "array", "items": POSITIVE_INT, "minItems": 1}, "stem_blocks": POSITIVE_INT,
    })

    def __post_init__(self):
        super().__post_init__()
        if self.code_groups < 1 or self.code_dim % self.code_groups:
            raise ValueError(f"code_groups must be a positive divisor of code_dim {self.code_dim}, "
                             f"got {self.code_groups}")
        if not 0.0 <= self.mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in [0, 1), got {self.mask_ratio}")
        if self.masking not in MASKINGS:
            raise ValueError(f"unknown masking {self.masking!r}; allowed: {', '.join(MASKINGS)}")
        if self.decoder_pool not in DECODER_POOLS:
            raise ValueError(f"unknown decoder_pool {self.decoder_pool!r}; allowed: {', '.join(DECODER_POOLS)}")
        if self.keep_layout not in KEEP_LAYOUTS:
            raise ValueError(f"unknown keep_layout {self.keep_layout!r}; allowed: {', '.join(KEEP_LAYOUTS)}")
        bad = [i for i in self.fim_layers if not 0 <= i < self.decoder_depth]
        if bad:
            raise ValueError(f"fim_layers {bad} outside decoder blocks 0..{self.decoder_depth - 1}")
        if self.fim_layers and self.task != "classification":
            raise ValueError("the FIM is defined for classification (its auxiliary loss is a cross entropy)")
        self._check_stem()

    def _check_stem(self):
        if self.encoder_stem not in ENCODER_STEMS:
            raise ValueError(f"unknown encoder_stem {self.encoder_stem!r}; allowed: {', '.join(ENCODER_STEMS)}")
        self.stem_widths = [int(v) for v in self.stem_widths]
        if self.encoder_stem != "resnet":
            return
        check_trunk(self.stem_widths, self.stem_blocks, "a resnet stem", ("stem_widths", "stem_blocks"))
        if 2 ** (len(self.stem_widths) - 1) != self.patch:
            raise ValueError(f"a resnet stem of {len(self.stem_widths)} stages reduces the image by "
                             f"{2 ** (len(self.stem_widths) - 1)}, not by the patch size {self.patch}: give "
                             f"log2(patch) + 1 stem_widths")

    @property
    def num_kept(self) -> int:
        """``T``: patches kept and sent (``round(P (1 - mask_ratio))``, at least 1)."""
        return max(1, int(self.num_patches * (1.0 - self.mask_ratio) + 0.5))

    @property
    def num_tokens(self) -> int:
        """Indices sent per image: ``T * G``."""
        return self.num_kept * self.code_groups

    @property
    def uses_snr(self) -> bool:
        return bool(self.fim_layers)

    def to_dict(self) -> dict:
        """The config as JSON-ready values; a linear stem's unused stem keys, ``code_groups`` 1 and
        ``decoder_pool`` all are left out, so the config (and the model id that hashes it) of a codec reads
        as before those options existed."""
        data = super().to_dict()
        for key, default in (("code_groups", 1), ("decoder_pool", "all")):
            if data[key] == default:
                del data[key]
        if self.encoder_stem == "linear":
            for key in ("encoder_stem", "stem_widths", "stem_blocks"):
                del data[key]
        return data


def spread_positions(grid_h: int, grid_w: int, count: int) -> torch.Tensor:
    """``count`` patch positions spread evenly over the grid (checkerboard order first)."""
    rows, cols = torch.meshgrid(torch.arange(grid_h), torch.arange(grid_w), indexing="ij")
    parity = ((rows + cols) % 2).reshape(-1)
    order = torch.argsort(parity * grid_h * grid_w + torch.arange(grid_h * grid_w), stable=True)
    return torch.sort(order[:count]).values


def center_positions(grid_h: int, grid_w: int, count: int) -> torch.Tensor:
    """The ``count`` patch positions nearest the grid centre (Euclidean; ties in row-major order)."""
    rows, cols = torch.meshgrid(torch.arange(grid_h), torch.arange(grid_w), indexing="ij")
    dist = (2 * rows - (grid_h - 1)) ** 2 + (2 * cols - (grid_w - 1)) ** 2
    order = torch.argsort(dist.reshape(-1), stable=True)
    return torch.sort(order[:count]).values


def keep_positions(layout: str, grid_h: int, grid_w: int, count: int) -> torch.Tensor:
    """Inference keep set of the random strategy for ``layout`` (see :data:`KEEP_LAYOUTS`)."""
    return (center_positions if layout == "center" else spread_positions)(grid_h, grid_w, count)


def noise_keep_logits(noise_energy: torch.Tensor, strength: float) -> torch.Tensor:
    """Keep logits ``-strength * z-score(noise_energy)`` of the noise-related masking strategy."""
    centred = noise_energy - noise_energy.mean()
    return -strength * centred / centred.std().clamp_min(1e-12)


class ResNetPatchEmbed(nn.Module):
    """Convolutional patch tokens: image ``[N, C, H, W]`` -> ResNet trunk (:func:`resnet_trunk`, output at
    ``H/p x W/p``) -> 1 x 1 convolution to ``dim`` -> tokens ``[N, P, dim]`` in row-major grid order."""

    def __init__(self, channels: int, widths, blocks: int, dim: int):
        super().__init__()
        self.stem, self.stages = resnet_trunk(channels, widths, blocks)
        self.proj = nn.Conv2d(widths[-1], dim, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.proj(self.stages(self.stem(images))).flatten(2).transpose(1, 2)


class MaskedVQVAE(nn.Module):
    #: buffers the config's masking sets (``masking``, ``keep_layout``), not learned weights: a fine-tuning
    #: never takes them from its pre-training (:mod:`semcomm.train.pretrained`)
    masking_state = ("keep_logits", "inference_keep")

    def __init__(self, config: CodecConfig):
        super().__init__()
        self.config = cfg = config
        channels, height, width = cfg.image_shape
        grid = (height // cfg.patch, width // cfg.patch)
        if cfg.encoder_stem == "resnet":
            self.patch_embed = ResNetPatchEmbed(channels, cfg.stem_widths, cfg.stem_blocks, cfg.dim)
        else:
            self.patch_embed = nn.Linear(channels * cfg.patch**2, cfg.dim)
        self.register_buffer("pos_embed", sincos_position_embedding(*grid, cfg.dim), persistent=False)
        self.encoder = nn.ModuleList(Block(cfg.dim, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.encoder_depth))
        self.encoder_norm = nn.LayerNorm(cfg.dim)
        self.to_code = nn.Linear(cfg.dim, cfg.code_dim)
        self.codebook = Codebook(cfg.codebook_size, cfg.code_dim // cfg.code_groups)
        self.from_code = nn.Linear(cfg.code_dim, cfg.decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(cfg.decoder_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.register_buffer("decoder_pos_embed", sincos_position_embedding(*grid, cfg.decoder_dim),
                             persistent=False)
        self.decoder = nn.ModuleList(Block(cfg.decoder_dim, cfg.heads, cfg.mlp_ratio)
                                     for _ in range(cfg.decoder_depth))
        self.fims = nn.ModuleDict({str(i): FeatureImportance(cfg.decoder_dim, cfg.num_classes,
                                                             cfg.fim_mode) for i in cfg.fim_layers})
        self.decoder_norm = nn.LayerNorm(cfg.decoder_dim)
        out = cfg.num_classes if cfg.task == "classification" else channels * cfg.patch**2
        self.head = nn.Linear(cfg.decoder_dim, out)
        self.register_buffer("keep_logits", torch.zeros(cfg.num_patches))
        self.register_buffer("inference_keep", keep_positions(cfg.keep_layout, *grid, cfg.num_kept))

    # ------------------------------------------------------------------ masking
    def set_noise_statistics(self, noise_energy: torch.Tensor) -> None:
        """Switch to the noise-related strategy from per-patch noise energy ``[P]``."""
        logits = noise_keep_logits(noise_energy.float(), self.config.noise_mask_strength)
        self.keep_logits.copy_(logits)
        self.inference_keep.copy_(torch.sort(torch.topk(logits, self.config.num_kept).indices).values)

    def sample_keep(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Training mask: ``[N, T]`` kept positions (sorted), Gumbel top-k of ``keep_logits``."""
        uniform = torch.rand(batch, self.config.num_patches, generator=generator, device=self.keep_logits.device)
        gumbel = -torch.log(-torch.log(uniform.clamp(1e-9, 1 - 1e-9)))
        keep = torch.topk(self.keep_logits[None, :] + gumbel, self.config.num_kept, dim=1).indices
        return torch.sort(keep, dim=1).values

    # ---------------------------------------------------------------- transmitter
    def keep_pixels(self, images: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``images`` with the pixels of the patches not in ``keep [N, T]`` (default: the inference keep
        set, one mask for the batch, a constant of the exported graph) set to 0."""
        cfg = self.config
        _, _, height, width = images.shape
        keep = self.inference_keep[None, :] if keep is None else keep
        positions = torch.arange(cfg.num_patches, device=keep.device)
        kept = (keep[:, :, None] == positions).to(images.dtype).sum(dim=1)  # [N or 1, P], 1 where kept
        kept = kept.reshape(-1, 1, height // cfg.patch, 1, width // cfg.patch, 1)
        kept = kept.expand(-1, -1, -1, cfg.patch, -1, cfg.patch).reshape(-1, 1, height, width)
        return images * kept

    def patch_tokens(self, images: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """Tokens ``[N, P, dim]`` of all patch positions; the resnet stem sees the kept pixels only."""
        if self.config.encoder_stem == "resnet":
            return self.patch_embed(self.keep_pixels(images, keep))
        return self.patch_embed(patchify(images, self.config.patch))

    def _inference_kept_tokens(self, images: torch.Tensor) -> torch.Tensor:
        """Tokens ``[N, T, dim]`` of the inference keep set: a linear stem embeds the kept patches only."""
        kept = self.inference_keep
        if self.config.encoder_stem == "linear":
            tokens = self.patch_embed(patchify(images, self.config.patch)[:, kept])
        else:
            tokens = self.patch_tokens(images, None)[:, kept]
        return tokens + self.pos_embed[kept]

    def encode_features(self, images: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Continuous encoder output ``z_e [N, T * G, code_dim / G]`` of the kept patches (one row per
        index sent)."""
        if keep is None:
            tokens = self._inference_kept_tokens(images)
        else:
            tokens = self.patch_tokens(images, keep) + self.pos_embed
            tokens = torch.gather(tokens, 1, keep[:, :, None].expand(-1, -1, tokens.shape[2]))
        for block in self.encoder:
            tokens = block(tokens)
        z_e = self.to_code(self.encoder_norm(tokens))
        return z_e.reshape(z_e.shape[0], -1, self.codebook.dim)

    def encode(self, images: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Indices ``[N, T * G]`` (int64, in ``[0, J)``) of the image's kept patches."""
        return self.codebook.nearest(self.encode_features(images, keep))

    # ------------------------------------------------------------------- receiver
    def inference_token_order(self) -> list[int]:
        """Patch position of each of the ``P`` decoder tokens with the inference keep set: the ``T`` kept
        positions (``inference_keep``), then the dropped ones in ascending order. A Python list, so that the
        exporter traces it (and what it indexes) as a constant of the graph."""
        kept = self.inference_keep.tolist()
        return kept + sorted(set(range(self.config.num_patches)) - set(kept))

    def _inference_decoder_tokens(self, vectors: torch.Tensor) -> torch.Tensor:
        """Decoder input ``[N, P, decoder_dim]`` for the inference keep set, in :meth:`inference_token_order`:
        the received patches' projections, then mask tokens, each plus its position's embedding."""
        cfg = self.config
        batch = vectors.shape[0]
        received = self.from_code(vectors.reshape(batch, cfg.num_kept, cfg.code_dim))
        masked = self.mask_token.expand(batch, cfg.num_patches - cfg.num_kept, cfg.decoder_dim)
        return torch.cat([received, masked], dim=1) + self.decoder_pos_embed[self.inference_token_order()]

    def decode_vectors(self, vectors: torch.Tensor, snr_db: torch.Tensor, keep: torch.Tensor | None = None,
                       labels: torch.Tensor | None = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Basis vectors ``[N, T * G, code_dim / G]`` -> (task output, FIM auxiliary logits per FIM)."""
        cfg = self.config
        if keep is None:
            tokens = self._inference_decoder_tokens(vectors)
        else:
            batch = vectors.shape[0]
            vectors = vectors.reshape(batch, keep.shape[1], cfg.code_dim)
            tokens = self.mask_token.expand(batch, cfg.num_patches, cfg.decoder_dim).clone()
            tokens = tokens.scatter(1, keep[:, :, None].expand(-1, -1, cfg.decoder_dim), self.from_code(vectors))
            tokens = tokens + self.decoder_pos_embed
        aux_logits = []
        for i, block in enumerate(self.decoder):
            tokens = block(tokens)
            if str(i) in self.fims:
                tokens, aux = self.fims[str(i)](tokens, snr_db, labels)
                aux_logits.append(aux)
        tokens = self.decoder_norm(tokens)
        if cfg.task == "classification":
            if cfg.decoder_pool == "kept":
                tokens = (tokens[:, :cfg.num_kept] if keep is None
                          else torch.gather(tokens, 1, keep[:, :, None].expand(-1, -1, cfg.decoder_dim)))
            return self.head(tokens.mean(dim=1)), aux_logits
        if keep is None:  # back to row-major patch order
            order = self.inference_token_order()
            tokens = tokens[:, sorted(range(cfg.num_patches), key=order.__getitem__)]
        channels, height, width = cfg.image_shape
        return torch.sigmoid(unpatchify(self.head(tokens), cfg.patch, channels, height, width)), aux_logits

    def decode(self, indices: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        """Received indices ``[N, T * G]`` (clamped to ``[0, J)``) and SNR ``[N]`` -> task output."""
        indices = indices.clamp(0, self.config.codebook_size - 1)
        return self.decode_vectors(self.codebook.lookup(indices), snr_db)[0]

    # ------------------------------------------------------------------- training
    def forward(self, images: torch.Tensor, snr_db: torch.Tensor, keep: torch.Tensor | None = None,
                labels: torch.Tensor | None = None, channel=None) -> dict:
        """Training pass. ``channel(indices) -> received indices`` models the digital link; the
        decoder sees the received basis vectors, the encoder gets straight-through gradients."""
        z_e = self.encode_features(images, keep)
        indices, z_q, vq_loss = self.codebook.quantize(z_e, self.config.beta)
        if channel is not None:
            z_q = self.codebook.straight_through(z_e, channel(indices))
        output, aux_logits = self.decode_vectors(z_q, snr_db, keep, labels)
        return {"output": output, "aux_logits": aux_logits, "vq_loss": vq_loss, "indices": indices, "z_e": z_e}

    def task_loss(self, output: torch.Tensor, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if self.config.task == "classification":
            return F.cross_entropy(output, labels)
        return F.mse_loss(output, images)
