"""``semcomm train``, ``semcomm adapt`` (decoder fine-tuning on captures) and ``semcomm export``: a codec from its YAML config to its ONNX files and model card. The
final evaluation is :mod:`semcomm.train.evaluation`, the card's reproduce line :mod:`semcomm.train.reproduce`."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .arguments import add_overrides, integer, number, output_directory
from .output import write_json


def _show_config(path: str, config: dict) -> None:
    """Print the resolved training config (``extends`` applied, defaults filled in) as YAML, then the
    configs a reproduction trains first (:func:`semcomm.train.pretrained.training_chain`) as a comment."""
    import yaml

    from ..train.pretrained import training_chain

    print(yaml.safe_dump(config, sort_keys=False), end="")
    print("# trains after: " + (", ".join(training_chain(path, config)[:-1]) or "nothing (a first run)"))


def cmd_train(args) -> int:
    import torch

    from ..config import parse_overrides
    from ..eval.settings import parse_values
    from ..train import config as train_config
    from ..train.evaluation import EvaluationSettings, evaluate_run, evaluation_attack
    from ..train.trainer import Trainer

    if args.eval_split != "test" and not args.eval_only:
        raise ValueError(f"--eval-split {args.eval_split} needs --eval-only: a training run's metrics are on the "
                         "test images")
    config = train_config.load(args.config, parse_overrides(args.set))
    if args.eval_only:  # the weights come from the run's own checkpoint: no pre-training or teacher is read
        config["train"].update(init_from=None, distill_from=None)
    if args.epochs:
        config["train"]["epochs"] = args.epochs
    attack = evaluation_attack(config, args.eval_eps)  # a bad --eval-eps fails here, not after the training
    settings = EvaluationSettings(args.eval_snr, args.eval_images, args.eval_split, parse_values(args.eval_sweep))
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
    metrics = evaluate_run(trainer, config, settings, attack)
    if args.eval_only:
        split = "" if args.eval_split == "test" else f"{args.eval_split}_"
        noise = f"_eps{args.eval_eps.replace('/', 'of')}" if args.eval_eps else ""
        out = os.path.join(trainer.run_dir, f"evaluation_{split}{args.eval_images}_{args.eval_snr:g}dB{noise}.json")
        write_json({"checkpoint": trainer.checkpoint_path, "epoch": trainer.epoch, "metrics": metrics}, out, False)
        print(f"written {out}")
        return 0
    write_json({"config": config, "history": trainer.history, "metrics": metrics, "pretrained": trainer.pretrained,
                "teacher": trainer.teacher_record}, os.path.join(trainer.run_dir, "metrics.json"), False)
    return 0


def _fit(trainer, config: dict, device: str, resume: bool) -> None:
    print(f"training {config['name']} on {device}")
    if trainer.pretrained:
        print(f"initialised from {trainer.pretrained['checkpoint']} ({trainer.pretrained['loaded']} tensors; "
              f"fresh: {', '.join(trainer.pretrained['fresh']) or 'none'})")
    if resume and trainer.resume():
        print(f"resumed {trainer.checkpoint_path} after epoch {trainer.epoch}")
    trainer.fit()


def cmd_export(args) -> int:
    from ..train.export_run import PARITY_IMAGES, export_run

    paths, parity, summary = export_run(args.config, args.run_dir, args.out)
    files = ", ".join(paths[role] for role in ("encoder", "decoder", "weights", "card") if role in paths)
    print(f"exported {files} (model id {paths['model_id'][:16]}...)")
    print(f"parity on {PARITY_IMAGES} test images: {summary}")
    return 0 if parity["ok"] else 1


def cmd_adapt(args) -> int:
    import shlex

    from ..train.adapt import adapt

    def show(row):
        print(f"epoch {row['epoch']}: train loss {row['train_loss']:.3f}, validation accuracy {row['val_accuracy']:.1%}",
              file=sys.stderr, flush=True)

    command = "semcomm " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["adapt"] else ""
    captures = list(args.captures or []) + ([_record(args)] if args.record else [])
    if not captures:
        raise ValueError("nothing to adapt on: give --captures, or --record N to capture N training images first")
    section = adapt(args.model, captures, args.out, args.eval_captures or [], args.epochs, args.lr, args.batch,
                    args.val_fraction, args.seed, show, command)
    before, after = section["accuracy_before"], section["accuracy_after"]
    print(f"frames: {section['frames_train']} train, {section['frames_val']} validation; best epoch "
          f"{section['best_epoch']}")
    for name in before:
        frames = section["frames_val"] if name == "val" else section["frames_eval"][name]
        change = section["eval_differences"].get(name)
        paired = f" ({100 * change['difference']:+.1f} +- {100 * change['difference_se']:.1f} points)" if change else ""
        print(f"{'validation' if name == 'val' else name} ({frames} frames): accuracy {before[name]:.1%} -> "
              f"{after[name]:.1%}{paired}")
    print(f"wrote {args.out}.encoder.onnx (the base encoder), {args.out}.decoder.onnx, {args.out}.card.json")
    return 0


def _record(args) -> str:
    """``--record N``: capture N images of the *training* split through ``--config`` (the receiver's input of the
    loopback) next to the output, the first step of capture -> fine-tune -> export; returns the recording."""
    from ..config import parse_overrides
    from ..testbed.capture_runs import run_capture

    base = f"{args.out}.captures/train"
    overrides = {**parse_overrides(args.set), "model": args.model, "data.split": "train", "data.num_images": args.record,
                 "data.images_per_s": 0, "capture.path": base, "capture.taps": ["channel"]}
    summary = run_capture(args.config, overrides, "loopback", Path(f"{base}.run"))
    print(f"recorded {summary['captures']['channel']['frames_annotated']} frames at {base}.channel", file=sys.stderr)
    return f"{base}.channel"


def add_commands(sub) -> None:
    """``semcomm train`` and ``semcomm export``."""
    train = sub.add_parser("train", help="train a semantic codec from a YAML config (checkpoints, resume)")
    train.add_argument("config", help="YAML training config, e.g. models/configs/masked_vqvae_fim_at.yaml")
    train.add_argument("--run-dir", default="runs", help="checkpoints and logs go to RUN_DIR/<name>/")
    train.add_argument("--resume", action="store_true", help="continue from RUN_DIR/<name>/checkpoint.pt")
    train.add_argument("--epochs", type=int, help="override train.epochs")
    add_overrides(train, "override a config field before validation, e.g. --set train.lr=1e-4 (repeatable)")
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

    adapt = sub.add_parser("adapt", help="fine-tune a codec's decoder on SigMF captures (semcomm capture); the "
                           "encoder and codebook stay, so deployed transmitters stay valid")
    adapt.add_argument("--captures", nargs="+", help="recordings to learn from (path without suffix)")
    adapt.add_argument("--record", type=integer(1), help="first capture this many training images through --config "
                       "(capture -> fine-tune -> export in one command)")
    adapt.add_argument("--config", default="hw_configs/emulated_b210.yaml", help="testbed config of --record")
    add_overrides(adapt, "config override for --record (e.g. channel.snr_db=3, attacker.enabled=true)")
    adapt.add_argument("--eval-captures", nargs="+", help="held-out recordings for the before/after figures")
    adapt.add_argument("--model", default="models/masked_vqvae_fim_at", help="the deployed model's prefix")
    adapt.add_argument("--out", required=True, help="prefix of the adapted model (<out>.encoder.onnx, ...)")
    adapt.add_argument("--epochs", type=integer(1), default=10)
    adapt.add_argument("--lr", type=number(0, exclusive=True), default=1e-4)
    adapt.add_argument("--batch", type=integer(1), default=64)
    adapt.add_argument("--val-fraction", type=number(0, 1, exclusive=True), default=0.2,
                       help="frames of the captures held out to pick the epoch")
    adapt.add_argument("--seed", type=integer(0), default=0)
    adapt.set_defaults(func=cmd_adapt)

    export = sub.add_parser("export", help="export a trained codec to ONNX + model card (model contract)")
    export.add_argument("config", help="the YAML training config of the model")
    export.add_argument("--run-dir", default="runs", help="where `semcomm train` put RUN_DIR/<name>/checkpoint.pt")
    export.add_argument("--out", type=output_directory, default="models", help="output directory")
    export.set_defaults(func=cmd_export)
