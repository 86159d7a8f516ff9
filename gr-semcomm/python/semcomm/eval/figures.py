"""The sections of ``semcomm eval report`` (:mod:`semcomm.eval.report`): one function per figure / table of
Hu et al. Sec. V, each returning the numbers it plots and writing its PNG. They share an :class:`Evaluator`
(data, links, cached accuracies and adversarial images); :func:`evaluator` builds it from the settings.
The conventions (chain, semantic noise, what each section holds) are in :mod:`semcomm.eval.report`.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..baselines.jpeg import JpegLink, JpegSettings
from ..config.link import FADING_OF_CHANNEL
from ..data import match_classes
from ..nn.vit import patchify
from ..phy.ldpc import CODE_IDS
from ..phy.modem import LinkConfig
from ..registry import PAPER_SCHEMES
from ..sim.exact_chain import ExactChain
from ..sim.link import ChainSettings
from .accuracy import accuracy, classify, white_box_attack
from .jpeg import classify_jpeg
from .overhead import analog_overhead, code_choices, digital_overhead, jpeg_overhead, overhead_table
from .plots import plot_accuracy_table, plot_heatmaps, plot_panels
from .receiver import ReceiverSide, fig8, receiver_table
from .schemes import (ReservedView, Scheme, card_model, check_selection, discover, discover_surrogates,
                      split_ablations)
from .settings import ReportSettings, eps_label


# ------------------------------------------------------------------------------------------ evaluator
class Evaluator:
    """Data (test images ``[N, C, H, W]``, labels), schemes (one main model per scheme id) and their ablations
    (:func:`~semcomm.eval.schemes.split_ablations`), black-box attack surrogates (table III), links, the
    ``missing`` list, and the accuracies and adversarial images the sections share (cached)."""

    def __init__(self, settings: ReportSettings, schemes: list[Scheme], data, missing: list[dict],
                 ablations: list[Scheme] = (), surrogates: list[Scheme] = ()):
        self.settings, self.schemes, self.data, self.missing = settings, schemes, data, missing
        self.ablations, self.surrogates = list(ablations), list(surrogates)
        self.images = torch.from_numpy(data.float_images())
        self.labels = torch.from_numpy(data.labels)
        self.chain = ChainSettings(modulation=settings.modulation, code=settings.code,
                                   fading=FADING_OF_CHANNEL[settings.channel])
        self._accuracy: dict = {}
        self._adversarial: dict = {}
        self.receiver = ReceiverSide(self)
        for scheme in self.models():
            if scheme.family == "analog":  # the analog channel is inside the model
                scheme.model().config.channel = settings.channel

    def models(self) -> list[Scheme]:
        """The main models, then the ablations."""
        return self.schemes + self.ablations

    def lack(self, item: str, reason: str) -> None:
        self.missing.append({"item": item, "reason": reason})

    def progress(self, items, desc: str):
        return tqdm(items, desc=desc, leave=False, file=sys.stderr, disable=not self.settings.progress)

    def attack(self, eps: float) -> dict | None:
        """PGD of eq. (7): ``K = steps``, ``alpha = eps / 4``, L-inf, ``eot_draws`` analog channel draws per
        step; None for ``eps = 0``."""
        return None if eps <= 0 else {"eps": float(eps), "alpha": float(eps) / 4, "steps": self.settings.steps,
                                      "norm": "linf", "draws": self.settings.eot_draws}

    def jpeg_settings(self, scheme: Scheme | None = None) -> JpegSettings:
        if self.settings.jpeg_quality is not None:
            return JpegSettings(quality=self.settings.jpeg_quality)
        card = scheme.card if scheme else next((s.card for s in self.schemes if s.family == "jpeg"), {})
        return JpegSettings(**card.get("jpeg", {}))

    def link(self, scheme: Scheme, model=None):
        """The scheme's link: ExactChain (digital), JpegLink (JPEG) or None (analog: inside the model)."""
        if scheme.family == "analog":
            return None
        if scheme.family == "jpeg":
            return JpegLink(self.jpeg_settings(scheme), self.chain, bytes.fromhex(scheme.card["model_id"])[:4])
        info = scheme.info
        tokens = (model or scheme.model()).config.num_tokens
        return ExactChain(info.alphabet, tokens if isinstance(info.alphabet, int) else None, chain=self.chain)

    def accuracy(self, scheme: Scheme, snr_db: float, eps: float) -> dict | None:
        """Accuracy result at one point (cached); None when noise is asked of an ONNX-only scheme."""
        key = (scheme.name, float(snr_db), float(eps))
        if key not in self._accuracy:
            if eps > 0 and not scheme.differentiable:
                return None
            self._accuracy[key] = accuracy(scheme.model(), self.data, snr_db, self.link(scheme), self.attack(eps),
                                           self.settings.batch_size, seed=self.settings.seed)
        return self._accuracy[key]

    def batches(self):
        size = self.settings.batch_size
        return [slice(start, start + size) for start in range(0, len(self.images), size)]

    def adversarial(self, scheme: Scheme) -> torch.Tensor:
        """White-box PGD images ``[N, C, H, W]`` against ``scheme`` at ``noise_eps``, ``eps_snr`` (cached)."""
        if scheme.name not in self._adversarial:
            s, model = self.settings, scheme.model().eval()
            attack_noise = torch.Generator().manual_seed(s.seed)  # an analog source's channel draws
            self._adversarial[scheme.name] = torch.cat([
                white_box_attack(model, self.images[b], self.labels[b], s.eps_snr, **self.attack(s.noise_eps),
                                 generator=attack_noise)
                for b in self.batches()])
        return self._adversarial[scheme.name]

    def accuracy_on(self, scheme: Scheme, images: torch.Tensor) -> float:
        """Accuracy of ``scheme`` at ``eps_snr`` when its semantic noise is ``images - clean`` (Table III)."""
        model, link, rng = scheme.model().eval(), self.link(scheme), np.random.default_rng(self.settings.seed)
        snr, correct = self.settings.eps_snr, 0
        for b in self.batches():
            if scheme.family == "jpeg":
                clean = self.images[b]
                predicted, _ = classify_jpeg(model, clean, self.labels[b], snr, link, rng,
                                             perturbation=images[b] - clean)
            else:
                predicted, _ = classify(model, images[b], snr, link, rng)
            correct += int((predicted == self.labels[b]).sum())
        return correct / len(images)


