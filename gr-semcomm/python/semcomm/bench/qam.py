"""QAM mapping and soft-demapping throughput (one thread, best of ``repeats``)."""
from __future__ import annotations

import time

import numpy as np

from ..phy.qam import BITS_PER_SYMBOL, LLR_METHODS, QAM
from .machine import machine_record


def _best_time(function, repeats) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def run(symbols=1_000_000, repeats=3, seed=1, default_modulation="16qam") -> dict:
    """Msymbols/s of ``modulate`` and ``demodulate_llr`` (each method) for every modulation.

    ``coded_mbps`` is the LLR output rate of the default modulation with max-log demapping.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for name in BITS_PER_SYMBOL:
        qam = QAM(name)
        bits = rng.integers(0, 2, (1, symbols * qam.bits_per_symbol), dtype=np.uint8)
        mapped = qam.modulate(bits)
        received = mapped + (0.1 * (rng.standard_normal(mapped.shape) + 1j * rng.standard_normal(mapped.shape))
                             ).astype(np.complex64)
        row = {"modulation": name, "map_msym_per_s": symbols / _best_time(lambda: qam.modulate(bits), repeats) / 1e6}
        for method in LLR_METHODS:
            seconds = _best_time(lambda: qam.demodulate_llr(received, 0.02, method), repeats)
            row[f"demap_{method}_msym_per_s"] = symbols / seconds / 1e6
        rows.append(row)
    default = next(r for r in rows if r["modulation"] == default_modulation)
    return {"benchmark": "qam", "symbols": symbols, "modulation": default_modulation, "cores": 1,
            "msymbols_per_s": default["demap_maxlog_msym_per_s"],
            "coded_mbps": default["demap_maxlog_msym_per_s"] * BITS_PER_SYMBOL[default_modulation],
            **machine_record(), "results": rows}
