"""LDPC codes: parity-check matrices, systematic encoding, batched layered decoding, shortening.

Codes
    * the IEEE 802.11n codes ``wifi648_r12``, ``wifi648_r23``, ``wifi648_r34``, ``wifi648_r56``
      and ``wifi1944_r12`` ... ``wifi1944_r56`` (built from the standard's base matrices);
    * any alist file (``path/to/code.alist``), and GNU Radio's shipped ones by name
      (``grfec:n_1800_k_0902_gap_28`` -> ``/usr/share/gnuradio/fec/ldpc/n_1800_k_0902_gap_28.alist``).

Encoding
    ``H`` is brought to reduced row-echelon form over GF(2), choosing pivot columns from the right.
    The ``k = n - rank(H)`` non-pivot columns carry the information bits unchanged (systematic)
    and the parity bits are ``p = A u (mod 2)``. For 802.11n codes the information bits are exactly
    the first ``k`` codeword bits. Redundant rows of ``H`` are allowed (``k`` uses the rank).

Decoding
    Layered (row-serial) belief propagation over the rows of ``H``, batched over frames, with
    normalized min-sum (``nms``, scale ``alpha``), offset min-sum (``oms``, offset ``beta``) or
    sum-product (``spa``), stopping each frame as soon as its hard decision has a zero syndrome.

LLR convention (as in :mod:`semcomm.phy.qam`): ``LLR = ln P(b=0) / P(b=1)``; positive favours 0.

Shapes: information bits ``[F, k]``, codewords and LLRs ``[F, n]``; ``F`` frames per call.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import numpy as np

from . import _ldpc_kernels as kernels
from .wifi_codes import LENGTHS, RATES, base_matrix, expand_base_matrix

GRFEC_ALIST_DIR = "/usr/share/gnuradio/fec/ldpc"
DECODER_ALGORITHMS = {"nms": kernels.MIN_SUM, "oms": kernels.MIN_SUM, "spa": kernels.SUM_PRODUCT}
#: LLR of bits known to the receiver (shortened/filler bits): the decoder's clipping limit.
KNOWN_BIT_LLR = kernels.LLR_LIMIT
#: Ids of built-in codes carried in the frame header; 0 is "uncoded", 255 "custom (from config)".
CODE_IDS = {"none": 0}
CODE_IDS.update({f"wifi{n}_r{rate.replace('/', '')}": 1 + i
                 for i, (n, rate) in enumerate((n, r) for n in LENGTHS for r in RATES)})
CUSTOM_CODE_ID = 255
#: Frames decoded side by side (SIMD lanes of the decoder kernel).
DECODE_LANES = 128


class LDPCCode:
    """A binary LDPC code given by the positions of the ones of its parity-check matrix ``H``."""

    def __init__(self, checks, variables, num_checks: int, num_variables: int, name: str = "ldpc"):
        checks = np.asarray(checks, dtype=np.int64)
        variables = np.asarray(variables, dtype=np.int64)
        if checks.shape != variables.shape or checks.size == 0:
            raise ValueError(f"{name}: H needs matching, non-empty check/variable index lists")
        if checks.min() < 0 or checks.max() >= num_checks or variables.min() < 0 or variables.max() >= num_variables:
            raise ValueError(f"{name}: H entry outside {num_checks} x {num_variables}")
        order = np.lexsort((variables, checks))
        self.check_of_edge = checks[order]
        self.var_of_edge = variables[order]
        pairs = self.check_of_edge * num_variables + self.var_of_edge
        if np.any(np.diff(pairs) == 0):
            raise ValueError(f"{name}: H lists the same entry twice")
        self.name = name
        self.n = int(num_variables)
        self.m = int(num_checks)
        self.check_ptr = np.searchsorted(self.check_of_edge, np.arange(self.m + 1)).astype(np.int64)
        parity_map, self.info_positions, self.parity_positions = _systematic_form(self)
        self.k = len(self.info_positions)
        self._packed_columns = _pack_columns(parity_map)

    def __repr__(self) -> str:
        return f"LDPCCode({self.name!r}, n={self.n}, k={self.k}, rate={self.rate:.3f})"

    @property
    def rate(self) -> float:
        return self.k / self.n

    @property
    def num_edges(self) -> int:
        return len(self.var_of_edge)

    def dense_h(self) -> np.ndarray:
        h = np.zeros((self.m, self.n), dtype=np.uint8)
        h[self.check_of_edge, self.var_of_edge] = 1
        return h

    def syndrome(self, codewords) -> np.ndarray:
        """``H c (mod 2)`` for codewords ``[F, n]`` -> ``[F, m]`` uint8."""
        codewords = self._check_shape(codewords, self.n, "codewords")
        parity = np.zeros((codewords.shape[0], self.m), dtype=np.uint8)
        np.bitwise_xor.at(parity.T, self.check_of_edge, codewords[:, self.var_of_edge].T & 1)
        return parity

    def encode(self, info_bits) -> np.ndarray:
        """Systematic encoding: information bits ``[F, k]`` -> codewords ``[F, n]`` (uint8)."""
        info_bits = np.ascontiguousarray(self._check_shape(info_bits, self.k, "information bits") & 1, dtype=np.uint8)
        codewords = np.empty((info_bits.shape[0], self.n), dtype=np.uint8)
        codewords[:, self.info_positions] = info_bits
        codewords[:, self.parity_positions] = kernels.parity_bits(info_bits, self._packed_columns,
                                                                  len(self.parity_positions))
        return codewords

    def decode(self, llrs, max_iterations: int = 20, algorithm: str = "nms",
               alpha: float = 0.8, beta: float = 0.5) -> "DecodeResult":
        """Decode channel LLRs ``[F, n]`` (``ln P(0)/P(1)``); see :class:`DecodeResult`."""
        if algorithm not in DECODER_ALGORITHMS:
            raise ValueError(f"unknown LDPC decoder {algorithm!r}; allowed: {', '.join(DECODER_ALGORITHMS)}")
        if int(max_iterations) < 0:
            raise ValueError(f"max_iterations must be >= 0, got {max_iterations}")
        llrs = self._check_shape(llrs, self.n, "LLRs")
        # nms scales check messages by alpha, oms subtracts beta: one kernel, max(scale * min - offset, 0).
        scale = np.float32(alpha if algorithm == "nms" else 1.0)
        offset = np.float32(beta if algorithm == "oms" else 0.0)
        num_frames = llrs.shape[0]
        hard = np.empty((num_frames, self.n), dtype=np.uint8)
        iterations = np.empty(num_frames, dtype=np.int32)
        ok = np.empty(num_frames, dtype=np.bool_)
        if num_frames:
            kernels.decode_layered(np.ascontiguousarray(llrs, dtype=np.float32), self.check_ptr, self.var_of_edge,
                                   int(max_iterations), DECODER_ALGORITHMS[algorithm], scale, offset, DECODE_LANES,
                                   hard, iterations, ok)
        return DecodeResult(hard, hard[:, self.info_positions], iterations, ok)

    def _check_shape(self, array, length: int, what: str) -> np.ndarray:
        array = np.asarray(array)
        if array.ndim != 2 or array.shape[1] != length:
            raise ValueError(f"{self.name}: {what} must have shape [F, {length}], got {list(array.shape)}")
        return array


@dataclass
class DecodeResult:
    codewords: np.ndarray   #: hard decisions ``[F, n]`` uint8
    info_bits: np.ndarray   #: ``[F, k]`` uint8
    iterations: np.ndarray  #: iterations used ``[F]`` (0: input already a codeword)
    syndrome_ok: np.ndarray  #: ``[F]`` bool, True when the hard decision satisfies every check


def _pack_columns(parity_map: np.ndarray) -> np.ndarray:
    """Columns of the ``[n-k, k]`` GF(2) parity map as 64-bit words ``[k, ceil((n-k)/64)]`` (bit ``j`` of
    a column in word ``j // 64`` at bit ``j % 64``), for :func:`kernels.parity_bits`."""
    rows, k = parity_map.shape
    words = -(-rows // 64)
    bits = np.zeros((k, words * 64), dtype=np.uint64)
    bits[:, :rows] = (parity_map.T != 0)
    return (bits.reshape(k, words, 64) << np.arange(64, dtype=np.uint64)).sum(axis=2, dtype=np.uint64)


def _systematic_form(code: LDPCCode):
    """Reduced row echelon form of H over GF(2) (pivots from the right).

    Returns ``(A, info_positions, parity_positions)`` with ``parity = A @ info (mod 2)``;
    ``A`` is float32 ``[n - k, k]`` so that encoding is one matrix product.
    """
    packed = np.packbits(code.dense_h(), axis=1)
    pivot_columns = []
    row = 0
    for col in range(code.n - 1, -1, -1):
        if row == code.m:
            break
        column_bits = (packed[row:, col >> 3] >> (7 - (col & 7))) & 1
        hits = np.flatnonzero(column_bits)
        if hits.size == 0:
            continue
        pivot = row + hits[0]
        if pivot != row:
            packed[[row, pivot]] = packed[[pivot, row]]
        others = np.flatnonzero((packed[:, col >> 3] >> (7 - (col & 7))) & 1)
        others = others[others != row]
        packed[others] ^= packed[row]
        pivot_columns.append(col)
        row += 1
    rank = row
    reduced = np.unpackbits(packed[:rank], axis=1, count=code.n)
    parity_positions = np.array(pivot_columns, dtype=np.int64)
    info_mask = np.ones(code.n, dtype=bool)
    info_mask[parity_positions] = False
    info_positions = np.flatnonzero(info_mask)
    if info_positions.size == 0:
        raise ValueError(f"{code.name}: H has full column rank, the code has no information bits")
    return reduced[:, info_positions].astype(np.float32), info_positions, parity_positions


def read_alist(path: str, name: str | None = None) -> LDPCCode:
    """Parse an alist file (MacKay's format: sizes, degrees, column lists, row lists)."""
    name = name or os.path.splitext(os.path.basename(path))[0]
    try:
        with open(path) as handle:
            tokens = [int(tok) for tok in handle.read().split()]
    except OSError as err:
        raise ValueError(f"cannot read alist file {path!r}: {err.strerror}") from err
    except ValueError as err:
        raise ValueError(f"alist file {path!r} holds a non-integer token: {err}") from err
    try:
        n, m, max_col, max_row = tokens[:4]
        pos = 4
        col_deg = tokens[pos:pos + n]; pos += n
        row_deg = tokens[pos:pos + m]; pos += m
        if len(col_deg) != n or len(row_deg) != m:
            raise IndexError
        checks, variables = [], []
        for v in range(n):
            # Column lists hold col_deg[v] row numbers (1-based); some writers pad them with zeros.
            rows = tokens[pos:pos + col_deg[v]]; pos += col_deg[v]
            if len(rows) != col_deg[v]:
                raise IndexError
            if min(rows, default=1) < 1 or max(rows, default=1) > m:
                raise ValueError(f"alist file {path!r}: column {v + 1} names a row outside 1..{m}: {rows}")
            padding = 0
            while padding < max_col - col_deg[v] and pos < len(tokens) and tokens[pos] == 0:
                pos, padding = pos + 1, padding + 1
            checks.extend(r - 1 for r in rows)
            variables.extend([v] * len(rows))
    except IndexError:
        raise ValueError(f"alist file {path!r} is truncated or not in alist format "
                         "(expected: n m / max degrees / degrees / per-column row lists)") from None
    if sum(row_deg) != len(checks):
        raise ValueError(f"alist file {path!r}: row degrees sum to {sum(row_deg)}, columns list {len(checks)} ones")
    return LDPCCode(checks, variables, m, n, name=name)


def write_alist(code: LDPCCode, path: str) -> None:
    """Write ``code`` as an alist file (zero-padded lists), readable by :func:`read_alist` and gr-fec."""
    col_lists = [code.check_of_edge[code.var_of_edge == v] + 1 for v in range(code.n)]
    row_lists = [code.var_of_edge[code.check_ptr[c]:code.check_ptr[c + 1]] + 1 for c in range(code.m)]
    max_col = max(len(c) for c in col_lists)
    max_row = max(len(r) for r in row_lists)

    def padded(entries, width):
        return " ".join(str(x) for x in list(entries) + [0] * (width - len(entries)))

    lines = [f"{code.n} {code.m}", f"{max_col} {max_row}",
             " ".join(str(len(c)) for c in col_lists), " ".join(str(len(r)) for r in row_lists)]
    lines += [padded(c, max_col) for c in col_lists]
    lines += [padded(r, max_row) for r in row_lists]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


def wifi_code(n: int, rate: str) -> LDPCCode:
    base, lifting = base_matrix(n, rate)
    checks, variables = expand_base_matrix(base, lifting)
    return LDPCCode(checks, variables, base.shape[0] * lifting, n, name=f"wifi{n}_r{rate.replace('/', '')}")


def available_codes() -> list[str]:
    """Names accepted by :func:`get_code` (plus any ``*.alist`` path)."""
    names = [name for name in CODE_IDS if name != "none"]
    if os.path.isdir(GRFEC_ALIST_DIR):
        names += sorted(f"grfec:{f[:-6]}" for f in os.listdir(GRFEC_ALIST_DIR)
                        if f.endswith(".alist") and "gen_matrix" not in f and "g_matrix" not in f)
    return names


@functools.lru_cache(maxsize=None)
def get_code(name: str) -> LDPCCode:
    """A code by name (see module docstring); raises ``ValueError`` naming the allowed names."""
    if name.startswith("wifi"):
        for n in LENGTHS:
            for rate in RATES:
                if name == f"wifi{n}_r{rate.replace('/', '')}":
                    return wifi_code(n, rate)
    elif name.startswith("grfec:"):
        path = os.path.join(GRFEC_ALIST_DIR, name[len("grfec:"):] + ".alist")
        if os.path.exists(path):
            return read_alist(path, name=name)
    elif name.endswith(".alist"):
        return read_alist(name)
    raise ValueError(f"unknown LDPC code {name!r}; allowed: {', '.join(available_codes())}, or a path to an .alist file")


def code_id(name: str) -> int:
    return CODE_IDS.get(name, CUSTOM_CODE_ID)


@dataclass
class ShortenedCoder:
    """Carries exactly ``num_bits`` payload bits in ``C = ceil(num_bits / k)`` shortened codewords.

    The payload is spread evenly: codeword ``i`` carries ``k_i`` bits (``k_i`` differ by at most 1)
    followed by ``k - k_i`` zero filler bits that are *not transmitted*; the receiver knows them and
    feeds them to the decoder as certain zeros. Transmitted bits per frame: ``C n - (C k - num_bits)``.
    """
    code: LDPCCode
    num_bits: int
    _mask: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        if int(self.num_bits) < 1:
            raise ValueError(f"payload must have at least 1 bit, got {self.num_bits}")
        k = self.code.k
        self.num_codewords = -(-self.num_bits // k)
        base, extra = divmod(self.num_bits, self.num_codewords)
        self.info_lengths = np.array([base + 1] * extra + [base] * (self.num_codewords - extra))
        info_used = np.arange(k)[None, :] < self.info_lengths[:, None]  # [C, k]
        self._info_used = info_used
        self._mask = np.ones((self.num_codewords, self.code.n), dtype=bool)
        self._mask[:, self.code.info_positions] = info_used
        self.num_coded_bits = int(self._mask.sum())

    def encode(self, bits) -> np.ndarray:
        """Payload bits ``[F, num_bits]`` -> transmitted coded bits ``[F, num_coded_bits]``."""
        bits = np.asarray(bits)
        if bits.ndim != 2 or bits.shape[1] != self.num_bits:
            raise ValueError(f"payload bits must have shape [F, {self.num_bits}], got {list(bits.shape)}")
        num_frames = bits.shape[0]
        info = np.zeros((num_frames, self.num_codewords, self.code.k), dtype=np.uint8)
        info[:, self._info_used] = bits
        codewords = self.code.encode(info.reshape(-1, self.code.k)).reshape(num_frames, self.num_codewords, -1)
        return codewords[:, self._mask]

    def decode(self, llrs, **decoder_options) -> "ShortenedDecodeResult":
        """Coded-bit LLRs ``[F, num_coded_bits]`` -> payload bits and per-codeword status."""
        llrs = np.asarray(llrs, dtype=np.float32)
        if llrs.ndim != 2 or llrs.shape[1] != self.num_coded_bits:
            raise ValueError(f"LLRs must have shape [F, {self.num_coded_bits}], got {list(llrs.shape)}")
        num_frames = llrs.shape[0]
        full = np.full((num_frames, self.num_codewords, self.code.n), KNOWN_BIT_LLR, dtype=np.float32)
        full[:, self._mask] = llrs
        result = self.code.decode(full.reshape(-1, self.code.n), **decoder_options)
        info = result.info_bits.reshape(num_frames, self.num_codewords, self.code.k)
        return ShortenedDecodeResult(
            bits=info[:, self._info_used],
            coded_bits=result.codewords.reshape(num_frames, self.num_codewords, -1)[:, self._mask],
            iterations=result.iterations.reshape(num_frames, self.num_codewords),
            syndrome_ok=result.syndrome_ok.reshape(num_frames, self.num_codewords))


@dataclass
class ShortenedDecodeResult:
    bits: np.ndarray         #: decoded payload bits ``[F, num_bits]``
    coded_bits: np.ndarray   #: hard decisions of the transmitted coded bits ``[F, num_coded_bits]``
    iterations: np.ndarray   #: ``[F, C]``
    syndrome_ok: np.ndarray  #: ``[F, C]``
