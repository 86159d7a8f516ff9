"""Knowledge distillation from a trained image classifier (Hinton et al. 2015, "Distilling the Knowledge
in a Neural Network"), for the classification codecs.

``train.distill_from: <run name>`` names a finished training run of an image classifier (e.g.
``models/configs/experiments/resnet_teacher.yaml``): its deployed weights (``<run_dir>/<run name>/checkpoint.pt``, the
weight average where it kept one) and its config (``metrics.json``, written when that run ended). The
teacher is frozen, in eval mode, and sees the clean (augmented) full image, never the link or the mask.
With teacher logits ``t``, student logits ``s``, labels ``y``, weight ``w = train.distill_weight`` and
temperature ``T = train.distill_temperature``, the student's task loss becomes

    L_task = (1 - w) CE(s, y) + w T^2 KL(softmax(t / T) || softmax(s / T))

(``T^2`` keeps the soft term's gradients on the scale of the hard one). In adversarial training both
terms of the mixture use the teacher's logits of the *clean* image, so the adversarial term pulls the
student's output on ``s'`` towards the teacher's view of ``s`` (adversarially robust distillation,
Goldblum et al. 2020); PGD ascends that same loss. The other terms of the objective (codebook, (15), FIM)
are unchanged.
"""
from __future__ import annotations

import json
import os
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..data import class_key, load_dataset
from ..export.contract import sha256_file
from .ema import deployed_weights
from .trades import output_divergence


class TeacherError(ValueError):
    pass


def distillation_loss(student_logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor,
                      weight: float, temperature: float) -> torch.Tensor:
    """``(1 - w) CE(s, y) + w T^2 KL(softmax(t / T) || softmax(s / T))``, batch mean (module doc).
    Shapes: logits ``[N, K]``, labels ``[N]`` (int64)."""
    hard = F.cross_entropy(student_logits, labels)
    soft = output_divergence(teacher_logits / temperature, student_logits / temperature)
    return (1 - weight) * hard + weight * temperature**2 * soft


def load_teacher(run_dir: str, run_name: str, build: Callable[[dict], nn.Module], device: torch.device,
                 data: dict, classes) -> tuple[nn.Module, dict]:
    """``(frozen teacher in eval mode, record)`` of the finished run ``run_name`` under ``run_dir``;
    ``build(config)`` makes the untrained model of a config; ``data`` and ``classes`` are the student's data
    section and class names, which the teacher's must match (:func:`check_teacher_classes`). The record
    holds ``run``, ``checkpoint``, its ``sha256`` and the teacher's clean test accuracy from its ``metrics.json``."""
    folder = os.path.join(run_dir, run_name)
    checkpoint, metrics_path = os.path.join(folder, "checkpoint.pt"), os.path.join(folder, "metrics.json")
    for path in (checkpoint, metrics_path):
        if not os.path.isfile(path):
            raise TeacherError(f"train.distill_from: no {path}; train (to the end) the teacher run "
                               f"{run_name!r} first")
    with open(metrics_path) as handle:
        trained = json.load(handle)
    check_teacher_classes(run_name, trained["config"]["data"], data, classes)
    teacher = build(trained["config"])
    if not callable(getattr(teacher, "logits", None)):
        raise TeacherError(f"train.distill_from: run {run_name!r} is a {trained['config']['scheme']} model, "
                           "not an image classifier (a model with logits(images))")
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    teacher.load_state_dict(deployed_weights(state))
    teacher.to(device).eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    clean = trained.get("metrics", {}).get("clean", {})
    record = {"run": run_name, "checkpoint": checkpoint, "sha256": sha256_file(checkpoint),
              "clean_accuracy": clean.get("accuracy")}
    return teacher, record


def check_teacher_classes(run_name: str, teacher_data: dict, data: dict, classes) -> None:
    """TeacherError unless the teacher's logits index the student's ``classes``: the same class names
    (:func:`semcomm.data.class_key`) in the same order, read from the teacher's dataset when it trained on
    another one (e.g. Fashion-MNIST's IDX files, the student an image folder of the same images, whose
    labels index its sorted class folders)."""
    if (teacher_data["dataset"], teacher_data.get("root")) == (data["dataset"], data.get("root")):
        return
    learned = load_dataset(teacher_data["dataset"], "test", root=teacher_data.get("root")).classes
    if [class_key(name) for name in learned] != [class_key(name) for name in classes]:
        raise TeacherError(f"train.distill_from: the teacher run {run_name!r} learned the classes {learned} "
                           f"(dataset {teacher_data['dataset']}), this run's data has {list(classes)}: the "
                           "teacher's outputs must index the same classes in the same order")
