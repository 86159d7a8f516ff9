"""An attack campaign: craft on training images, sweep the PSR on test images, the attack-power table.

For every scheme of the zoo and every attack that applies to its family (:attr:`Attack.families`):

1. ``craft`` on ``craft_images`` training images (a seeded draw from the training split with the
   validation tail held out, :meth:`semcomm.data.dataset.ImageDataset.hold_out_tail`), at the first Es/N0.
   An attack whose crafting depends on its budget (:attr:`.base.Attack.budget_crafted`: the universal noise,
   the importance attack) is crafted anew at every PSR of the sweep (:class:`PerBudget`: the attacker knows
   its own power), or once at ``craft_psr_db`` when that is given (one perturbation scaled to every PSR); a
   crafted perturbation is written as a perturbation file when ``out`` is given (one per crafting PSR);
2. the sweep (:func:`.evaluate.sweep`) on the first ``images`` test images at each Es/N0 and PSR;
3. the attack-power table: per scheme, attack and Es/N0, the minimum PSR and energy per frame that bring the
   accuracy down to ``target`` x the clean accuracy (:func:`.evaluate.minimum_psr`), and per scheme the
   **attack-power ratio** of the cheapest classical attack over the cheapest model-aware one (how many times
   more energy per frame the classical attacker needs; > 1: the semantic attack is the threat);
4. An et al.'s claim (:func:`claims`): an analog DeepJSCC link needs more attack energy per frame than a
   classical separate source-channel (JPEG + LDPC) link to lose the same share of its accuracy (they report
   14-16x). Per Es/N0 and (analog, JPEG) pair: the cheapest attack on each (any attack, classical or not),
   the energy difference in dB with a 90 % interval (the two bootstrap intervals' half-widths added in
   quadrature), and a verdict: *ahead* (the analog link needs significantly more: the claim holds), *tied*,
   or *behind* (it needs less: the claim fails on our data);
5. Hu et al.'s Fig. 8 claims on the same table (:func:`claims`), with the cheapest *receiver-side semantic*
   (non-classical) attack on each scheme: the proposed scheme (``masked_vqvae_fim_at``) needs more attack
   energy per frame than every other scheme (*ahead* where the claim holds), and adversarial training helps
   little against receiver-side noise (each ``<scheme>_at`` vs ``<scheme>``: *tied* is what the paper implies).

Results are JSON-ready dicts (``campaign.json``) with PNG curves (:func:`plot`).
"""
from __future__ import annotations

import copy
import dataclasses
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from .base import Attack, CraftContext, make_attack
from .evaluate import minimum_psr, sweep
from .threat import ATTACKER_CHANNELS

CLASSICAL = ("gaussian", "payload_gaussian", "preamble", "tone")
AN_ET_AL_RATIO = (14.0, 16.0)  #: the attack-power ratio An et al. report (analog DeepJSCC / LDPC-coded)
PROPOSED = "masked_vqvae_fim_at"  #: Hu et al.'s proposed scheme


@dataclass(frozen=True)
class CampaignSettings:
    models_dir: str = "models"
    schemes: tuple = ()                    #: card names (default: the seven paper schemes present)
    attacks: tuple = ("universal", "vulnerable_set", "importance", "pga") + CLASSICAL
    psr_db: tuple = tuple(float(p) for p in np.arange(-20.0, 10.1, 2.5))  #: the CLI default -20:10:2.5
    snr_db: tuple = (10.0, 3.0)
    images: int = 1000                     #: first test images
    craft_images: int = 2000               #: training images for crafting
    craft_psr_db: float | None = None      #: one crafting PSR for every point (None: each point's PSR)
    batch_size: int = 250
    attacker_channel: str = "none"
    target: float = 0.5                    #: fraction of the clean accuracy the table's attacker aims for
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        from .base import attack_names

        unknown = [a for a in self.attacks if a not in attack_names()]
        if unknown:
            raise ValueError(f"unknown attack(s) {', '.join(unknown)}; allowed: {', '.join(attack_names())}")
        if not self.psr_db:
            raise ValueError("the PSR range is empty: give START:STOP:STEP with START <= STOP, e.g. -20:10:2.5")
        if self.attacker_channel not in ATTACKER_CHANNELS:
            raise ValueError(f"unknown attacker channel {self.attacker_channel!r}; allowed: "
                             f"{', '.join(ATTACKER_CHANNELS)}")
        if not 0 < self.target < 1:
            raise ValueError(f"target must be a fraction of the clean accuracy in (0, 1), got {self.target}")
        if min(self.images, self.craft_images, self.batch_size) < 1:
            raise ValueError("images, craft_images and batch_size must be >= 1")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_schemes(settings: CampaignSettings):
    """The selected schemes with their PyTorch weights (needed by the gradient attacks)."""
    from ..eval.schemes import check_selection, discover
    from ..registry import PAPER_SCHEMES

    check_selection(settings.models_dir, settings.schemes)
    found = discover(settings.models_dir, None, True, settings.schemes or PAPER_SCHEMES)
    if not found:
        raise ValueError(f"no model cards of {', '.join(settings.schemes or PAPER_SCHEMES)} in {settings.models_dir}")
    return found


