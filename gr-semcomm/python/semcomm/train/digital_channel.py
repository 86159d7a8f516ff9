"""The digital chain in the training loop: index corruption with the residual errors of the real PHY.

A semantic codec sends ``T`` codebook indices per image through

    indices -> bits (:class:`~semcomm.phy.bits.IndexBitMapper`) -> payload (+ zero pad to whole bytes
    + CRC-32, exactly as the frame modem builds it) -> shortened LDPC (:class:`~semcomm.phy.ldpc.ShortenedCoder`)
    -> QAM -> channel at the image's SNR -> soft demap (LLR) -> LDPC decode -> bits -> indices

and training must see what comes out. Two implementations share one interface,
``corrupt(indices [N, T] int, snr_db [N], rng) -> (indices' [N, T] int64, CorruptStats)``:

:class:`ErrorProfile`
    A table of post-FEC error statistics measured with the real PHY core on a grid of SNRs, then
    *sampled* per batch (microseconds per image, cheap enough for every training batch on a CPU).
:class:`ExactChain`
    Runs the real chain on the batch itself (milliseconds per image): evaluation, and occasional
    validation of a profile (:func:`validate_profile`).

SNR definition
    ``snr_db`` is **Es/N0 per transmitted payload QAM symbol** (``Es = 1``, noise ``CN(0, N0)``),
    the definition of :mod:`semcomm.channel` and of the PHY loopback. It is the SNR axis that
    compares digital and analog schemes fairly (the analog JSCC baseline spends the same channel
    uses at the same symbol power), and the one the issue's ranges (train -3..12 dB, test -9..18 dB)
    refer to. ``Eb/N0 = Es/N0 - 10 log10(k R)`` (:func:`semcomm.channel.esn0_to_ebn0_db`); for
    16-QAM + rate-1/2 LDPC, Eb/N0 is Es/N0 - 3.01 dB. With fading, ``snr_db`` is the *average*
    Es/N0 (``E|h|^2 = 1``).

Payload size
    ``B`` index bits (``IndexBitMapper.num_bits``) are padded with zeros to whole bytes and followed
    by the 32-bit payload CRC: ``P = 8 ceil(B / 8) + 32`` payload bits (:func:`frame_payload_bits`),
    spread by :class:`~semcomm.phy.ldpc.ShortenedCoder` over ``C = ceil(P / k)`` codewords in order
    (index bits first). The frame header (separately coded, BPSK, far more robust) is not modelled:
    a lost header would lose the whole frame, which at the SNRs where it happens the payload has
    long lost anyway.

Error model of :class:`ErrorProfile` (``model="codeword"``, the default)
    LDPC residual errors are *bursty*: a codeword either decodes (no error) or fails, and a failed
    codeword carries many bit errors. Flipping every bit independently with the average BER
    (``model="independent"``) ignores that clustering: it spreads a few errors over every image
    instead of many errors over a few images, which is not what the decoder network will face.
    The default two-level model therefore samples, per image and per codeword of its payload,

    1. whether the codeword is in error, with the measured codeword error rate ``CWER(snr)``
       (a codeword is "in error" when at least one of its payload bits is decoded wrong);
       codewords fail independently of each other, which holds for AWGN and for fading that is
       independent per symbol (``fading_block=1``), and is optimistic for longer fading blocks;
    2. for an erroneous codeword, each of its payload bits flips independently with the
       conditional BER ``q(snr)`` = bit errors / payload bits *of the erroneous codewords*.

    Its mean bit error rate is ``CWER * q`` = the measured BER. Within a failed codeword the
    errors are taken as uniform over bit positions and independent (the real decoder's errors
    favour low-degree variable nodes and come in clusters along the code graph), and a sampled
    "failed" codeword may, with probability ``(1 - q)^k_i``, draw no flip at all (negligible
    unless ``q k_i`` is small).

Measurement (:meth:`ErrorProfile.build`)
    Per grid point, batches of ``batch_frames`` frames of uniformly random payload bits (random
    indices and their CRC are uniform too) go through the real chain until at least
    ``target_errors`` erroneous codewords *and* ``min_frames`` frames were seen, or
    ``max_frames`` frames. Each point has its own generator seeded by ``(seed, snr)``, so a point's
    numbers do not depend on the rest of the grid.

Points without observed errors
    Zero erroneous codewords among ``n`` does not mean zero: the table stores the estimate 0 *and*
    a one-sided 95 % upper confidence bound ``1 - 0.05^(1/n)`` (about ``3 / n``, the "rule of
    three") for the codeword and frame error rates, and ``cwer_bound * q_ref`` for the BER, where
    ``q_ref`` is the conditional BER of the nearest lower SNR that had errors (bits fail in
    codewords, so ``3 / bits`` would be far too optimistic). :meth:`ErrorProfile.corrupt` uses
    ``zero_policy="zero"`` by default: such points produce no errors (a training signal should not
    invent errors the link did not show; the bound expresses ignorance, not measured errors).
    ``zero_policy="bound"`` uses the bounds instead: a pessimistic stress setting.

Interpolation between grid points
    Rates are interpolated log-linearly in SNR (``log p`` linear in dB) between two grid points
    whose rates are both > 0; when one of them is 0 the interpolation is linear in ``p`` (so the
    rate falls continuously to 0 instead of jumping, on the pessimistic side). The conditional BER
    ``q`` is interpolated linearly, points without errors take ``q_ref`` (above).

SNRs outside the grid
    ``out_of_range="error"`` (default) raises a ``ValueError`` naming the profile's range;
    ``out_of_range="clip"`` clips to ``[snr_min, snr_max]``: below the grid the rates of the lowest
    point are used (there every codeword already fails and ``q`` approaches 1/2, so this slightly
    underestimates the damage), above it those of the highest point (overestimates, usually 0).
    The stats report the SNR actually used.

Profiles are saved as JSON with the settings that produced them (:class:`ProfileSettings`);
:meth:`ErrorProfile.load` with ``expected=`` refuses a file built with other settings
(:class:`StaleProfileError`, naming every differing field) and any file of another format version.

Data dependence: the table is measured on uniform random payloads; a real codec's indices are not
uniform, but the LDPC + Gray-QAM error statistics barely depend on the data (symmetric channel;
max-log QAM demapping is not exactly symmetric across bit values). :func:`validate_profile`
compares a profile with the exact chain on given indices.

numpy only (no torch): the training code converts tensors.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..phy.bits import IndexBitMapper, int_to_bits
from ..phy.framing import CRC32_SIZE, crc32
from ..phy.ldpc import ShortenedCoder, get_code
from ..phy.qam import QAM, check_modulation
from ..phy.modem import LinkConfig
from ..sim.ber import CHANNELS, FadingSpec

PROFILE_FORMAT = "semcomm.error_profile"
#: Bump when the measurement or the file layout changes: older files are refused.
PROFILE_VERSION = 1
SNR_DEFINITION = "Es/N0 [dB] per transmitted payload QAM symbol (Es = 1), average over fading"
MODELS = ("codeword", "independent")
ZERO_POLICIES = ("zero", "bound")
OUT_OF_RANGE = ("error", "clip")
#: Confidence of the upper bounds stored for points without observed errors (one-sided).
BOUND_CONFIDENCE = 0.95
MAX_GRID_POINTS = 1000
#: Conditional BER assumed when no grid point observed any error (only used by zero_policy="bound").
FALLBACK_CONDITIONAL_BER = 0.5

__all__ = [
    "ChainSettings", "CorruptStats", "ErrorProfile", "ExactChain", "ProfileSettings", "StaleProfileError",
    "build_default_profile", "frame_payload_bits", "load_or_build", "validate_profile",
]


class StaleProfileError(ValueError):
    """A saved error profile was built with other settings (or format) than the ones expected."""


def frame_payload_bits(index_bits: int) -> int:
    """Payload bits of a frame carrying ``index_bits`` index bits: ``8 ceil(B / 8) + 32`` (pad + CRC-32)."""
    if int(index_bits) < 1:
        raise ValueError(f"index_bits must be >= 1, got {index_bits}")
    return 8 * (-(-int(index_bits) // 8)) + 8 * CRC32_SIZE


# ------------------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class ChainSettings:
    """The PHY of the chain: modulation, LDPC code and decoder, channel.

    ``channel`` is ``awgn``, ``rayleigh`` or ``rician`` (:class:`semcomm.sim.ber.FadingSpec`):
    flat fading, one gain per ``fading_block`` symbols, equalised with perfect CSI when ``csi``.
    ``code="none"`` sends the payload uncoded (one "codeword" = the whole payload).
    """
    modulation: str = "16qam"
    code: str = "wifi1944_r12"
    decoder: str = "nms"
    max_iterations: int = 20
    llr_method: str = "maxlog"
    channel: str = "awgn"
    k_factor_db: float = 0.0
    fading_block: int = 1
    csi: bool = True

    def __post_init__(self):
        object.__setattr__(self, "modulation", check_modulation(self.modulation))
        # the link's own checks name a bad modulation, code, decoder or LLR method
        LinkConfig(modulation=self.modulation, code=self.code, decoder=self.decoder, llr_method=self.llr_method)
        if isinstance(self.max_iterations, bool) or int(self.max_iterations) != self.max_iterations \
                or self.max_iterations < 1:
            raise ValueError(f"max_iterations must be an int >= 1, got {self.max_iterations!r}")
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}; allowed: {', '.join(CHANNELS)}")
        object.__setattr__(self, "max_iterations", int(self.max_iterations))
        object.__setattr__(self, "k_factor_db", float(self.k_factor_db))
        object.__setattr__(self, "fading_block", int(self.fading_block))
        object.__setattr__(self, "csi", bool(self.csi))
        self.fading()  # validates the fading block length

    @classmethod
    def from_link_config(cls, link, channel: str = "awgn", **fading) -> "ChainSettings":
        """From a :class:`semcomm.phy.modem.LinkConfig` (modulation, code, decoder, iterations, LLR)."""
        return cls(link.modulation, link.code, link.decoder, link.max_iterations, link.llr_method, channel, **fading)

    def fading(self) -> FadingSpec:
        return FadingSpec(self.channel, self.k_factor_db, self.fading_block, self.csi)

    def decoder_options(self) -> dict:
        return {"max_iterations": self.max_iterations, "algorithm": self.decoder}


def _segments(alphabet, num_indices) -> list[list[int]]:
    mapper = IndexBitMapper(alphabet, num_indices)
    return [[s.count, s.alphabet] for s in mapper.segments]


@dataclass(frozen=True)
class ProfileSettings:
    """Everything that determines an :class:`ErrorProfile`'s numbers (compared on load).

    ``alphabet``/``num_indices`` as for :class:`IndexBitMapper` (``J`` and ``T``, or ``[[count, J], ...]``
    segments; normalised to segments). The grid is ``snr_min_db, snr_min_db + snr_step_db, ...,
    <= snr_max_db`` (Es/N0, see module doc). Stopping rule and seed: see module doc.
    """
    alphabet: tuple = ((98, 256),)
    labelling: str = "natural"
    chain: ChainSettings = field(default_factory=ChainSettings)
    snr_min_db: float = -9.0
    snr_max_db: float = 18.0
    snr_step_db: float = 0.5
    max_frames: int = 500
    min_frames: int = 128
    target_errors: int = 100
    batch_frames: int = 128
    seed: int = 0

    def __post_init__(self):
        # segments [[count, J], ...] (use for_codec() for a bare J with T); normalised to tuples
        object.__setattr__(self, "alphabet", tuple(tuple(s) for s in _segments(self.alphabet, None)))
        IndexBitMapper([list(s) for s in self.alphabet], labelling=self.labelling)
        if isinstance(self.chain, dict):
            object.__setattr__(self, "chain", ChainSettings(**self.chain))
        for name in ("snr_min_db", "snr_max_db", "snr_step_db"):
            value = float(getattr(self, name))
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number of dB, got {getattr(self, name)!r}")
            object.__setattr__(self, name, value)
        if self.snr_step_db <= 0:
            raise ValueError(f"snr_step_db must be > 0, got {self.snr_step_db}")
        if self.snr_max_db <= self.snr_min_db:
            raise ValueError(f"snr_max_db ({self.snr_max_db}) must be above snr_min_db ({self.snr_min_db}): "
                             "the grid needs at least two points")
        for name, low in (("max_frames", 1), ("min_frames", 0), ("target_errors", 1), ("batch_frames", 1),
                          ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < low:
                raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
            object.__setattr__(self, name, int(value))
        if len(self.snr_grid) < 2:
            raise ValueError(f"SNR grid {self.snr_min_db}..{self.snr_max_db} step {self.snr_step_db} has < 2 points")
        if len(self.snr_grid) > MAX_GRID_POINTS:
            raise ValueError(f"SNR grid has {len(self.snr_grid)} points, at most {MAX_GRID_POINTS} allowed")

    @classmethod
    def for_codec(cls, alphabet, num_indices: int | None = None, **kwargs) -> "ProfileSettings":
        """Settings for a codec given like :class:`IndexBitMapper` (``J`` + ``T`` or segments)."""
        return cls(alphabet=tuple(tuple(s) for s in _segments(alphabet, num_indices)), **kwargs)

    @property
    def snr_grid(self) -> np.ndarray:
        count = int(math.floor((self.snr_max_db - self.snr_min_db) / self.snr_step_db + 1e-9)) + 1
        return np.round(self.snr_min_db + self.snr_step_db * np.arange(count), 10)

    def mapper(self) -> IndexBitMapper:
        return IndexBitMapper([list(s) for s in self.alphabet], labelling=self.labelling)

    @property
    def payload_bits(self) -> int:
        return frame_payload_bits(self.mapper().num_bits)

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["alphabet"] = [list(s) for s in self.alphabet]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "ProfileSettings":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown error-profile settings {unknown}; known: {sorted(known)}")
        data = dict(data)
        if "chain" in data:
            chain_known = {f.name for f in dataclasses.fields(ChainSettings)}
            chain_unknown = sorted(set(data["chain"]) - chain_known)
            if chain_unknown:
                raise ValueError(f"unknown chain settings {chain_unknown}; known: {sorted(chain_known)}")
            data["chain"] = ChainSettings(**data["chain"])
        return cls(**data)


def _flatten(data: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


# ------------------------------------------------------------------------------------- shared parts
@dataclass
class CorruptStats:
    """What :meth:`corrupt` did to each image (arrays ``[N]``).

    ``bit_errors``: flipped index bits; ``index_errors``: indices that came out different;
    ``clamped``: received indices ``>= J`` clamped to ``J - 1`` (non-power-of-two ``J``);
    ``codeword_errors``: codewords of the payload with at least one wrong payload bit;
    ``frame_error``: any payload bit (index, pad or CRC bits) wrong, i.e. the payload CRC-32 fails
    (up to undetected errors, ~2^-32): the frame is flagged, the indices are still delivered.
    ``snr_db`` is the SNR used (after clipping, see ``out_of_range``).
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


