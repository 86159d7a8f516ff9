"""Receiver-side semantic noise in ``semcomm eval report``: Hu et al. Fig. 8 and Table III's receiver-side rows.

The attacks, their units and the victim's chain are those of :mod:`semcomm.attacks` (``y = H_t x + n + H_a
delta``; PSR over the payload symbols; frames through the exact chain with detection, header, known-symbol
equalisation, LDPC and CRC). The signal-to-semantic-noise ratio of Fig. 8 is ``SSNR = -PSR`` (dB).

Fig. 8 (``fig8``): accuracy vs SSNR at ``eps_snr`` for every scheme, under

* the sample-independent receiver-side noise of Hu et al. Algorithm 1 (attack ``universal``) for the codecs
  that have a differentiable receiver (digital: through the soft receiver; analog JSCC: through its channel
  symbols), crafted per scheme on ``craft_images`` *training* images at ``eps_snr`` with the attacker channel
  ``attacker_channel``: anew at each SSNR it is played at (the attacker knows its budget,
  :class:`semcomm.attacks.campaign.PerBudget`; Fig. 8's SSNRs and ``receiver_ssnr``), or once at ``craft_ssnr``
  when that is set;
* for the JPEG schemes, which have none, the LDPC vulnerable-set attack (``vulnerable_set``: model-free, it
  knows the code and the frame layout), the strongest universal waveform the library has for them;
* and, for every scheme, payload Gaussian jamming of the same PSR as the reference (dashed).

Table III receiver-side rows (``table3["receiver_side"]``): at ``eps_snr`` and SSNR ``receiver_ssnr``, the
accuracy of every target under the universal perturbation crafted on every source: white box on the
diagonal, transfer (black box: the attacker crafted on another scheme's model and plays that waveform
against this one) elsewhere. A waveform transfers between frames of the same length only (the same payload
symbols); other pairs are None. The ResNet-based surrogates have no channel and are not sources here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..attacks.base import CraftContext, make_attack
from ..attacks.campaign import PerBudget, training_images
from ..attacks.evaluate import run_point, sweep
from .plots import plot_accuracy_table, plot_panels

#: the receiver-side attack Fig. 8 uses per scheme family (module doc)
FIG8_ATTACK = {"digital": "universal", "analog": "universal", "jpeg": "vulnerable_set"}
REFERENCE = "payload_gaussian"
GAUSSIAN_LABEL = " (Gaussian)"


class ReceiverSide:
    """The victims (:class:`semcomm.attacks.victim.Victim`) of an :class:`~semcomm.eval.figures.Evaluator`'s
    schemes and the receiver-side attacks crafted against them (both cached)."""

    def __init__(self, ev):
        self.ev = ev
        self._victims: dict = {}
        self._crafted: dict = {}

    def victim(self, scheme):
        from ..attacks.victim import Victim

        if scheme.name not in self._victims:
            self._victims[scheme.name] = Victim(scheme, self.ev.chain, self.ev.jpeg_settings(scheme)
                                                if scheme.family == "jpeg" else None)
        return self._victims[scheme.name]

    def crafted(self, scheme, name: str):
        """Attack ``name`` crafted against ``scheme`` on training images (module doc), or None when it does
        not apply to the scheme's family or needs PyTorch weights the scheme lacks."""
        key = (scheme.name, name)
        if key not in self._crafted:
            attack = make_attack(name)
            if scheme.family not in attack.families or (attack.threat.model == "white_box"
                                                        and not scheme.differentiable):
                self._crafted[key] = None
            else:
                s = self.ev.settings
                if attack.budget_crafted and s.craft_ssnr is None:
                    attack = PerBudget(attack, sorted({0.0 - float(x) for x in (*s.ssnr, s.receiver_ssnr)}))
                images, labels = training_images(s, list(scheme.info.classes))
                craft_psr = -s.craft_ssnr if s.craft_ssnr is not None else -s.receiver_ssnr  # unused by PerBudget
                attack.craft(CraftContext(self.victim(scheme), images, labels, s.eps_snr, craft_psr,
                                          s.attacker_channel, s.seed, s.progress))
                self._crafted[key] = attack
        return self._crafted[key]

    def frame_length(self, scheme) -> int:
        """Symbols per frame of ``scheme`` (the first test image's frame)."""
        ev = self.ev
        return int(self.victim(scheme).transmit(ev.images[:1], ev.labels[:1], ev.settings.eps_snr).lengths[0])

    def accuracy_curve(self, scheme, attack, psrs: list) -> list:
        """Points (clean first) of ``scheme`` under ``attack`` at ``eps_snr`` for ``psrs``."""
        s, ev = self.ev.settings, self.ev
        curves = sweep(self.victim(scheme), attack, ev.images, ev.labels, [s.eps_snr], psrs, s.attacker_channel,
                       s.seed, s.batch_size)
        return curves[float(s.eps_snr)]

    def accuracy(self, scheme, attack, psr: float) -> float:
        s, ev = self.ev.settings, self.ev
        return run_point(self.victim(scheme), attack, ev.images, ev.labels, s.eps_snr, psr, s.attacker_channel,
                         s.seed, s.batch_size).figures["accuracy"]


