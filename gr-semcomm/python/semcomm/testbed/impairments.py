"""``semcomm impairments``: accuracy through the loopback flowgraph with a radio pair's hardware impairments
(:class:`semcomm.channel.stream.FrontEnd`, ``hw_configs/emulated_b210.yaml``) against the clean loopback, on
the same images, and where each impairment breaks the link (with the receiver's CFO search as configured, and
without it for the carrier offset).

Points: ``clean`` (every impairment off), ``emulated`` (the config as it is), then each impairment swept on its
own from the clean link (:data:`BREAKDOWN`). Each point: accuracy and its binomial standard error, the
difference to clean with the standard error of the difference (paired images: the same frames, so the
difference's SE is taken over the per-image differences), frames missed and header/payload CRC failures.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .config import load_testbed_config
from .run import run_loopback

OFF = {"channel.cfo_ppm": 0.0, "channel.clock_ppm": 0.0, "channel.phase_noise_hz": 0.0, "channel.iq_gain_db": 0.0, "channel.iq_phase_deg": 0.0,
       "channel.dc_offset_db": None, "channel.multipath": []}
#: (point name, overrides) swept one at a time from the clean link (the config's CFO search unless set)
BREAKDOWN = [
    ("cfo 2 ppm, no search", {"channel.cfo_ppm": 2.0, "modem.cfo_search_ppm": 0.0}),
    ("cfo 4 ppm, no search", {"channel.cfo_ppm": 4.0, "modem.cfo_search_ppm": 0.0}),
    ("cfo 4 ppm", {"channel.cfo_ppm": 4.0}),
    ("cfo 8 ppm", {"channel.cfo_ppm": 8.0}),
    ("cfo 12 ppm", {"channel.cfo_ppm": 12.0}),
    ("clock 20 ppm", {"channel.clock_ppm": 20.0}),
    ("clock 100 ppm", {"channel.clock_ppm": 100.0}),
    ("phase noise 1 Hz", {"channel.phase_noise_hz": 1.0}),
    ("phase noise 3 Hz", {"channel.phase_noise_hz": 3.0}),
    ("phase noise 10 Hz", {"channel.phase_noise_hz": 10.0}),
    ("iq 1 dB 5 deg", {"channel.iq_gain_db": 1.0, "channel.iq_phase_deg": 5.0}),
    ("iq 2 dB 10 deg", {"channel.iq_gain_db": 2.0, "channel.iq_phase_deg": 10.0}),
    ("dc -20 dB", {"channel.dc_offset_db": -20.0}),
    ("dc -10 dB", {"channel.dc_offset_db": -10.0}),
    ("echo -6 dB at 1 sample", {"channel.multipath": [[0, 0, 0], [1, -6, 60]]}),
    ("echo -3 dB at 2 samples", {"channel.multipath": [[0, 0, 0], [2, -3, 60]]}),
]


def _point(name: str, config: dict, out_dir: Path, clean: list | None) -> tuple[dict, list]:
    summary = run_loopback(config, name, out_dir, timeout_s=1800)
    frames = {f["seq"]: bool(f.get("correct")) for f in map(json.loads, (out_dir / "frames.jsonl").read_text()
                                                           .splitlines())}
    correct = [frames.get(seq, False) for seq in range(config["data"]["num_images"])]
    n = len(correct)
    accuracy = float(np.mean(correct))
    point = {"point": name, "images": n, "accuracy": accuracy, "accuracy_se": math.sqrt(accuracy * (1 - accuracy) / n),
             "frames_missed": summary["frames_missed"], "header_crc_failures": summary["header_crc_failures"],
             "payload_crc_failures": summary["payload_crc_failures"], "ber_pre_fec": summary["ber_pre_fec"]}
    if clean is not None:
        differences = np.array(correct, float) - np.array(clean, float)
        point.update(difference=float(differences.mean()), difference_se=float(differences.std(ddof=1) / math.sqrt(n)))
    return point, correct


def sweep(config_path: str, overrides: dict, out_dir: Path, breakdown: list = BREAKDOWN) -> dict:
    """The points of the module doc; ``summary`` rows in order, written to ``out_dir/impairments.json``."""
    clean_config = load_testbed_config(config_path, {**overrides, **OFF})
    clean, correct = _point("clean", clean_config, out_dir / "clean", None)
    points = [clean]
    emulated, _ = _point("emulated", load_testbed_config(config_path, overrides), out_dir / "emulated", correct)
    points.append(emulated)
    for k, (name, changes) in enumerate(breakdown):
        config = load_testbed_config(config_path, {**overrides, **OFF, **changes})
        points.append(_point(name, config, out_dir / f"point{k}", correct)[0])
    result = {"config": config_path, "overrides": overrides, "snr_db": clean_config["channel"]["snr_db"],
              "emulated": {key: load_testbed_config(config_path, overrides)["channel"][key.split(".")[-1]]
                           for key in OFF}, "points": points}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "impairments.json").write_text(json.dumps(result, indent=1))
    return result


def format_table(result: dict) -> str:
    lines = [f"{'point':40s} {'accuracy':>14s} {'vs clean':>16s} {'missed':>6s} {'hdr':>4s} {'payload':>7s} "
             f"{'pre-FEC BER':>11s}"]
    for p in result["points"]:
        versus = f"{100 * p['difference']:+.1f} +- {100 * p['difference_se']:.1f}" if "difference" in p else "-"
        lines.append(f"{p['point'][:40]:40s} {100 * p['accuracy']:8.1f} +- {100 * p['accuracy_se']:.1f} {versus:>16s} "
                     f"{p['frames_missed']:6d} {p['header_crc_failures']:4d} {p['payload_crc_failures']:7d} "
                     f"{p['ber_pre_fec'] if p['ber_pre_fec'] is not None else float('nan'):11.2e}")
    return "\n".join(lines)
