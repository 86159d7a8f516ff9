"""Numba kernels of the layered LDPC decoder (see :mod:`semcomm.phy.ldpc` for the conventions).

Layout: frames are the *inner* (contiguous) axis, ``L[variable, lane]`` and ``R[edge, lane]``,
so every inner loop runs over frames and vectorises (SIMD) across them; see
:func:`decode_layered` for how frames stream through the lanes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

MIN_SUM = 0
SUM_PRODUCT = 1

_BIG = np.float32(1e30)
_PHI_MIN = np.float32(1e-7)
_PHI_MAX = np.float32(30.0)
#: Channel LLRs are clipped to this magnitude; also the LLR of bits known to the receiver.
LLR_LIMIT = np.float32(1e4)


@njit(cache=True, inline="always")
def _phi(x):
    """phi(x) = -ln(tanh(x / 2)), its own inverse on x > 0."""
    x = min(max(x, _PHI_MIN), _PHI_MAX)
    return np.float32(np.log((np.exp(x) + 1.0) / (np.exp(x) - 1.0)))


@njit(cache=True, fastmath=True, nogil=True)
def _layer_minsum(L, R, Q, check_ptr, edge_var, nact, alpha, beta, min1, min2, sgn):
    """One layered min-sum iteration; check message magnitude ``max(alpha * min - beta, 0)``.

    The minimum over the *other* edges is ``min2`` for the edge that holds ``min1`` and ``min1``
    otherwise; on a tie ``min1 == min2``, so comparing ``|q|`` with ``min1`` needs no argmin.
    """
    for c in range(check_ptr.shape[0] - 1):
        start, stop = check_ptr[c], check_ptr[c + 1]
        for f in range(nact):
            min1[f] = _BIG
            min2[f] = _BIG
            sgn[f] = 1.0
        for j in range(start, stop):
            v = edge_var[j]
            row = j - start
            for f in range(nact):
                q = L[v, f] - R[j, f]
                Q[row, f] = q
                a = abs(q)
                min2[f] = min(min2[f], max(a, min1[f]))
                min1[f] = min(min1[f], a)
                sgn[f] = -sgn[f] if q < 0 else sgn[f]
        for j in range(start, stop):
            v = edge_var[j]
            row = j - start
            for f in range(nact):
                q = Q[row, f]
                mag = min2[f] if abs(q) == min1[f] else min1[f]
                mag = max(alpha * mag - beta, np.float32(0.0))
                r = -mag * sgn[f] if q < 0 else mag * sgn[f]
                R[j, f] = r
                L[v, f] = q + r


@njit(cache=True, nogil=True)
def _layer_sum_product(L, R, Q, P, check_ptr, edge_var, nact, total, sgn):
    for c in range(check_ptr.shape[0] - 1):
        start, stop = check_ptr[c], check_ptr[c + 1]
        for f in range(nact):
            total[f] = 0.0
            sgn[f] = 1.0
        for j in range(start, stop):
            v = edge_var[j]
            row = j - start
            for f in range(nact):
                q = L[v, f] - R[j, f]
                Q[row, f] = q
                p = _phi(abs(q))
                P[row, f] = p
                total[f] += p
                sgn[f] = -sgn[f] if q < 0 else sgn[f]
        for j in range(start, stop):
            v = edge_var[j]
            row = j - start
            for f in range(nact):
                q = Q[row, f]
                mag = _phi(total[f] - P[row, f])
                r = -mag * sgn[f] if q < 0 else mag * sgn[f]
                R[j, f] = r
                L[v, f] = q + r


@njit(cache=True, nogil=True)
def _syndrome_ok(L, check_ptr, edge_var, lanes, ok):
    """``ok[f]`` = hard decision of lane ``f`` satisfies every check, for lanes ``[0, lanes)``."""
    parity = np.zeros(lanes, dtype=np.uint8)
    for f in range(lanes):
        ok[f] = True
    for c in range(check_ptr.shape[0] - 1):
        for f in range(lanes):
            parity[f] = 0
        for j in range(check_ptr[c], check_ptr[c + 1]):
            v = edge_var[j]
            for f in range(lanes):
                parity[f] ^= L[v, f] < 0
        for f in range(lanes):
            if parity[f]:
                ok[f] = False


@njit(cache=True, nogil=True)
def _retire(L, lane_frame, lane_iterations, lanes, ok, max_iterations, hard_out, iters_out, ok_out):
    """Write out lanes that converged or ran out of iterations; free them (frame -1)."""
    for f in range(lanes):
        frame = lane_frame[f]
        if frame < 0 or not (ok[f] or lane_iterations[f] >= max_iterations):
            continue
        for v in range(L.shape[0]):
            hard_out[frame, v] = L[v, f] < 0
        iters_out[frame] = lane_iterations[f]
        ok_out[frame] = ok[f]
        lane_frame[f] = -1


@njit(cache=True, nogil=True)
def _refill(L, R, llrs, lane_frame, lane_iterations, lanes, next_frame):
    """Load the next frames' LLRs into free lanes (row by row); returns the new next_frame."""
    num_frames = llrs.shape[0]
    free = np.flatnonzero(lane_frame[:lanes] < 0)
    count = min(free.shape[0], num_frames - next_frame)
    for t in range(count):
        lane_frame[free[t]] = next_frame + t
        lane_iterations[free[t]] = 0
    for v in range(L.shape[0]):
        for t in range(count):
            L[v, free[t]] = min(max(llrs[next_frame + t, v], -LLR_LIMIT), LLR_LIMIT)
    for e in range(R.shape[0]):
        for t in range(count):
            R[e, free[t]] = 0.0
    return next_frame + count


