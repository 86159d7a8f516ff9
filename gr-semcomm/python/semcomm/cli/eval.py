"""``semcomm eval report | overhead | probe``: the evaluation reports of the trained schemes (PNG + JSON) and
the probes of a codec's indices (:mod:`semcomm.eval.report`, :mod:`semcomm.eval.probe`)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..attacks.threat import ATTACKER_CHANNELS
from ..eval import report as eval_report
from ..eval.settings import CHANNELS, PROBES, ReportSettings, eps_label, parse_values
from .arguments import output_directory


def _names(text: str) -> tuple:
    """``"a, b"`` -> ``("a", "b")``."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


def settings_from_args(args) -> ReportSettings:
    settings = ReportSettings(
        models_dir=args.models, run_dir=args.run_dir or None, dataset=args.dataset, data_root=args.data_root,
        images=args.images, batch_size=args.batch_size, snr=parse_values(args.snr), eps=parse_values(args.eps),
        noise_eps=parse_values(args.noise_eps)[0], eps_snr=args.eps_snr, steps=args.steps,
        eot_draws=args.eot_draws, channel=args.channel, modulation=args.modulation, code=args.code,
        ratios=parse_values(args.ratios),
        ratio_eps=parse_values(args.ratio_eps), codebook_sizes=tuple(int(j) for j in parse_values(args.codebook_sizes)),
        proposed=args.proposed, main_models=_names(args.main), only_models=_names(args.only),
        jpeg_quality=args.jpeg_quality, ssnr=parse_values(args.ssnr), craft_images=args.craft_images,
        craft_ssnr=args.craft_ssnr, receiver_ssnr=args.receiver_ssnr, attacker_channel=args.attacker_channel,
        seed=args.seed, progress=not args.quiet)
    return settings.quick() if args.quick else settings


def cmd_report(args) -> int:
    report = eval_report.run_report(settings_from_args(args), args.out)
    print(f"report of {len(report['schemes'])} scheme(s) on {report['images']} {report['dataset']} test images: "
          f"{os.path.join(args.out, 'report.json')} and {len(list(Path(args.out).glob('*.png')))} PNG figure(s); "
          f"{len(report['missing'])} missing item(s) listed in report.json")
    for check in report["checks"]:
        print(f"  {check['verdict'] or 'n/a':6}  {check['check']}: {check['summary']}")
    table = report["ablations"]
    for name, row in table["rows"].items():
        changes = ", ".join(f"{key} {a} -> {b}" for key, (a, b) in (row["differs"] or {}).items()) or "?"
        noisy = f"{_percent(row['semantic_noise'])} vs {_percent(row['main_semantic_noise'])}"
        print(f"  ablation {name} ({changes}): clean {_percent(row['clean'])} vs {_percent(row['main_clean'])}, "
              f"eps {eps_label(table['eps'])} {noisy} ({row['main']})")
    return 0


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def cmd_overhead(args) -> int:
    from ..eval.figures import evaluator, table2

    out = Path(args.out) if args.out else None
    if out:
        out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(table2(evaluator(settings_from_args(args), torch_weights=False), out), indent=2)
    if out:
        (out / "overhead.json").write_text(text + "\n")
    print(text)
    return 0


