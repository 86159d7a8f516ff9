"""``semcomm attack craft | eval``: receiver-side attacks crafted on training images and evaluated on test images
through the exact digital chain (:mod:`semcomm.attacks.campaign`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from ..attacks.threat import ATTACKER_CHANNELS
from ..channel.attacker_radio import SYNC_MODES
from ..testbed.attack_sweep import TESTBEDS
from .arguments import integer, number, output_directory
from .output import table, write_json

ATTACK_HELP = "attack names (semcomm.attacks.base.ATTACKS)"
DEFAULT_PSR = "-20:10:2.5"
CRAFT_PSR_DEFAULT = 0.0  #: dB; a budget-crafted perturbation is strongest near the PSR it was crafted at


def _names(text: str) -> tuple:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def _values(empty: str):
    """An argparse type: ``START:STOP[:STEP]`` in dB or comma-separated values; nothing is refused with
    ``empty`` (formatted with the text)."""
    def parse(text: str) -> tuple:
        from ..eval.settings import parse_values

        try:
            values = parse_values(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        if not values:
            raise argparse.ArgumentTypeError(empty.format(text=text))
        return values
    return parse


_psr_range = _values("the PSR range {text!r} is empty: give START:STOP:STEP, e.g. -20:10:2.5")
_snr_values = _values("no Es/N0 value in {text!r}")


def _settings(args, **fields):
    from ..attacks.campaign import CampaignSettings

    return CampaignSettings(models_dir=args.models, snr_db=args.snr, craft_images=args.craft_images,
                            craft_psr_db=args.craft_psr, attacker_channel=args.attacker_channel,
                            dataset=args.dataset, data_root=args.data_root, seed=args.seed,
                            progress=not args.quiet, **fields)


def cmd_craft(args) -> int:
    from ..attacks.base import make_attack
    from ..attacks.campaign import craft, load_schemes
    from ..attacks.perturbation import perturbation_path, save
    from ..attacks.victim import Victim
    from ..sim.link import ChainSettings

    if args.craft_psr is None:
        args.craft_psr = CRAFT_PSR_DEFAULT
    settings = _settings(args, schemes=(args.scheme,), attacks=(args.attack,))
    attack = make_attack(args.attack)
    if not hasattr(attack, "to_perturbation"):
        raise ValueError(f"attack {args.attack!r} crafts no perturbation file (it is generated per frame); "
                         "evaluate it with semcomm attack eval")
    victim = Victim(load_schemes(settings)[0], ChainSettings())
    if victim.family not in attack.families:
        raise ValueError(f"attack {args.attack!r} does not apply to {args.scheme} ({victim.family}); it applies to "
                         f"{', '.join(attack.families)}")
    context, info = craft(attack, victim, settings)
    path = save(attack.to_perturbation(victim, context), perturbation_path(args.out, f"{args.scheme}.{args.attack}"))
    source = (f"crafted on {info['craft_images']} training images" if attack.threat.model != "none"
              else "model-free (the code and frame layout)")
    print(f"{path}: {args.attack} against {args.scheme}, {source} at Es/N0 {info['craft_snr_db']:g} dB"
          f"{_at_psr(info['craft_psr_db'])} in {info['craft_seconds']:.1f} s")
    return 0


def _at_psr(psr) -> str:
    return "" if psr is None else f", PSR {psr:g} dB"


def cmd_eval(args) -> int:
    from ..attacks.campaign import run_campaign

    fields = {"psr_db": args.psr, "images": args.images, "batch_size": args.batch_size, "target": args.target}
    if args.schemes:
        fields["schemes"] = _names(args.schemes)
    if args.attacks:
        fields["attacks"] = _names(args.attacks)
    settings = _settings(args, **fields)
    out = Path(args.out) if args.out else None
    results = run_campaign(settings, out)
    write_json(results, None, args.json)
    if not args.json:
        print(table(results["table"], [("scheme", "scheme", "s"), ("snr_db", "Es/N0", "g"), ("attack", "attack", "s"),
                                       ("clean_accuracy", "clean", ".3f"), ("psr_db", "min PSR dB", ".2f"),
                                       ("energy_per_frame_db", "energy/frame dB", ".2f"),
                                       ("power_ratio", "classical/semantic", ".2f")]))
        for check in results["claims"]:
            print(f"  {check['verdict'] or 'n/a':6}  {check['check']}: {check['summary']}")
        if out:
            print(f"results: {out / 'campaign.json'} and PNG curves in {out}")
    return 0


def cmd_failure(args) -> int:
    from ..attacks.failure import failure_table

    fields = {"schemes": _names(args.schemes)} if args.schemes else {}
    settings = _settings(args, images=args.frames, **fields)
    results = failure_table(settings, args.frames, args.target)
    write_json(results, str(Path(args.out) / "failure.json") if args.out else None, args.json)
    if not args.json:
        print(f"minimum attack power for >= {args.target:g} frame failure ({args.frames} test frames per point)")
        print(table(results["rows"], [("scheme", "scheme", "s"), ("snr_db", "Es/N0", "g"), ("attack", "attack", "s"),
                                      ("span", "span", "s"), ("psr_db", "PSR dB", ".2f"),
                                      ("energy_per_frame_db", "energy/frame dB", ".2f"),
                                      ("failure_rate", "failed", ".3f"),
                                      ("ratio_vs_cheapest_classical", "x cheaper than classical", ".2f"),
                                      ("note", "", "s")]))
        for skip in results["skipped"]:
            print(f"  skipped {skip['scheme']}: {skip['reason']}")
    return 0


def cmd_sweep(args) -> int:
    from ..config import parse_overrides
    from ..testbed.attack_sweep import flowgraph_sweep, simulated_sweep

    out = Path(args.out)
    if args.testbed == "sim":
        result = simulated_sweep(args.perturbation, args.psr, args.snr, args.images, args.models, args.seed)
    else:
        overrides = {**parse_overrides(args.set), "attacker.sync": args.sync, "attacker.latency": args.latency,
                     "channel.snr_db": args.snr}
        result = flowgraph_sweep(args.testbed, args.config, overrides, args.perturbation, args.psr, args.images,
                                 out / f"{args.testbed}_{args.sync}")
    name = f"sweep_{args.testbed}" + ("" if args.testbed == "sim" else f"_{args.sync}") + ".json"
    write_json(result, str(out / name), args.json)
    if not args.json:
        print(table(result["points"], SWEEP_COLUMNS))
        print(f"results: {out / name}")
    return 0


def cmd_compare(args) -> int:
    from ..testbed.attack_sweep import compare, load_sweep

    sweeps = [load_sweep(path) for path in args.sweeps]
    rows = compare(sweeps)
    write_json({"sweeps": [str(p) for p in args.sweeps], "rows": rows}, None, args.json)
    if not args.json:
        columns = [(key, key, ".3f" if not key.endswith("within") else "s") for key in rows[0] if key != "psr_db"]
        print(table([{k: (str(v) if k.endswith("within") else v) for k, v in row.items()} for row in rows],
                    [("psr_db", "PSR dB", "g")] + columns))
    return 0


SWEEP_COLUMNS = [("psr_db", "PSR dB", "g"), ("accuracy", "accuracy", ".3f"), ("accuracy_se", "SE", ".3f"),
                 ("payload_crc_failures", "CRC fail", "d"), ("ber_pre_fec", "pre-FEC BER", ".3f"),
                 ("psr_db_measured", "PSR measured", ".2f"), ("hit_rate", "hit rate", ".3f")]


def _add_common(parser) -> None:
    parser.add_argument("--models", default="models", help="directory of model cards (default: models)")
    parser.add_argument("--snr", type=_snr_values, default=(10.0, 3.0),
                        help="Es/N0 values in dB, comma-separated (default 10,3; crafting uses the first)")
    parser.add_argument("--craft-images", type=integer(1), default=2000,
                        help="training images to craft on (default 2000)")
    parser.add_argument("--craft-psr", type=number(-60, 30), default=None,
                        help="PSR (dB) a budget-crafted attack (universal, importance) is crafted at (eval default: "
                             f"each PSR of the sweep; craft default: {CRAFT_PSR_DEFAULT:g})")
    parser.add_argument("--attacker-channel", choices=ATTACKER_CHANNELS, default="none",
                        help="H_a per frame: none (1), phase (uniform phase), rayleigh (CN(0,1)); default none")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--seed", type=integer(0), default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress on standard error")


def add_commands(subparsers):
    attack = subparsers.add_parser("attack", help="receiver-side attacks: craft perturbation files, the "
                                                  "attack-power evaluation")
    sub = attack.add_subparsers(dest="attack_command", required=True, metavar="WHAT")
    crafting = sub.add_parser("craft", help="craft a perturbation file on training images")
    crafting.add_argument("--scheme", required=True, help="model card name, e.g. masked_vqvae_fim_at")
    crafting.add_argument("--attack", default="universal", help=f"{ATTACK_HELP} (default universal)")
    crafting.add_argument("--out", type=output_directory, required=True, help="directory of the perturbation file")
    _add_common(crafting)
    crafting.set_defaults(func=cmd_craft)
    evaluation = sub.add_parser("eval", help="accuracy vs PSR of schemes under attacks, and the attack-power table")
    evaluation.add_argument("--schemes", default="", help="model card names, comma-separated (default: the paper's "
                                                          "seven schemes)")
    evaluation.add_argument("--attacks", default="", help=f"{ATTACK_HELP}, comma-separated (default: all)")
    evaluation.add_argument("--psr", type=_psr_range, default=DEFAULT_PSR,
                            help=f"PSR values in dB: START:STOP:STEP or a list (default {DEFAULT_PSR}; a value starting with - "
                                 "needs the =, as in --psr=-20:10:2.5)")
    evaluation.add_argument("--images", type=integer(1), default=1000, help="first test images (default 1000)")
    evaluation.add_argument("--batch-size", type=integer(1), default=250)
    evaluation.add_argument("--target", type=number(0, 1, exclusive=True), default=0.5,
                            help="the table's target: this fraction of the clean accuracy (default 0.5)")
    evaluation.add_argument("--out", type=output_directory, help="write campaign.json, PNGs and perturbation files")
    evaluation.add_argument("--json", action="store_true", help="print the results as JSON on standard output")
    _add_common(evaluation)
    evaluation.set_defaults(func=cmd_eval)
    failure = sub.add_parser("failure", help="minimum power that makes the receiver lose >= 90 %% of its frames: "
                                             "LDPC vulnerable sets vs payload and preamble jamming")
    failure.add_argument("--schemes", default="", help="model card names, comma-separated (default: the paper's "
                                                       "seven schemes; analog ones are skipped)")
    failure.add_argument("--frames", type=integer(1), default=500, help="first test images, one frame each "
                                                                       "(default 500)")
    failure.add_argument("--target", type=number(0, 1, exclusive=True), default=0.9,
                         help="frame failure rate to reach (default 0.9)")
    failure.add_argument("--out", type=output_directory, help="write failure.json")
    failure.add_argument("--json", action="store_true", help="print the results as JSON on standard output")
    _add_common(failure)
    failure.set_defaults(func=cmd_failure)
    sweeping = sub.add_parser("sweep", help="accuracy vs PSR of one perturbation file, simulated or through the "
                                            "testbed's flowgraphs (one JSON schema)")
    sweeping.add_argument("--testbed", choices=TESTBEDS, default="loopback")
    sweeping.add_argument("--perturbation", required=True, help="perturbation file (semcomm attack craft)")
    sweeping.add_argument("--psr", type=_psr_range, default="-6:2:1",
                          help="PSR values in dB (default -6:2:1; a value starting with - needs the =)")
    sweeping.add_argument("--snr", type=number(-30, 60), default=10.0, help="Es/N0 in dB (default 10)")
    sweeping.add_argument("--images", type=integer(1), default=1000, help="first test images (default 1000)")
    sweeping.add_argument("--sync", choices=SYNC_MODES, default="oracle",
                          help="the attacker radio's synchronisation (flowgraphs; default oracle)")
    sweeping.add_argument("--latency", type=integer(0), default=0, help="attacker processing latency, samples")
    sweeping.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (flowgraphs)")
    sweeping.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                          help="testbed config override (repeatable)")
    sweeping.add_argument("--models", default="models", help="directory of model cards (sim)")
    sweeping.add_argument("--seed", type=integer(0), default=0)
    sweeping.add_argument("--out", type=output_directory, required=True, help="write sweep_<testbed>[_<sync>].json")
    sweeping.add_argument("--json", action="store_true", help="print the results as JSON on standard output")
    sweeping.set_defaults(func=cmd_sweep)
    comparing = sub.add_parser("compare", help="line sweeps up against the first (accuracy difference per PSR, "
                                               "its SE, within +-3 points)")
    comparing.add_argument("sweeps", nargs="+", help="sweep JSON files (the first is the reference)")
    comparing.add_argument("--json", action="store_true", help="print the comparison as JSON on standard output")
    comparing.set_defaults(func=cmd_compare)
    return attack

