"""LDPC vulnerable-set attack (An et al., arXiv:2603.24082): energy on the few coded bits whose corruption
makes belief propagation fail, instead of on the whole payload.

Vulnerable sets: stopping sets of the transmitted code
---------------------------------------------------------
A codeword of a :class:`~semcomm.phy.ldpc.ShortenedCoder` has ``n`` positions; the filler bits are known
zeros (decoder input :data:`~semcomm.phy.ldpc.KNOWN_BIT_LLR`), so the attackable variables are the
transmitted ones (``coder._mask``) and the *transmitted Tanner graph* keeps only their edges. A set ``S`` of
transmitted variables is a **stopping set** when every check with a neighbour in ``S`` has at least two
neighbours in ``S``. Erase ``S`` (LLR 0) and keep every other bit certain: a min-sum check sends
``alpha * min_{other inputs} |LLR| * prod sign``, which is 0 on every edge into ``S`` (each such check sees
another erased input), so the messages into ``S`` stay 0 for ever and the decoder returns the hard decision
0 on ``S``: the codeword is wrong whenever it has a 1 on ``S`` (the payload, when one on ``S``'s information
bits). A data-aware attacker that moves each bit of ``S`` onto (or past) its decision boundary makes exactly
that happen; the noise and the wrong-side confidence of a push past the boundary keep it failing. The sets
found on ``wifi1944_r12`` are supports of low-weight codewords (flipped at full confidence they decode to
another codeword: the syndrome holds, the CRC catches it).

Search (:func:`find_vulnerable_sets`), randomised greedy closure, then pruning:

1. seed ``S = {v}`` with a transmitted variable of low cost;
2. while some check has exactly one neighbour in ``S`` (a *deficient* check, through which the decoder could
   recover that neighbour), add one of its other transmitted neighbours, the one that leaves the fewest
   deficient checks (new single-``S`` checks minus the ones it closes), then the cheapest, ties at random;
3. prune: peel ``S - {v}`` (the erasure decoder: a check with one erased neighbour recovers it) and keep
   the residue, the largest stopping set inside, when it is non-empty and cheaper; repeat until no ``v``
   gives a cheaper one.

Costs: a bit's cost is the mean squared distance from its PAM level to that bit's nearest decision boundary
(16-QAM, ``s = 1/sqrt(10)``: the sign bit ``(1 + 9) s^2 / 2 = 5 s^2``, the magnitude bit ``s^2``), the
energy a data-aware attacker spends to put it on the boundary; the cheapest set found over the seeds wins.
A frame of ``C`` codewords is lost when one codeword is (the CRC covers them all): the attack targets the
cheapest set in codeword 0 (every codeword of a frame has the same graph up to one filler bit), or the union
of the ``sets`` cheapest. Being a stopping set does not depend on which other bits are sent, so a set found
on one layout serves every layout that transmits its bits (JPEG's many payload lengths share one search).

Waveform (:class:`VulnerableSetAttack`)
--------------------------------------
Coded bit ``t`` of the payload rides on symbol ``532 + t // k`` (``k`` bits per symbol, first ``k/2`` on I,
last ``k/2`` on Q, :mod:`semcomm.phy.qam`), bit ``t % (k/2)`` of its dimension. Only the dimensions that
carry a bit of the set get energy:

* data-blind (default, the attacker knows the PHY, not the data): ``+-sqrt(cost)`` with a random sign per
  dimension and frame. Without the data the push goes the wrong way half the time: a 16-QAM magnitude bit
  pushed by ``a`` with ``s < |a| < 5 s`` is flipped with probability 1/2, so the set is randomised rather
  than erased;
* data-aware (``knows_symbols=True``, a stronger threat model: the oracle upper bound of an attacker who
  observes the frame): the displacement from the sent level to the targeted bit's nearest boundary; at
  scale 1 every bit of the set is erased, beyond it flipped. A dimension carrying two bits of the set is
  driven by its most significant one.

The result is scaled to the PSR over the payload span (:meth:`Attack.scaled`). For an attacker radio the
data-blind waveform is written as a perturbation file holding a seeded sequence of frames
(:meth:`VulnerableSetAttack.to_perturbation`).

Minimum energy (:func:`minimum_energy`): bisection over the PSR on the measured frame failure rate (frame
lost to sync or header, or payload decoded with wrong bits: :attr:`.victim.Reception.crc_ok` false) through
the victim's exact chain, with common random numbers (one seed for every point).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..channel.awgn import awgn
from ..phy.ldpc import LDPCCode
from ..phy.modem import PayloadLayout
from ..phy.qam import QAM
from .base import Attack, CraftContext
from .perturbation import Perturbation, frame_layout
from .threat import PAYLOAD_START, ThreatModel, energy_ratio_db

POOL = 8  #: stopping sets a search keeps for later layouts (:meth:`VulnerableSetAttack.sets_for`)
FILE_FRAMES = 64  #: frames of random-sign patterns in a data-blind perturbation file


# ----------------------------------------------------------------------------------- graph and search
class TransmittedGraph:
    """The Tanner graph of ``code`` restricted to the transmitted variables ``free [n]`` (bool)."""

    def __init__(self, code: LDPCCode, free: np.ndarray):
        self.code, self.free = code, np.asarray(free, dtype=bool)
        keep = self.free[code.var_of_edge]
        self.edge_checks, self.edge_vars = code.check_of_edge[keep], code.var_of_edge[keep]
        self.checks_of = {int(v): self.edge_checks[self.edge_vars == v] for v in np.flatnonzero(self.free)}
        self.vars_of = [self.edge_vars[self.edge_checks == c] for c in range(code.m)]

    def s_counts(self, members: np.ndarray) -> np.ndarray:
        """Neighbours in the set ``members [n]`` (bool) of every check ``[m]``."""
        return np.bincount(self.edge_checks[members[self.edge_vars]], minlength=self.code.m)

    def is_stopping_set(self, members: np.ndarray) -> bool:
        counts = self.s_counts(members)
        return bool(members.any()) and not np.any(counts == 1)

    def peel(self, erased: np.ndarray) -> np.ndarray:
        """The erasure decoder on ``erased [n]``: what it cannot recover (the largest stopping set inside)."""
        erased = erased.copy()
        while True:
            single = self.s_counts(erased) == 1
            recovered = self.edge_vars[single[self.edge_checks] & erased[self.edge_vars]]
            if recovered.size == 0:
                return erased
            erased[recovered] = False


def bit_costs(qam: QAM) -> np.ndarray:
    """``[bits_per_dim]``: mean squared distance from a PAM level to each bit's nearest boundary."""
    return (boundary_displacements(qam) ** 2).mean(axis=0)


