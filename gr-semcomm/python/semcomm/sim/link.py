"""The digital link of a semantic codec, as training and evaluation see it: its spec and its interface.

A semantic codec sends ``T`` codebook indices per image through

    indices -> bits (:class:`~semcomm.phy.bits.IndexBitMapper`) -> payload of the frame modem (zero pad
    to whole bytes + CRC-32) -> shortened LDPC -> QAM -> channel at the image's SNR -> soft demap (LLR)
    -> LDPC decode -> bits -> indices

:class:`ChainSettings` is the link's spec (modulation, code, decoder, fading). Every link a codec can be
given implements one interface, :meth:`IndexLink.corrupt`::

    corrupt(indices [N, T] int, snr_db [N] or scalar, rng) -> (indices' [N, T] int64, CorruptStats)

:class:`~semcomm.sim.exact_chain.ExactChain` runs the real chain on the batch (evaluation);
:class:`~semcomm.sim.error_profile.ErrorProfile` samples measured post-FEC error statistics (training).
:class:`CorruptStats` flags what happened to each image, the payload CRC-32 failures included (a failed
CRC does not drop a semantic frame: the indices are still delivered).

SNR definition
    ``snr_db`` is **Es/N0 per transmitted payload QAM symbol** (``Es = 1``, noise ``CN(0, N0)``),
    the definition of :mod:`semcomm.channel` and of the PHY loopback. It is the SNR axis that
    compares digital and analog schemes fairly (the analog JSCC baseline spends the same channel
    uses at the same symbol power), and the one the issue's ranges (train -3..12 dB, test -9..18 dB)
    refer to. ``Eb/N0 = Es/N0 - 10 log10(k R)`` (:func:`semcomm.channel.esn0_to_ebn0_db`); for
    16-QAM + rate-1/2 LDPC, Eb/N0 is Es/N0 - 3.01 dB. With fading, ``snr_db`` is the *average*
    Es/N0 (``E|h|^2 = 1``).

Payload size
    ``B`` index bits (``IndexBitMapper.num_bits``) are padded with zeros to ``L = ceil(B / 8)`` bytes,
    the payload of a :class:`~semcomm.phy.modem.FrameModem` frame, whose layout
    (:func:`~semcomm.phy.modem.payload_layout`) adds the 32-bit payload CRC: ``P = 8 L + 32`` payload
    bits (:func:`frame_payload_bits`), spread by :class:`~semcomm.phy.ldpc.ShortenedCoder` over
    ``C = ceil(P / k)`` codewords in order (index bits first). The frame header (separately coded,
    BPSK, far more robust) is not modelled: a lost header would lose the whole frame, which at the SNRs
    where it happens the payload has long lost anyway.

numpy only (no torch): the training code converts tensors.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np

from ..phy.bits import IndexBitMapper
from ..phy.modem import LinkConfig, framed_payload_bits, payload_layout
from ..config.link import FADINGS, channel_name
from ..phy.qam import check_modulation
from .ber import FadingSpec


def index_payload_bytes(index_bits: int) -> int:
    """Payload bytes of a frame carrying ``index_bits`` index bits (zero padded to whole bytes)."""
    if int(index_bits) < 1:
        raise ValueError(f"index_bits must be >= 1, got {index_bits}")
    return -(-int(index_bits) // 8)


def frame_payload_bits(index_bits: int) -> int:
    """Payload bits of a frame carrying ``index_bits`` index bits: ``8 ceil(B / 8) + 32`` (pad + CRC-32)."""
    return framed_payload_bits(index_payload_bytes(index_bits))


@dataclass(frozen=True)
class ChainSettings:
    """The PHY of the chain: modulation, LDPC code and decoder, fading.

    ``fading`` is ``none`` (AWGN alone), ``rayleigh`` or ``rician``, spelled as a config's ``channel.fading``
    (:mod:`semcomm.config.link`): flat fading (:class:`semcomm.sim.ber.FadingSpec`), one gain per
    ``fading_block`` symbols, equalised with perfect CSI when ``csi``.
    ``code="none"`` sends the payload uncoded (one "codeword" = the whole payload).
    """
    modulation: str = "16qam"
    code: str = "wifi1944_r12"
    decoder: str = "nms"
    max_iterations: int = 20
    llr_method: str = "maxlog"
    fading: str = "none"
    k_factor_db: float = 0.0
    fading_block: int = 1
    csi: bool = True

    def __post_init__(self):
        object.__setattr__(self, "modulation", check_modulation(self.modulation))
        self.link_config()  # the link's own checks name a bad modulation, code, decoder or LLR method
        if isinstance(self.max_iterations, bool) or int(self.max_iterations) != self.max_iterations \
                or self.max_iterations < 1:
            raise ValueError(f"max_iterations must be an int >= 1, got {self.max_iterations!r}")
        if self.fading not in FADINGS:
            raise ValueError(f"unknown fading {self.fading!r}; allowed: {', '.join(FADINGS)}")
        object.__setattr__(self, "max_iterations", int(self.max_iterations))
        object.__setattr__(self, "k_factor_db", float(self.k_factor_db))
        object.__setattr__(self, "fading_block", int(self.fading_block))
        object.__setattr__(self, "csi", bool(self.csi))
        self.fading_spec()  # validates the fading block length

    @classmethod
    def from_link_config(cls, link, fading: str = "none", **parameters) -> "ChainSettings":
        """From a :class:`semcomm.phy.modem.LinkConfig` (modulation, code, decoder, iterations, LLR)."""
        return cls(link.modulation, link.code, link.decoder, link.max_iterations, link.llr_method, fading,
                   **parameters)

    def link_config(self, **frame) -> LinkConfig:
        """The frame modem's settings for this chain; ``frame``: the other :class:`LinkConfig` fields
        (model id, semantic flag, ...)."""
        return LinkConfig(modulation=self.modulation, code=self.code, decoder=self.decoder,
                          max_iterations=self.max_iterations, llr_method=self.llr_method, **frame)

    def fading_spec(self) -> FadingSpec:
        return FadingSpec(channel_name(self.fading), self.k_factor_db, self.fading_block, self.csi)

    def channel_output(self, symbols, snr_db, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Frames of symbols ``[F, S]`` through the channel at Es/N0 ``snr_db`` (scalar or one per frame
        ``[F]``) -> (symbols to demap, their N0), as :meth:`FadingSpec.apply`."""
        snr = np.asarray(snr_db, dtype=np.float64)
        return self.fading_spec().apply(symbols, snr.reshape(-1, 1) if snr.ndim else snr, rng)