def _value(result: dict | None):
    return None if result is None else result["accuracy"]


# ------------------------------------------------------------------------------------------- sections
def _snr_curves(ev: Evaluator, scheme: Scheme) -> dict:
    s = ev.settings
    clean = [ev.accuracy(scheme, snr, 0.0) for snr in ev.progress(s.snr, f"{scheme.name} clean")]
    noisy = [ev.accuracy(scheme, snr, s.noise_eps) for snr in ev.progress(s.snr, f"{scheme.name} PGD")]
    return {"clean": [_value(r) for r in clean], "semantic_noise": [_value(r) for r in noisy],
            "points": {"clean": clean, "semantic_noise": noisy}}


def _snr_panels(curves: dict, snr: list, key_label) -> dict:
    return {"(a) with semantic noise": {key_label(k): (snr, c["semantic_noise"]) for k, c in curves.items()},
            "(b) clean": {f"{key_label(k)} (clean)": (snr, c["clean"]) for k, c in curves.items()}}


def fig4(ev: Evaluator, out: Path) -> dict:
    s = ev.settings
    curves = {scheme.name: _snr_curves(ev, scheme) for scheme in ev.schemes}
    plot_panels(_snr_panels(curves, list(s.snr), str), str(out / "fig4_accuracy_vs_snr.png"), "Es/N0 (dB)",
                "accuracy", f"Fig. 4: accuracy vs SNR ({s.channel}; semantic noise eps = {eps_label(s.noise_eps)})",
                (0, 1))
    return {"snr_db": list(s.snr), "eps": s.noise_eps, "attack": ev.attack(s.noise_eps), "curves": curves}


def _codebook_sizes(ev: Evaluator) -> dict[str, dict[int, Scheme]]:
    """Digital scheme id -> codebook size J -> its first model (main models first)."""
    sizes: dict[str, dict[int, Scheme]] = {}
    for scheme in ev.models():
        if scheme.family == "digital":
            sizes.setdefault(scheme.scheme, {}).setdefault(int(scheme.card["config"]["codebook_size"]), scheme)
    return sizes


