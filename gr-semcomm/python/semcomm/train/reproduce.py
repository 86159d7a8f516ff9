"""The command line that reproduces a model card's weights and metrics (the card's ``reproduce`` entry)."""
from __future__ import annotations

from .pretrained import training_chain


def eval_eps_option(metrics: dict, config: dict) -> str:
    """`` --eval-eps E`` when the run's final PGD evaluation used another eps than its training noise (the
    card's reproduce line must give the same metrics), else ``""``; E as k/255 when it is one."""
    attack = (metrics.get("white_box_pgd") or {}).get("attack") or {}
    adversarial = config.get("adversarial") or {}
    if "eps" not in attack or abs(attack["eps"] - adversarial.get("eps", attack["eps"])) < 1e-6:
        return ""
    levels = attack["eps"] * 255
    return f" --eval-eps {round(levels)}/255" if abs(levels - round(levels)) < 1e-4 else f" --eval-eps {attack['eps']}"


def reproduce_command(config_path: str, config: dict, metrics: dict) -> str:
    """The card's reproduce line: ``semcomm train`` of each run the config starts from, then of the config
    itself (with ``--eval-eps`` when its metrics need it), then ``semcomm export``."""
    trains = [f"semcomm train {path}" for path in training_chain(config_path, config)]  # init_from runs first
    trains[-1] += eval_eps_option(metrics, config)
    return " && ".join(trains + [f"semcomm export {config_path}"])
