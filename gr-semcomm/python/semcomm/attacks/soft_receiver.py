"""A differentiable copy of the digital receiver's payload path, for gradient-based attacks.

received payload symbols ``y [B, P]`` (complex), ``N0 [B]``
  -> :class:`SoftDemapper`: per-dimension soft demapping of the link's square Gray QAM, max-log or exact
     (:mod:`semcomm.phy.qam`), coded-bit LLRs ``[B, N_c]``, ``LLR = ln P(b=0)/P(b=1)``
  -> :class:`UnrolledMinSum`: the shortened LDPC codewords (:class:`semcomm.phy.ldpc.ShortenedCoder`: the
     untransmitted filler bits enter as certain zeros, LLR :data:`~semcomm.phy.ldpc.KNOWN_BIT_LLR`),
     normalised min-sum with the real decoder's **layered schedule** (:mod:`semcomm.phy._ldpc_kernels`
     processes the rows of ``H`` in order; rows that share no variable form one layer, processed together,
     which is the same computation), unrolled for a fixed number of iterations (no early stop),
     posterior LLRs of every codeword bit
  -> the payload bits' posteriors ``L [B, num_bits]`` -> bit probabilities ``P(b=1) = sigmoid(-L / T)``
  -> :class:`SoftReceiver`: index probabilities ``p(j) = prod_i P(b_i = bit_i(j))`` over the ``2^b`` words of
     each index (natural or Gray labelling as the :class:`~semcomm.phy.bits.IndexBitMapper`; words ``>= J``
     fold into ``J - 1``, as the real receiver clamps them) -> expected basis vector ``sum_j p(j) e_j``
     (:meth:`semcomm.nn.codebook.Codebook.lookup` vectors) -> ``model.decode_vectors`` logits.

Differentiability. Max-log demapping is a difference of maxima of quadratics in ``y``: continuous and
piecewise smooth, its gradient (to the maximising levels) exists almost everywhere. The min-sum check update
``alpha * prod_k sign(q_k) * min_k |q_k|`` (over the other edges) is continuous and piecewise linear in the
messages (a sign flips only where its magnitude, hence the minimum, is zero), so the straight minimum with
its subgradient (to the edge holding the minimum) is the true gradient almost everywhere; a soft minimum is
not needed and would change the decoder. Min-sum never saturates (no ``tanh``), so gradients pass through
many iterations. The one saturating step is the final sigmoid: a converged frame has posterior LLRs in the
hundreds, whose probabilities carry no gradient in float32; the temperature ``T`` (``>= 1``) softens them
without changing any hard decision.

Shapes: ``B`` frames, ``C`` codewords per frame, ``n`` code length, ``T`` indices, ``J`` alphabet size.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..phy.bits import gray_encode, int_to_bits
from ..phy.ldpc import KNOWN_BIT_LLR, LDPCCode

_BIG = 1e30  #: magnitude of a padding edge (never the minimum)


class SoftDemapper:
    """Square Gray QAM soft demapping in torch (:meth:`semcomm.phy.qam.QAM.demodulate_llr`)."""

    def __init__(self, qam, method: str = "maxlog"):
        if method not in ("maxlog", "exact"):
            raise ValueError(f"unknown LLR method {method!r}; allowed: maxlog, exact")
        self.qam, self.method = qam, method
        self.levels = torch.from_numpy(qam.amplitude_by_label.astype(np.float32))  # [M] by label
        self.zero = torch.from_numpy(qam.label_bits == 0)  # [M, m]: label's bit j is 0

    def __call__(self, y: torch.Tensor, n0: torch.Tensor) -> torch.Tensor:
        """Complex ``y [B, P]`` and ``N0 [B]`` -> LLRs ``[B, P * bits_per_symbol]``."""
        parts = [y.real] if self.qam.dims == 1 else [y.real, y.imag]
        dims = torch.stack(parts, dim=-1)  # [B, P, D]
        metric = -(dims[..., None] - self.levels) ** 2 / n0.reshape(-1, 1, 1, 1)  # [B, P, D, M]
        hidden = torch.tensor(-_BIG, dtype=metric.dtype)
        llrs = [self._reduce(torch.where(self.zero[:, j], metric, hidden))
                - self._reduce(torch.where(self.zero[:, j], hidden, metric)) for j in range(self.qam.bits_per_dim)]
        return torch.stack(llrs, dim=-1).reshape(y.shape[0], -1)  # bits: symbol, dimension, bit

    def _reduce(self, metric: torch.Tensor) -> torch.Tensor:
        return metric.amax(dim=-1) if self.method == "maxlog" else torch.logsumexp(metric, dim=-1)


def row_layers(code: LDPCCode) -> list[np.ndarray]:
    """The rows of ``H`` in order, cut into maximal runs of consecutive rows that share no variable:
    processing a run at once equals processing its rows one after the other."""
    layers, current, used = [], [], set()
    for row in range(code.m):
        variables = set(code.var_of_edge[code.check_ptr[row]:code.check_ptr[row + 1]].tolist())
        if used & variables:
            layers.append(np.array(current))
            current, used = [], set()
        current.append(row)
        used |= variables
    layers.append(np.array(current))
    return layers


class _Layer:
    """Index tensors of one layer: its edges padded to ``[rows, max degree]``."""

    def __init__(self, code: LDPCCode, rows: np.ndarray):
        degrees = code.check_ptr[rows + 1] - code.check_ptr[rows]
        width = int(degrees.max())
        slot = np.arange(width)[None, :]
        self.valid = torch.from_numpy(slot < degrees[:, None])  # [r, d]
        edges = np.where(self.valid.numpy(), code.check_ptr[rows][:, None] + slot, 0)
        self.variables = torch.from_numpy(code.var_of_edge[edges])  # [r, d] (padding: any variable)
        self.flat_valid = torch.from_numpy(np.flatnonzero(self.valid.numpy()))
        self.written = self.variables.reshape(-1)[self.flat_valid]  # distinct within a layer
        self.full = bool(self.valid.all())  #: every row of the layer has the same degree (no padding)


class UnrolledMinSum:
    """Layered normalised min-sum (check magnitude ``alpha * min``), ``iterations`` full passes, in torch.

    ``__call__(llrs [F, n]) -> posterior LLRs [F, n]``; channel LLRs are clipped to ``+-KNOWN_BIT_LLR`` as
    the real decoder does. Hard decisions ``posterior < 0`` match :meth:`LDPCCode.decode` (``nms``) after
    the same number of iterations on frames it has not stopped early."""

    def __init__(self, code: LDPCCode, iterations: int = 10, alpha: float = 0.8):
        if int(iterations) < 1:
            raise ValueError(f"iterations must be >= 1, got {iterations}")
        self.code, self.iterations, self.alpha = code, int(iterations), float(alpha)
        self.layers = [_Layer(code, rows) for rows in row_layers(code)]

    def __call__(self, llrs: torch.Tensor) -> torch.Tensor:
        posterior = llrs.clamp(-float(KNOWN_BIT_LLR), float(KNOWN_BIT_LLR))
        messages = [torch.zeros(llrs.shape[0], *layer.valid.shape, dtype=llrs.dtype) for layer in self.layers]
        for _ in range(self.iterations):
            for i, layer in enumerate(self.layers):
                posterior, messages[i] = self._update(posterior, messages[i], layer)
        return posterior

    def _update(self, posterior, messages, layer: _Layer):
        """One layer: variable-to-check ``q = L - R``, check-to-variable ``R'``, ``L = q + R'``."""
        q = posterior[:, layer.variables] - messages  # [F, r, d]
        magnitude = q.abs() if layer.full else torch.where(layer.valid, q.abs(), torch.tensor(_BIG, dtype=q.dtype))
        smallest, position = magnitude.min(dim=-1, keepdim=True)
        second = magnitude.scatter(-1, position, _BIG).amin(dim=-1, keepdim=True)
        others_min = torch.where(torch.arange(q.shape[-1]) == position, second, smallest)
        negative = q < 0 if layer.full else (q < 0) & layer.valid
        odd = negative.sum(dim=-1, keepdim=True) % 2 == 1  # the product of the row's signs is negative
        update = torch.where(negative ^ odd, -self.alpha, self.alpha) * others_min  # padding: finite, unused
        values = (q + update).reshape(q.shape[0], -1)
        if not layer.full:
            values = values[:, layer.flat_valid]
        return posterior.index_copy(1, layer.written, values), update


class SoftReceiver:
    """The digital codec's receiver from payload symbols to class logits (module doc).

    ``layout``: the frame's :class:`~semcomm.phy.modem.PayloadLayout` (coded); ``mapper``: the victim's
    :class:`~semcomm.phy.bits.IndexBitMapper` (one segment); ``temperature``: ``T`` of the bit probabilities.
    """

    def __init__(self, layout, mapper, iterations: int = 10, alpha: float = 0.8, llr_method: str = "maxlog",
                 temperature: float = 1.0):
        if layout.coder is None:
            raise ValueError("the soft receiver needs a coded payload (code 'none' is not supported)")
        if len(mapper.segments) != 1:
            raise ValueError(f"the soft receiver supports one index alphabet, the mapper has {mapper.segments}")
        self.layout, self.mapper, self.temperature = layout, mapper, float(temperature)
        self.demapper = SoftDemapper(layout.qam, llr_method)
        self.decoder = UnrolledMinSum(layout.coder.code, iterations, alpha)
        coder = layout.coder
        self.coded_positions = torch.from_numpy(np.flatnonzero(coder._mask.reshape(-1)))
        info_used = np.zeros((coder.num_codewords, coder.code.n), dtype=bool)
        info_used[:, coder.code.info_positions] = coder._info_used
        self.info_positions = torch.from_numpy(np.flatnonzero(info_used.reshape(-1)))
        segment = mapper.segments[0]
        words = np.arange(1 << segment.bits)
        labels = gray_encode(words) if mapper.labelling == "gray" else words
        self.word_bits = torch.from_numpy(int_to_bits(labels[:, None], segment.bits).astype(np.float32))  # [W, b]
        self.fold = torch.from_numpy(np.minimum(words, segment.alphabet - 1))  # word -> received index

    def coded_llrs(self, y: torch.Tensor, n0: torch.Tensor) -> torch.Tensor:
        """Payload symbols ``[B, P]`` -> coded-bit LLRs ``[B, N_c]`` (tail bits dropped)."""
        return self.demapper(y, n0)[:, :self.layout.num_coded_bits]

    def posterior_llrs(self, coded_llrs: torch.Tensor) -> torch.Tensor:
        """Coded-bit LLRs ``[B, N_c]`` -> posterior LLRs of the payload + CRC bits ``[B, num_bits]``."""
        coder, batch = self.layout.coder, coded_llrs.shape[0]
        full = torch.full((batch, coder.num_codewords * coder.code.n), float(KNOWN_BIT_LLR), dtype=coded_llrs.dtype)
        full = full.index_copy(1, self.coded_positions, coded_llrs)
        posterior = self.decoder(full.reshape(batch * coder.num_codewords, coder.code.n))
        return posterior.reshape(batch, -1)[:, self.info_positions]

    def index_probabilities(self, posterior: torch.Tensor) -> torch.Tensor:
        """Payload posteriors ``[B, >= num index bits]`` -> ``p(j)`` ``[B, T, J]``."""
        segment = self.mapper.segments[0]
        bits = posterior[:, :self.mapper.num_bits].reshape(posterior.shape[0], segment.count, segment.bits)
        scaled = bits / self.temperature
        log_one, log_zero = F.logsigmoid(-scaled), F.logsigmoid(scaled)  # ln P(b=1), ln P(b=0)
        log_words = log_one @ self.word_bits.T + log_zero @ (1.0 - self.word_bits).T  # [B, T, W]
        words = torch.exp(log_words)
        folded = torch.zeros(*words.shape[:2], segment.alphabet, dtype=words.dtype)
        return folded.index_add(2, self.fold, words)

    def logits(self, model, y: torch.Tensor, n0: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        """Payload symbols ``[B, P]`` -> the codec's task output ``[B, K]`` through expected basis vectors."""
        probabilities = self.index_probabilities(self.posterior_llrs(self.coded_llrs(y, n0)))
        vectors = probabilities @ model.codebook.normalized()
        return model.decode_vectors(vectors, snr_db)[0]