def fig5(ev: Evaluator, out: Path) -> dict:
    """Accuracy vs SNR per codebook size J: the proposed scheme's sweep, then that of every other digital
    scheme with models of two or more sizes (e.g. an ablation sweep on a cheaper recipe). The sizes of
    ``codebook_sizes`` the proposed scheme lacks are listed under ``missing``."""
    s = ev.settings
    sizes = _codebook_sizes(ev)
    by_size = sizes.get(s.proposed, {})
    if len(by_size) < 2:
        ev.lack(f"fig5 with {s.proposed}", f"{s.proposed} models exist for J = {sorted(by_size)} only; "
                                           f"fig5 needs two or more")
    for size in sorted(set(s.codebook_sizes) - set(by_size)):
        ev.lack(f"fig5 J={size}", f"no {s.proposed} model card with codebook_size {size} in {s.models_dir}")
    order = ([s.proposed] if by_size else []) + sorted(x for x in sizes if x != s.proposed and len(sizes[x]) > 1)
    sweeps = {scheme_id: {size: {"name": sizes[scheme_id][size].name, **_snr_curves(ev, sizes[scheme_id][size])}
                          for size in sorted(sizes[scheme_id])} for scheme_id in order}
    panels = {}
    for scheme_id, curves in sweeps.items():
        for panel, lines in _snr_panels(curves, list(s.snr), lambda j: f"J = {j}").items():
            panels[f"{scheme_id}: {panel}"] = lines
    if panels:
        plot_panels(panels, str(out / "fig5_codebook_size.png"), "Es/N0 (dB)", "accuracy",
                    "Fig. 5: accuracy vs codebook size J", (0, 1), columns=2)
    return {"snr_db": list(s.snr),
            "sweeps": {scheme_id: {str(j): c for j, c in curves.items()} for scheme_id, curves in sweeps.items()}}


def fig6(ev: Evaluator, out: Path) -> dict:
    s = ev.settings
    curves = {}
    for scheme in ev.progress(ev.schemes, "fig6"):
        curves[scheme.name] = [_value(ev.accuracy(scheme, s.eps_snr, eps)) for eps in s.eps]
    plot_panels({f"Es/N0 = {s.eps_snr:g} dB": {n: (list(s.eps), c) for n, c in curves.items()}},
                str(out / "fig6_accuracy_vs_eps.png"), "eps (L-inf)", "accuracy",
                "Fig. 6: accuracy vs power of semantic noise", (0, 1))
    return {"snr_db": s.eps_snr, "eps": list(s.eps), "curves": curves}


def fig7(ev: Evaluator, out: Path) -> dict:
    s = ev.settings
    scheme = next((x for x in ev.schemes if x.scheme == s.proposed and x.differentiable), None)
    if scheme is None:
        ev.lack("fig7", f"needs the PyTorch weights of a {s.proposed} model (its ONNX files fix the number of "
                        f"kept patches T): a checkpoint matching the card or weights recoverable from its ONNX files")
        return {}
    views = [ReservedView(scheme.torch_model, ratio) for ratio in s.ratios]
    curves = {}
    for eps in ev.progress(s.ratio_eps, "fig7"):
        curves[eps_label(eps)] = [accuracy(view, ev.data, s.eps_snr, ev.link(scheme, view), ev.attack(eps),
                                           s.batch_size, seed=s.seed)["accuracy"] for view in views]
    plot_panels({f"{scheme.name}, Es/N0 = {s.eps_snr:g} dB": {f"eps = {k}": (list(s.ratios), c)
                                                              for k, c in curves.items()}},
                str(out / "fig7_reserving_ratio.png"), "reserving ratio (1 - masking ratio)", "accuracy",
                "Fig. 7: accuracy vs reserving ratio", (0, 1))
    return {"scheme": scheme.name, "snr_db": s.eps_snr, "reserving_ratio": list(s.ratios),
            "num_tokens": [v.config.num_tokens for v in views], "eps": list(s.ratio_eps), "curves": curves}


def _usage(model, images: torch.Tensor, size: int, batches) -> list:
    with torch.no_grad():
        counts = sum(torch.bincount(model.encode(images[b]).reshape(-1), minlength=size) for b in batches)
    return (counts.double() / counts.sum()).tolist()