class _DigitalChannel:
    """Input checks, payload layout and the bits -> indices side shared by both modes."""

    mapper: IndexBitMapper
    chain: ChainSettings

    def _setup_layout(self) -> None:
        self.index_bits = self.mapper.num_bits
        self.payload_bits = frame_payload_bits(self.index_bits)
        if self.chain.code == "none":
            self.coder = None
            self.codeword_lengths = np.array([self.payload_bits])
        else:
            self.coder = ShortenedCoder(get_code(self.chain.code), self.payload_bits)
            self.codeword_lengths = np.asarray(self.coder.info_lengths, dtype=np.int64)
        self.codeword_starts = np.concatenate([[0], np.cumsum(self.codeword_lengths)[:-1]]).astype(np.int64)
        self.num_codewords = len(self.codeword_lengths)
        self.qam = QAM(self.chain.modulation)
        self.coded_bits = self.coder.num_coded_bits if self.coder else self.payload_bits
        self.symbols_per_frame = -(-self.coded_bits // self.qam.bits_per_symbol)

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

    def _payload(self, bits: np.ndarray) -> np.ndarray:
        """Index bits ``[N, B]`` -> payload ``[N, P]``: bits, zero pad to whole bytes, CRC-32 (big-endian)."""
        num = bits.shape[0]
        payload = np.zeros((num, self.payload_bits), dtype=np.uint8)
        payload[:, :self.index_bits] = bits
        body = np.packbits(payload[:, :self.payload_bits - 8 * CRC32_SIZE], axis=1)
        crcs = np.array([crc32(row.tobytes()) for row in body], dtype=np.int64).reshape(num, 1)
        payload[:, self.payload_bits - 8 * CRC32_SIZE:] = int_to_bits(crcs, 8 * CRC32_SIZE)
        return payload

    def _finish(self, indices, sent_bits, received_payload, wrong_payload, snr) -> tuple[np.ndarray, CorruptStats]:
        """Received payload bits -> (indices', stats)."""
        received = received_payload[:, :self.index_bits]
        if indices.shape[0]:
            out, clamped = self.mapper.from_bits(received)
            per_codeword = np.add.reduceat(wrong_payload, self.codeword_starts, axis=1)
        else:  # empty batch (IndexBitMapper.from_bits cannot reshape zero rows)
            out, clamped = np.zeros(indices.shape, dtype=np.int64), np.zeros(0, dtype=np.int64)
            per_codeword = np.zeros((0, self.num_codewords), dtype=np.int64)
        stats = CorruptStats(
            snr_db=snr,
            bit_errors=np.count_nonzero(received != sent_bits, axis=1).astype(np.int64),
            index_errors=np.count_nonzero(out != indices, axis=1).astype(np.int64),
            clamped=clamped,
            codeword_errors=np.count_nonzero(per_codeword, axis=1).astype(np.int64),
            frame_error=wrong_payload.any(axis=1),
            index_bits=self.index_bits,
            num_indices=self.mapper.num_indices)
        return out, stats

    def _transmit(self, payload: np.ndarray, snr: np.ndarray, rng: np.random.Generator):
        """The real chain on payload bits ``[F, P]`` at per-frame ``snr`` ``[F]`` (or scalar).

        Returns (decoded payload bits ``[F, P]``, pre-FEC hard-decision errors ``[F]``).
        """
        num = payload.shape[0]
        coded = self.coder.encode(payload) if self.coder else payload
        tail = self.symbols_per_frame * self.qam.bits_per_symbol - self.coded_bits
        sent = np.concatenate([coded, np.zeros((num, tail), dtype=np.uint8)], axis=1) if tail else coded
        esn0 = np.asarray(snr, dtype=np.float64)
        esn0 = esn0.reshape(-1, 1) if esn0.ndim else esn0
        received, n0 = self.chain.fading().apply(self.qam.modulate(sent), esn0, rng)
        llr = self.qam.demodulate_llr(received, n0, self.chain.llr_method)[:, :self.coded_bits]
        pre_fec = np.count_nonzero((llr < 0) != coded, axis=1)
        if self.coder is None:
            return (llr < 0).astype(np.uint8), pre_fec
        return self.coder.decode(llr, **self.chain.decoder_options()).bits, pre_fec


# ----------------------------------------------------------------------------------------- profile
_COUNT_COLUMNS = ("frames", "bit_errors", "codeword_errors", "errored_codeword_bits", "frame_errors",
                  "pre_fec_errors")


def _upper_bound(trials: np.ndarray) -> np.ndarray:
    """One-sided upper confidence bound of a rate with zero successes in ``trials`` (Clopper-Pearson)."""
    return 1.0 - (1.0 - BOUND_CONFIDENCE) ** (1.0 / np.maximum(trials, 1))


def _fill_reference(values: np.ndarray) -> np.ndarray:
    """NaNs replaced by the nearest value at lower SNR, else at higher SNR, else the fallback."""
    out = values.copy()
    valid = np.flatnonzero(~np.isnan(values))
    if valid.size == 0:
        out[:] = FALLBACK_CONDITIONAL_BER
        return out
    for i in np.flatnonzero(np.isnan(values)):
        below = valid[valid < i]
        out[i] = values[below[-1]] if below.size else values[valid[0]]
    return out


def _interp_rate(x: np.ndarray, grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Log-linear interpolation between positive neighbours, linear when one of them is 0 (module doc)."""
    i = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, len(grid) - 2)
    w = (x - grid[i]) / (grid[i + 1] - grid[i])
    lo, hi = values[i], values[i + 1]
    positive = (lo > 0) & (hi > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        logarithmic = np.exp((1.0 - w) * np.log(np.where(positive, lo, 1.0)) + w * np.log(np.where(positive, hi, 1.0)))
    return np.where(positive, logarithmic, (1.0 - w) * lo + w * hi)


class ErrorProfile(_DigitalChannel):
    """Measured post-FEC error statistics vs SNR, sampled by :meth:`corrupt` (module doc).

    Build with :meth:`build` (or :func:`build_default_profile`), persist with :meth:`save` /
    :meth:`load`. ``model``, ``zero_policy`` and ``out_of_range`` choose how :meth:`corrupt` uses
    the table (module doc); they are not part of the measurement and may be changed at any time.
    """

    def __init__(self, settings: ProfileSettings, counts: dict, *, model: str = "codeword",
                 zero_policy: str = "zero", out_of_range: str = "error", info: dict | None = None):
        self.settings = settings
        self.chain = settings.chain
        self.mapper = settings.mapper()
        self._setup_layout()
        self.snr_grid = settings.snr_grid
        n = len(self.snr_grid)
        self.counts = {}
        for name in _COUNT_COLUMNS:
            column = np.asarray(counts.get(name, ()), dtype=np.int64)
            if column.shape != (n,):
                raise ValueError(f"error profile column {name!r} must have {n} entries (one per grid point), "
                                 f"got shape {list(column.shape)}")
            self.counts[name] = column
        if (self.counts["frames"] < 1).any():
            raise ValueError("error profile has a grid point with no frames")
        self.info = dict(info or {})
        self.model = model
        self.zero_policy = zero_policy
        self.out_of_range = out_of_range
        self._derive()

    # -- options (validated on assignment) ----------------------------------------------------
    def __setattr__(self, name, value):
        allowed = {"model": MODELS, "zero_policy": ZERO_POLICIES, "out_of_range": OUT_OF_RANGE}.get(name)
        if allowed is not None and value not in allowed:
            raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")
        super().__setattr__(name, value)

    def __repr__(self) -> str:
        s = self.settings
        return (f"ErrorProfile({s.chain.modulation}, {s.chain.code}, {s.chain.channel}, "
                f"payload={self.payload_bits} bits, "
                f"Es/N0 {s.snr_min_db:g}..{s.snr_max_db:g} dB step {s.snr_step_db:g}, model={self.model!r})")

    @property
    def snr_range(self) -> tuple[float, float]:
        return float(self.snr_grid[0]), float(self.snr_grid[-1])

    # -- measurement ------------------------------------------------------------------------------
    @classmethod
    def build(cls, settings: ProfileSettings | None = None, progress: Callable[[dict], None] | None = None,
              **options) -> "ErrorProfile":
        """Measure the table with the real PHY core (module doc). ``progress(row)`` after each point."""
        settings = settings or ProfileSettings()
        start = time.perf_counter()
        probe = cls.__new__(cls)  # layout only, to run the chain before the table exists
        probe.chain, probe.mapper = settings.chain, settings.mapper()
        probe._setup_layout()
        counts = {name: [] for name in _COUNT_COLUMNS}
        seconds = []
        for snr in settings.snr_grid:
            point_start = time.perf_counter()
            row = probe._measure_point(float(snr), settings)
            seconds.append(time.perf_counter() - point_start)
            for name in _COUNT_COLUMNS:
                counts[name].append(row[name])
            if progress:
                progress({"snr_db": float(snr), **row, "seconds": seconds[-1]})
        info = {"build_seconds": time.perf_counter() - start, "point_seconds": seconds,
                "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        return cls(settings, counts, info=info, **options)

    def _measure_point(self, snr: float, settings: ProfileSettings) -> dict:
        rng = np.random.default_rng([settings.seed, int(round((snr + 1000.0) * 1000.0))])
        totals = dict.fromkeys(_COUNT_COLUMNS, 0)
        while totals["frames"] < settings.max_frames:
            batch = min(settings.batch_frames, settings.max_frames - totals["frames"])
            payload = rng.integers(0, 2, (batch, self.payload_bits), dtype=np.uint8)
            decoded, pre_fec = self._transmit(payload, snr, rng)
            wrong = decoded != payload
            per_codeword = np.add.reduceat(wrong, self.codeword_starts, axis=1)
            errored = per_codeword > 0
            totals["frames"] += batch
            totals["bit_errors"] += int(per_codeword.sum())
            totals["codeword_errors"] += int(errored.sum())
            totals["errored_codeword_bits"] += int((errored * self.codeword_lengths).sum())
            totals["frame_errors"] += int(errored.any(axis=1).sum())
            totals["pre_fec_errors"] += int(pre_fec.sum())
            if totals["frames"] >= settings.min_frames and totals["codeword_errors"] >= settings.target_errors:
                break
        return totals

    def _derive(self) -> None:
        c = self.counts
        frames = c["frames"].astype(np.float64)
        codewords = frames * self.num_codewords
        with np.errstate(divide="ignore", invalid="ignore"):
            self.ber = c["bit_errors"] / (frames * self.payload_bits)
            self.cwer = c["codeword_errors"] / codewords
            self.fer = c["frame_errors"] / frames
            self.cond_ber = np.where(c["codeword_errors"] > 0, c["bit_errors"] / c["errored_codeword_bits"], np.nan)
        self.pre_fec_ber = c["pre_fec_errors"] / (frames * self.coded_bits)
        self.cond_ber_ref = _fill_reference(self.cond_ber)
        none = c["codeword_errors"] == 0
        self.cwer_bound = np.where(none, _upper_bound(codewords), np.nan)
        self.fer_bound = np.where(none, _upper_bound(frames), np.nan)
        self.ber_bound = np.where(none, self.cwer_bound * self.cond_ber_ref, np.nan)

    def table(self) -> list[dict]:
        """One JSON-ready row per grid point: counts, rates and (for zero-error points) bounds."""
        rows = []
        for i, snr in enumerate(self.snr_grid):
            row = {"snr_db": float(snr)}
            row.update({name: int(self.counts[name][i]) for name in _COUNT_COLUMNS})
            for name in ("ber", "ber_bound", "cwer", "cwer_bound", "fer", "fer_bound", "cond_ber", "pre_fec_ber"):
                value = float(getattr(self, name)[i])
                row[name] = None if math.isnan(value) else value
            rows.append(row)
        return rows

    # -- lookup ------------------------------------------------------------------------------------
    def _effective(self, name: str) -> np.ndarray:
        values = getattr(self, name)
        if self.zero_policy == "bound":
            bound = getattr(self, f"{name}_bound")
            return np.where(np.isnan(bound), values, bound)
        return values

    def _snr_used(self, snr) -> np.ndarray:
        snr = np.asarray(snr, dtype=np.float64)
        low, high = self.snr_range
        outside = (snr < low - 1e-9) | (snr > high + 1e-9)
        if outside.any() and self.out_of_range == "error":
            bad = snr[outside]
            raise ValueError(f"SNR {bad[0]:g} dB (and {outside.sum() - 1} more) outside the error profile's "
                             f"Es/N0 range [{low:g}, {high:g}] dB; build a profile covering it (ProfileSettings "
                             "snr_min_db/snr_max_db) or set out_of_range='clip' to use the nearest end of the table")
        return np.clip(snr, low, high)

    def rates(self, snr_db) -> dict:
        """Interpolated ``ber``, ``cwer``, ``cond_ber``, ``fer`` at ``snr_db`` (arrays), under the current policies."""
        snr = self._snr_used(np.atleast_1d(snr_db))
        return {
            "snr_db": snr,
            "ber": _interp_rate(snr, self.snr_grid, self._effective("ber")),
            "cwer": _interp_rate(snr, self.snr_grid, self._effective("cwer")),
            "fer": _interp_rate(snr, self.snr_grid, self._effective("fer")),
            "cond_ber": np.interp(snr, self.snr_grid, self.cond_ber_ref),
        }

    def corrupt(self, indices, snr_db, rng) -> tuple[np.ndarray, CorruptStats]:
        """Indices ``[N, T]`` at per-image Es/N0 ``snr_db`` ``[N]`` -> (indices' ``[N, T]`` int64, stats).

        Samples the payload's bit errors from the table (``model``, module doc), applies them to the
        index bits and maps back with :meth:`IndexBitMapper.from_bits` (clamped, counted).
        """
        indices, snr, rng = self._check_inputs(indices, snr_db, rng)
        sent = self.mapper.to_bits(indices)
        num = indices.shape[0]
        rates = self.rates(snr) if num else {"snr_db": snr}
        flips = np.zeros((num, self.payload_bits), dtype=bool)
        if num and self.model == "independent":
            flips = rng.random((num, self.payload_bits)) < rates["ber"][:, None]
        elif num:
            failed = rng.random((num, self.num_codewords)) < rates["cwer"][:, None]
            rows = np.flatnonzero(failed.any(axis=1))
            if rows.size:
                in_failed = np.repeat(failed[rows], self.codeword_lengths, axis=1)
                flips[rows] = in_failed & (rng.random((rows.size, self.payload_bits)) < rates["cond_ber"][rows, None])
        received = sent ^ flips[:, :self.index_bits].astype(np.uint8)
        return self._finish(indices, sent, received, flips, rates["snr_db"])

    # -- persistence --------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": PROFILE_FORMAT, "version": PROFILE_VERSION, "snr_definition": SNR_DEFINITION,
            "settings": self.settings.to_dict(),
            "layout": {"index_bits": self.index_bits, "payload_bits": self.payload_bits,
                       "codewords": self.num_codewords, "codeword_bits": self.codeword_lengths.tolist(),
                       "coded_bits": self.coded_bits, "symbols": self.symbols_per_frame},
            "bound_confidence": BOUND_CONFIDENCE,
            "info": self.info,
            "table": self.table(),
        }

    def save(self, path: str) -> None:
        """Write the profile as JSON (settings + counts; derived rates are stored for readers)."""
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "w") as handle:
            json.dump(self.to_dict(), handle, indent=1)
            handle.write("\n")
        os.replace(tmp, path)

    @classmethod
    def from_dict(cls, data: dict, expected: ProfileSettings | None = None, source: str = "error profile",
                  **options) -> "ErrorProfile":
        if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
            raise ValueError(f"{source} is not a semcomm error profile (missing format {PROFILE_FORMAT!r})")
        if data.get("version") != PROFILE_VERSION:
            raise StaleProfileError(f"{source} has profile format version {data.get('version')!r}, this semcomm "
                                    f"reads version {PROFILE_VERSION}; rebuild it "
                                    "(ErrorProfile.build(settings).save(path))")
        try:
            settings = ProfileSettings.from_dict(data["settings"])
            table = data["table"]
            counts = {name: [row[name] for row in table] for name in _COUNT_COLUMNS}
            grid = [row["snr_db"] for row in table]
        except (KeyError, TypeError) as err:
            raise ValueError(f"{source} is malformed: missing {err}") from None
        if not np.allclose(grid, settings.snr_grid):
            raise ValueError(f"{source} is malformed: its table's SNRs do not match its settings' grid")
        if expected is not None:
            have, want = _flatten(settings.to_dict()), _flatten(expected.to_dict())
            diffs = [f"{key}: file has {have.get(key)!r}, expected {want.get(key)!r}"
                     for key in sorted(set(have) | set(want)) if have.get(key) != want.get(key)]
            if diffs:
                raise StaleProfileError(f"{source} is stale: it was built with other settings ("
                                        + "; ".join(diffs) + "). Rebuild it with ErrorProfile.build(settings)"
                                        ".save(path) (or load_or_build(path, settings, rebuild_stale=True)).")
        return cls(settings, counts, info=data.get("info"), **options)

    @classmethod
    def load(cls, path: str, expected: ProfileSettings | None = None, **options) -> "ErrorProfile":
        """Read a saved profile; with ``expected`` refuse one built with other settings (:class:`StaleProfileError`)."""
        try:
            with open(path) as handle:
                data = json.load(handle)
        except OSError as err:
            raise ValueError(f"cannot read error profile {path!r}: {err.strerror}") from None
        except json.JSONDecodeError as err:
            raise ValueError(f"error profile {path!r} is not valid JSON: {err}") from None
        return cls.from_dict(data, expected, source=f"error profile {path!r}", **options)


# -------------------------------------------------------------------------------------- exact chain
class ExactChain(_DigitalChannel):
    """The real chain on every image of the batch (module doc); same :meth:`corrupt` as :class:`ErrorProfile`.

    Any finite SNR is accepted. ``last_pre_fec_ber`` holds the pre-FEC BER of the latest batch.
    """

    def __init__(self, alphabet, num_indices: int | None = None, labelling: str = "natural",
                 chain: ChainSettings | None = None):
        self.mapper = IndexBitMapper(alphabet, num_indices, labelling)
        self.chain = chain or ChainSettings()
        self._setup_layout()
        self.last_pre_fec_ber = float("nan")

    @classmethod
    def from_settings(cls, settings: ProfileSettings) -> "ExactChain":
        """The exact chain a profile was measured for (same codec layout and PHY)."""
        return cls([list(s) for s in settings.alphabet], labelling=settings.labelling, chain=settings.chain)

    def __repr__(self) -> str:
        c = self.chain
        return f"ExactChain({c.modulation}, {c.code}, {c.channel}, payload={self.payload_bits} bits, {self.mapper!r})"

    def corrupt(self, indices, snr_db, rng) -> tuple[np.ndarray, CorruptStats]:
        """Indices ``[N, T]`` through the real chain at per-image Es/N0 ``snr_db`` ``[N]``."""
        indices, snr, rng = self._check_inputs(indices, snr_db, rng)
        sent = self.mapper.to_bits(indices)
        payload = self._payload(sent)
        if indices.shape[0]:
            decoded, pre_fec = self._transmit(payload, snr, rng)
            self.last_pre_fec_ber = float(pre_fec.sum() / (len(pre_fec) * self.coded_bits))
        else:
            decoded = payload
        wrong = decoded != payload
        return self._finish(indices, sent, decoded[:, :self.index_bits], wrong, snr)


# ----------------------------------------------------------------------------------------- helpers
def build_default_profile(path: str | None = None, *, alphabet=256, num_indices: int | None = 98,
                          labelling: str = "natural", modulation: str = "16qam", code: str = "wifi1944_r12",
                          channel: str = "awgn", snr_min_db: float = -9.0, snr_max_db: float = 18.0,
                          snr_step_db: float = 0.5, max_frames: int = 500, seed: int = 0,
                          progress: Callable[[dict], None] | None = None, **chain_options) -> ErrorProfile:
    """Build (and, with ``path``, save) the profile of a codec/link; defaults: J=256, T=98, 16-QAM,
    wifi1944_r12, AWGN, Es/N0 -9..18 dB step 0.5, up to 500 frames per point.

    ``chain_options`` go to :class:`ChainSettings` (decoder, max_iterations, llr_method, k_factor_db,
    fading_block, csi). Meant for a ``semcomm`` subcommand; returns the profile.
    """
    settings = ProfileSettings.for_codec(
        alphabet, num_indices if isinstance(alphabet, (int, np.integer)) or str(alphabet).strip().isdigit() else None,
        labelling=labelling, chain=ChainSettings(modulation=modulation, code=code, channel=channel, **chain_options),
        snr_min_db=snr_min_db, snr_max_db=snr_max_db, snr_step_db=snr_step_db, max_frames=max_frames, seed=seed)
    profile = ErrorProfile.build(settings, progress=progress)
    if path:
        profile.save(path)
    return profile


def load_or_build(path: str, settings: ProfileSettings, rebuild_stale: bool = False,
                  progress: Callable[[dict], None] | None = None, **options) -> ErrorProfile:
    """The profile at ``path`` if it matches ``settings``; build and save it when missing.

    A stale file raises :class:`StaleProfileError` unless ``rebuild_stale`` (then it is overwritten).
    """
    if os.path.exists(path):
        try:
            return ErrorProfile.load(path, expected=settings, **options)
        except StaleProfileError:
            if not rebuild_stale:
                raise
    profile = ErrorProfile.build(settings, progress=progress, **options)
    profile.save(path)
    return profile


def validate_profile(profile: ErrorProfile, snr_db, images: int = 512, seed: int = 0, indices=None,
                     z_limit: float = 4.0) -> list[dict]:
    """Compare ``profile`` with :class:`ExactChain` at each SNR in ``snr_db`` (one row per SNR).

    Sends ``images`` images (``indices`` ``[N, T]`` if given, else uniform random indices) through
    both, and reports their codeword error rates, index-bit error rates and index error rates.
    ``cwer_z`` is the difference of the codeword error rates in standard errors (binomial: codewords
    fail independently; the profile's own sampling error included); ``consistent`` is ``|z| <= z_limit``.
    """
    exact = ExactChain.from_settings(profile.settings)
    rng = np.random.default_rng(seed)
    if indices is None:
        indices = np.concatenate([rng.integers(0, s.alphabet, (images, s.count)) for s in profile.mapper.segments],
                                 axis=1)
    indices = np.asarray(indices)
    rows = []
    for i, snr in enumerate(np.atleast_1d(np.asarray(snr_db, dtype=np.float64))):
        snr_vec = np.full(indices.shape[0], snr)
        _, exact_stats = exact.corrupt(indices, snr_vec, np.random.default_rng([seed, i, 1]))
        _, profile_stats = profile.corrupt(indices, snr_vec, np.random.default_rng([seed, i, 2]))
        n_cw = indices.shape[0] * profile.num_codewords
        p = float(profile.rates(snr)["cwer"][0])
        nearest = int(np.argmin(np.abs(profile.snr_grid - snr)))
        n_profile = profile.counts["frames"][nearest] * profile.num_codewords
        exact_cwer = exact_stats.codeword_errors.sum() / n_cw
        variance = p * (1 - p) * (1 / n_cw + 1 / n_profile) + 1e-12
        z = float((exact_cwer - p) / math.sqrt(variance)) if variance > 1e-12 else 0.0
        rows.append({
            "snr_db": float(snr), "images": int(indices.shape[0]),
            "exact": exact_stats.summary(), "profile": profile_stats.summary(),
            "exact_cwer": float(exact_cwer), "profile_cwer": p, "cwer_z": z, "consistent": abs(z) <= z_limit,
        })
    return rows
