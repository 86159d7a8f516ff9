"""The measured error profile: post-FEC error statistics of the exact chain on a grid of SNRs, sampled per batch.

:class:`ErrorProfile` is the link training uses (microseconds per image, cheap enough for every training
batch on a CPU): a table measured once with :class:`~semcomm.sim.exact_chain.ExactChain`, then sampled by
:meth:`ErrorProfile.corrupt` (the interface of :mod:`semcomm.sim.link`). Saved and cached by
:mod:`semcomm.sim.profile_cache`.

Error model (``model="codeword"``, the default)
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

Data dependence: the table is measured on uniform random payloads; a real codec's indices are not
uniform, but the LDPC + Gray-QAM error statistics barely depend on the data (symmetric channel;
max-log QAM demapping is not exactly symmetric across bit values). :func:`validate_profile`
compares a profile with the exact chain on given indices.
"""
from __future__ import annotations

import dataclasses
import datetime
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..phy.bits import IndexBitMapper
from .exact_chain import ExactChain
from .link import ChainSettings, CorruptStats, IndexLink

SNR_DEFINITION = "Es/N0 [dB] per transmitted payload QAM symbol (Es = 1), average over fading"
MODELS = ("codeword", "independent")
ZERO_POLICIES = ("zero", "bound")
OUT_OF_RANGE = ("error", "clip")
#: Confidence of the upper bounds stored for points without observed errors (one-sided).
BOUND_CONFIDENCE = 0.95
MAX_GRID_POINTS = 1000
#: Conditional BER assumed when no grid point observed any error (only used by zero_policy="bound").
FALLBACK_CONDITIONAL_BER = 0.5
_COUNT_COLUMNS = ("frames", "bit_errors", "codeword_errors", "errored_codeword_bits", "frame_errors",
                  "pre_fec_errors")


def _segments(alphabet, num_indices) -> list[list[int]]:
    mapper = IndexBitMapper(alphabet, num_indices)
    return [[s.count, s.alphabet] for s in mapper.segments]


@dataclass(frozen=True)
class ProfileSettings:
    """Everything that determines an :class:`ErrorProfile`'s numbers (compared on load).

    ``alphabet``/``num_indices`` as for :class:`IndexBitMapper` (``J`` and ``T``, or ``[[count, J], ...]``
    segments; normalised to segments). The grid is ``snr_min_db, snr_min_db + snr_step_db, ...,
    <= snr_max_db`` (Es/N0, see :mod:`semcomm.sim.link`). Stopping rule and seed: see module doc.
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


# ------------------------------------------------------------------------------------------ the table
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


def _measure_point(chain: ExactChain, snr: float, settings: ProfileSettings) -> dict:
    """The counts of one grid point (module doc: measurement)."""
    rng = np.random.default_rng([settings.seed, int(round((snr + 1000.0) * 1000.0))])
    totals = dict.fromkeys(_COUNT_COLUMNS, 0)
    while totals["frames"] < settings.max_frames:
        batch = min(settings.batch_frames, settings.max_frames - totals["frames"])
        payload = rng.integers(0, 2, (batch, chain.payload_bits), dtype=np.uint8)
        decoded, pre_fec = chain.transmit(payload, snr, rng)
        wrong = decoded != payload
        per_codeword = np.add.reduceat(wrong, chain.codeword_starts, axis=1)
        errored = per_codeword > 0
        totals["frames"] += batch
        totals["bit_errors"] += int(per_codeword.sum())
        totals["codeword_errors"] += int(errored.sum())
        totals["errored_codeword_bits"] += int((errored * chain.codeword_lengths).sum())
        totals["frame_errors"] += int(errored.any(axis=1).sum())
        totals["pre_fec_errors"] += int(pre_fec.sum())
        if totals["frames"] >= settings.min_frames and totals["codeword_errors"] >= settings.target_errors:
            break
    return totals


class ErrorProfile(IndexLink):
    """Measured post-FEC error statistics vs SNR, sampled by :meth:`corrupt` (module doc).

    Build with :meth:`build`, persist with :mod:`semcomm.sim.profile_cache`. ``model``, ``zero_policy``
    and ``out_of_range`` choose how :meth:`corrupt` uses the table (module doc); they are not part of the
    measurement and may be changed at any time.
    """

    def __init__(self, settings: ProfileSettings, counts: dict, *, model: str = "codeword",
                 zero_policy: str = "zero", out_of_range: str = "error", info: dict | None = None):
        super().__init__(settings.mapper(), settings.chain)
        self.settings = settings
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
        return (f"ErrorProfile({s.chain.modulation}, {s.chain.code}, {s.chain.fading}, "
                f"payload={self.payload_bits} bits, "
                f"Es/N0 {s.snr_min_db:g}..{s.snr_max_db:g} dB step {s.snr_step_db:g}, model={self.model!r})")

    @property
    def snr_range(self) -> tuple[float, float]:
        return float(self.snr_grid[0]), float(self.snr_grid[-1])

    # -- measurement ------------------------------------------------------------------------------
    @classmethod
    def build(cls, settings: ProfileSettings | None = None, progress: Callable[[dict], None] | None = None,
              **options) -> "ErrorProfile":
        """Measure the table with the exact chain (module doc). ``progress(row)`` after each point."""
        settings = settings or ProfileSettings()
        start = time.perf_counter()
        chain = ExactChain.from_settings(settings)
        counts = {name: [] for name in _COUNT_COLUMNS}
        seconds = []
        for snr in settings.snr_grid:
            point_start = time.perf_counter()
            row = _measure_point(chain, float(snr), settings)
            seconds.append(time.perf_counter() - point_start)
            for name in _COUNT_COLUMNS:
                counts[name].append(row[name])
            if progress:
                progress({"snr_db": float(snr), **row, "seconds": seconds[-1]})
        info = {"build_seconds": time.perf_counter() - start, "point_seconds": seconds,
                "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        return cls(settings, counts, info=info, **options)

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

    # -- record --------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The profile's record (settings, layout, counts and derived rates), JSON-ready."""
        return {
            "snr_definition": SNR_DEFINITION,
            "settings": self.settings.to_dict(),
            "layout": {"index_bits": self.index_bits, "payload_bits": self.payload_bits,
                       "codewords": self.num_codewords, "codeword_bits": self.codeword_lengths.tolist(),
                       "coded_bits": self.coded_bits, "symbols": self.symbols_per_frame},
            "bound_confidence": BOUND_CONFIDENCE,
            "info": self.info,
            "table": self.table(),
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "error profile", **options) -> "ErrorProfile":
        """The profile of a record written by :meth:`to_dict` (settings and counts; the rates are re-derived)."""
        try:
            settings = ProfileSettings.from_dict(data["settings"])
            table = data["table"]
            counts = {name: [row[name] for row in table] for name in _COUNT_COLUMNS}
            grid = [row["snr_db"] for row in table]
        except (KeyError, TypeError) as err:
            raise ValueError(f"{source} is malformed: missing {err}") from None
        if not np.allclose(grid, settings.snr_grid):
            raise ValueError(f"{source} is malformed: its table's SNRs do not match its settings' grid")
        return cls(settings, counts, info=data.get("info"), **options)


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