def fig9(ev: Evaluator, out: Path) -> dict:
    result, panels = {}, {}
    for scheme in ev.progress([x for x in ev.schemes if x.family == "digital"], "fig9"):
        model, size = scheme.model().eval(), int(scheme.card["config"]["codebook_size"])
        fim = bool(scheme.card["config"].get("fim_layers"))
        entry = {"fim": fim, "codebook_size": size, "clean": _usage(model, ev.images, size, ev.batches()),
                 "semantic_noise": (_usage(model, ev.adversarial(scheme), size, ev.batches())
                                    if scheme.differentiable else None)}
        result[scheme.name] = entry
        order = np.argsort(entry["clean"])[::-1]
        ranks = list(range(size))
        panel = {"clean": (ranks, [entry["clean"][i] for i in order])}
        if entry["semantic_noise"] is not None:
            panel[f"semantic noise (eps = {eps_label(ev.settings.noise_eps)})"] = (
                ranks, [entry["semantic_noise"][i] for i in order])
        panels[f"{'with' if fim else 'without'} FIM: {scheme.name}"] = panel
    for fim in (True, False):
        if not any(e["fim"] == fim for e in result.values()):
            ev.lack(f"fig9 {'with' if fim else 'without'} FIM", "no digital (masked VQ-VAE) model card of that kind")
    if panels:
        plot_panels(panels, str(out / "fig9_activation_frequency.png"), "codebook index (sorted by clean usage)",
                    "activation frequency", "Fig. 9: codebook index usage on the test images")
    return {"order": "per-index frequencies in index order; the plot sorts by clean usage", "schemes": result}


def _codebook_vectors(scheme: Scheme) -> torch.Tensor | None:
    if scheme.torch_model is not None:
        return scheme.torch_model.codebook.vectors.detach()
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(scheme.prefix + ".encoder.onnx").graph
    found = [numpy_helper.to_array(t) for t in graph.initializer if t.name.endswith("codebook.vectors")]
    return torch.from_numpy(found[0].copy()) if found else None


def _train_config(ev: Evaluator, scheme: Scheme) -> dict | None:
    """The scheme's training config ``<models_dir>/configs/<name>.yaml`` (validated), None when absent."""
    from ..train import config as train_config

    path = Path(ev.settings.models_dir) / "configs" / f"{scheme.name}.yaml"
    return train_config.load(str(path)) if path.is_file() else None


def _similarity_weight(ev: Evaluator, scheme: Scheme) -> float | None:
    config = _train_config(ev, scheme)
    return None if config is None else float(config["train"]["similarity_weight"])


#: largest codebook whose similarity matrix fig 10 draws and stores (J = 1024 would be a million numbers)
HEATMAP_MAX_J = 256


def fig10(ev: Evaluator, out: Path) -> dict:
    """Cosine similarity of the codebook vectors of every digital model: the mean absolute and the largest
    off-diagonal value, and the matrix (heat map) up to ``HEATMAP_MAX_J`` vectors for the main models and
    the ablations whose weight of loss (15) differs from their main model's (the figure's comparison)."""
    from ..nn.codebook import Codebook

    result, matrices = {}, {}
    digital = [x for x in ev.models() if x.family == "digital"]
    weights = {x.name: _similarity_weight(ev, x) for x in digital}
    main_weight = {x.scheme: weights[x.name] for x in ev.schemes if x.name in weights}
    for scheme in digital:
        vectors = _codebook_vectors(scheme)
        if vectors is None:
            ev.lack(f"fig10 {scheme.name}", "no codebook.vectors initializer in the encoder ONNX file")
            continue
        codebook = Codebook(*vectors.shape)
        codebook.vectors.data.copy_(vectors)
        matrix = codebook.similarity_matrix().numpy()
        off = matrix[~np.eye(len(matrix), dtype=bool)]
        weight = weights[scheme.name]
        drawn = len(matrix) <= HEATMAP_MAX_J and (scheme in ev.schemes or weight != main_weight.get(scheme.scheme))
        result[scheme.name] = {"similarity_weight": weight, "mean_abs_off_diagonal": float(np.abs(off).mean()),
                               "max_off_diagonal": float(off.max()),
                               "matrix": np.round(matrix, 4).tolist() if drawn else None}
        loss = ("loss (15) unknown" if weight is None else
                f"with loss (15), weight {weight:g}" if weight else "without loss (15)")
        if drawn:
            matrices[f"{scheme.name}: {loss}"] = matrix
    for with_loss in (True, False):
        if not any(e["similarity_weight"] is not None and (e["similarity_weight"] > 0) == with_loss
                   for e in result.values()):
            ev.lack(f"fig10 {'with' if with_loss else 'without'} loss (15)",
                    "no digital model card with that similarity weight (read from <models_dir>/configs/<name>.yaml)")
    if matrices:
        plot_heatmaps(matrices, str(out / "fig10_codebook_similarity.png"),
                      "Fig. 10: cosine similarity of the codebook basis vectors")
    return result


