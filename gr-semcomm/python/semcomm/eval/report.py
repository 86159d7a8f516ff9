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
    ``fig8``: accuracy vs signal-to-semantic-noise ratio under receiver-side semantic noise (Hu et al.
    Algorithm 1, crafted on training images; the vulnerable-set attack for JPEG) and, as the reference, payload
    Gaussian jamming of the same power, per scheme (:mod:`semcomm.eval.receiver`);
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
    under ``receiver_side`` the same for the receiver-side universal noise at ``receiver_ssnr`` (white box on
    the diagonal, transfer of a waveform crafted on another scheme elsewhere);
    ``masking``: per digital model the keep set it deploys (patch positions on its grid) and, for the
    noise-related masking strategy, the PGD noise energy per patch it was chosen from (the card's training
    history); drawn for the main models and the ablations whose keep set differs;
    ``ablations``: every ablation card next to its scheme's main model, clean and with semantic noise at
    ``eps_snr``, with the training-config entries in which the two differ;
    ``checks``: the paper's claims and the issue's targets checked on these numbers (:mod:`semcomm.eval.checks`).

The sections live in :mod:`semcomm.eval.figures`, the settings in :mod:`semcomm.eval.settings`, the command
line in :mod:`semcomm.cli.eval`; this module imports the sections only when it runs.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .settings import ReportSettings


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