@dataclass
class CorruptStats:
    """What :meth:`IndexLink.corrupt` did to each image (arrays ``[N]``).

    ``bit_errors``: flipped index bits; ``index_errors``: indices that came out different;
    ``clamped``: received indices ``>= J`` clamped to ``J - 1`` (non-power-of-two ``J``);
    ``codeword_errors``: codewords of the payload with at least one wrong payload bit;
    ``frame_error``: any payload bit (index, pad or CRC bits) wrong, i.e. the payload CRC-32 fails
    (up to undetected errors, ~2^-32): the frame is flagged, the indices are still delivered.
    ``snr_db`` is the SNR used (after clipping, see the error profile's ``out_of_range``).
    """
    snr_db: np.ndarray
    bit_errors: np.ndarray
    index_errors: np.ndarray
    clamped: np.ndarray
    codeword_errors: np.ndarray
    frame_error: np.ndarray
    index_bits: int
    num_indices: int

    def summary(self) -> dict:
        """Batch totals and rates (JSON-ready)."""
        n = len(self.snr_db)
        return {
            "images": n,
            "bit_errors": int(self.bit_errors.sum()),
            "index_bit_error_rate": float(self.bit_errors.sum() / max(1, n * self.index_bits)),
            "index_errors": int(self.index_errors.sum()),
            "index_error_rate": float(self.index_errors.sum() / max(1, n * self.num_indices)),
            "clamped": int(self.clamped.sum()),
            "codeword_errors": int(self.codeword_errors.sum()),
            "frame_errors": int(self.frame_error.sum()),
            "frame_error_rate": float(self.frame_error.mean()) if n else 0.0,
        }