def _add_options(parser) -> None:
    s = ReportSettings()
    parser.add_argument("--models", default=s.models_dir, help="directory of the model cards + ONNX files")
    parser.add_argument("--run-dir", default=s.run_dir, help="PyTorch checkpoints RUN_DIR/<name>/checkpoint.pt "
                        "(white-box attacks, fig 7; without one the weights are recovered from the ONNX files); "
                        "'' for none")
    parser.add_argument("--dataset", default=s.dataset, help="dataset name or directory (test split)")
    parser.add_argument("--data-root", help="dataset directory (cifar10, folder, other Fashion-MNIST copies)")
    parser.add_argument("--images", type=int, default=s.images, help="first N test images (default 1000)")
    parser.add_argument("--batch-size", type=int, default=s.batch_size)
    parser.add_argument("--channel", default=s.channel, choices=CHANNELS)
    parser.add_argument("--modulation", default=s.modulation)
    parser.add_argument("--code", default=s.code, help="LDPC code of every digital scheme (see `semcomm codes`)")
    parser.add_argument("--jpeg-quality", type=int, help="JPEG quality (default: the JPEG card's, else 75)")
    parser.add_argument("--seed", type=int, default=s.seed)
    parser.add_argument("--quick", action="store_true", help="tiny sweep: 16 images, 2 SNRs, 2 eps, K = 2")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    for option, value, text in (
            ("--snr", "-9:18:3", "Es/N0 points in dB of figs 4, 5 (list or START:STOP:STEP)"),
            ("--eps", "0,1/255,2/255,4/255,8/255,16/255", "semantic noise powers of fig 6"),
            ("--noise-eps", "8/255", "semantic noise of figs 4, 5, 9 and table III"),
            ("--ratios", "0.1,0.3,0.5,0.7,0.9", "reserving ratios of fig 7"),
            ("--ratio-eps", "0,4/255,8/255", "semantic noise powers of fig 7"),
            ("--codebook-sizes", "16,64,256,1024", "codebook sizes J fig 5 asks for"),
            ("--ssnr", "-5:25:5", "signal-to-semantic-noise ratios (dB) of fig 8 (receiver-side noise)")):
        parser.add_argument(option, default=value, help=f"{text} (default {value})")
    parser.add_argument("--eps-snr", type=float, default=s.eps_snr, help="Es/N0 of figs 6, 7, 9 and table III")
    parser.add_argument("--steps", type=int, default=s.steps, help="PGD iterations K")
    parser.add_argument("--eot-draws", type=int, default=s.eot_draws,
                        help="analog JSCC: channel noise draws averaged per PGD step (expectation over "
                             "transformation; default 1)")
    parser.add_argument("--craft-images", type=int, default=s.craft_images,
                        help="training images the receiver-side noise of fig 8 / table III is crafted on")
    parser.add_argument("--craft-ssnr", type=float, default=s.craft_ssnr,
                        help="SSNR (dB) it is crafted at (default: crafted anew at each SSNR it is played at)")
    parser.add_argument("--receiver-ssnr", type=float, default=s.receiver_ssnr,
                        help="SSNR (dB) of table III's receiver-side rows")
    parser.add_argument("--attacker-channel", default=s.attacker_channel, choices=ATTACKER_CHANNELS,
                        help="attacker channel H_a of the receiver-side noise")
    parser.add_argument("--proposed", default=s.proposed, help="scheme of fig 7 and of fig 5's first sweep")
    parser.add_argument("--main", default="", metavar="NAME[,NAME]",
                        help="model cards that stand for their scheme, e.g. masked_vqvae_fim_at_conv (default: "
                             "the card named like the scheme; the scheme's other cards are ablations)")
    parser.add_argument("--only", default="", metavar="NAME[,NAME]",
                        help="use only these model cards and attack surrogates of --models, e.g. one model and the "
                             "baselines it is compared with (default: all)")


def add_commands(subparsers):
    """Add ``eval report``, ``eval overhead`` and ``eval probe`` to a ``semcomm`` subparsers object; returns
    the ``eval`` parser."""
    evaluate = subparsers.add_parser("eval", help="evaluation reports of the trained schemes (PNG + JSON)")
    sub = evaluate.add_subparsers(dest="eval", required=True, metavar="WHAT")
    report = sub.add_parser("report", help="every figure and table of the paper through the digital chain",
                            description=eval_report.__doc__.split("\n\n")[0])
    report.add_argument("--out", type=output_directory, required=True,
                        help="output directory (PNG figures + report.json)")
    _add_options(report)
    report.set_defaults(func=cmd_report)
    overhead = sub.add_parser("overhead", help="Table II: channel symbols per image of each scheme vs JPEG")
    overhead.add_argument("--out", type=output_directory,
                          help="also write DIR/overhead.json and DIR/table2_code_choices.png")
    _add_options(overhead)
    overhead.set_defaults(func=cmd_overhead)
    _add_probe_parser(sub)
    _add_adaptive_parser(sub)
    return evaluate


def _add_probe_parser(sub) -> None:
    probe = sub.add_parser("probe", help="train a fresh receiver on a codec's fixed indices: how much class "
                           "information do the transmitted indices carry? (semcomm.eval.probe)")
    probe.add_argument("--model", required=True, help="model prefix, e.g. models/masked_vqvae_fim_at")
    probe.add_argument("--probe", default="linear", choices=PROBES)
    probe.add_argument("--epochs", type=int, default=15)
    probe.add_argument("--train-images", type=int, help="first N training images (default all)")
    probe.add_argument("--test-images", type=int, help="first N test images (default all)")
    probe.add_argument("--data-root", help="dataset directory when not the default location")
    probe.add_argument("--seed", type=int, default=0)
    probe.add_argument("--threads", type=int, help="torch CPU threads")
    probe.add_argument("--json", help="also write the result (with the per-epoch history) to this file")
    probe.set_defaults(func=cmd_probe)