def table2(ev: Evaluator, out: Path | None) -> dict:
    """Channel symbols per image of every model, JPEG measured, and the proposed codec's code choices (their
    FER curves drawn into ``out`` unless None)."""
    link = LinkConfig(modulation=ev.settings.modulation, code=ev.settings.code)
    rows = {}
    for scheme in ev.models():
        info = scheme.info
        if scheme.family == "digital":
            rows[scheme.name] = {"scheme": scheme.scheme, **digital_overhead(info.alphabet, info.num_tokens, link)}
        elif scheme.family == "analog":
            rows[scheme.name] = {"scheme": scheme.scheme, **analog_overhead(info.num_tokens)}
    settings = ev.jpeg_settings()
    rows["jpeg_ldpc (measured)"] = {"scheme": "jpeg_ldpc", **jpeg_overhead(ev.images.numpy(), settings, link)}
    table = overhead_table(rows, link)
    proposed = next((x for x in ev.schemes if x.scheme == ev.settings.proposed and x.family == "digital"), None)
    if proposed is None:
        ev.lack("table2 code choices", f"no digital {ev.settings.proposed} model")
    else:
        table["code_choices"] = _code_choices(ev, proposed, link, out)
    return table


def _code_choices(ev: Evaluator, scheme: Scheme, link: LinkConfig, out: Path | None) -> dict:
    """Table II's code choices for ``scheme``'s frame, with their FER curves drawn into ``out`` (unless None)."""
    codes = [name for name in CODE_IDS if name.startswith("wifi")]
    choices = code_choices(scheme.info.alphabet, scheme.info.num_tokens, link, codes, channel=ev.settings.channel,
                           max_frames=ev.settings.code_frames, seed=ev.settings.seed)
    if out is not None:
        curves = {f"{code} ({row['payload_symbols']} symbols)": (choices["snr_db"], [f or None for f in row["fer"]])
                  for code, row in choices["rows"].items()}
        plot_panels({f"{scheme.name}: {scheme.info.num_tokens} indices per frame": curves},
                    str(out / "table2_code_choices.png"), "Es/N0 (dB)", "frame error rate",
                    f"Table II: code choices ({link.modulation}, {ev.settings.channel})", logy=True)
    return {"scheme": scheme.name, **choices}


def _keep_set(scheme: Scheme) -> list[int]:
    """The patch positions whose indices ``scheme`` sends: its PyTorch model's, else the card's recorded
    ``masking_state``, else the keep set its config builds."""
    if scheme.torch_model is not None:
        return scheme.torch_model.inference_keep.tolist()
    recorded = (scheme.card.get("masking_state") or {}).get("inference_keep")
    return recorded if recorded is not None else card_model(scheme.card).inference_keep.tolist()


def _recorded_noise_energy(card: dict) -> list | None:
    """The per-patch PGD noise energy a noise-related masking was chosen from (the card's training history)."""
    records = [r["noise_masking"] for r in card.get("training", {}).get("history", []) if r.get("noise_masking")]
    return records[0]["patch_noise_energy"] if records else None


