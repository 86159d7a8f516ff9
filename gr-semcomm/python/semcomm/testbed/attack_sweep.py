"""``semcomm attack sweep``: accuracy vs PSR of one perturbation file, simulated or through the testbed's
flowgraphs, in one JSON schema, and the comparison of sweeps.

* ``sim``: the exact chain (:func:`semcomm.attacks.evaluate.run_point`) with the file played on every frame
  (:class:`semcomm.attacks.replay.FileAttack`, the oracle's alignment);
* ``loopback`` / ``zmq``: ``semcomm run`` of the testbed config with the attacker radio playing the file in the
  chosen sync mode, one run per PSR (plus the clean one), on the same first test images.

Each point has the fields of the simulated campaign's points (``snr_db``, ``psr_db``, ``images``, ``accuracy``,
``accuracy_se``, ``lost_to_sync``, ``header_failures``, ``payload_crc_failures``, ``ber_pre_fec``,
``ber_post_fec``, ``psr_db_measured``, ``energy_per_frame_db``) and, from the flowgraphs, the attacker's
``hit_rate``, ``late`` and ``missed``. :func:`compare` lines sweeps up against the first: accuracy difference per
PSR with its standard error and whether it lies within the agreement tolerance.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

AGREEMENT_POINTS = 0.03  #: simulation vs flowgraph in oracle mode: accuracy within +-3 points at each PSR
TESTBEDS = ("sim", "loopback", "zmq")


def _energy_offset_db(perturbation) -> float:
    """Energy per frame relative to the frame's, minus the PSR over the span: ``10 log10(span / frame)``."""
    from ..attacks.threat import span_mask

    frame = int(perturbation.layout["frame_symbols"])
    return 10 * math.log10(span_mask(perturbation.span, [frame], frame).sum() / frame)


def simulated_sweep(path: str, psr_values, snr_db: float, images: int, models_dir: str = "models",
                    seed: int = 0) -> dict:
    """The file's sweep through the exact chain (module doc)."""
    from ..attacks.campaign import CampaignSettings, load_schemes, test_images
    from ..attacks.evaluate import sweep
    from ..attacks.perturbation import check_compatible, load
    from ..attacks.replay import FileAttack
    from ..attacks.universal import victim_frame_layout
    from ..attacks.victim import Victim
    from ..sim.link import ChainSettings

    perturbation = load(path)
    settings = CampaignSettings(models_dir=models_dir, schemes=(perturbation.scheme,), images=images, seed=seed,
                                progress=False)
    scheme = load_schemes(settings)[0]
    victim = Victim(scheme, ChainSettings())
    check_compatible(perturbation, scheme.info.model_id, victim_frame_layout(victim, perturbation.layout["frame_symbols"]))
    test, labels = test_images(settings, list(scheme.info.classes))
    curve = sweep(victim, FileAttack(perturbation), test, labels, [snr_db], list(psr_values), seed=seed)[snr_db]
    return _sweep_record("sim", "oracle", path, perturbation, snr_db, [point.to_dict() for point in curve])


def flowgraph_sweep(testbed: str, config_path: str, overrides: dict, path: str, psr_values, images: int,
                    out_dir: Path, timeout_s: float = 900.0) -> dict:
    """The file's sweep through the ``loopback`` or ``zmq`` testbed, one run per point in ``out_dir/psr<X>``."""
    from ..attacks.perturbation import load
    from .config import load_testbed_config
    from .run import run_loopback, run_zmq

    perturbation = load(path)
    fixed = {**overrides, "attacker.kind": "perturbation", "attacker.perturbation": str(path),
             "data.num_images": images, "data.start": 0, "data.seed": None}
    config = load_testbed_config(config_path, fixed)
    points = []
    for psr in (-math.inf, *psr_values):
        run_dir = out_dir / ("clean" if math.isinf(psr) else f"psr{psr:g}")
        point = {**fixed, "attacker.enabled": not math.isinf(psr)}
        if not math.isinf(psr):
            point["attacker.psr_db"] = float(psr)
        if testbed == "loopback":
            summary = run_loopback(load_testbed_config(config_path, point), f"psr {psr:g}", run_dir, timeout_s)
        else:
            summary = run_zmq(config_path, [f"{key}={_override_text(value)}" for key, value in point.items()],
                              run_dir, timeout_s)
        points.append(_point(summary, config["channel"]["snr_db"], psr, _energy_offset_db(perturbation)))
    return _sweep_record(testbed, config["attacker"]["sync"], path, perturbation, config["channel"]["snr_db"], points,
                         latency=config["attacker"]["latency"])


def _override_text(value) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def _point(summary: dict, snr_db: float, psr: float, energy_offset_db: float) -> dict:
    """A testbed run's summary as a sweep point (module doc)."""
    n, accuracy = summary["images"], summary["accuracy"]
    attack = summary.get("attack") or {}
    measured = attack.get("psr_db_realised_mean")
    return {"snr_db": float(snr_db), "psr_db": float(psr), "images": n, "accuracy": accuracy,
            "accuracy_se": math.sqrt(accuracy * (1 - accuracy) / n) if n else None,
            "lost_to_sync": summary["frames_missed"], "header_failures": summary["header_crc_failures"],
            "payload_crc_failures": summary["payload_crc_failures"], "ber_pre_fec": summary["ber_pre_fec"],
            "ber_post_fec": summary["ber_post_fec"], "psr_db_measured": measured,
            "energy_per_frame_db": None if measured is None else measured + energy_offset_db,
            "hit_rate": attack.get("hit_rate"), "late": attack.get("late"), "missed": attack.get("missed"),
            "ended": summary.get("ended")}


def _sweep_record(testbed: str, sync: str, path: str, perturbation, snr_db: float, points: list, **extra) -> dict:
    return {"testbed": testbed, "sync": sync, "perturbation": str(path), "scheme": perturbation.scheme,
            "attack": perturbation.kind, "span": perturbation.span, "snr_db": float(snr_db), **extra,
            "points": points}


def compare(sweeps: list[dict]) -> list[dict]:
    """Rows per PSR of the first sweep: each sweep's accuracy, its difference from the first with the standard
    error of the difference, and whether it is within :data:`AGREEMENT_POINTS`."""
    reference = {p["psr_db"]: p for p in sweeps[0]["points"]}
    rows = []
    for psr, first in reference.items():
        row = {"psr_db": psr, sweeps[0]["testbed"]: first["accuracy"]}
        for other in sweeps[1:]:
            match = next((p for p in other["points"] if p["psr_db"] == psr), None)
            if match is None:
                continue
            name = f"{other['testbed']}/{other['sync']}"
            difference = match["accuracy"] - first["accuracy"]
            row[name] = match["accuracy"]
            row[f"{name} diff"] = difference
            row[f"{name} diff_se"] = math.hypot(first["accuracy_se"], match["accuracy_se"])
            row[f"{name} within"] = abs(difference) <= AGREEMENT_POINTS
        rows.append(row)
    return rows


def load_sweep(path) -> dict:
    with open(path) as handle:
        sweep = json.load(handle)
    for point in sweep["points"]:
        point["psr_db"] = float(point["psr_db"])
    return sweep