def cmd_probe(args) -> int:
    """``semcomm eval probe``: train the probe (:func:`semcomm.eval.probe.run_probe`), print its history."""
    import torch

    from ..eval.probe import run_probe

    for option, value in (("--epochs", args.epochs), ("--train-images", args.train_images),
                          ("--test-images", args.test_images)):
        if value is not None and value < 1:
            raise ValueError(f"{option} must be >= 1, got {value}")
    if args.threads:
        torch.set_num_threads(args.threads)
    result = run_probe(args.model, args.probe, epochs=args.epochs, train_images=args.train_images,
                       test_images=args.test_images, seed=args.seed, data_root=args.data_root)
    for row in result["history"]:
        print(f"epoch {row['epoch']:3d}  loss {row['train_loss']:.4f}  train {100 * row['train_accuracy']:.2f} %  "
              f"test {100 * row['test_accuracy']:.2f} %")
    card = result["card_clean_accuracy"]
    print(f"{result['model']}: {result['probe']} probe {100 * result['test_accuracy']:.2f} % on "
          f"{result['test_images']} test images; the codec's own receiver (card) "
          + ("n/a" if card is None else f"{100 * card:.2f} % on {result['card_clean_images']}"))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _add_adaptive_parser(sub) -> None:
    from ..eval.adaptive_settings import AdaptiveSettings

    s = AdaptiveSettings()
    adaptive = sub.add_parser("adaptive", help="adaptive white-box and gradient-free checks of the semantic-noise "
                              "robustness numbers (semcomm.eval.adaptive): restarts, step schedule, quantiser "
                              "gradient approximations, transfer, Square attack; per-image worst case")
    adaptive.add_argument("--out", type=output_directory, required=True, help="output directory (adaptive.json)")
    adaptive.add_argument("--models", default=s.models_dir, help="directory of the model cards + ONNX files")
    adaptive.add_argument("--run-dir", default=s.run_dir, help="PyTorch checkpoints RUN_DIR/<name>/checkpoint.pt "
                          "(else recovered from the ONNX files); '' for none")
    adaptive.add_argument("--dataset", default=s.dataset, help="dataset name or directory (test split)")
    adaptive.add_argument("--data-root", help="dataset directory when not the default location")
    adaptive.add_argument("--schemes", default=",".join(s.schemes), metavar="NAME[,NAME]",
                          help="model cards to evaluate (default: the seven paper schemes)")
    adaptive.add_argument("--images", type=int, default=s.images, help=f"first N test images (default {s.images})")
    adaptive.add_argument("--batch-size", type=int, default=s.batch_size)
    adaptive.add_argument("--eps", default="8/255", help="L-inf radius (default 8/255)")
    adaptive.add_argument("--snr", type=float, default=s.snr_db, help="Es/N0 in dB (default: Table III's 12)")
    for option, value, text in (("--steps", s.steps, "iterations of each adaptive PGD run"),
                                ("--restarts", s.restarts, "adaptive PGD runs (the first from the clean image)"),
                                ("--queries", s.queries, "Square attack forward passes"),
                                ("--draws", s.draws, "analog channel draws per adaptive-attack query (EOT)"),
                                ("--baseline-steps", s.baseline_steps, "K of the reported PGD"),
                                ("--baseline-draws", s.baseline_draws, "analog draws per step of the reported PGD"),
                                ("--seed", s.seed, "random seed")):
        adaptive.add_argument(option, type=int, default=value, help=f"{text} (default {value})")
    adaptive.add_argument("--tau", type=float, default=s.tau, help=f"soft-quantiser temperature (default {s.tau})")
    adaptive.add_argument("--p-init", type=float, default=s.p_init,
                          help=f"Square attack's initial window share of the pixels (default {s.p_init})")
    adaptive.add_argument("--threads", type=int, help="torch CPU threads")
    adaptive.add_argument("--quiet", action="store_true", help="no progress bars")
    adaptive.set_defaults(func=cmd_adaptive)


def cmd_adaptive(args) -> int:
    """``semcomm eval adaptive``: run :func:`semcomm.eval.adaptive.run_adaptive`, write DIR/adaptive.json, print
    the accuracy table."""
    import torch

    from ..eval.adaptive import AdaptiveSettings, format_table, run_adaptive

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = AdaptiveSettings(
        models_dir=args.models, run_dir=args.run_dir or None, dataset=args.dataset, data_root=args.data_root,
        schemes=_names(args.schemes), images=args.images, batch_size=args.batch_size, eps=parse_values(args.eps)[0],
        snr_db=args.snr, steps=args.steps, restarts=args.restarts, queries=args.queries, p_init=args.p_init,
        tau=args.tau, draws=args.draws, baseline_steps=args.baseline_steps, baseline_draws=args.baseline_draws,
        seed=args.seed, progress=not args.quiet)
    report = run_adaptive(settings)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    path = Path(args.out) / "adaptive.json"
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"accuracy (%) under each attack, eps {eps_label(settings.eps)}, Es/N0 {settings.snr_db:g} dB, "
          f"{report['images']} test images; robust = correct under every attack (per image); {path}")
    print(format_table(report))
    for item in report["missing"]:
        print(f"  missing: {item['item']}: {item['reason']}")
    return 0