def _curve(points: list) -> list:
    """Accuracies of the attacked points, in the order of the SSNR axis."""
    return [p.figures["accuracy"] for p in points[1:]]


def fig8(ev, out: Path) -> dict:
    """Accuracy vs SSNR under receiver-side noise, every scheme (module doc)."""
    s, side = ev.settings, ev.receiver
    ssnr = sorted(float(x) for x in s.ssnr)
    psrs = [-x for x in ssnr]
    curves, panels = {}, {"(a) receiver-side semantic noise": {}, "(b) payload Gaussian jamming": {}}
    for scheme in ev.progress(ev.schemes, "fig8"):
        name = FIG8_ATTACK[scheme.family]
        attack = side.crafted(scheme, name)
        if attack is None:
            ev.lack(f"fig8 {scheme.name}", f"{name} needs the PyTorch weights of the card: {'; '.join(scheme.notes)}")
            continue
        noisy = side.accuracy_curve(scheme, attack, psrs)
        gaussian = side.accuracy_curve(scheme, make_attack(REFERENCE), psrs)
        curves[scheme.name] = {"attack": name, "clean": noisy[0].figures["accuracy"], "accuracy": _curve(noisy),
                               "gaussian": _curve(gaussian),
                               "points": {name: [p.to_dict() for p in noisy],
                                          REFERENCE: [p.to_dict() for p in gaussian]}}
        label = scheme.name + ("" if name == "universal" else f" ({name})")
        panels["(a) receiver-side semantic noise"][label] = (ssnr, curves[scheme.name]["accuracy"])
        panels["(b) payload Gaussian jamming"][scheme.name] = (ssnr, curves[scheme.name]["gaussian"])
    plot_panels(panels, str(out / "fig8_accuracy_vs_ssnr.png"), "signal-to-semantic-noise ratio (dB)", "accuracy",
                f"Fig. 8: receiver-side noise at Es/N0 {s.eps_snr:g} dB (attacker channel {s.attacker_channel})",
                (0, 1))
    return {"snr_db": s.eps_snr, "ssnr_db": ssnr, "craft_ssnr_db": s.craft_ssnr, "craft_images": s.craft_images,
            "attacker_channel": s.attacker_channel, "reference": REFERENCE, "curves": curves}


def receiver_table(ev, out: Path) -> dict:
    """Table III's receiver-side rows: white box and transfer of the universal perturbation (module doc)."""
    s, side = ev.settings, ev.receiver
    sources = [x for x in ev.schemes if side.crafted(x, "universal") is not None]
    targets = [x for x in ev.schemes if x.family in FIG8_ATTACK and x.family != "jpeg"]
    lengths = {x.name: side.frame_length(x) for x in sources + targets}
    table = {t.name: {} for t in targets}
    for source in ev.progress(sources, "table3 receiver side"):
        attack = side.crafted(source, "universal")
        for target in targets:
            same = lengths[target.name] == lengths[source.name]
            table[target.name][source.name] = side.accuracy(target, attack, -s.receiver_ssnr) if same else None
    names = [x.name for x in sources]
    if names:
        filled = {t: {n: (v if v is not None else float("nan")) for n, v in row.items()} for t, row in table.items()}
        plot_accuracy_table(filled, names, str(out / "table3_receiver_side.png"),
                            f"Table III (receiver side): universal noise at SSNR {s.receiver_ssnr:g} dB, "
                            f"{s.eps_snr:g} dB, crafted on each source", "noise crafted on", "target")
    return {"snr_db": s.eps_snr, "ssnr_db": s.receiver_ssnr, "sources": names, "targets": list(table),
            "accuracy": table, "frame_symbols": lengths,
            "white_box": {n: table[n][n] for n in names if n in table},
            "transfer": {t: {n: v for n, v in row.items() if n != t} for t, row in table.items()}}