def test_images(settings: CampaignSettings, classes: list):
    from ..data import load_dataset, match_classes
    from ..data.torch_data import make_loader

    data = match_classes(load_dataset(settings.dataset, "test", root=settings.data_root), classes)
    data = data.subset(np.arange(min(settings.images, len(data))))
    return next(iter(make_loader(data, len(data))))


def training_images(settings: CampaignSettings, classes: list):
    """``craft_images`` training images drawn with the seed from the training split less its validation tail."""
    from ..data import load_dataset, match_classes
    from ..data.torch_data import make_loader

    train, _ = match_classes(load_dataset(settings.dataset, "train", root=settings.data_root), classes).hold_out_tail(None)
    chosen = np.sort(np.random.default_rng(settings.seed).choice(len(train), min(settings.craft_images, len(train)),
                                                                 replace=False))
    return next(iter(make_loader(train.subset(chosen), len(chosen))))


class PerBudget(Attack):
    """A budget-crafted attack (:attr:`.base.Attack.budget_crafted`) crafted once per PSR of ``psr_db``:
    ``perturb`` at a PSR uses the copy crafted at that PSR. Each copy starts from the previously crafted one
    (:meth:`.importance.ImportanceAttack.craft` keeps its PSR-free token importance; the universal noise starts
    from zero whatever it holds)."""

    def __init__(self, attack: Attack, psr_db):
        self.template, self.psr_db = attack, tuple(float(p) for p in psr_db)
        self.name, self.span, self.threat, self.families = attack.name, attack.span, attack.threat, attack.families
        self.crafted: dict[float, Attack] = {}

    def craft(self, context: CraftContext) -> None:
        previous = self.template
        for psr in self.psr_db:
            previous = copy.deepcopy(previous)
            previous.craft(dataclasses.replace(context, psr_db=psr))
            self.crafted[psr] = previous

    def perturb(self, batch, psr_db: float, rng) -> np.ndarray:
        if float(psr_db) not in self.crafted:
            raise ValueError(f"{self.name} was crafted at PSR {', '.join(f'{p:g}' for p in self.crafted)} dB, "
                             f"not {psr_db:g}")
        return self.crafted[float(psr_db)].perturb(batch, psr_db, rng)

    def describe(self) -> dict:
        per_psr = {f"{p:g}": attack.describe() for p, attack in self.crafted.items()}
        return {**self.template.describe(), "crafted_per_psr": per_psr}


def craft(attack, victim, settings: CampaignSettings, images=None, labels=None) -> tuple[CraftContext, dict]:
    """Run ``attack.craft`` on training images at the first Es/N0 and ``craft_psr_db`` (for
    :class:`PerBudget`, at each of its PSRs); returns the context and what it took (seconds, images)."""
    if images is None:
        images, labels = training_images(settings, list(victim.scheme.info.classes))
    psr = settings.craft_psr_db if settings.craft_psr_db is not None else settings.psr_db[0]  # unused by PerBudget
    context = CraftContext(victim, images, labels, float(settings.snr_db[0]), float(psr),
                           settings.attacker_channel, settings.seed, settings.progress)
    start = time.perf_counter()
    attack.craft(context)
    crafted_at = list(attack.psr_db) if isinstance(attack, PerBudget) else (
        context.psr_db if attack.budget_crafted else None)
    return context, {"craft_seconds": round(time.perf_counter() - start, 2), "craft_images": int(len(images)),
                     "craft_snr_db": context.snr_db, "craft_psr_db": crafted_at}


def campaign_attack(name: str, settings: CampaignSettings) -> Attack:
    """The registered attack, wrapped in :class:`PerBudget` when it is budget-crafted and no single
    ``craft_psr_db`` is set."""
    attack = make_attack(name)
    return PerBudget(attack, settings.psr_db) if attack.budget_crafted and settings.craft_psr_db is None else attack


