"""``semcomm`` command line: one entry point, one subcommand per job (``semcomm <cmd> --help``)."""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from .phy.ldpc import DECODER_ALGORITHMS, available_codes
from .phy.qam import BITS_PER_SYMBOL


def _write_json(data, out: str | None, to_stdout: bool) -> None:
    text = json.dumps(data, indent=2)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as handle:
            handle.write(text + "\n")
    if to_stdout:
        print(text)


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Plain text table; ``columns`` are (key, title, format)."""
    cells = [[title for _, title, _ in columns]]
    cells += [[format(row[key], fmt) if row.get(key) is not None else "-" for key, _, fmt in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in cells)


def _err(message: str) -> None:
    print(message, file=sys.stderr)


# ---------------------------------------------------------------------------------------- ber
def cmd_ber(args) -> int:
    from tqdm import tqdm

    from .channel import esn0_to_ebn0_db
    from .phy.ldpc import get_code
    from .phy.qam import QAM
    from .sim.ber import FadingSpec, parse_db_range, simulate_point, theoretical_ber, theoretical_ber_rayleigh

    qam = QAM(args.mod)
    channel = FadingSpec(args.channel, args.k_factor, args.fading_block, not args.no_csi)
    code = None if args.code == "none" else get_code(args.code)
    rate = code.rate if code else 1.0
    if (args.ebn0 is None) == (args.esn0 is None):
        raise ValueError("give exactly one of --ebn0 RANGE or --esn0 RANGE")
    ebn0_points = (parse_db_range(args.ebn0) if args.ebn0 is not None else
                   esn0_to_ebn0_db(parse_db_range(args.esn0), qam.bits_per_symbol, rate))
    rng = np.random.default_rng(args.seed)
    decoder = {"max_iterations": args.iterations, "algorithm": args.decoder} if code else {}
    points = []
    for ebn0 in tqdm(ebn0_points, desc=f"{qam.name} {args.code}", unit="pt", disable=args.quiet, file=sys.stderr):
        point = simulate_point(qam, code, float(ebn0), rng, args.max_errors, args.max_bits, channel=channel,
                               **decoder).as_dict()
        if code is None and channel.kind == "awgn":
            point["theory_ber"] = theoretical_ber(qam.name, float(ebn0))
        elif code is None and channel.kind == "rayleigh" and channel.csi and qam.name in ("bpsk", "qpsk"):
            point["theory_ber"] = theoretical_ber_rayleigh(qam.name, float(ebn0))
        points.append(point)
    if args.plot:
        from .eval.plots import plot_error_rates

        ebn0 = [p["ebn0_db"] for p in points]
        curves = {"BER": (ebn0, [p["ber"] for p in points]), "BLER": (ebn0, [p["bler"] for p in points])}
        if "theory_ber" in points[0]:
            curves["theory BER"] = (ebn0, [p["theory_ber"] for p in points])
        plot_error_rates(curves, args.plot, "Eb/N0 (dB)", f"{qam.name}, {args.code}, {channel.kind}")
    _write_json(points, args.out, args.json)
    if args.json:
        return 0
    columns = [("ebn0_db", "Eb/N0 dB", ".2f"), ("esn0_db", "Es/N0 dB", ".2f"), ("ber", "BER", ".3e"),
               ("bler", "BLER", ".3e"), ("errors", "errors", "d"), ("bits", "bits", "d")]
    if "theory_ber" in points[0]:
        columns.append(("theory_ber", "theory BER", ".3e"))
    else:
        columns.insert(2, ("pre_fec_ber", "pre-FEC BER", ".3e"))
    print(_table(points, columns))
    return 0


# -------------------------------------------------------------------------------------- bench
def cmd_bench_ldpc(args) -> int:
    from .bench import ldpc

    result = ldpc.run(args.code, args.mod, tuple(args.iterations), args.target_bler, args.frames,
                      args.grfec_frames, args.repeats, args.seed, args.ebn0, args.decoder,
                      progress=None if args.json else _err)
    _write_json(result, args.out, args.json)
    if not args.json:
        print(f"{result['code']} (n={result['n']}, k={result['k']}), {result['modulation']}, one core")
        print(_table(result["results"], [("max_iterations", "max iters", "d"), ("ebn0_db", "Eb/N0 dB", ".2f"),
                                          ("bler", "BLER", ".2e"),
                                          ("mean_iterations", "mean iters", ".2f"),
                                          ("coded_mbps", "semcomm Mbit/s", ".1f"),
                                          ("grfec_coded_mbps", "gr-fec Mbit/s", ".2f"), ("ratio", "ratio", ".1f")]))
    return 0


def cmd_bench_qam(args) -> int:
    from .bench import qam

    result = qam.run(args.symbols, args.repeats, args.seed)
    _write_json(result, args.out, args.json)
    if not args.json:
        print(_table(result["results"], [("modulation", "modulation", "s"), ("map_msym_per_s", "map Msym/s", ".1f"),
                                          ("demap_maxlog_msym_per_s", "max-log LLR Msym/s", ".1f"),
                                          ("demap_exact_msym_per_s", "exact LLR Msym/s", ".1f")]))
    return 0


def cmd_bench_onnx(args) -> int:
    from .bench import onnx

    result = onnx.run(args.model, tuple(args.batch_sizes), args.repeats, args.seconds, args.threads, args.seed,
                      checkpoint=args.checkpoint, spinning=args.spin, progress=None if args.json else _err)
    _write_json(result, args.out, args.json)
    if not args.json:
        print(f"{result['model']}, weights {result['weights']}, ONNX: {result['onnx_files']}; "
              f"{result['threads']} thread(s) for both, providers {result['providers']}")
        cpu = result["cpu"]
        print(f"CPU: {cpu.get('vendor') or ''} {cpu['model_name']} (family {cpu.get('family')}, model "
              f"{cpu.get('model')}; {' '.join(cpu.get('isa', []))})")
        print(_table(result["results"], [("batch", "batch", "d"), ("torch_images_per_s", "torch eager img/s", ".0f"),
                                          ("onnx_images_per_s", "onnxruntime img/s", ".0f"), ("ratio", "ratio", ".2f"),
                                          ("onnx_wrapper_images_per_s", "SemanticCodec img/s", ".0f")]))
        print(result["verdict"])
    return 0


def cmd_bench_flowgraph(args) -> int:
    from pathlib import Path

    from .config import parse_overrides
    from .testbed.bench import bench_flowgraph
    from .testbed.config import load_testbed_config

    config = load_testbed_config(args.config, {**parse_overrides(args.set), "data.num_images": args.images})
    result = bench_flowgraph(config, Path(args.out).parent if args.out else Path("results/bench"))
    _write_json(result, args.out, args.json)
    if not args.json:
        print(f"receiver:    {result['rx_samples_per_s'] / 1e6:.2f} Msps ({result['rx_images_per_s']:.0f} images/s, "
              f"accuracy {result['rx_accuracy']:.1%}); transmitter: {result['tx_samples_per_s'] / 1e6:.2f} Msps; "
              f"target {result['target_samples_per_s'] / 1e6:.0f} Msps; losses {result['losses']}")
    return 0


# --------------------------------------------------------------------------------------- demo
def cmd_demo(args) -> int:
    from pathlib import Path

    from .config import parse_overrides
    from .testbed.demo import run_demo

    run_demo(args.config, Path(args.out), parse_overrides(args.set))
    return 0


def cmd_run(args) -> int:
    from pathlib import Path

    from .config import parse_overrides
    from .testbed.config import load_testbed_config
    from .testbed.run import run_loopback, run_role, run_zmq

    out = Path(args.out)
    if args.role == "zmq":
        summary = run_zmq(args.config, args.set, out, args.timeout)
    else:
        config = load_testbed_config(args.config, parse_overrides(args.set))
        if args.role == "loopback":
            summary = run_loopback(config, args.condition, out, args.timeout)
        else:
            summary = run_role(args.role, config, out, args.timeout)
    if summary is not None:
        from .testbed.demo import format_table
        print(format_table([summary]))
        print(f"wrote {out / 'summary.json'} and {out / 'frames.jsonl'}")
    return 0


def cmd_agreement(args) -> int:
    from pathlib import Path

    from .config import parse_overrides
    from .testbed.agreement import compare

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    overrides = {**parse_overrides(args.set), "data.num_images": args.images}
    result = compare(args.config, args.snr, out, overrides)
    print(f"{'within' if result['within_tolerance'] else 'NOT within'} +-{result['tolerance_points']:g} points; "
          f"wrote {out / 'agreement.json'}")
    return 0


def cmd_phy_loopback(args) -> int:
    from .phy.modem import LinkConfig
    from .sim import phy_loopback
    from .sim.ber import parse_db_range

    config = LinkConfig(modulation=args.mod, code=args.code, max_iterations=args.iterations)
    print(f"PHY loopback: {args.frames} frames x {args.payload} bytes per SNR, {config.modulation}, "
          f"LDPC {config.code}, AWGN (frame-aligned symbols, no pulse shaping or synchronisation)")
    rows = phy_loopback.run(config, parse_db_range(args.esn0), args.frames, args.payload, args.seed)
    _write_json({"demo": "phy_loopback", "config": {k: str(v) for k, v in vars(config).items()}, "points": rows},
                os.path.join(args.out, "phy_loopback.json"), False)
    from .eval.plots import plot_error_rates

    esn0 = [row["esn0_db"] for row in rows]
    plot_error_rates({name: (esn0, [row[key] for row in rows]) for name, key in
                      (("pre-FEC BER", "ber_pre_fec"), ("post-FEC BER", "ber_post_fec"), ("FER", "frame_error_rate"))},
                     os.path.join(args.out, "phy_loopback.png"), "Es/N0 (dB)",
                     f"PHY loopback: {config.modulation}, {config.code}, AWGN")
    print(_table(rows, [("esn0_db", "Es/N0 dB", ".1f"), ("ber_pre_fec", "pre-FEC BER", ".2e"),
                        ("ber_post_fec", "post-FEC BER", ".2e"), ("frame_error_rate", "FER", ".3f"),
                        ("header_failures", "hdr fail", "d"), ("payload_crc_failures", "CRC fail", "d"),
                        ("frames_per_s", "frames/s", ".0f")]))
    print(f"results: {os.path.join(args.out, 'phy_loopback.json')} and phy_loopback.png")
    return 0


def _show_config(path: str, config: dict) -> None:
    """Print the resolved training config (``extends`` applied, defaults filled in) as YAML, then the
    configs a reproduction trains first (:func:`semcomm.train.pretrained.training_chain`) as a comment."""
    import yaml

    from .train.pretrained import training_chain

    print(yaml.safe_dump(config, sort_keys=False), end="")
    print("# trains after: " + (", ".join(training_chain(path, config)[:-1]) or "nothing (a first run)"))


def cmd_train(args) -> int:
    import torch

    from .config import parse_overrides
    from .train import config as train_config
    from .train.trainer import Trainer

    if args.eval_split != "test" and not args.eval_only:
        raise ValueError(f"--eval-split {args.eval_split} needs --eval-only: a training run's metrics are on the "
                         "test images")
    config = train_config.load(args.config, parse_overrides(args.set))
    if args.eval_only:  # the weights come from the run's own checkpoint: no pre-training or teacher is read
        config["train"].update(init_from=None, distill_from=None)
    if args.epochs:
        config["train"]["epochs"] = args.epochs
    attack = _eval_attack(config, args.eval_eps)  # a bad --eval-eps fails here, not after the training
    if args.show_config:
        _show_config(args.config, config)
        return 0
    torch.set_num_threads(args.threads or torch.get_num_threads())
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: this torch build sees no CUDA GPU (torch.cuda.is_available() is False)")
    trainer = Trainer(config, run_dir=args.run_dir, device=device)
    if args.eval_only:
        if trainer.load_weights() is None:
            raise FileNotFoundError(f"--eval-only: no checkpoint {trainer.checkpoint_path}: train the run first")
        print(f"evaluating {trainer.checkpoint_path} (after epoch {trainer.epoch}), no training")
    else:
        _fit(trainer, config, device, args.resume)
    metrics = _evaluate_run(trainer, config, args, attack)
    if args.eval_only:
        split = "" if args.eval_split == "test" else f"{args.eval_split}_"
        noise = f"_eps{args.eval_eps.replace('/', 'of')}" if args.eval_eps else ""
        out = os.path.join(trainer.run_dir, f"evaluation_{split}{args.eval_images}_{args.eval_snr:g}dB{noise}.json")
        _write_json({"checkpoint": trainer.checkpoint_path, "epoch": trainer.epoch, "metrics": metrics}, out, False)
        print(f"written {out}")
        return 0
    _write_json({"config": config, "history": trainer.history, "metrics": metrics, "pretrained": trainer.pretrained,
                 "teacher": trainer.teacher_record}, os.path.join(trainer.run_dir, "metrics.json"), False)
    return 0


def _evaluate_run(trainer, config: dict, args, attack: dict | None) -> dict:
    """Metrics of a trained run through its link (``--eval-*``, the PGD ``attack`` of :func:`_eval_attack`):
    the deployed weights (the weight average where the run keeps one, then loaded into the model; the
    trained weights' metrics under ``trained_weights``)."""
    trainer.model.cpu()  # the evaluation through the (numpy) chain runs on the CPU
    link = trainer.link
    from .registry import family

    # a JPEG scheme is measured through the chain: JPEG frames, a failed CRC scores as wrong
    if family(config["scheme"]).name == "jpeg":
        from .baselines.jpeg import JpegLink
        from .train.trainer import chain_settings

        link = JpegLink(chain=chain_settings(config))
    def evaluate(sweep: bool, title: str) -> dict:
        if config["model"].get("task") == "reconstruction":
            return _reconstruction_metrics(trainer, link, args, sweep, title)
        return _classification_metrics(trainer, link, attack, args, sweep, title)

    trained_weights = None
    if trainer.average is not None:
        trained_weights = evaluate(False, "trained weights, ")
        trainer.deploy_average()
        print(f"deployed the weight average (train.ema_decay {trainer.average.decay})")
    metrics = evaluate(True, "weight average, " if trained_weights else "")
    if trained_weights:
        metrics["trained_weights"] = trained_weights
    return metrics


def _fit(trainer, config: dict, device: str, resume: bool) -> None:
    print(f"training {config['name']} on {device}")
    if trainer.pretrained:
        print(f"initialised from {trainer.pretrained['checkpoint']} ({trainer.pretrained['loaded']} tensors; "
              f"fresh: {', '.join(trainer.pretrained['fresh']) or 'none'})")
    if resume and trainer.resume():
        print(f"resumed {trainer.checkpoint_path} after epoch {trainer.epoch}")
    trainer.fit()


def _eval_images(trainer, args):
    """The dataset of the evaluation (``--eval-split``): the test images, the images the run held out of its
    training set (``data.validation_images``, for model selection) or its training images (un-augmented; a
    fitting check)."""
    if args.eval_split == "validation" and not len(trainer.validation_set):
        raise ValueError("--eval-split validation: the run held out no images (data.validation_images is 0)")
    return {"train": trainer.train_set, "validation": trainer.validation_set, "test": trainer.test_set}[args.eval_split]


def _eval_eps_option(metrics: dict, config: dict) -> str:
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
    from .train.pretrained import training_chain

    trains = [f"semcomm train {path}" for path in training_chain(config_path, config)]  # init_from runs first
    trains[-1] += _eval_eps_option(metrics, config)
    return " && ".join(trains + [f"semcomm export {config_path}"])


def _eval_attack(config: dict, eval_eps: str | None) -> dict | None:
    """The PGD of the final evaluation (K = 5): the training noise's eps and alpha, or with ``--eval-eps``
    that eps and alpha = eps / 4 (the ratio of the default 8/255 and 2/255); None for a reconstruction run."""
    reconstruction = config["model"].get("task") == "reconstruction"
    if reconstruction and eval_eps:
        raise ValueError("--eval-eps: a reconstruction run's evaluation has no semantic noise")
    if reconstruction:
        return None
    adv = config["adversarial"]
    if not eval_eps:
        return {"eps": adv["eps"], "alpha": adv["alpha"], "steps": 5, "norm": adv["norm"]}
    from .eval.report import parse_values

    eps = parse_values(eval_eps)
    if len(eps) != 1 or not 0 < eps[0] < 1:
        raise ValueError(f"--eval-eps {eval_eps!r}: expected one value in (0, 1), e.g. 8/255")
    return {"eps": round(eps[0], 7), "alpha": round(eps[0] / 4, 7), "steps": 5, "norm": adv["norm"]}


def _classification_metrics(trainer, link, attack: dict, args, sweep: bool, title: str) -> dict:
    """Clean and white-box ``attack`` accuracy at ``--eval-snr``, with ``sweep`` clean accuracy over
    ``--eval-sweep``; ``title`` starts the printed line."""
    from .eval.accuracy import accuracy

    images = _eval_images(trainer, args)
    metrics = {"clean": accuracy(trainer.model, images, args.eval_snr, link, limit=args.eval_images),
               "white_box_pgd": accuracy(trainer.model, images, args.eval_snr, link, attack,
                                         limit=args.eval_images)}
    if sweep and args.eval_sweep:
        from .eval.report import parse_values

        metrics["clean_vs_snr"] = [accuracy(trainer.model, images, snr, link, limit=args.eval_images)
                                   for snr in parse_values(args.eval_sweep)]
    print(f"{title}accuracy at Es/N0 {args.eval_snr} dB on {metrics['clean']['images']} {args.eval_split} images: "
          f"clean {metrics['clean']['accuracy']:.4f}, white-box PGD {metrics['white_box_pgd']['accuracy']:.4f}")
    return metrics


def _reconstruction_metrics(trainer, link, args, sweep: bool, title: str) -> dict:
    """Reconstruction PSNR at ``--eval-snr`` and, with ``sweep``, over ``--eval-sweep`` (a pre-training run:
    no attack); ``title`` starts the printed line."""
    from .eval.accuracy import reconstruction_quality

    images = _eval_images(trainer, args)

    def quality(snr):
        return reconstruction_quality(trainer.model, images, snr, link, limit=args.eval_images)

    metrics = {"reconstruction": quality(args.eval_snr)}
    if sweep and args.eval_sweep:
        from .eval.report import parse_values

        metrics["reconstruction_vs_snr"] = [quality(snr) for snr in parse_values(args.eval_sweep)]
    result = metrics["reconstruction"]
    print(f"{title}reconstruction at Es/N0 {args.eval_snr} dB on {result['images']} {args.eval_split} images: "
          f"PSNR {result['psnr_db']:.2f} dB (MSE {result['mse']:.5f})")
    return metrics


def cmd_export(args) -> int:
    import torch

    from .data import load_dataset
    from .export.run_record import load_run_record, training_entry
    from .registry import check_model_parity, export_model
    from .train import config as train_config
    from .train.ema import deployed_weights
    from .train.trainer import build_model

    run_dir = os.path.join(args.run_dir, train_config.load(args.config)["name"])
    checkpoint = os.path.join(run_dir, "checkpoint.pt")
    if not os.path.exists(checkpoint):
        raise ValueError(f"no checkpoint at {checkpoint}; train first: semcomm train {args.config}")
    trained = load_run_record(run_dir)
    config = trained["config"]  # what the weights were trained with, not the YAML as it is now
    test_set = load_dataset(config["data"]["dataset"], "test", root=config["data"]["root"])
    model = build_model(config, test_set.image_shape, len(test_set.classes))
    model.load_state_dict(deployed_weights(torch.load(checkpoint, map_location="cpu", weights_only=True)))
    reproduce = reproduce_command(args.config, config, trained.get("metrics", {}))
    card_extra = {"metrics": trained.get("metrics", {}), "training": training_entry(trained), "reproduce": reproduce}
    images = torch.from_numpy(test_set.float_images()[:64])
    paths = export_model(model, args.out, config["name"], dataset=config["data"]["dataset"], scheme=config["scheme"],
                         classes=list(test_set.classes), card_extra=card_extra)
    parity, summary = check_model_parity(model, paths, images, snr_db=12.0)
    files = ", ".join(paths[role] for role in ("encoder", "decoder", "weights", "card") if role in paths)
    print(f"exported {files} (model id {paths['model_id'][:16]}...)")
    print(f"parity on 64 test images: {summary}")
    return 0 if parity["ok"] else 1


def cmd_codes(args) -> int:
    from .phy.ldpc import get_code

    for name in available_codes():
        code = get_code(name)
        print(f"{name:32s} n={code.n:5d} k={code.k:5d} rate={code.rate:.3f}")
    return 0


# ------------------------------------------------------------------------------------- parser
def _add_bench_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", help="also write the JSON object to this file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="semcomm", description="Robust digital semantic communication testbed")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ber = sub.add_parser("ber", help="BER/BLER sweep of a modulation, optionally LDPC-coded",
                         description="Monte-Carlo BER/BLER sweep over AWGN or block fading. "
                         "Ranges are START:STOP[:STEP] in dB, inclusive.")
    ber.add_argument("--mod", default="qpsk", choices=list(BITS_PER_SYMBOL), help="modulation (default qpsk)")
    ber.add_argument("--code", default="none", help="LDPC code name or .alist path, or 'none' (default); see `semcomm codes`")
    ber.add_argument("--ebn0", help="Eb/N0 range in dB, e.g. 0:10 or 0:10:0.5")
    ber.add_argument("--esn0", help="Es/N0 range in dB (instead of --ebn0)")
    ber.add_argument("--max-errors", type=int, default=1000, help="stop a point after this many bit errors")
    ber.add_argument("--max-bits", type=int, default=2_000_000, help="stop a point after this many information bits")
    ber.add_argument("--channel", default="awgn", choices=["awgn", "rayleigh", "rician"], help="channel model")
    ber.add_argument("--k-factor", type=float, default=0.0, help="Rician K-factor in dB")
    ber.add_argument("--fading-block", type=int, default=1, help="symbols per fading block (1: fast fading)")
    ber.add_argument("--no-csi", action="store_true", help="demap without equalising (receiver does not know h)")
    ber.add_argument("--decoder", default="nms", choices=list(DECODER_ALGORITHMS), help="LDPC decoder")
    ber.add_argument("--iterations", type=int, default=20, help="maximum LDPC iterations")
    ber.add_argument("--seed", type=int, default=1)
    ber.add_argument("--json", action="store_true", help="print the points as a JSON list")
    ber.add_argument("--out", help="also write the points to this JSON file")
    ber.add_argument("--plot", help="also draw BER/BLER vs Eb/N0 into this PNG file")
    ber.add_argument("--quiet", action="store_true", help="no progress bar")
    ber.set_defaults(func=cmd_ber)

    bench = sub.add_parser("bench", help="throughput benchmarks (print figures, write JSON)")
    bench_sub = bench.add_subparsers(dest="bench", required=True, metavar="WHAT")
    bl = bench_sub.add_parser("ldpc", help="LDPC decoding throughput vs gr-fec on the same code and LLRs")
    bl.add_argument("--code", default="wifi1944_r12")
    bl.add_argument("--mod", default="16qam", choices=list(BITS_PER_SYMBOL))
    bl.add_argument("--iterations", type=int, nargs="+", default=[10, 20], help="maximum iterations to time")
    bl.add_argument("--target-bler", type=float, default=1e-2, help="calibrate Eb/N0 to this BLER")
    bl.add_argument("--ebn0", type=float, help="use this Eb/N0 instead of calibrating")
    bl.add_argument("--decoder", default="nms", choices=list(DECODER_ALGORITHMS))
    bl.add_argument("--frames", type=int, default=4096, help="codewords timed for semcomm")
    bl.add_argument("--grfec-frames", type=int, default=128, help="codewords timed for gr-fec (slow)")
    _add_bench_options(bl)
    bl.set_defaults(func=cmd_bench_ldpc)
    bq = bench_sub.add_parser("qam", help="QAM map / soft-demap throughput")
    bq.add_argument("--symbols", type=int, default=1_000_000)
    _add_bench_options(bq)
    bq.set_defaults(func=cmd_bench_qam)
    bo = bench_sub.add_parser("onnx", help="ONNX Runtime vs PyTorch eager, same codec and weights, on CPU")
    bo.add_argument("--model", metavar="PREFIX", help="<dir>/<name> of an export (default: the default architecture)")
    bo.add_argument("--checkpoint", help="PyTorch weights of that model (semcomm train checkpoint); default: recovered from its ONNX files")
    bo.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    bo.add_argument("--threads", type=int, help="intra-op threads of both (default: torch's default)")
    bo.add_argument("--seconds", type=float, default=1.0, help="minimum seconds per timed round")
    bo.add_argument("--spin", action="store_true", help="let ONNX Runtime worker threads busy-wait")
    _add_bench_options(bo)
    bo.set_defaults(func=cmd_bench_onnx)
    bf = bench_sub.add_parser("flowgraph", help="receiver and transmitter flowgraph rates (samples/s), unthrottled")
    bf.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (YAML)")
    bf.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", help="config override")
    bf.add_argument("--images", type=int, default=1000, help="images (frames) per benchmark")
    bf.add_argument("--json", action="store_true", help="print one JSON object")
    bf.add_argument("--out", help="also write the JSON object to this file")
    bf.set_defaults(func=cmd_bench_flowgraph)

    demo = sub.add_parser("demo", help="the main job: loopback testbed with the default model, clean and jammed "
                          "(table, summary.json, demo.png)")
    demo.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (YAML)")
    demo.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                      help="override a config field, e.g. --set data.num_images=500 (repeatable)")
    demo.add_argument("--out", default="results/demo", help="output directory")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="run a testbed flowgraph headless: loopback, one ZMQ role, all ZMQ roles, B210")
    run.add_argument("role", choices=["loopback", "zmq", "tx", "rx", "channel", "attacker", "tx_b210", "rx_b210"])
    run.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (YAML)")
    run.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                     help="override a config field, e.g. --set channel.snr_db=5 (repeatable)")
    run.add_argument("--out", default="results/run", help="output directory (summary.json, frames.jsonl, logs)")
    run.add_argument("--condition", default="loopback", help="condition name in the summary")
    run.add_argument("--timeout", type=float, default=600.0, help="seconds before the run is cut short")
    run.set_defaults(func=cmd_run)

    agree = sub.add_parser("agreement", help="accuracy through the loopback flowgraph vs the core's simulation, "
                           "same images and Es/N0")
    agree.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (YAML)")
    agree.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE", help="config override")
    agree.add_argument("--images", type=int, default=1000, help="test images per SNR")
    agree.add_argument("--snr", type=float, nargs="+", default=[10.0, 1.5], help="Es/N0 points in dB")
    agree.add_argument("--out", default="results/agreement", help="output directory")
    agree.set_defaults(func=cmd_agreement)

    phy = sub.add_parser("phy-loopback", help="symbol-level PHY loopback sweep of the digital chain (table + JSON)")
    phy.add_argument("--mod", default="16qam", choices=list(BITS_PER_SYMBOL))
    phy.add_argument("--code", default="wifi1944_r12")
    phy.add_argument("--iterations", type=int, default=20)
    phy.add_argument("--esn0", default="4:12:2", help="Es/N0 range in dB (default 4:12:2)")
    phy.add_argument("--frames", type=int, default=200, help="frames per SNR")
    phy.add_argument("--payload", type=int, default=784, help="payload bytes per frame")
    phy.add_argument("--seed", type=int, default=1)
    phy.add_argument("--out", default="results/phy_loopback", help="output directory")
    phy.set_defaults(func=cmd_phy_loopback)

    train = sub.add_parser("train", help="train a semantic codec from a YAML config (checkpoints, resume)")
    train.add_argument("config", help="YAML training config, e.g. models/configs/masked_vqvae_fim_at.yaml")
    train.add_argument("--run-dir", default="runs", help="checkpoints and logs go to RUN_DIR/<name>/")
    train.add_argument("--resume", action="store_true", help="continue from RUN_DIR/<name>/checkpoint.pt")
    train.add_argument("--epochs", type=int, help="override train.epochs")
    train.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                       help="override a config field before validation, e.g. --set train.lr=1e-4 (repeatable)")
    train.add_argument("--show-config", action="store_true",
                       help="print the resolved config (extends applied, defaults filled in) and the runs it "
                            "starts from, then exit")
    train.add_argument("--eval-only", action="store_true",
                       help="no training: evaluate RUN_DIR/<name>/checkpoint.pt as a finished run is (--eval-snr, "
                            "--eval-images, --eval-sweep, --eval-eps) into "
                            "RUN_DIR/<name>/evaluation_<images>_<snr>dB[_eps<E>].json")
    train.add_argument("--eval-split", choices=("test", "validation", "train"), default="test",
                       help="images of the evaluation, with --eval-only, into "
                            "RUN_DIR/<name>/evaluation_<split>_<images>_<snr>dB.json: 'validation' (the images the "
                            "run held out of training, data.validation_images: choose models and recipes on these, "
                            "never on the test images), 'train' (the first --eval-images training images, not "
                            "augmented: does the model fit them?)")
    train.add_argument("--threads", type=int, help="torch CPU threads")
    train.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                       help="where to train (auto: a CUDA GPU when torch sees one, else the CPU)")
    train.add_argument("--eval-snr", type=float, default=12.0, help="Es/N0 (dB) of the final evaluation")
    train.add_argument("--eval-images", type=int, default=2000, help="test images in the final evaluation")
    train.add_argument("--eval-eps", metavar="EPS",
                       help="L-inf eps of the final evaluation's PGD (K = 5, alpha eps/4), e.g. 8/255 for a model "
                            "trained against other noise (default: the config's adversarial eps and alpha)")
    train.add_argument("--eval-sweep", default="0,1,1.5,2,3,12",
                       help="Es/N0 points (dB) of the card's clean accuracy vs SNR (metrics.clean_vs_snr); '' for none")
    train.set_defaults(func=cmd_train)

    export = sub.add_parser("export", help="export a trained codec to ONNX + model card (model contract)")
    export.add_argument("config", help="the YAML training config of the model")
    export.add_argument("--run-dir", default="runs", help="where `semcomm train` put RUN_DIR/<name>/checkpoint.pt")
    export.add_argument("--out", default="models", help="output directory")
    export.set_defaults(func=cmd_export)

    codes = sub.add_parser("codes", help="list the LDPC codes by name")
    codes.set_defaults(func=cmd_codes)

    from .eval.report import register_cli as register_eval
    register_eval(sub)
    return parser


def main(argv=None) -> int:
    from .testbed.run import FlowgraphError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FlowgraphError) as err:
        print(f"semcomm {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
