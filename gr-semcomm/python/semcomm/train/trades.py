"""TRADES: the adversarial objective of Zhang et al. 2019 ("Theoretically Principled Trade-off between
Robustness and Accuracy"), an alternative to the clean/adversarial mixture of Algorithm 2.

``adversarial.loss: trades`` replaces step 4's mixture ``(1 - c) L(s') + c L(s)`` by

    L(s) + beta * KL( softmax(f(s)) || softmax(f(s')) )

where ``L`` is the full objective on the clean image (task, codebook, (15), FIM terms) and
``beta = adversarial.trades_beta``. The semantic noise ``s' = s + Delta s`` is found by the same PGD
(eq. 7), ascending the divergence from the clean prediction ``KL(softmax(f(s)) || softmax(f(s')))``
(the clean logits held fixed) instead of the cross-entropy with the label: the attack looks for where
the output moves, not where it is wrong, and the outer loss penalises that movement. ``beta`` sets the
trade-off (Zhang et al. use 6 on CIFAR-10); the gradient flows through both logits. The weight
perturbation (eq. 11), if on, ascends ``beta * KL`` with the clean logits held fixed, one pass as in the
mixture. Evaluation is unchanged: white-box PGD on the cross-entropy.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def output_divergence(reference_logits: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """``KL(softmax(reference) || softmax(logits))``, mean over the batch. Shapes: ``[N, K]`` both.
    TRADES compares the clean output (reference) with the adversarial one; distillation
    (:mod:`semcomm.train.distill`) the teacher's with the student's."""
    return F.kl_div(F.log_softmax(logits, dim=-1), F.log_softmax(reference_logits, dim=-1),
                    log_target=True, reduction="batchmean")