def save_perturbations(attack: Attack, victim, context: CraftContext, scheme: str, out: Path) -> list[Path]:
    """The crafted perturbation files: ``<scheme>.<attack>`` or, per crafting PSR, ``<scheme>.<attack>.psr<P>``."""
    from .perturbation import perturbation_path, save

    if isinstance(attack, PerBudget):
        return [save(crafted.to_perturbation(victim, dataclasses.replace(context, psr_db=psr)),
                     perturbation_path(out, f"{scheme}.{attack.name}.psr{psr:g}"))
                for psr, crafted in attack.crafted.items()]
    return [save(attack.to_perturbation(victim, context), perturbation_path(out, f"{scheme}.{attack.name}"))]


def applies(attack, victim) -> bool:
    return victim.family in attack.families


def run_campaign(settings: CampaignSettings, out: Path | None = None) -> dict:
    """The campaign (module doc); writes ``campaign.json``, perturbation files and PNGs under ``out``."""
    from ..sim.link import ChainSettings
    from .victim import Victim

    schemes = load_schemes(settings)
    results = {"settings": settings.to_dict(), "schemes": {}, "skipped": []}
    for scheme in schemes:
        victim = Victim(scheme, ChainSettings())
        images, labels = test_images(settings, list(scheme.info.classes))
        entry = results["schemes"].setdefault(scheme.name, {"scheme": scheme.scheme, "family": scheme.family,
                                                             "model_id": scheme.card["model_id"], "attacks": {}})
        for name in settings.attacks:
            attack = campaign_attack(name, settings)
            if not applies(attack, victim):
                results["skipped"].append({"scheme": scheme.name, "attack": name,
                                           "reason": f"{name} does not apply to the {victim.family} family"})
                continue
            _log(settings, f"{scheme.name}: {name}")
            context, crafted = craft(attack, victim, settings)
            if out is not None and hasattr(getattr(attack, "template", attack), "to_perturbation"):
                try:
                    save_perturbations(attack, victim, context, scheme.name, out)
                except ValueError as why:  # e.g. frames of varying length: no single-layout file
                    results["skipped"].append({"scheme": scheme.name, "attack": name,
                                               "reason": f"no perturbation file: {why}"})
            curves = sweep(victim, attack, images, labels, settings.snr_db, settings.psr_db,
                           settings.attacker_channel, settings.seed, settings.batch_size, settings.progress)
            entry["attacks"][name] = {**attack.describe(), **crafted, "curves": {
                str(snr): {"points": [p.to_dict() for p in points],
                           "minimum": minimum_psr(points, settings.target * points[0].figures["accuracy"],
                                                  settings.seed)}
                for snr, points in curves.items()}}
    results["table"] = power_table(results)
    results["claims"] = claims(results)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "campaign.json").write_text(json.dumps(results, indent=2) + "\n")
        plot(results, out)
    return results


def _log(settings: CampaignSettings, message: str) -> None:
    if settings.progress:
        print(message, file=sys.stderr, flush=True)


def power_table(results: dict) -> list[dict]:
    """One row per (scheme, Es/N0, attack): clean accuracy, minimum PSR / energy per frame (with the CI) for the
    target; per (scheme, Es/N0) the attack-power ratio classical / model-aware (module doc)."""
    rows = []
    for name, entry in results["schemes"].items():
        for attack, data in entry["attacks"].items():
            for snr, curve in data["curves"].items():
                minimum = curve["minimum"]
                rows.append({"scheme": name, "attack": attack, "snr_db": float(snr),
                             "clean_accuracy": curve["points"][0]["accuracy"], "target": minimum["target_accuracy"],
                             "psr_db": minimum["psr_db"], "psr_db_ci": minimum["psr_db_ci"],
                             "energy_per_frame_db": minimum["energy_per_frame_db"],
                             "classical": attack in CLASSICAL})
    for row in rows:
        row["power_ratio"] = _ratio(rows, row["scheme"], row["snr_db"]) if not row["classical"] else None
    return rows


def _ratio(rows, scheme, snr) -> float | None:
    """Cheapest classical energy / cheapest model-aware energy (linear), or None when either is unknown."""
    def cheapest(classical: bool):
        values = [r["energy_per_frame_db"] for r in rows if r["scheme"] == scheme and r["snr_db"] == snr
                  and r["classical"] == classical and r["energy_per_frame_db"] is not None]
        return min(values) if values else None

    classical, semantic = cheapest(True), cheapest(False)
    return None if classical is None or semantic is None else float(10 ** ((classical - semantic) / 10))


def _cheapest(rows: list, scheme: str, snr: float) -> dict | None:
    found = [r for r in rows if r["scheme"] == scheme and r["snr_db"] == snr and r["energy_per_frame_db"] is not None]
    return min(found, key=lambda r: r["energy_per_frame_db"]) if found else None


