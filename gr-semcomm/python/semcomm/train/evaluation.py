"""The final evaluation of a training run (``semcomm train``, ``--eval-only``): its metrics through its link.

A classification run is scored clean and under white-box PGD semantic noise (:func:`evaluation_attack`) at
one Es/N0, and clean over an SNR sweep; a reconstruction run (a pre-training) by its PSNR at that Es/N0 and
over the sweep. The link is the run's own (the digital codecs' error profile; none for analog JSCC, whose
channel is inside the model) except for the JPEG schemes, which are measured through the chain: JPEG
frames, a failed CRC scoring as wrong (:class:`semcomm.baselines.jpeg.JpegLink`). A run that keeps a weight
average is scored with its trained weights first, then with the average, which it deploys.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..eval.accuracy import accuracy, reconstruction_quality
from ..eval.settings import parse_values
from ..registry import family

#: PGD iterations K of the final evaluation
EVALUATION_STEPS = 5


@dataclass(frozen=True)
class EvaluationSettings:
    snr_db: float = 12.0      #: Es/N0 (dB) of the clean and attacked figures
    images: int = 2000        #: first images of the split
    split: str = "test"       #: test | validation | train
    sweep: tuple = ()         #: Es/N0 points (dB) of the clean sweep


def evaluation_attack(config: dict, eval_eps: str | None) -> dict | None:
    """The PGD of the final evaluation (K = 5): the training noise's eps and alpha, or with ``--eval-eps``
    that eps and alpha = eps / 4 (the ratio of the default 8/255 and 2/255); None for a reconstruction run."""
    reconstruction = config["model"].get("task") == "reconstruction"
    if reconstruction and eval_eps:
        raise ValueError("--eval-eps: a reconstruction run's evaluation has no semantic noise")
    if reconstruction:
        return None
    adv = config["adversarial"]
    if not eval_eps:
        return {"eps": adv["eps"], "alpha": adv["alpha"], "steps": EVALUATION_STEPS, "norm": adv["norm"]}
    eps = parse_values(eval_eps)
    if len(eps) != 1 or not 0 < eps[0] < 1:
        raise ValueError(f"--eval-eps {eval_eps!r}: expected one value in (0, 1), e.g. 8/255")
    return {"eps": round(eps[0], 7), "alpha": round(eps[0] / 4, 7), "steps": EVALUATION_STEPS, "norm": adv["norm"]}


def evaluate_run(trainer, config: dict, settings: EvaluationSettings, attack: dict | None, progress=print) -> dict:
    """Metrics of a trained run through its link (module doc), with the PGD ``attack`` of
    :func:`evaluation_attack`: the deployed weights (the weight average where the run keeps one, then loaded
    into the model; the trained weights' metrics under ``trained_weights``). ``progress`` gets a line per
    scoring."""
    trainer.model.cpu()  # the evaluation through the (numpy) chain runs on the CPU
    link = _evaluation_link(trainer, config)

    def evaluate(sweep: bool, title: str) -> dict:
        if config["model"].get("task") == "reconstruction":
            return _reconstruction_metrics(trainer, link, settings, sweep, title, progress)
        return _classification_metrics(trainer, link, attack, settings, sweep, title, progress)

    trained_weights = None
    if trainer.average is not None:
        trained_weights = evaluate(False, "trained weights, ")
        trainer.deploy_average()
        progress(f"deployed the weight average (train.ema_decay {trainer.average.decay})")
    metrics = evaluate(True, "weight average, " if trained_weights else "")
    if trained_weights:
        metrics["trained_weights"] = trained_weights
    return metrics


def _evaluation_link(trainer, config: dict):
    """The run's link, or for a JPEG scheme the chain its frames cross (module doc)."""
    if family(config["scheme"]).name != "jpeg":
        return trainer.link
    from ..baselines.jpeg import JpegLink
    from .trainer import chain_settings

    return JpegLink(chain=chain_settings(config))


def evaluation_images(trainer, split: str):
    """The dataset of the evaluation: the test images, the images the run held out of its training set
    (``data.validation_images``, for model selection) or its training images (un-augmented; a fitting check)."""
    if split == "validation" and not len(trainer.validation_set):
        raise ValueError("--eval-split validation: the run held out no images (data.validation_images is 0)")
    return {"train": trainer.train_set, "validation": trainer.validation_set, "test": trainer.test_set}[split]


def _classification_metrics(trainer, link, attack: dict, settings: EvaluationSettings, sweep: bool, title: str,
                            progress) -> dict:
    """Clean and white-box ``attack`` accuracy at the settings' Es/N0, with ``sweep`` clean accuracy over the
    settings' sweep; ``title`` starts the line given to ``progress``."""
    images = evaluation_images(trainer, settings.split)

    def accuracy_at(snr_db: float, noise: dict | None = None) -> dict:
        return accuracy(trainer.model, images, snr_db, link, noise, limit=settings.images)

    metrics = {"clean": accuracy_at(settings.snr_db), "white_box_pgd": accuracy_at(settings.snr_db, attack)}
    if sweep and settings.sweep:
        metrics["clean_vs_snr"] = [accuracy_at(snr) for snr in settings.sweep]
    progress(f"{title}accuracy at Es/N0 {settings.snr_db} dB on {metrics['clean']['images']} {settings.split} "
             f"images: clean {metrics['clean']['accuracy']:.4f}, white-box PGD "
             f"{metrics['white_box_pgd']['accuracy']:.4f}")
    return metrics


def _reconstruction_metrics(trainer, link, settings: EvaluationSettings, sweep: bool, title: str, progress) -> dict:
    """Reconstruction PSNR at the settings' Es/N0 and, with ``sweep``, over the settings' sweep (a pre-training
    run: no attack); ``title`` starts the line given to ``progress``."""
    images = evaluation_images(trainer, settings.split)

    def quality(snr_db: float) -> dict:
        return reconstruction_quality(trainer.model, images, snr_db, link, limit=settings.images)

    metrics = {"reconstruction": quality(settings.snr_db)}
    if sweep and settings.sweep:
        metrics["reconstruction_vs_snr"] = [quality(snr) for snr in settings.sweep]
    result = metrics["reconstruction"]
    progress(f"{title}reconstruction at Es/N0 {settings.snr_db} dB on {result['images']} {settings.split} images: "
             f"PSNR {result['psnr_db']:.2f} dB (MSE {result['mse']:.5f})")
    return metrics