class IndexLink(abc.ABC):
    """A codec's indices through a digital link (module doc): the payload layout of the frame modem,
    the input checks and the bits -> indices side that every link shares."""

    def __init__(self, mapper: IndexBitMapper, chain: ChainSettings):
        self.mapper = mapper
        self.chain = chain
        self.index_bits = mapper.num_bits
        self.layout = payload_layout(index_payload_bytes(self.index_bits), chain.modulation, chain.code)
        self.payload_bits = self.layout.num_bits
        self.coded_bits = self.layout.num_coded_bits
        self.symbols_per_frame = self.layout.num_symbols
        coder = self.layout.coder
        self.codeword_lengths = (np.asarray(coder.info_lengths, dtype=np.int64) if coder
                                 else np.array([self.payload_bits]))
        self.codeword_starts = np.concatenate([[0], np.cumsum(self.codeword_lengths)[:-1]]).astype(np.int64)
        self.num_codewords = len(self.codeword_lengths)

    @abc.abstractmethod
    def corrupt(self, indices, snr_db, rng) -> tuple[np.ndarray, CorruptStats]:
        """Indices ``[N, T]`` at per-image Es/N0 ``snr_db`` ``[N]`` (or one for all) -> (indices' ``[N, T]``
        int64, :class:`CorruptStats`); ``rng`` a numpy Generator or an int seed."""

    def _check_inputs(self, indices, snr_db, rng):
        indices = np.asarray(indices)
        if indices.ndim != 2 or indices.shape[1] != self.mapper.num_indices:
            raise ValueError(f"indices must have shape [N, {self.mapper.num_indices}] (T = {self.mapper.num_indices} "
                             f"for {self.mapper!r}), got {list(indices.shape)}")
        if not np.issubdtype(indices.dtype, np.integer):
            raise ValueError(f"indices must be integers (int64), got dtype {indices.dtype}")
        try:
            snr = np.asarray(snr_db, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"snr_db must be numbers in dB, got {snr_db!r}") from None
        if snr.ndim == 0:
            snr = np.full(indices.shape[0], float(snr))
        if snr.ndim != 1 or snr.shape[0] != indices.shape[0]:
            raise ValueError(f"snr_db must have shape [N] = [{indices.shape[0]}] (one SNR per image) or be a "
                             f"scalar, got shape {list(snr.shape)}")
        if not np.isfinite(snr).all():
            raise ValueError(f"snr_db must be finite dB values, got {snr[~np.isfinite(snr)][:3].tolist()}")
        if rng is None or isinstance(rng, (bool, float)):
            raise ValueError("rng must be a numpy Generator (np.random.default_rng(seed)) or an int seed")
        return indices, snr, np.random.default_rng(rng)

    def _finish(self, indices, sent_bits, received_bits, wrong_payload, snr) -> tuple[np.ndarray, CorruptStats]:
        """Received index bits ``[N, B]`` and the wrong payload bits ``[N, P]`` -> (indices', stats)."""
        if indices.shape[0]:
            out, clamped = self.mapper.from_bits(received_bits)
            per_codeword = np.add.reduceat(wrong_payload, self.codeword_starts, axis=1)
        else:  # empty batch (IndexBitMapper.from_bits cannot reshape zero rows)
            out, clamped = np.zeros(indices.shape, dtype=np.int64), np.zeros(0, dtype=np.int64)
            per_codeword = np.zeros((0, self.num_codewords), dtype=np.int64)
        stats = CorruptStats(
            snr_db=snr,
            bit_errors=np.count_nonzero(received_bits != sent_bits, axis=1).astype(np.int64),
            index_errors=np.count_nonzero(out != indices, axis=1).astype(np.int64),
            clamped=clamped,
            codeword_errors=np.count_nonzero(per_codeword, axis=1).astype(np.int64),
            frame_error=wrong_payload.any(axis=1),
            index_bits=self.index_bits,
            num_indices=self.mapper.num_indices)
        return out, stats