@njit(cache=True, nogil=True)
def _compact(L, R, lane_frame, lane_iterations, lanes):
    """Move busy lanes to the front; returns their number."""
    kept = np.flatnonzero(lane_frame[:lanes] >= 0)
    for A in (L, R):
        for i in range(A.shape[0]):
            for t in range(kept.shape[0]):
                A[i, t] = A[i, kept[t]]
    for t in range(kept.shape[0]):
        lane_frame[t] = lane_frame[kept[t]]
        lane_iterations[t] = lane_iterations[kept[t]]
    lane_frame[kept.shape[0]:lanes] = -1
    return kept.shape[0]


@njit(cache=True, nogil=True)
def decode_layered(llrs, check_ptr, edge_var, max_iterations, algorithm, alpha, beta, lanes,
                   hard_out, iters_out, ok_out):
    """Decode channel LLRs ``llrs[F, n]`` (float32, clipped to +-LLR_LIMIT on load).

    Writes hard decisions ``hard_out[F, n]``, iterations used ``iters_out[F]`` (0 when the input
    already was a codeword) and zero-syndrome flags ``ok_out[F]``.

    Frames stream through ``lanes`` SIMD columns: a lane is freed as soon as its frame converges
    (or reaches ``max_iterations``) and, once an eighth of the lanes is free, the free lanes are
    refilled with the next frames, so the vector width stays busy whatever the spread of
    iteration counts. When no frames are left, busy lanes are compacted to the front.
    """
    num_frames = llrs.shape[0]
    lanes = max(1, min(lanes, num_frames))
    num_edges = edge_var.shape[0]
    max_degree = 0
    for c in range(check_ptr.shape[0] - 1):
        max_degree = max(max_degree, check_ptr[c + 1] - check_ptr[c])
    L = np.empty((llrs.shape[1], lanes), dtype=np.float32)
    R = np.zeros((num_edges, lanes), dtype=np.float32)
    Q = np.empty((max_degree, lanes), dtype=np.float32)
    P = np.empty((max_degree if algorithm == SUM_PRODUCT else 0, lanes), dtype=np.float32)
    min1 = np.empty(lanes, dtype=np.float32)
    min2 = np.empty(lanes, dtype=np.float32)
    sgn = np.empty(lanes, dtype=np.float32)
    ok = np.empty(lanes, dtype=np.bool_)
    lane_frame = np.full(lanes, -1, dtype=np.int64)
    lane_iterations = np.zeros(lanes, dtype=np.int64)
    next_frame = _refill(L, R, llrs, lane_frame, lane_iterations, lanes, 0)
    active = lanes
    while True:
        _syndrome_ok(L, check_ptr, edge_var, active, ok)
        _retire(L, lane_frame, lane_iterations, active, ok, max_iterations, hard_out, iters_out, ok_out)
        free = 0
        for f in range(active):
            free += lane_frame[f] < 0
        if next_frame < num_frames:
            if 8 * free >= lanes:
                next_frame = _refill(L, R, llrs, lane_frame, lane_iterations, active, next_frame)
                continue  # new frames get their iteration-0 syndrome check
        elif free == active:
            return
        elif 2 * free >= active:
            active = _compact(L, R, lane_frame, lane_iterations, active)
        if algorithm == SUM_PRODUCT:
            _layer_sum_product(L, R, Q, P, check_ptr, edge_var, active, min1, sgn)
        else:
            _layer_minsum(L, R, Q, check_ptr, edge_var, active, alpha, beta, min1, min2, sgn)
        for f in range(active):
            lane_iterations[f] += 1


@njit(cache=True, nogil=True)
def parity_bits(info_bits, packed_columns, num_parity):
    """Systematic encoding over GF(2): parity ``[F, num_parity]`` = XOR of the parity-map columns of the
    information bits that are 1; ``packed_columns[i]`` holds column ``i`` as 64-bit words (bit ``j`` of
    the parity vector in word ``j // 64``, bit ``j % 64``)."""
    num_frames, k = info_bits.shape
    words = packed_columns.shape[1]
    out = np.empty((num_frames, num_parity), dtype=np.uint8)
    acc = np.empty(words, dtype=np.uint64)
    for f in range(num_frames):
        acc[:] = 0
        for i in range(k):
            if info_bits[f, i] & 1:
                for w in range(words):
                    acc[w] ^= packed_columns[i, w]
        for j in range(num_parity):
            out[f, j] = (acc[j >> 6] >> np.uint64(j & 63)) & np.uint64(1)
    return out
