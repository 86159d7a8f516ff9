"""A semantic attack on a digital codec that has to get through the LDPC code: put the energy on the
symbols that carry the most important tokens' bits (attack 5 of the issue; no paper has it).

Importance (crafted on *training* images only): the expected rise of the decoder's cross entropy when
token ``t`` alone is replaced by a uniformly random index, over ``draws`` draws::

    w_t = E_{i ~ U[0, J)} CE(g(z with z_t := i), label) - CE(g(z), label),   g = model.decode(., snr)

averaged over the training images (``z``: the encoder's indices ``[N, T]``).

Layout (public PHY): token ``t``'s bits are payload bits ``b`` (:class:`~semcomm.phy.bits.IndexBitMapper`:
segments in order, ``bits`` per index, MSB first); the shortened systematic code puts payload bit ``b`` on
codeword ``c``'s information position ``info_positions[i]`` (``(c, i)``: the ``b``-th True of the coder's
info mask, row-major) and transmits the codeword positions of its mask in order, ``bits_per_symbol`` coded
bits per QAM symbol. A **depth** ``d`` widens the target to the Tanner-graph neighbourhood: every
transmitted bit within ``d`` check hops of the tokens' information bits (depth 1: the parity and other
bits of every check they are in), so that the checks that would correct them are corrupted too and the
decoder fails locally.

Waveform on the targeted payload symbols ``K`` (zero elsewhere, then scaled to the PSR over the payload,
so the whole budget lands on ``K``):

* data-blind (default): ``delta_k = (+-1 +- j) / sqrt 2`` with independent random signs;
* ``knows_symbols`` (oracle): ``delta_k = -(sign Re x_k + j sign Im x_k) / sqrt 2``, pushing each targeted
  symbol across the I and Q decision boundaries (flips the Gray label's sign bits, first in each half).

The number of targeted tokens and the depth are chosen in :meth:`ImportanceAttack.craft` on the training
images (lowest accuracy through the victim's exact chain at the crafting Es/N0 and PSR) unless given.
"""
from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn.functional as F

from ..channel.awgn import awgn
from .base import Attack
from .threat import PAYLOAD_START, ThreatModel

TOKEN_CHOICES = (1, 2, 3, 5, 8, 12, 25)  #: targeted-token counts tried by craft (capped at the token count)
DEPTH_CHOICES = (0, 1, 2)                #: Tanner-graph depths tried by craft


def token_importance(model, indices: torch.Tensor, labels: torch.Tensor, snr_db: float, alphabet: int,
                     draws: int, generator: torch.Generator) -> np.ndarray:
    """``w [T]``: mean cross-entropy rise when one token is replaced by a random index (module doc)."""
    snr = torch.full((len(indices),), float(snr_db))
    with torch.no_grad():
        clean = F.cross_entropy(model.decode(indices, snr), labels)
        weights = np.zeros(indices.shape[1])
        for t in range(indices.shape[1]):
            for _ in range(draws):
                replaced = indices.clone()
                replaced[:, t] = torch.randint(alphabet, (len(indices),), generator=generator)
                weights[t] += float(F.cross_entropy(model.decode(replaced, snr), labels) - clean) / draws
    return weights


def token_bits(mapper) -> list[np.ndarray]:
    """Payload bit positions of each token ``[T]`` of an :class:`~semcomm.phy.bits.IndexBitMapper`."""
    out, start = [], 0
    for segment in mapper.segments:
        for _ in range(segment.count):
            out.append(np.arange(start, start + segment.bits))
            start += segment.bits
    return out


