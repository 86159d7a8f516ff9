"""LDPC decoder throughput, ours vs gr-fec's, on the same code and the same LLRs in one run.

For each maximum iteration count:

1. calibrate: find the Eb/N0 (0.25 dB grid) where our decoder's BLER is closest to the target
   (1e-2 by default), using the modulation of the link;
2. draw one set of channel LLRs at that Eb/N0;
3. time our decoder (one thread, best of ``repeats``), gr-fec's LDPC decoder (one flowgraph thread) and the
   ``ldpc`` package's C++ belief-propagation decoder (``BpDecoder``, normalised min-sum with our scale 0.8, serial
   schedule: its parallel schedule leaves 62 % of the frames wrong after 10 iterations where ours leaves 2 %; one
   thread; it takes hard decisions and per-bit error probabilities ``1 / (1 + exp|LLR|)``, which is
   the LLRs' information) on subsets of the same LLRs, with the same maximum iteration count; each one's BLER on
   its frames says it decoded.

The top-level ``coded_mbps`` / ``grfec_coded_mbps`` / ``ratio`` are those of the first count.

Throughput is *coded* Mbit/s per core: ``frames * n / seconds / 1e6``.
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from ..channel import awgn, ebn0_to_esn0_db
from ..phy.ldpc import LDPCCode, get_code, write_alist
from ..phy.qam import QAM
from .machine import machine_record


def channel_llrs(code: LDPCCode, qam: QAM, ebn0_db: float, frames: int, rng: np.random.Generator):
    """Random codewords through QAM + AWGN -> (codewords ``[F, n]``, LLRs ``[F, n]``)."""
    info = rng.integers(0, 2, (frames, code.k), dtype=np.uint8)
    codewords = code.encode(info)
    tail = -code.n % qam.bits_per_symbol
    sent = np.concatenate([codewords, np.zeros((frames, tail), dtype=np.uint8)], axis=1)
    esn0_db = ebn0_to_esn0_db(ebn0_db, qam.bits_per_symbol, code.rate)
    received, n0 = awgn(qam.modulate(sent), esn0_db, rng)
    return codewords, qam.demodulate_llr(received, n0)[:, :code.n]


def block_error_rate(code, codewords, llrs, **options) -> float:
    decoded = code.decode(llrs, **options).codewords
    return float(np.mean(np.any(decoded != codewords, axis=1)))


def calibrate_ebn0(code, qam, target_bler, iterations, rng, frames=2000, start_db=0.0, step_db=0.25,
                   stop_db=12.0) -> tuple[float, float]:
    """Smallest grid Eb/N0 whose BLER is <= target, or the neighbour below if that is closer (log scale)."""
    previous = None
    ebn0 = start_db
    while ebn0 <= stop_db:
        codewords, llrs = channel_llrs(code, qam, ebn0, frames, rng)
        bler = block_error_rate(code, codewords, llrs, max_iterations=iterations)
        if bler <= target_bler:
            if previous is not None and _log_distance(previous[1], target_bler) < _log_distance(bler, target_bler):
                return previous
            return ebn0, bler
        previous = (ebn0, bler)
        ebn0 += step_db
    raise RuntimeError(f"{code.name}: BLER stayed above {target_bler} up to Eb/N0 {stop_db} dB")


def _log_distance(bler, target):
    return abs(np.log10(max(bler, 1e-6)) - np.log10(target))


def time_decoder(code, llrs, repeats, **options) -> float:
    code.decode(llrs[:8], **options)  # JIT warm-up
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        code.decode(llrs, **options)
        best = min(best, time.perf_counter() - start)
    return best


def grfec_throughput(code, llrs, iterations) -> dict:
    """gr-fec's decoder on the same code (written as an alist) and LLRs; a reason if unavailable."""
    try:
        from gnuradio.semcomm.grfec import grfec_decode_throughput
    except ImportError as err:
        return {"available": False, "reason": f"GNU Radio gr-fec not importable: {err}"}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"{code.name.replace(':', '_')}.alist")
        write_alist(code, path)
        result = grfec_decode_throughput(path, llrs, iterations)
    return {"available": True, **result}


