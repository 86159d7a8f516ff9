"""``semcomm bench soak``: a long loopback run with an unpaced source (10 000 images by default), to see
whether the testbed holds up over time: frames missed, this process's memory (resident set size) from the
first result to the end, latency percentiles and the achieved rate. A benchmark, not a test: it reports
figures and asserts nothing.

Memory is sampled every :data:`SAMPLE_EVERY_S` seconds together with the number of frames decided so far
(the lines the metrics sink has streamed to ``frames.jsonl``), so growth shows against work done rather
than time; latencies are those of the per-frame lines (source to semantic decoder).
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np

from .run import run_loopback

SAMPLE_EVERY_S = 1.0
PERCENTILES = (50, 95, 99, 100)


def rss_mib() -> float:
    """Resident set size of this process in MiB (``/proc/self/statm``)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class MemorySampler:
    """A thread that records ``[seconds since start, RSS MiB, frames decided]`` every ``every_s`` seconds;
    frames decided are the complete lines of ``frames_path`` (0 while it does not exist)."""

    def __init__(self, frames_path: Path, every_s: float = SAMPLE_EVERY_S):
        self.frames_path, self.every_s = frames_path, every_s
        self.samples: list[list[float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="semcomm_soak_memory", daemon=True)
        self._lines = self._offset = 0

    def __enter__(self):
        self._start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self):
        while not self._stop.wait(self.every_s):
            self._sample()

    def _sample(self):
        self.samples.append([round(time.monotonic() - self._start, 2), round(rss_mib(), 1), self._frames_decided()])

    def _frames_decided(self) -> int:
        try:
            with open(self.frames_path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return self._lines
        self._offset += len(data)
        self._lines += data.count(b"\n")
        return self._lines


def latency_percentiles(frames_path: Path) -> dict:
    """``{"p50", "p95", "p99", "max"}`` of the per-frame latencies (ms) in ``frames_path`` (None without any)."""
    with open(frames_path) as handle:
        latencies = [line["latency_ms"] for line in map(json.loads, handle) if line.get("latency_ms") is not None]
    names = [f"p{p}" if p < 100 else "max" for p in PERCENTILES]
    values = np.percentile(latencies, PERCENTILES).tolist() if latencies else [None] * len(PERCENTILES)
    return dict(zip(names, values))


def run_soak(config: dict, out_dir: Path, timeout_s: float) -> dict:
    """Run ``config``'s loopback with an unpaced source (its ``data.num_images`` images) into ``out_dir``
    and return the figures (module docstring), the memory samples included."""
    config = {**config, "data": {**config["data"], "images_per_s": 0}}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "frames.jsonl").unlink(missing_ok=True)  # the sampler counts this run's lines only
    rss_before = rss_mib()
    with MemorySampler(out_dir / "frames.jsonl") as memory:
        summary = run_loopback(config, "soak", out_dir, timeout_s)
    working = [sample for sample in memory.samples if sample[2] > 0] or memory.samples
    return {"images": summary["images"], "frames_missed": summary["frames_missed"],
            "frames_decoded": summary["frames_decoded"], "accuracy": summary["accuracy"],
            "images_per_s": summary["images_per_s"], "elapsed_s": summary["elapsed_s"], "ended": summary.get("ended"),
            "latency_ms": latency_percentiles(out_dir / "frames.jsonl"),
            "rss_mib_before": round(rss_before, 1), "rss_mib_start": working[0][1], "rss_mib_end": working[-1][1],
            "rss_mib_max": max(sample[1] for sample in memory.samples),
            "memory_samples": {"columns": ["seconds", "rss_mib", "frames_decided"], "rows": memory.samples},
            "counters": summary.get("counters", {}), "out_dir": str(out_dir)}


def format_soak(result: dict) -> str:
    """The figures of :func:`run_soak` as three lines of text."""
    latency = result["latency_ms"]
    rate = f"{result['images_per_s']:.1f} images/s" if result["images_per_s"] is not None else "no image decoded"
    accuracy = f"{result['accuracy']:.1%}" if result["accuracy"] is not None else "-"
    lines = [f"soak: {result['images']} images, unpaced, loopback, {result['elapsed_s']:.1f} s: {rate}, "
             f"{result['frames_missed']} missed, accuracy {accuracy}"
             + (f", ended: {result['ended']}" if result.get("ended") else ""),
             "latency ms: " + ", ".join(f"{name} {value:.0f}" if value is not None else f"{name} -"
                                        for name, value in latency.items()),
             f"RSS MiB: {result['rss_mib_start']:.0f} at the first results, {result['rss_mib_end']:.0f} at the end "
             f"(max {result['rss_mib_max']:.0f}; {result['rss_mib_before']:.0f} before the graph was built)"]
    return "\n".join(lines)
