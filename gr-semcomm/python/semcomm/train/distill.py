"""Knowledge distillation from a trained image classifier (Hinton et al. 2015; a CNN teacher for a ViT
student as in DeiT, Touvron et al. 2021).

``train.distill_from: <run name>`` loads the teacher from ``<run_dir>/<run name>/``: its ``metrics.json``
holds the config it was trained with (so any classifier scheme, e.g. the ResNet of
``scheme: resnet_surrogate``, can teach), ``checkpoint.pt`` its weights (``weights_only=True``). The
teacher sees the clean (augmented) training images, never the link, and is frozen. The student's clean
branch adds

    ``distill_weight * T^2 * KL(softmax(t / T) || softmax(s / T))``

to its loss, with teacher logits ``t``, student logits ``s`` (after the link) and ``T`` =
``train.distill_temperature``; the ``T^2`` keeps the gradient scale independent of ``T``. The adversarial
branch keeps the task loss only. The card records the teacher's run, checkpoint sha256 and test accuracy.

Distillation leaks the teacher's decision boundaries into the student, so a teacher must not also be
the surrogate of a black-box (transfer) attack on that student: train a separate teacher run.
"""
from __future__ import annotations

import json
import os

import torch
import torch.nn.functional as F
from torch import nn

from ..export.runtime import sha256_file
from .pretrained import checkpoint_of


class TeacherError(ValueError):
    pass


def load_teacher(run_dir: str, run_name: str, build, device) -> tuple[nn.Module, dict]:
    """``(frozen teacher in eval mode, record)``: ``build(config)`` makes the model of the teacher's training
    config; ``record`` holds ``run``, ``checkpoint``, ``sha256`` and the teacher's clean test ``accuracy``."""
    checkpoint = checkpoint_of(run_dir, run_name)
    metrics_path = os.path.join(run_dir, run_name, "metrics.json")
    for path in (checkpoint, metrics_path):
        if not os.path.isfile(path):
            raise TeacherError(f"no {os.path.basename(path)} for the teacher run {run_name!r} at {path}: "
                               f"train it first (semcomm train models/configs/{run_name}.yaml)")
    with open(metrics_path) as handle:
        trained = json.load(handle)
    teacher = build(trained["config"])
    if not getattr(teacher, "image_input", False):
        raise TeacherError(f"teacher run {run_name!r} is a {trained['config']['scheme']} model: a teacher must be "
                           "an image classifier (e.g. scheme resnet_surrogate or jpeg_ldpc)")
    teacher.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True)["model"])
    teacher.to(device).eval().requires_grad_(False)
    clean = trained.get("metrics", {}).get("clean", {})
    return teacher, {"run": run_name, "checkpoint": checkpoint, "sha256": sha256_file(checkpoint),
                     "accuracy": clean.get("accuracy"), "images": clean.get("images")}


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T^2 * KL(softmax(t / T) || softmax(s / T))``, mean over the batch (logits ``[N, K]``)."""
    student = F.log_softmax(student_logits / temperature, dim=1)
    teacher = F.log_softmax(teacher_logits / temperature, dim=1)
    return temperature**2 * F.kl_div(student, teacher, log_target=True, reduction="batchmean")