def _half_width(row: dict) -> float | None:
    low, high = row["psr_db_ci"]
    return None if low is None or high is None else (high - low) / 2


def claims(results: dict) -> list[dict]:
    """An et al.'s claim (module doc, item 4: per Es/N0 and (analog, JPEG) pair) and Hu et al.'s (item 5)."""
    family = {name: entry["family"] for name, entry in results["schemes"].items()}
    rows, checks = results.get("table", []), []
    for snr in sorted({r["snr_db"] for r in rows}):
        for analog in (n for n, f in family.items() if f == "analog"):
            for classical in (n for n, f in family.items() if f == "jpeg"):
                check = _compare(_cheapest(rows, analog, snr), _cheapest(rows, classical, snr), analog, classical)
                check["check"] = (f"An et al.: {analog} needs more attack energy per frame than {classical} at "
                                  f"Es/N0 {snr:g} dB")
                check["paper_ratio"] = list(AN_ET_AL_RATIO)
                if check["verdict"] is not None:
                    check["summary"] += f"; An et al. report {AN_ET_AL_RATIO[0]:g}-{AN_ET_AL_RATIO[1]:g}x"
                checks.append(check)
        checks += _hu_checks(rows, list(family), snr)
    return checks


def _hu_checks(rows: list, schemes: list, snr: float) -> list[dict]:
    """Hu et al. Fig. 8 (module doc, item 5) at one Es/N0, on the cheapest semantic attack of each scheme."""
    semantic = [r for r in rows if not r["classical"]]
    checks = []
    if PROPOSED in schemes:
        for other in (s for s in schemes if s != PROPOSED):
            check = _compare(_cheapest(semantic, PROPOSED, snr), _cheapest(semantic, other, snr), PROPOSED, other)
            check["check"] = (f"Hu et al. Fig. 8: {PROPOSED} needs more receiver-side semantic noise than {other} "
                              f"at Es/N0 {snr:g} dB")
            checks.append(check)
    for trained in (s for s in schemes if s.endswith("_at") and s[:-3] in schemes):
        check = _compare(_cheapest(semantic, trained, snr), _cheapest(semantic, trained[:-3], snr), trained,
                         trained[:-3])
        check["check"] = (f"Hu et al.: adversarial training helps little against receiver-side noise "
                          f"({trained} vs {trained[:-3]} at Es/N0 {snr:g} dB; tied expected)")
        checks.append(check)
    return checks


def _compare(first: dict | None, second: dict | None, first_name: str, second_name: str) -> dict:
    """How much more energy per frame the cheapest attack on ``first_name`` needs than on ``second_name``
    (dB, with the quadrature of the two bootstrap half-widths): ahead (more), tied, behind (less)."""
    if first is None or second is None:
        lacking = first_name if first is None else second_name
        return {"verdict": None, "summary": f"no attack reached the target on {lacking}"}
    difference = first["energy_per_frame_db"] - second["energy_per_frame_db"]
    widths = [_half_width(first), _half_width(second)]
    half = None if None in widths else float(np.hypot(*widths))
    verdict = "tied" if half is None or abs(difference) <= half else ("ahead" if difference > 0 else "behind")
    interval = "" if half is None else f" +- {half:.2f}"
    return {"verdict": verdict, "attacks": [first["attack"], second["attack"]],
            "energy_difference_db": difference, "interval_half_width_db": half, "ratio": float(10 ** (difference / 10)),
            "summary": f"{verdict}: {first_name} ({first['attack']}) needs {difference:+.2f}{interval} dB "
                       f"({10 ** (difference / 10):.2f}x) the energy per frame of {second_name} "
                       f"({second['attack']})"}


def plot(results: dict, out: Path) -> list[str]:
    """``attack_<snr>dB.png``: accuracy vs PSR, one panel per scheme, one curve per attack."""
    from ..eval.plots import plot_panels

    snrs = results["settings"]["snr_db"]
    paths = []
    for snr in snrs:
        panels = {}
        for name, entry in results["schemes"].items():
            panels[name] = {attack: ([p["psr_db"] for p in data["curves"][str(float(snr))]["points"][1:]],
                                     [p["accuracy"] for p in data["curves"][str(float(snr))]["points"][1:]])
                            for attack, data in entry["attacks"].items()}
        if panels:
            paths.append(plot_panels(panels, str(out / f"attack_{snr:g}dB.png"), "PSR (dB)", "accuracy",
                                     f"accuracy vs PSR at Es/N0 {snr:g} dB", (0, 1), columns=min(4, len(panels))))
    return paths