def boundary_displacements(qam: QAM) -> np.ndarray:
    """``[levels, bits_per_dim]``: signed move from each label's PAM level to bit ``j``'s nearest hard-decision
    boundary: the midpoint of the nearest level with the other value of bit ``j`` and its neighbour on this
    level's side (the levels in between carry this level's bit)."""
    order = np.argsort(qam.amplitude_by_label)
    levels, bits = qam.amplitude_by_label[order].astype(np.float64), qam.label_bits[order]
    moves = np.zeros(bits.shape)
    for p in range(len(levels)):
        for j in range(bits.shape[1]):
            others = np.flatnonzero(bits[:, j] != bits[p, j])
            q = others[np.argmin(np.abs(others - p))]
            moves[order[p], j] = (levels[q] + levels[q + np.sign(p - q)]) / 2 - levels[p]
    return moves


@dataclass(frozen=True)
class VulnerableSet:
    """A stopping set of one codeword: its codeword positions, the frame's coded-bit indices, its cost."""
    codeword: int
    positions: np.ndarray     #: positions in the codeword ``[s]`` (0..n-1)
    coded_bits: np.ndarray    #: indices into the frame's transmitted coded bits ``[s]``
    cost: float               #: sum of the bits' costs (:func:`bit_costs`), in units of ``E|x|^2 = 1``

    @property
    def size(self) -> int:
        return len(self.positions)