def pypi_ldpc_throughput(code, codewords, llrs, iterations, alpha: float = 0.8) -> dict:
    """The ``ldpc`` package's ``BpDecoder`` on the same code and LLRs (module doc); a reason if unavailable."""
    try:
        from ldpc import BpDecoder
    except ImportError as err:
        return {"available": False, "reason": f"the ldpc package is not installed ({err}): pip install ldpc"}
    from scipy.sparse import csr_matrix

    pcm = csr_matrix((np.ones(code.check_of_edge.size, np.uint8), (code.check_of_edge, code.var_of_edge)),
                     shape=(code.m, code.n))
    decoder = BpDecoder(pcm, error_rate=0.1, max_iter=int(iterations), bp_method="minimum_sum",
                        ms_scaling_factor=alpha, schedule="serial", input_vector_type="received_vector")
    hard = (llrs < 0).astype(np.uint8)
    probabilities = 1.0 / (1.0 + np.exp(np.minimum(np.abs(llrs.astype(np.float64)), 700)))
    errors, start = 0, time.perf_counter()
    for frame in range(llrs.shape[0]):
        decoder.update_channel_probs(probabilities[frame])
        errors += bool(np.any(decoder.decode(hard[frame]) != codewords[frame]))
    seconds = time.perf_counter() - start
    return {"available": True, "coded_mbps": llrs.shape[0] * code.n / seconds / 1e6, "seconds": seconds,
            "frames": int(llrs.shape[0]), "bler": errors / llrs.shape[0]}


def run(code_name="wifi1944_r12", modulation="16qam", iterations=(10, 20), target_bler=1e-2, frames=4096,
        grfec_frames=128, repeats=3, seed=1, ebn0_db=None, algorithm="nms", progress=None) -> dict:
    """The whole benchmark; returns one JSON-able dict (see module docstring)."""
    rng = np.random.default_rng(seed)
    code, qam = get_code(code_name), QAM(modulation)
    say = progress or (lambda message: None)
    rows = []
    for its in iterations:
        point = ebn0_db
        if point is None:
            say(f"{its} iterations: calibrating Eb/N0 for BLER ~ {target_bler:g}")
            point, _ = calibrate_ebn0(code, qam, target_bler, its, rng)
        codewords, llrs = channel_llrs(code, qam, point, frames, rng)
        say(f"{its} iterations: timing semcomm at Eb/N0 {point:.2f} dB")
        seconds = time_decoder(code, llrs, repeats, max_iterations=its, algorithm=algorithm)
        decoded = code.decode(llrs, max_iterations=its, algorithm=algorithm)
        say(f"{its} iterations: timing gr-fec on {grfec_frames} of the same frames")
        grfec = grfec_throughput(code, llrs[:grfec_frames], its)
        say(f"{its} iterations: timing the ldpc package on {min(frames, 1024)} of the same frames")
        pypi = pypi_ldpc_throughput(code, codewords[:1024], llrs[:1024], its)
        ours = frames * code.n / seconds / 1e6
        rows.append({"max_iterations": its, "ebn0_db": float(point), "coded_mbps": ours,
                     "bler": float(np.mean(np.any(decoded.codewords != codewords, axis=1))),
                     "mean_iterations": float(decoded.iterations.mean()), "seconds": seconds, "frames": frames,
                     "grfec_coded_mbps": grfec.get("coded_mbps"), "grfec": grfec,
                     "ratio": ours / grfec["coded_mbps"] if grfec.get("coded_mbps") else None,
                     "pypi_ldpc_coded_mbps": pypi.get("coded_mbps"), "pypi_ldpc": pypi,
                     "ratio_pypi_ldpc": ours / pypi["coded_mbps"] if pypi.get("coded_mbps") else None})
    first = rows[0]
    return {"benchmark": "ldpc", "code": code.name, "n": code.n, "k": code.k, "modulation": modulation,
            "algorithm": algorithm, "target_bler": target_bler, "max_iterations": first["max_iterations"],
            "coded_mbps": first["coded_mbps"], "grfec_coded_mbps": first["grfec_coded_mbps"],
            "ratio": first["ratio"], "pypi_ldpc_coded_mbps": first["pypi_ldpc_coded_mbps"],
            "ratio_pypi_ldpc": first["ratio_pypi_ldpc"], "cores": 1, **machine_record(), "results": rows}
