"""Analog deep JSCC baseline with ViT blocks ("JSCC" and "JSCC+AT" of Hu et al., Sec. V).

Transmitter (``encode``): image ``[N, C, H, W]`` in ``[0, 1]`` -> ``P`` patches -> linear embedding +
fixed 2-D position embedding -> encoder ViT blocks over **all** patches (no masking) -> LayerNorm ->
per-token linear map to ``c = ceil(2 S / P)`` reals -> channel symbols ``[N, S, 2]`` (I/Q) ->
normalised to unit average power per image, ``mean_s (I_s^2 + Q_s^2) = 1``.

Symbol mapping: the token outputs ``[N, P, c]`` are read feature-major (``[N, c, P]`` flattened, so
feature ``k`` of every patch comes before feature ``k + 1``); the first ``2 S`` reals are kept and
paired as ``(I, Q)``. When ``P c > 2 S`` the dropped reals are the last feature of the last
``P c - 2 S`` patches, so every patch feeds ``c`` or ``c - 1`` reals. The decoder applies the inverse
map (zeros in the dropped places). A per-token map keeps the model small (a dense map from all
tokens to ``2 S`` reals would hold ~2 M weights per side at the default size).

Channel (``channel``, inside the model; noise from torch's RNG or a given generator), per image
``Es/N0 = snr_db [N]`` with the digital link's definition: ``Es = 1`` (the unit average symbol power
above), ``N0 = 10^(-snr_db / 10)``, complex noise ``CN(0, N0)``, i.e. ``N(0, N0 / 2)`` on I and on Q
(:mod:`semcomm.channel.awgn`). ``channel="rayleigh"``: flat Rayleigh fading per symbol
(``h ~ CN(0, 1)``, ``E|h|^2 = 1``) and MMSE equalisation with perfect CSI at the receiver,
``x_hat = conj(h) y / (|h|^2 + N0)``; the decoder input is ``x_hat``.

Receiver (``decode``): received symbols ``[N, S, 2]`` -> inverse symbol map ``[N, P, c]`` -> linear to
the decoder width + position embedding + (``snr_embedding``) a learned linear embedding of
``snr_db / 10`` added to every token -> decoder ViT blocks -> LayerNorm -> mean pool -> class logits
``[N, K]`` (or, for ``task="reconstruction"``, a per-patch head -> image in ``[0, 1]``). With
``snr_embedding`` the decoder uses the SNR (ONNX input ``snr_db``, ``semcomm.uses_snr = 1``), as
the masked VQ-VAE's FIM does; without it the SNR is not an input.

Channel uses: ``S`` defaults to :data:`DEFAULT_SYMBOLS` = 301, the number of payload QAM symbols
the default digital scheme spends per image (:func:`symbols_per_image`: T = 25 indices of
J = 256 -> 200 bits -> 25 payload bytes + CRC-32 = 232 bits -> one shortened ``wifi1944_r12``
codeword of 1204 coded bits -> 301 16-QAM symbols). Preamble (64) and header (468 BPSK) symbols of
the frame are *not* counted (they are framing overhead shared by every scheme sent in frames).

Training interface: the same as :class:`semcomm.nn.masked_vqvae.MaskedVQVAE`, so that
:class:`semcomm.train.trainer.Trainer` trains it (``keep`` and the digital ``channel`` callable are
ignored, the analog channel is inside ``forward``; there is no codebook: ``vq_loss`` is 0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config.schema import section
from .vit import (ENCODER_DECODER_FIELDS, POSITIVE_INT, Block, ViTConfig, patchify, sincos_position_embedding,
                  unpatchify)

CHANNELS = ("awgn", "rayleigh")
SNR_SCALE_DB = 10.0
#: ``symbols_per_image(25, 256, "16qam", "wifi1944_r12")``, checked in tests/test_jscc.py
DEFAULT_SYMBOLS = 301


def symbols_per_image(source=25, codebook_size: int = 256, modulation: str = "16qam", code: str = "wifi1944_r12",
                      *, frame_overhead: bool = False, image_shape=(1, 28, 28)) -> int:
    """Channel symbols one image costs in the digital scheme (the payload of one frame).

    ``source``: the number of indices ``T`` (with ``codebook_size`` J), a ``CodecConfig`` / model with
    a ``config`` (T and J from it), or a digital training config dict (its ``model`` section with
    ``image_shape``, and its ``link`` modulation and code, which override the arguments).
    Computed as the frame does: index bits ``B`` (:class:`semcomm.phy.bits.IndexBitMapper`) ->
    ``ceil(B / 8)`` payload bytes -> :func:`semcomm.phy.modem.payload_layout` (CRC-32, shortened LDPC
    codewords, QAM with zero tail bits) -> ``num_symbols``. ``frame_overhead`` adds the preamble and
    header symbols of the frame (64 + 468)."""
    from ..phy.bits import IndexBitMapper
    from ..phy.modem import HEADER_SYMBOLS, PREAMBLE_LENGTH, payload_layout

    if isinstance(source, dict):
        from .masked_vqvae import CodecConfig

        codec = CodecConfig(image_shape=tuple(image_shape), **source["model"])
        tokens, codebook_size = codec.num_tokens, codec.codebook_size
        modulation, code = source["link"]["modulation"], source["link"]["code"]
    elif hasattr(source, "num_tokens") or hasattr(source, "config"):
        codec = getattr(source, "config", source)
        tokens, codebook_size = codec.num_tokens, codec.codebook_size
    else:
        tokens = int(source)
    bits = IndexBitMapper(int(codebook_size), num_indices=int(tokens)).num_bits
    symbols = payload_layout(-(-bits // 8), modulation, code).num_symbols
    return symbols + (PREAMBLE_LENGTH + HEADER_SYMBOLS if frame_overhead else 0)


@dataclass
class JSCCConfig(ViTConfig):
    encoder_depth: int = 4
    decoder_dim: int = 64
    decoder_depth: int = 2
    symbols: int = DEFAULT_SYMBOLS  #: S complex channel uses per image
    snr_embedding: bool = True      #: decoder gets the SNR (learned embedding added to its tokens)
    channel: str = "awgn"           #: awgn | rayleigh (per-symbol fading, MMSE with perfect CSI)

    TOKEN_WIDTHS = ("dim", "decoder_dim")
    #: ``channel`` comes from the training config's ``channel.fading`` (``none`` is ``awgn``:
    #: :func:`semcomm.config.link.channel_name`, :data:`semcomm.registry.FAMILIES`)
    SCHEMA = section({**ViTConfig.SCHEMA_FIELDS, **ENCODER_DECODER_FIELDS, "symbols": POSITIVE_INT,
                             "snr_embedding": {"type": "boolean"}})

    def __post_init__(self):
        super().__post_init__()
        if int(self.symbols) < 1:
            raise ValueError(f"symbols must be >= 1, got {self.symbols}")
        self.symbols = int(self.symbols)
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}; allowed: {', '.join(CHANNELS)}")

    @property
    def num_tokens(self) -> int:
        """``S`` (``semcomm.num_tokens`` of the analog ONNX pair)."""
        return self.symbols

    @property
    def reals_per_patch(self) -> int:
        """``c = ceil(2 S / P)``: reals each patch token is mapped to before truncation to ``2 S``."""
        return -(-2 * self.symbols // self.num_patches)

    @property
    def uses_snr(self) -> bool:
        return bool(self.snr_embedding)


def normalize_power(symbols: torch.Tensor) -> torch.Tensor:
    """``[N, S, 2]`` scaled to unit average power per image: ``mean_s (I^2 + Q^2) = 1``."""
    power = symbols.pow(2).sum(dim=2).mean(dim=1)
    return symbols / power.clamp_min(1e-12).sqrt()[:, None, None]


def noise_variance(snr_db: torch.Tensor) -> torch.Tensor:
    """``N0 = 10^(-Es/N0[dB] / 10)`` for ``Es = 1`` (as :func:`semcomm.channel.awgn.noise_variance`)."""
    return torch.pow(10.0, -snr_db / 10.0)


class ViTJSCC(nn.Module):
    def __init__(self, config: JSCCConfig):
        super().__init__()
        self.config = cfg = config
        channels, height, width = cfg.image_shape
        grid = (height // cfg.patch, width // cfg.patch)
        reals = cfg.reals_per_patch
        self.patch_embed = nn.Linear(channels * cfg.patch**2, cfg.dim)
        self.register_buffer("pos_embed", sincos_position_embedding(*grid, cfg.dim), persistent=False)
        self.encoder = nn.ModuleList(Block(cfg.dim, cfg.heads, cfg.mlp_ratio) for _ in range(cfg.encoder_depth))
        self.encoder_norm = nn.LayerNorm(cfg.dim)
        self.to_symbols = nn.Linear(cfg.dim, reals)
        self.from_symbols = nn.Linear(reals, cfg.decoder_dim)
        self.snr_embed = nn.Linear(1, cfg.decoder_dim) if cfg.snr_embedding else None
        self.register_buffer("decoder_pos_embed", sincos_position_embedding(*grid, cfg.decoder_dim),
                             persistent=False)
        self.decoder = nn.ModuleList(Block(cfg.decoder_dim, cfg.heads, cfg.mlp_ratio)
                                     for _ in range(cfg.decoder_depth))
        self.decoder_norm = nn.LayerNorm(cfg.decoder_dim)
        out = cfg.num_classes if cfg.task == "classification" else channels * cfg.patch**2
        self.head = nn.Linear(cfg.decoder_dim, out)

    # ---------------------------------------------------------------- transmitter
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Channel symbols float32 ``[N, S, 2]`` (I/Q), unit average power per image, no noise."""
        cfg = self.config
        tokens = self.patch_embed(patchify(images, cfg.patch)) + self.pos_embed
        for block in self.encoder:
            tokens = block(tokens)
        reals = self.to_symbols(self.encoder_norm(tokens))  # [N, P, c]
        flat = reals.transpose(1, 2).reshape(images.shape[0], -1)[:, :2 * cfg.symbols]
        return normalize_power(flat.reshape(images.shape[0], cfg.symbols, 2))

    # ------------------------------------------------------------------- channel
    def channel(self, symbols: torch.Tensor, snr_db: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Received (for Rayleigh: MMSE-equalised) symbols ``[N, S, 2]`` at ``Es/N0 = snr_db [N]`` dB."""
        n0 = noise_variance(snr_db.to(symbols.dtype))[:, None, None]
        noise = torch.randn(symbols.shape, generator=generator, device=symbols.device, dtype=symbols.dtype)
        noise = noise * (n0 / 2).sqrt()
        if self.config.channel == "awgn":
            return symbols + noise
        h = torch.randn(symbols.shape, generator=generator, device=symbols.device, dtype=symbols.dtype)
        h = h * math.sqrt(0.5)  # CN(0, 1) per symbol
        hx = torch.stack([h[..., 0] * symbols[..., 0] - h[..., 1] * symbols[..., 1],
                          h[..., 0] * symbols[..., 1] + h[..., 1] * symbols[..., 0]], dim=-1)
        y = hx + noise
        # conj(h) y / (|h|^2 + N0)
        numerator = torch.stack([h[..., 0] * y[..., 0] + h[..., 1] * y[..., 1],
                                 h[..., 0] * y[..., 1] - h[..., 1] * y[..., 0]], dim=-1)
        return numerator / (h.pow(2).sum(dim=-1, keepdim=True) + n0)

    # ------------------------------------------------------------------- receiver
    def decode(self, symbols: torch.Tensor, snr_db: torch.Tensor | None = None) -> torch.Tensor:
        """Received symbols ``[N, S, 2]`` (and ``snr_db [N]`` when the model uses it) -> task output."""
        cfg = self.config
        batch, patches, reals = symbols.shape[0], cfg.num_patches, cfg.reals_per_patch
        flat = F.pad(symbols.reshape(batch, 2 * cfg.symbols), (0, patches * reals - 2 * cfg.symbols))
        tokens = self.from_symbols(flat.reshape(batch, reals, patches).transpose(1, 2)) + self.decoder_pos_embed
        if self.snr_embed is not None:
            if snr_db is None:
                raise ValueError("this JSCC decoder uses the SNR: pass snr_db [N] in dB")
            tokens = tokens + self.snr_embed(snr_db.to(tokens.dtype)[:, None] / SNR_SCALE_DB)[:, None, :]
        for block in self.decoder:
            tokens = block(tokens)
        tokens = self.decoder_norm(tokens)
        if cfg.task == "classification":
            return self.head(tokens.mean(dim=1))
        channels, height, width = cfg.image_shape
        return torch.sigmoid(unpatchify(self.head(tokens), cfg.patch, channels, height, width))

    # ------------------------------------------------------------------- training
    def sample_keep(self, batch: int, generator: torch.Generator | None = None):
        """No masking: every patch is encoded (the Trainer's keep is None)."""
        return None

    def forward(self, images: torch.Tensor, snr_db: torch.Tensor, keep=None, labels=None, channel=None) -> dict:
        """Training pass through the analog channel (noise from torch's RNG); ``keep``, ``labels`` and
        the digital ``channel`` callable are ignored."""
        symbols = self.encode(images)
        output = self.decode(self.channel(symbols, snr_db), snr_db)
        return {"output": output, "aux_logits": [], "vq_loss": output.new_zeros(()), "indices": None,
                "symbols": symbols}

    def task_loss(self, output: torch.Tensor, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        if self.config.task == "classification":
            return F.cross_entropy(output, labels)
        return F.mse_loss(output, images)