def _grow(graph: TransmittedGraph, seed: int, cost: np.ndarray, rng: np.random.Generator,
          max_size: int) -> np.ndarray | None:
    """Step 2 of the module doc's search from ``seed``: a stopping set ``[n]`` (bool), or None past ``max_size``."""
    members = np.zeros(graph.code.n, dtype=bool)
    members[seed] = True
    counts = graph.s_counts(members)
    while True:
        deficient = np.flatnonzero(counts == 1)
        if deficient.size == 0:
            return members
        if members.sum() >= max_size:
            return None
        check = deficient[rng.integers(deficient.size)]
        candidates = [int(v) for v in graph.vars_of[check] if not members[v]]
        scores = [(int(np.sum(counts[graph.checks_of[v]] == 0)) - int(np.sum(counts[graph.checks_of[v]] == 1)),
                   cost[v], rng.random()) for v in candidates]
        chosen = candidates[min(range(len(candidates)), key=scores.__getitem__)]
        members[chosen] = True
        counts[graph.checks_of[chosen]] += 1


def _prune(graph: TransmittedGraph, members: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Step 3 of the module doc's search: remove one variable and peel while that leaves a cheaper stopping set."""
    improved = True
    while improved:
        improved = False
        for v in np.flatnonzero(members):
            trial = members.copy()
            trial[v] = False
            residue = graph.peel(trial)
            if residue.any() and cost[residue].sum() < cost[members].sum():
                members, improved = residue, True
                break
    return members


def _codeword_zero(layout: PayloadLayout):
    """Codeword 0 of ``layout``: transmitted positions ``[n]`` bool, their index among the frame's coded bits
    ``[n]`` (-1 for filler; codeword 0 comes first) and their cost ``[n]`` (``inf`` for filler)."""
    coder, qam = layout.coder, layout.qam
    if coder is None:
        raise ValueError("the vulnerable-set attack needs an LDPC-coded layout (code 'none' given)")
    free = coder._mask[0]
    coded_index = np.full(coder.code.n, -1, dtype=np.int64)
    coded_index[free] = np.arange(int(free.sum()))
    cost = np.full(coder.code.n, np.inf)
    cost[free] = bit_costs(qam)[coded_index[free] % qam.bits_per_dim]
    return free, coded_index, cost


def vulnerable_set(layout: PayloadLayout, positions) -> VulnerableSet | None:
    """The codeword-0 positions ``positions`` as a :class:`VulnerableSet` of ``layout``; None when one of them
    is a filler bit there. Being a stopping set does not depend on which *other* bits are sent, so a set
    found on one layout holds on every layout that transmits all its positions."""
    free, coded_index, cost = _codeword_zero(layout)
    positions = np.asarray(positions, dtype=np.int64)
    if not free[positions].all():
        return None
    return VulnerableSet(0, positions, coded_index[positions], float(cost[positions].sum()))


def find_vulnerable_sets(layout: PayloadLayout, seeds: int = 64, max_size: int = 600, keep: int = 4,
                         seed: int = 0) -> list[VulnerableSet]:
    """The ``keep`` cheapest distinct stopping sets of codeword 0 of ``layout`` (module doc), cheapest first."""
    free, _, cost = _codeword_zero(layout)
    graph = TransmittedGraph(layout.coder.code, free)
    rng = np.random.default_rng(seed)
    cheap = np.flatnonzero(free & (cost == cost[free].min()))
    found: dict[tuple, np.ndarray] = {}
    for start in rng.choice(cheap, size=min(seeds, cheap.size), replace=False):
        members = _grow(graph, int(start), cost, rng, max_size)
        if members is not None:
            positions = np.flatnonzero(_prune(graph, members, cost))
            found.setdefault(tuple(positions), positions)
    if not found:
        raise RuntimeError(f"no stopping set of at most {max_size} bits found from {seeds} seeds")
    return sorted((vulnerable_set(layout, p) for p in found.values()), key=lambda s: (s.cost, s.size))[:keep]


# ------------------------------------------------------------------------------------------ the attack
class VulnerableSetAttack(Attack):
    """Energy on the QAM dimensions carrying the cheapest stopping set of the frame's first codeword
    (module doc). ``knows_symbols``: the data-aware (oracle) waveform instead of the data-blind one."""
    name, span = "vulnerable_set", "payload"
    families = ("digital", "jpeg")

    def __init__(self, knows_symbols: bool = False, sets: int = 1, seeds: int = 64, max_size: int = 600, seed: int = 0):
        self.knows_symbols, self.sets = bool(knows_symbols), int(sets)
        self.seeds, self.max_size, self.seed = int(seeds), int(max_size), int(seed)
        self.threat = ThreatModel(model="none", channel="none", sync="oracle")
        self.modem = None
        self._sets: dict[int, tuple] = {}    # payload bytes -> targeted sets
        self._pool: list[np.ndarray] = []    # codeword-0 positions of every stopping set found so far

    def craft(self, context: CraftContext) -> None:
        """Keep the victim's modem; find the set of a digital codec's (single) layout now, JPEG's on demand."""
        self.modem = context.victim.modem
        if context.victim.family == "digital":
            self.sets_for(self.modem.layout(-(-context.victim.mapper.num_bits // 8)))

    def sets_for(self, layout: PayloadLayout) -> tuple:
        """The ``sets`` cheapest stopping sets of ``layout`` (cached per payload length). Sets found on earlier
        layouts are reused when ``layout`` transmits all their bits (:func:`vulnerable_set`), re-costed for its
        bit alignment; the search runs only when fewer than ``sets`` of them fit (JPEG: one search serves
        most payload lengths)."""
        if layout.payload_len not in self._sets:
            fitting = [s for s in (vulnerable_set(layout, p) for p in self._pool) if s is not None]
            if len(fitting) < self.sets:
                fitting = find_vulnerable_sets(layout, self.seeds, self.max_size, max(self.sets, POOL), self.seed)
                known = {tuple(p) for p in self._pool}
                self._pool += [s.positions for s in fitting if tuple(s.positions) not in known]
            self._sets[layout.payload_len] = tuple(sorted(fitting, key=lambda s: (s.cost, s.size))[:self.sets])
        return self._sets[layout.payload_len]

    def perturb(self, batch, psr_db: float, rng: np.random.Generator) -> np.ndarray:
        if self.modem is None:
            raise RuntimeError("vulnerable_set: craft() first (it needs the victim's modem)")
        delta = np.zeros(batch.symbols.shape, dtype=np.complex64)
        for payload_len in np.unique(batch.payload_lengths):
            frames = np.flatnonzero(batch.payload_lengths == payload_len)
            layout = self.modem.layout(int(payload_len))
            delta[frames] = self._waveform(layout, batch.symbols[frames], rng)
        return self.scaled(batch, delta, psr_db)

    def _waveform(self, layout: PayloadLayout, symbols: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Unscaled waveform ``[F, S]`` on the dimensions that carry the targeted bits (module doc)."""
        qam = layout.qam
        bits = np.concatenate([s.coded_bits for s in self.sets_for(layout)])
        symbol = PAYLOAD_START + bits // qam.bits_per_symbol
        dim = (bits % qam.bits_per_symbol) // qam.bits_per_dim
        bit = bits % qam.bits_per_dim
        order = np.lexsort((bit, dim, symbol))                    # most significant bit of a dimension first
        keys = symbol[order] * 2 + dim[order]
        first = order[np.r_[True, keys[1:] != keys[:-1]]]
        symbol, dim, bit = symbol[first], dim[first], bit[first]
        values = np.where(dim == 0, symbols[:, symbol].real, symbols[:, symbol].imag)    # [F, D]
        if self.knows_symbols:
            labels = np.argmin(np.abs(values[..., None] - qam.amplitude_by_label), axis=-1)
            amplitude = boundary_displacements(qam)[labels, bit]
        else:
            amplitude = np.sqrt(bit_costs(qam)[bit]) * rng.choice([-1.0, 1.0], size=values.shape)
        delta = np.zeros(symbols.shape, dtype=np.complex64)
        np.add.at(delta, (slice(None), symbol), amplitude * np.where(dim == 0, 1.0, 1j))
        return delta

    def to_perturbation(self, victim, context: CraftContext, frames: int = FILE_FRAMES) -> Perturbation:
        """The data-blind waveform as a perturbation file (:mod:`.perturbation`): a sequence ``[frames, S]`` of
        the per-frame random-sign patterns drawn from ``seed``, for a victim with one frame layout (digital
        codecs). The data-aware waveform depends on each frame's data and makes no file."""
        if self.knows_symbols:
            raise ValueError("the data-aware vulnerable-set waveform depends on each frame's data: only the "
                             "data-blind one (knows_symbols=False) is a perturbation file")
        if victim.family != "digital":
            raise ValueError(f"a vulnerable-set file holds one frame layout; {victim.scheme.name} ({victim.family}) "
                             "sends frames of varying length")
        payload_bytes = -(-victim.mapper.num_bits // 8)
        layout = frame_layout(victim, payload_bytes)
        empty = np.zeros((int(frames), layout["frame_symbols"]), dtype=np.complex64)
        symbols = self._waveform(self.modem.layout(payload_bytes), empty, np.random.default_rng(self.seed))
        return Perturbation(symbols=symbols, kind=self.name, scheme=victim.scheme.name,
                            model_id=victim.scheme.card["model_id"], layout=layout, span=self.span,
                            psr_db=float(context.psr_db), threat=self.threat.to_dict(),
                            training={"images": 0, "frames": int(frames), "seed": self.seed,
                                      "note": "model-free: the code and frame layout only"},
                            extra={"targeted_bits": int(sum(s.size for s in self.sets_for(
                                self.modem.layout(payload_bytes))))})

    def describe(self) -> dict:
        return {**super().describe(), "knows_symbols": self.knows_symbols, "sets": self.sets, "seeds": self.seeds,
                "max_size": self.max_size, "seed": self.seed}


# ------------------------------------------------------------------------------------ minimum energy
def failure_rate(victim, attack: Attack, batch, esn0_db: float, psr_db: float, seed: int = 0):
    """Frames lost (not detected, header refused, payload CRC failure) ``[F]`` bool at one PSR, and the
    attacker's energy per frame ``[F]`` in dB; the noise and the attack's random draws come from ``seed``."""
    rng = np.random.default_rng(seed)
    delta = attack.perturb(batch, psr_db, rng) if np.isfinite(psr_db) else np.zeros_like(batch.symbols)
    received, _ = awgn(batch.symbols + delta, esn0_db, rng)
    outcome = victim.receive(batch, received, esn0_db)
    return ~(outcome.header_ok & outcome.crc_ok), energy_ratio_db(delta, batch.symbols, batch.lengths)


def minimum_energy(victim, attack: Attack, batch, esn0_db: float, target: float = 0.9, seed: int = 0,
                   low_db: float = -40.0, high_db: float = 10.0, tolerance_db: float = 0.1) -> dict:
    """The smallest PSR (bisection to ``tolerance_db``) at which the failure rate of the frames of ``batch``
    (:class:`.victim.FrameBatch`, test frames) reaches ``target`` at ``esn0_db``, with its energy per frame
    and the binomial standard error of the failure rate there. ``psr_db = -inf`` when the clean link already
    fails that often, ``None`` when ``high_db`` does not get there."""
    frames = len(batch.symbols)
    rate = lambda psr: failure_rate(victim, attack, batch, esn0_db, psr, seed)  # noqa: E731
    clean = float(rate(-np.inf)[0].mean())
    result = {"esn0_db": esn0_db, "target": target, "frames": frames, "clean_failure_rate": clean,
              "attack": attack.describe()}
    if clean >= target:
        return {**result, "psr_db": -np.inf, "energy_per_frame_db": -np.inf, "failure_rate": clean}
    failed, energy = rate(high_db)
    if failed.mean() < target:
        return {**result, "psr_db": None, "energy_per_frame_db": None, "failure_rate": float(failed.mean())}
    while high_db - low_db > tolerance_db:
        middle = (low_db + high_db) / 2
        trial = rate(middle)
        if trial[0].mean() >= target:
            high_db, (failed, energy) = middle, trial
        else:
            low_db = middle
    p = float(failed.mean())
    return {**result, "psr_db": high_db, "energy_per_frame_db": float(10 * np.log10(np.mean(10 ** (energy / 10)))),
            "failure_rate": p, "failure_rate_se": float(np.sqrt(p * (1 - p) / frames))}