def info_codeword_positions(coder, payload_bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Payload bit positions -> (codeword ``[B]``, codeword position ``[B]``) of a
    :class:`~semcomm.phy.ldpc.ShortenedCoder` (module doc)."""
    codeword, slot = np.nonzero(coder._info_used)
    return codeword[payload_bits], coder.code.info_positions[slot[payload_bits]]


def tanner_neighbourhood(code, positions: np.ndarray, depth: int) -> np.ndarray:
    """Codeword positions within ``depth`` check hops of ``positions`` (sorted, ``positions`` included)."""
    reached = np.zeros(code.n, dtype=bool)
    reached[positions] = True
    for _ in range(depth):
        checks = np.unique(code.check_of_edge[reached[code.var_of_edge]])
        reached[code.var_of_edge[np.isin(code.check_of_edge, checks)]] = True
    return np.flatnonzero(reached)


def target_symbols(layout, token_payload_bits: np.ndarray, depth: int) -> np.ndarray:
    """Payload symbol indices carrying the transmitted bits within ``depth`` check hops of the given
    payload bits (module doc), for a :class:`~semcomm.phy.modem.PayloadLayout` with an LDPC coder."""
    coder = layout.coder
    coded_index = (np.cumsum(coder._mask.ravel()) - 1).reshape(coder._mask.shape)
    codewords, positions = info_codeword_positions(coder, token_payload_bits)
    coded = []
    for c in np.unique(codewords):
        near = tanner_neighbourhood(coder.code, positions[codewords == c], depth)
        coded.append(coded_index[c, near[coder._mask[c, near]]])
    return np.unique(np.concatenate(coded) // layout.qam.bits_per_symbol)


class ImportanceAttack(Attack):
    """Energy on the symbols of the most important tokens' bits and their Tanner neighbourhood (module
    doc). ``tokens`` / ``depth``: fixed choices (None: chosen by :meth:`craft`); ``knows_symbols``: the
    oracle push instead of random signs; ``draws``: random replacements per token for the importance."""
    name, span, families = "importance", "payload", ("digital",)
    threat = ThreatModel(model="white_box", channel="statistics", sync="oracle")
    budget_crafted = True  #: (tokens, depth) are chosen at the crafting PSR

    def __init__(self, tokens: int | None = None, depth: int | None = None, knows_symbols: bool = False,
                 draws: int = 4):
        self.tokens, self.depth, self.knows_symbols, self.draws = tokens, depth, bool(knows_symbols), int(draws)
        self.chosen = (tokens, depth)  #: (tokens, depth) in use, set by craft when not given
        self.weights = self.symbols = self._weights_key = None

    def craft(self, context) -> None:
        """Token importance on the training images, then the (tokens, depth) with the lowest training
        accuracy through the victim's chain at ``context.snr_db`` and ``context.psr_db``. The importance does not
        depend on the PSR: a copy of a crafted instance re-crafted at another PSR (:class:`.campaign.PerBudget`)
        keeps it (same images, Es/N0 and seed) and only chooses (tokens, depth) again."""
        victim = context.victim
        if victim.family != "digital":
            raise ValueError(f"importance attacks digital codecs only, not a {victim.family} scheme")
        frames = victim.transmit(context.images, context.labels, context.snr_db)
        generator = torch.Generator().manual_seed(int(context.seed))
        if len(victim.mapper.segments) != 1:
            raise ValueError("importance needs a single-alphabet index mapper")
        alphabet = victim.mapper.segments[0].alphabet
        key = (tuple(context.images.shape), float(context.images.sum()), float(context.snr_db), int(context.seed))
        if self.weights is None or self._weights_key != key:
            self._weights_key = key
            self.weights = token_importance(victim.model, torch.from_numpy(frames.indices), context.labels,
                                            context.snr_db, alphabet, self.draws, generator)
        self._bits = token_bits(victim.mapper)
        self._layout = victim.modem.layout(int(frames.payload_lengths[0]))
        counts = [self.tokens] if self.tokens else sorted({min(n, len(self._bits)) for n in TOKEN_CHOICES})
        depths = [self.depth] if self.depth is not None else list(DEPTH_CHOICES)
        scores = {}
        for count, depth in itertools.product(counts, depths):
            self.symbols = self._targets(count, depth)
            scores[(count, depth)] = self._training_accuracy(victim, frames, context)
        self.chosen = min(scores, key=scores.get)
        self.training_accuracy = scores
        self.symbols = self._targets(*self.chosen)

    def _targets(self, count: int, depth: int) -> np.ndarray:
        ranked = np.argsort(-self.weights, kind="stable")[:count]
        return target_symbols(self._layout, np.concatenate([self._bits[t] for t in ranked]), depth)

    def _training_accuracy(self, victim, frames, context) -> float:
        rng = np.random.default_rng(int(context.seed))
        delta = self.perturb(frames, context.psr_db, rng)
        received, _ = awgn(frames.symbols + delta, context.snr_db, rng)
        return float(victim.receive(frames, received, context.snr_db).correct(context.labels.numpy()).mean())

    def perturb(self, batch, psr_db: float, rng: np.random.Generator) -> np.ndarray:
        if self.symbols is None:
            raise RuntimeError("importance needs craft(context) first: it picks the targeted symbols there")
        k = PAYLOAD_START + self.symbols
        x = batch.symbols[:, k]
        if self.knows_symbols:
            push = -(np.sign(x.real) + 1j * np.sign(x.imag))
        else:
            push = rng.choice([-1.0, 1.0], x.shape) + 1j * rng.choice([-1.0, 1.0], x.shape)
        delta = np.zeros_like(batch.symbols)
        delta[:, k] = push / np.sqrt(2)
        return self.scaled(batch, delta, psr_db)

    def describe(self) -> dict:
        return {**super().describe(), "tokens": self.chosen[0], "depth": self.chosen[1],
                "knows_symbols": self.knows_symbols,
                "targeted_symbols": None if self.symbols is None else int(len(self.symbols))}
