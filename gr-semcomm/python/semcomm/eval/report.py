"""``semcomm eval report``: the figures and tables of Hu et al. Sec. V on our data, through the digital chain.

``run_report(settings, out_dir)`` writes PNG figures and ``out_dir/report.json`` holding every plotted number.
Schemes are the model cards in ``settings.models_dir`` (:func:`semcomm.eval.schemes.discover`); the paper's
schemes without a card, and every figure part that cannot be computed from what exists, are listed under
``missing`` with the reason. Nothing is invented.

Chain: every scheme crosses the PHY core at ``Es/N0 = snr_db`` per channel symbol (``--modulation``,
``--code``, default 16-QAM + LDPC ``wifi1944_r12`` rate 1/2; ``--channel`` AWGN or Rayleigh with perfect CSI):
digital codecs' indices through :class:`~semcomm.sim.exact_chain.ExactChain` (the real chain, every
image), analog JSCC symbols through the model's own channel, JPEG bytes in frames through
:class:`~semcomm.baselines.jpeg.JpegLink` (a failed CRC is a wrong answer, :mod:`semcomm.eval.jpeg`).

Semantic noise: white-box PGD of eq. (7), ``K = steps``, ``alpha = eps / 4``, L-inf, crafted against each
model with the true labels over an error-free link (on the received image for JPEG; through the analog
channel for JSCC, ``eot_draws`` noise draws averaged per step); it needs the PyTorch
weights: ``<run_dir>/<name>/checkpoint.pt`` when it matches the card, else recovered from the ONNX files
(:mod:`semcomm.export.recover`, model id verified); a scheme whose weights are neither has clean numbers only.

report.json sections
    ``settings``, ``schemes`` (name, scheme, weights used, notes: one main model per scheme id, the card named
    like its scheme), ``ablation_models`` (the other cards: figs 5, 10, table II and ``ablations`` only),
    ``missing`` (``[{"item", "reason"}]``);
    ``fig4``: accuracy vs SNR per scheme, ``clean`` and ``semantic_noise`` (at ``noise_eps``), with the full
    per-point results (index / decoder failure rates) under ``points``;
    ``fig5``: the same per codebook size ``J``, under ``sweeps``: the proposed scheme's models, then those of
    every other digital scheme with two or more sizes;
    ``fig6``: accuracy vs ``eps`` at ``eps_snr``;
    ``fig7``: accuracy of the proposed scheme vs reserving ratio, one curve per ``ratio_eps`` value
    (PyTorch only: the ONNX files fix ``T``);
    ``fig9``: codebook index usage frequency (an index is "activated" when an image's kept patch maps to it)
    on clean and attacked test images, per digital scheme, with/without FIM;
    ``fig10``: cosine similarity of the codebook vectors, per digital scheme, with the weight of loss (15)
    read from ``<models_dir>/configs/<name>.yaml`` (the matrix up to J = 256, summary values for all);
    ``table2``: channel symbols per image (:mod:`semcomm.eval.overhead`), JPEG measured on the test images;
    under ``code_choices`` the proposed codec's frame under every built-in 802.11n code (payload symbols,
    measured FER vs Es/N0, threshold Es/N0 and energy per image at FER <= 1 %), drawn as FER curves;
    ``table3``: accuracy of each target under PGD noise crafted on each source (white-box on the diagonal,
    black-box transfer elsewhere) at ``eps_snr`` and ``noise_eps``; the sources are the schemes with PyTorch
    weights and the attack surrogates of ``<models_dir>/surrogates/`` (``black_box_sources``, e.g. the
    paper's ResNet-based model, :mod:`semcomm.export.surrogate`); noise enters each target where its
    semantic noise does (transmitter input, or received image for JPEG); drawn as an annotated heat map;
    ``masking``: per digital model the keep set it deploys (patch positions on its grid) and, for the
    noise-related masking strategy, the PGD noise energy per patch it was chosen from (the card's training
    history); drawn for the main models and the ablations whose keep set differs;
    ``ablations``: every ablation card next to its scheme's main model, clean and with semantic noise at
    ``eps_snr``, with the training-config entries in which the two differ;
    ``checks``: the paper's claims and the issue's targets checked on these numbers (:mod:`semcomm.eval.checks`).

The sections live in :mod:`semcomm.eval.figures`; this module (settings, CLI) imports only the light parts,
so registering ``semcomm eval`` costs nothing until it runs.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..phy.modem import LinkConfig

CHANNELS = ("awgn", "rayleigh")
#: receivers of ``semcomm eval probe`` (:mod:`semcomm.eval.probe`)
PROBES = ("linear", "transformer")


@dataclass(frozen=True)
class ReportSettings:
    models_dir: str = "models"
    run_dir: str | None = "runs"
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    images: int = 1000                     #: first test images used everywhere
    batch_size: int = 250
    snr: tuple = tuple(float(s) for s in range(-9, 19, 3))  #: Es/N0 (dB) of figs 4, 5
    eps: tuple = (0.0, 1 / 255, 2 / 255, 4 / 255, 8 / 255, 16 / 255)  #: fig 6
    noise_eps: float = 8 / 255             #: semantic noise of figs 4, 5, 9 and table III
    eps_snr: float = 12.0                  #: SNR of figs 6, 7, 9 and table III
    steps: int = 5                         #: PGD iterations K
    eot_draws: int = 1                     #: analog channel draws per PGD step (EOT; 1: one draw)
    channel: str = "awgn"
    modulation: str = "16qam"
    code: str = "wifi1944_r12"
    ratios: tuple = (0.1, 0.3, 0.5, 0.7, 0.9)  #: reserving ratios of fig 7
    ratio_eps: tuple = (0.0, 4 / 255, 8 / 255)  #: fig 7 curves
    codebook_sizes: tuple = (16, 64, 256, 1024)  #: J values fig 5 asks for
    proposed: str = "masked_vqvae_fim_at"  #: the scheme of fig 7 and of fig 5's first sweep
    main_models: tuple = ()                #: cards that stand for their scheme (default: named like it)
    only_models: tuple = ()                #: the model cards and surrogates to use (default: all of models_dir)
    jpeg_quality: int | None = None        #: None: the JPEG card's settings, else quality 75
    code_frames: int = 2000                #: at most this many frames per Es/N0 point of table II's code choices
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}; allowed: {', '.join(CHANNELS)}")
        if min(int(self.images), int(self.batch_size), int(self.steps), int(self.eot_draws)) < 1:
            raise ValueError("images, batch_size, steps and eot_draws must be >= 1")
        LinkConfig(modulation=self.modulation, code=self.code)  # names a bad modulation or code

    def quick(self) -> "ReportSettings":
        """A tiny sweep for tests and smoke runs: at most 16 images, SNR 0 and 12 dB, eps 0 and 8/255, reserving
        ratios 0.3 and 0.5, K = 2, 32 frames per point of the code choices."""
        return dataclasses.replace(self, images=min(self.images, 16), snr=(0.0, 12.0), eps=(0.0, 8 / 255),
                                   ratio_eps=(0.0, 8 / 255), ratios=(0.3, 0.5), steps=2, batch_size=16,
                                   code_frames=32)


def eps_label(eps: float) -> str:
    """``eps`` in grey levels, e.g. ``8/255``."""
    return f"{eps * 255:.3g}/255"


# ------------------------------------------------------------------------------------------------ run
def run_report(settings: ReportSettings, out_dir) -> dict:
    """Compute every section, write the PNGs and ``out_dir/report.json``; returns the report dict."""
    from .checks import check_report
    from .figures import FIGURES, TABLES, evaluator  # torch, onnxruntime, matplotlib: only when running

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ev = evaluator(settings)
    report = {"settings": dataclasses.asdict(settings), "images": len(ev.data), "dataset": ev.data.name,
              "schemes": [x.summary() for x in ev.schemes], "ablation_models": [x.summary() for x in ev.ablations]}
    report.update({key: section(ev, out) for key, section in FIGURES})
    report.update({key: section(ev) for key, section in TABLES})
    report["missing"] = ev.missing
    report["checks"] = check_report(report)
    with open(out / "report.json", "w") as handle:
        json.dump(report, handle, indent=1)
        handle.write("\n")
    return report


# ------------------------------------------------------------------------------------------------ CLI
def parse_values(text: str) -> tuple:
    """Comma-separated numbers or fractions (``0,2/255,8/255``) -> floats; ``START:STOP[:STEP]`` for a range."""
    from ..sim.ber import parse_db_range

    if ":" in str(text):
        return tuple(float(v) for v in parse_db_range(text))
    try:
        return tuple(float(Fraction(part.strip())) for part in str(text).split(",") if part.strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"invalid list {text!r}: expected comma-separated numbers or fractions, e.g. 0,2/255,8/255, "
                         "or START:STOP[:STEP]") from None


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
        jpeg_quality=args.jpeg_quality, seed=args.seed, progress=not args.quiet)
    return settings.quick() if args.quick else settings


def cmd_report(args) -> int:
    report = run_report(settings_from_args(args), args.out)
    print(f"report of {len(report['schemes'])} scheme(s) on {report['images']} {report['dataset']} test images: "
          f"{os.path.join(args.out, 'report.json')} and {len(list(Path(args.out).glob('*.png')))} PNG figure(s); "
          f"{len(report['missing'])} missing item(s) listed in report.json")
    for check in report["checks"]:
        verdict = {True: "holds", False: "FAILS", None: "n/a"}[check["holds"]]
        print(f"  {verdict:5}  {check['check']}" + "".join(f"; {p}" for p in check["where_not"][:3]))
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
    from .figures import evaluator, table2

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
            ("--codebook-sizes", "16,64,256,1024", "codebook sizes J fig 5 asks for")):
        parser.add_argument(option, default=value, help=f"{text} (default {value})")
    parser.add_argument("--eps-snr", type=float, default=s.eps_snr, help="Es/N0 of figs 6, 7, 9 and table III")
    parser.add_argument("--steps", type=int, default=s.steps, help="PGD iterations K")
    parser.add_argument("--eot-draws", type=int, default=s.eot_draws,
                        help="analog JSCC: channel noise draws averaged per PGD step (expectation over "
                             "transformation; default 1)")
    parser.add_argument("--proposed", default=s.proposed, help="scheme of fig 7 and of fig 5's first sweep")
    parser.add_argument("--main", default="", metavar="NAME[,NAME]",
                        help="model cards that stand for their scheme, e.g. masked_vqvae_fim_at_conv (default: "
                             "the card named like the scheme; the scheme's other cards are ablations)")
    parser.add_argument("--only", default="", metavar="NAME[,NAME]",
                        help="use only these model cards and attack surrogates of --models, e.g. one model and the "
                             "baselines it is compared with (default: all)")


def register_cli(subparsers):
    """Add ``eval report``, ``eval overhead`` and ``eval probe`` to a ``semcomm`` subparsers object; returns
    the ``eval`` parser."""
    evaluate = subparsers.add_parser("eval", help="evaluation reports of the trained schemes (PNG + JSON)")
    sub = evaluate.add_subparsers(dest="eval", required=True, metavar="WHAT")
    report = sub.add_parser("report", help="every figure and table of the paper through the digital chain",
                            description=__doc__.split("\n\n")[0])
    report.add_argument("--out", required=True, help="output directory (PNG figures + report.json)")
    _add_options(report)
    report.set_defaults(func=cmd_report)
    overhead = sub.add_parser("overhead", help="Table II: channel symbols per image of each scheme vs JPEG")
    overhead.add_argument("--out", help="also write DIR/overhead.json and DIR/table2_code_choices.png")
    _add_options(overhead)
    overhead.set_defaults(func=cmd_overhead)
    _add_probe_parser(sub)
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
    from .probe import cmd_probe as run

    return run(args)

