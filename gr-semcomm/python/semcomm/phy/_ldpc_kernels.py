"""Numba kernels of the layered LDPC decoder (see :mod:`semcomm.phy.ldpc` for the conventions).

Layout: frames are the *inner* (contiguous) axis, ``L[variable, frame]`` and ``R[edge, frame]``,
so every inner loop runs over frames and vectorises (SIMD) across them. Frames whose hard decision
satisfies all checks are written out and removed ("retired") after each iteration, so the
remaining iterations only spend time on frames that still need them.
"""
from __future__ import annotations

import numpy as np
from numba import njit

MIN_SUM = 0
SUM_PRODUCT = 1

_BIG = np.float32(1e30)
_PHI_MIN = np.float32(1e-7)
_PHI_MAX = np.float32(30.0)


@njit(cache=True, inline="always")
def _phi(x):
    """phi(x) = -ln(tanh(x / 2)), its own inverse on x > 0."""
    x = min(max(x, _PHI_MIN), _PHI_MAX)
    return np.float32(np.log((np.exp(x) + 1.0) / (np.exp(x) - 1.0)))


@njit(cache=True, fastmath=True)
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


@njit(cache=True)
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


@njit(cache=True)
def _retire(L, column_frame, done, nact, check_ptr, edge_var, iteration, final, hard_out, iters_out, ok_out):
    """Write out the columns that now satisfy every check (all of them if ``final``).

    Marks them ``done`` and returns how many of the ``nact`` columns are not done yet.
    """
    n = L.shape[0]
    ok = np.ones(nact, dtype=np.bool_)
    parity = np.zeros(nact, dtype=np.uint8)
    for c in range(check_ptr.shape[0] - 1):
        for f in range(nact):
            parity[f] = 0
        for j in range(check_ptr[c], check_ptr[c + 1]):
            v = edge_var[j]
            for f in range(nact):
                parity[f] ^= L[v, f] < 0
        for f in range(nact):
            if parity[f]:
                ok[f] = False
    pending = 0
    for f in range(nact):
        if done[f]:
            continue
        if ok[f] or final:
            frame = column_frame[f]
            for v in range(n):
                hard_out[frame, v] = L[v, f] < 0
            iters_out[frame] = iteration
            ok_out[frame] = ok[f]
            done[f] = True
        else:
            pending += 1
    return pending


@njit(cache=True)
def _compact(L, R, column_frame, done, nact):
    """Move the columns that are not done to the front; returns their number."""
    kept = np.flatnonzero(~done[:nact])
    for A in (L, R):
        for i in range(A.shape[0]):
            for t in range(kept.shape[0]):
                A[i, t] = A[i, kept[t]]
    for t in range(kept.shape[0]):
        column_frame[t] = column_frame[kept[t]]
        done[t] = False
    return kept.shape[0]


@njit(cache=True)
def decode_layered(L, check_ptr, edge_var, max_iterations, algorithm, alpha, beta,
                   hard_out, iters_out, ok_out):
    """Decode the frames of ``L[n, F]`` (channel LLRs, overwritten) in place.

    Writes hard decisions ``hard_out[F, n]``, iterations used ``iters_out[F]`` (0 when the input
    already was a codeword) and whether the syndrome is zero ``ok_out[F]``. Converged columns are
    compacted away once they are at least half of the columns still iterated.
    """
    num_frames = L.shape[1]
    num_edges = edge_var.shape[0]
    max_degree = 0
    for c in range(check_ptr.shape[0] - 1):
        max_degree = max(max_degree, check_ptr[c + 1] - check_ptr[c])
    R = np.zeros((num_edges, num_frames), dtype=np.float32)
    Q = np.empty((max_degree, num_frames), dtype=np.float32)
    P = np.empty((max_degree if algorithm == SUM_PRODUCT else 0, num_frames), dtype=np.float32)
    min1 = np.empty(num_frames, dtype=np.float32)
    min2 = np.empty(num_frames, dtype=np.float32)
    sgn = np.empty(num_frames, dtype=np.float32)
    column_frame = np.arange(num_frames)
    done = np.zeros(num_frames, dtype=np.bool_)
    nact = num_frames
    pending = _retire(L, column_frame, done, nact, check_ptr, edge_var, 0, max_iterations == 0,
                      hard_out, iters_out, ok_out)
    for iteration in range(1, max_iterations + 1):
        if pending == 0:
            break
        if 2 * (nact - pending) >= nact:
            nact = _compact(L, R, column_frame, done, nact)
        if algorithm == SUM_PRODUCT:
            _layer_sum_product(L, R, Q, P, check_ptr, edge_var, nact, min1, sgn)
        else:
            _layer_minsum(L, R, Q, check_ptr, edge_var, nact, alpha, beta, min1, min2, sgn)
        pending = _retire(L, column_frame, done, nact, check_ptr, edge_var, iteration,
                          iteration == max_iterations, hard_out, iters_out, ok_out)
