"""``semcomm impairments``: accuracy through the loopback flowgraph with a radio pair's hardware impairments
(:class:`semcomm.channel.stream.FrontEnd`, ``hw_configs/emulated_b210.yaml``) against the clean loopback, on
the same images, and where each impairment breaks the link.

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

OFF = {"channel.cfo_ppm": 0.0, "channel.phase_noise_hz": 0.0, "channel.iq_gain_db": 0.0, "channel.iq_phase_deg": 0.0,
       "channel.dc_offset_db": None, "channel.multipath": []}
#: field -> values swept one at a time from the clean link
BREAKDOWN = {
    "channel.cfo_ppm": [2.0, 3.0, 4.0, 6.0, 8.0],
    "channel.phase_noise_hz": [1.0, 3.0, 10.0, 30.0],
    "channel.iq_phase_deg": [2.0, 5.0, 10.0],
    "channel.dc_offset_db": [-30.0, -20.0, -10.0],
    "channel.multipath": [[[0, 0, 0], [1, -15, 60]], [[0, 0, 0], [1, -6, 60]], [[0, 0, 0], [1, -3, 60]]],
}


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


def sweep(config_path: str, overrides: dict, out_dir: Path, breakdown: dict = BREAKDOWN) -> dict:
    """The points of the module doc; ``summary`` rows in order, written to ``out_dir/impairments.json``."""
    clean_config = load_testbed_config(config_path, {**overrides, **OFF})
    clean, correct = _point("clean", clean_config, out_dir / "clean", None)
    points = [clean]
    emulated, _ = _point("emulated", load_testbed_config(config_path, overrides), out_dir / "emulated", correct)
    points.append(emulated)
    for field, values in breakdown.items():
        for k, value in enumerate(values):
            name = f"{field.split('.')[-1]}={json.dumps(value)}"
            config = load_testbed_config(config_path, {**overrides, **OFF, field: value})
            points.append(_point(name, config, out_dir / f"{field.split('.')[-1]}_{k}", correct)[0])
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