def masking(ev: Evaluator, out: Path) -> dict:
    """The keep set each digital model deploys (the patches it sends the indices of, on its patch grid) and,
    for the noise-related masking strategy, the PGD noise energy per patch the keep set was chosen from (as
    the card's training history records it). Drawn as grid maps for the main models and the ablations whose
    keep set or masking differs from their main model's; 1 = sent, energy scaled to its maximum. With the
    energy, ``energy_vs_intensity``: its Pearson correlation with the test images' mean intensity per patch
    (L-inf noise is clipped at the [0, 1] bounds, so it is weak on black background)."""
    result, maps = {}, {}
    main_keep = {}
    for scheme in [x for x in ev.models() if x.family == "digital"]:
        config = scheme.card["config"]
        grid = [config["image_shape"][1] // config["patch"], config["image_shape"][2] // config["patch"]]
        keep = _keep_set(scheme)
        energy = _recorded_noise_energy(scheme.card)
        result[scheme.name] = {"masking": config["masking"], "keep_layout": config.get("keep_layout", "spread"),
                               "grid": grid, "inference_keep": keep, "patch_noise_energy": energy}
        if energy is not None:
            intensity = patchify(ev.images, config["patch"]).mean(dim=(0, 2)).numpy()
            result[scheme.name]["energy_vs_intensity"] = float(np.corrcoef(energy, intensity)[0, 1])
        if scheme in ev.schemes:
            main_keep[scheme.scheme] = keep
        elif keep == main_keep.get(scheme.scheme) and energy is None:
            continue
        sent = np.zeros(grid[0] * grid[1])
        sent[keep] = 1.0
        maps[f"{scheme.name}\nsent patches ({config['masking']} masking)"] = sent.reshape(grid)
        if energy is not None:
            maps[f"{scheme.name}\nPGD noise energy per patch"] = (np.asarray(energy) / max(energy)).reshape(grid)
    if maps:
        plot_heatmaps(maps, str(out / "masking_keep_sets.png"), "Masking: the patches each codec sends",
                      vmin=0.0, vmax=1.0, axis_labels=("patch column", "patch row"))
    return result


def _differences(main: dict, other: dict, path: str = "") -> dict:
    """``{"section.key": [main value, other value]}`` for every leaf that differs (``name`` excluded)."""
    found = {}
    for key in sorted(set(main) | set(other)):
        here = f"{path}{key}"
        a, b = main.get(key), other.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found.update(_differences(a, b, here + "."))
        elif a != b and here != "name":
            found[here] = [a, b]
    return found


def ablations(ev: Evaluator) -> dict:
    """Each ablation card next to its scheme's main model: clean and semantic-noise accuracy at ``eps_snr``
    and the training-config entries in which they differ (from ``<models_dir>/configs/<name>.yaml``)."""
    s = ev.settings
    main = {x.scheme: x for x in ev.schemes}
    rows = {}
    for scheme in ev.progress(ev.ablations, "ablations"):
        reference = main.get(scheme.scheme)
        row = {"scheme": scheme.scheme, "main": reference.name if reference else None, "differs": None}
        for key, eps in (("clean", 0.0), ("semantic_noise", s.noise_eps)):
            row[key] = _value(ev.accuracy(scheme, s.eps_snr, eps))
            row[f"main_{key}"] = _value(ev.accuracy(reference, s.eps_snr, eps)) if reference else None
        configs = (_train_config(ev, reference) if reference else None), _train_config(ev, scheme)
        if None not in configs:
            row["differs"] = _differences(*configs)
        rows[scheme.name] = row
    return {"snr_db": s.eps_snr, "eps": s.noise_eps, "attack": ev.attack(s.noise_eps), "rows": rows}


def table3(ev: Evaluator, out: Path) -> dict:
    """Accuracy of every target under the noise crafted on every source: the differentiable schemes (white-box
    on the diagonal, transfer elsewhere) and the black-box surrogates (``black_box_sources``); also drawn as
    an annotated heat map."""
    s = ev.settings
    sources = [x for x in ev.schemes if x.differentiable] + ev.surrogates
    if not ev.surrogates:
        ev.lack("table3 ResNet-based model", "no attack surrogate card in "
                f"{Path(s.models_dir) / 'surrogates'} (semcomm train models/configs/resnet_surrogate.yaml)")
    table = {t.name: {} for t in ev.schemes}
    for source in ev.progress(sources, "table3"):
        adversarial = ev.adversarial(source)
        for target in ev.schemes:
            table[target.name][source.name] = ev.accuracy_on(target, adversarial)
    if sources:
        plot_accuracy_table(table, [x.name for x in sources], str(out / "table3_transfer_attacks.png"),
                            f"Table III: accuracy under PGD noise (eps {eps_label(s.noise_eps)}, {s.eps_snr:g} dB) "
                            "crafted on each source", "noise crafted on", "target")
    return {"snr_db": s.eps_snr, "eps": s.noise_eps, "attack": ev.attack(s.noise_eps),
            "sources": [x.name for x in sources], "black_box_sources": [x.name for x in ev.surrogates],
            "targets": [x.name for x in ev.schemes], "accuracy": table,
            "white_box": {x.name: table[x.name][x.name] for x in sources if x.name in table},
            "receiver_side": receiver_table(ev, out)}


# ----------------------------------------------------------------------------------------------- setup
def _load_data(settings: ReportSettings):
    from ..data import load_dataset

    data = load_dataset(settings.dataset, "test", root=settings.data_root)
    return data.subset(np.arange(min(settings.images, len(data))))


def _usable(schemes: list[Scheme], data, missing: list) -> list[Scheme]:
    """The classification schemes of the paper whose image shape is the data's; the others go to ``missing``."""
    usable = []
    for scheme in schemes:
        info = scheme.info
        if scheme.scheme not in PAPER_SCHEMES or info.task != "classification":
            reason = f"{scheme.scheme} ({info.task}) is not one of the classification schemes of this report"
        elif tuple(info.image_shape) != tuple(data.image_shape):
            reason = f"image shape {info.image_shape} differs from the data's {data.image_shape}"
        else:
            usable.append(scheme)
            continue
        missing.append({"item": f"scheme {scheme.name}", "reason": reason})
    return usable


def _labelled_for(schemes: list[Scheme], data, missing: list):
    """``(schemes, data)``: the data with labels indexing the first scheme's class names (matched by name,
    :func:`semcomm.data.match_classes`: an image folder's labels index its sorted class folders), and the
    schemes with those class names; the others go to ``missing``."""
    if not schemes:
        return schemes, data
    classes = list(schemes[0].info.classes)
    same = [x for x in schemes if list(x.info.classes) == classes]
    missing += [{"item": f"scheme {x.name}", "reason": f"classes {list(x.info.classes)} differ from those of "
                 f"{schemes[0].name}, {classes}, which the labels index"} for x in schemes if x not in same]
    return same, match_classes(data, classes)


def _surrogate_mismatch(surrogate: Scheme, data) -> str | None:
    """Why a black-box surrogate cannot attack the data (image shape or class names differ), or None."""
    if tuple(surrogate.card["config"]["image_shape"]) != tuple(data.image_shape):
        return f"image shape {surrogate.card['config']['image_shape']} differs from the data's {data.image_shape}"
    if list(surrogate.card["classes"]) != list(data.classes):
        return f"classes {surrogate.card['classes']} differ from the labels' {list(data.classes)}"
    return None


def evaluator(settings: ReportSettings, torch_weights: bool = True) -> Evaluator:
    """The test images, the usable schemes (with PyTorch weights when ``torch_weights``: checkpoints from
    ``settings.run_dir`` or recovered from the ONNX files) and the ``missing`` list started with the absent
    paper schemes and the attacks of schemes without PyTorch weights."""
    check_selection(settings.models_dir, settings.only_models)
    torch.manual_seed(settings.seed)
    data = _load_data(settings)
    missing = []
    usable, data = _labelled_for(_usable(discover(settings.models_dir, settings.run_dir, torch_weights,
                                                  settings.only_models), data, missing), data, missing)
    schemes, ablations = split_ablations(usable, settings.main_models)
    present = {x.scheme for x in schemes}
    missing += [{"item": f"scheme {name}", "reason": f"no usable model card with scheme {name} in "
                                                      f"{settings.models_dir}"}
                for name in PAPER_SCHEMES if name not in present]
    found, problems = discover_surrogates(settings.models_dir, settings.only_models)
    surrogates = [x for x in found if _surrogate_mismatch(x, data) is None]
    problems += [{"item": f"surrogate {x.name}", "reason": _surrogate_mismatch(x, data)}
                 for x in found if x not in surrogates]
    ev = Evaluator(settings, schemes, data, missing + problems, ablations, surrogates)
    for scheme in ev.models():
        if torch_weights and not scheme.differentiable:
            ev.lack(f"semantic noise: {scheme.name}", "white-box PGD needs the PyTorch weights of the card "
                    f"(<run_dir>/<name>/checkpoint.pt or recovered from the ONNX files): {'; '.join(scheme.notes)}")
    torch.manual_seed(settings.seed)  # the sections' random draws do not depend on the models built above
    return ev


#: report.json key -> section; sections with a PNG take (evaluator, output directory), tables the evaluator
FIGURES = (("fig4", fig4), ("fig5", fig5), ("fig6", fig6), ("fig7", fig7), ("fig8", fig8), ("fig9", fig9),
           ("fig10", fig10),
           ("table2", table2), ("table3", table3), ("masking", masking))
TABLES = (("ablations", ablations),)
