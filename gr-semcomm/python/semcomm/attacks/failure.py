"""The frame-failure table (An et al.'s criterion): the minimum attack power that makes the victim's own
receiver lose at least ``target`` (0.9) of its frames, for the LDPC vulnerable-set attack next to the classical
ways of losing a frame.

A frame is lost when it is not detected, its header is refused or its payload fails the CRC
(:func:`.vulnerable_set.failure_rate`); the minimum PSR comes from a bisection on the measured failure rate
with common random numbers (:func:`.vulnerable_set.minimum_energy`), on the first ``frames`` *test* images of
each LDPC-coded scheme (digital codecs and JPEG + LDPC) at each Es/N0. Attacks, each with its span:

* ``vulnerable_set``: data-blind (it knows the code and the frame layout), payload span;
* ``vulnerable_set_aware``: data-aware, the oracle upper bound of an attacker that observes each frame;
* ``payload_gaussian``: Gaussian jamming of the payload;
* ``preamble``: Gaussian jamming of the preamble and header (the cheapest classical way to lose a frame).

Each row gives the PSR over the attack's span and the energy per frame (the axis on which the attacks
compare, :mod:`semcomm.attacks`), the failure rate reached and its standard error; ``ratio_vs_cheapest_
classical`` is how many times less energy per frame the attack needs than the cheaper of the two classical
ones (> 1: cheaper than killing the frame classically).
"""
from __future__ import annotations

import numpy as np

from .base import make_attack
from .vulnerable_set import minimum_energy

#: row name -> (registered attack, options)
FAILURE_ATTACKS = {
    "vulnerable_set": ("vulnerable_set", {}),
    "vulnerable_set_aware": ("vulnerable_set", {"knows_symbols": True}),
    "payload_gaussian": ("payload_gaussian", {}),
    "preamble": ("preamble", {}),
}
CLASSICAL = ("payload_gaussian", "preamble")
LDPC_FAMILIES = ("digital", "jpeg")


def failure_table(settings, frames: int = 500, target: float = 0.9) -> dict:
    """Rows per LDPC-coded scheme of ``settings`` (:class:`.campaign.CampaignSettings`: models, schemes, Es/N0,
    dataset, seed), Es/N0 and attack (module doc); schemes of other families are listed as skipped."""
    from ..sim.link import ChainSettings
    from .base import CraftContext
    from .campaign import load_schemes, test_images
    from .victim import Victim

    rows, skipped = [], []
    for scheme in load_schemes(settings):
        victim = Victim(scheme, ChainSettings())
        if victim.family not in LDPC_FAMILIES:
            skipped.append({"scheme": scheme.name, "reason": f"{victim.family} links carry no LDPC code"})
            continue
        images, labels = test_images(settings, list(scheme.info.classes))
        images, labels = images[:frames], labels[:frames]
        attacks = {}  # crafted once per scheme: the stopping-set search depends on the code, not the Es/N0
        for name, (registered, options) in FAILURE_ATTACKS.items():
            attacks[name] = make_attack(registered, **options)
            attacks[name].craft(CraftContext(victim, images[:0], labels[:0], float(settings.snr_db[0]), 0.0,
                                             seed=settings.seed))
        for snr in settings.snr_db:
            batch = victim.transmit(images, labels, float(snr))
            for name, attack in attacks.items():
                found = minimum_energy(victim, attack, batch, float(snr), target, settings.seed)
                rows.append({"scheme": scheme.name, "snr_db": float(snr), "attack": name, "span": attack.span,
                             **{key: found.get(key) for key in ("failure_rate", "failure_rate_se",
                                                                 "clean_failure_rate", "frames")},
                             **_power(found)})
    _add_ratios(rows)
    return {"target": target, "frames": frames, "rows": rows, "skipped": skipped}


def _power(found: dict) -> dict:
    """PSR and energy per frame, None with a note when the clean link already fails (``-inf``) or the largest
    PSR tried does not get there (None)."""
    psr = found["psr_db"]
    if psr is None:
        return {"psr_db": None, "energy_per_frame_db": None, "note": "not reached up to PSR +10 dB"}
    if not np.isfinite(psr):
        return {"psr_db": None, "energy_per_frame_db": None, "note": "the clean link already fails this often"}
    return {"psr_db": psr, "energy_per_frame_db": found["energy_per_frame_db"], "note": ""}


def _add_ratios(rows: list) -> None:
    for row in rows:
        classical = [r["energy_per_frame_db"] for r in rows if r["scheme"] == row["scheme"]
                     and r["snr_db"] == row["snr_db"] and r["attack"] in CLASSICAL
                     and r["energy_per_frame_db"] is not None]
        mine = row["energy_per_frame_db"]
        row["ratio_vs_cheapest_classical"] = (float(10 ** ((min(classical) - mine) / 10))
                                              if classical and mine is not None else None)
