"""The schemes an evaluation compares: found from model cards, run as PyTorch models or through their ONNX files.

A scheme is one ``<models_dir>/<name>.card.json`` with its ONNX files (``semcomm.scheme`` says what it is).
Its PyTorch model is ``<run_dir>/<name>/checkpoint.pt`` (``semcomm train``'s checkpoint) when that file
exists *and* holds the card's weights: the model id computed from it as the exporter does
(:func:`semcomm.export.model_id.codec_model_id`) must equal the card's ``model_id``; a checkpoint of
other weights (e.g. retrained since the export) is not used, and the reason is recorded. Without such a
checkpoint the PyTorch model is recovered from the ONNX files themselves
(:func:`semcomm.export.recover.recover_weights`, accepted only when its model id equals the card's), so the
shipped zoo alone supports white-box work. Work that
needs gradients (white-box semantic noise) or other inference shapes (a different number of kept
patches) needs the PyTorch model; clean inference runs the ONNX files through adaptors that present
the PyTorch models' evaluation interface (:mod:`semcomm.eval.accuracy`, :mod:`semcomm.eval.jpeg`).
Nothing is invented: a scheme without a card is *missing*.

Black-box attack surrogates (:mod:`semcomm.export.surrogate`, ``<models_dir>/surrogates/*.card.json``) are
found by :func:`discover_surrogates`: PyTorch only, they craft transfer noise and are never evaluated.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..export.contract import load_card, parse_metadata
from ..export.runtime import CPU, OnnxImageClassifier, SemanticCodec
from ..nn.jscc import ViTJSCC
from ..nn.masked_vqvae import MaskedVQVAE, keep_positions
from ..registry import PAPER_SCHEMES, build_model, family
from ..train.ema import deployed_weights


def card_model(card: dict) -> torch.nn.Module:
    """The PyTorch model of a card's ``scheme`` and ``config`` (untrained weights; eval mode)."""
    return build_model(card["scheme"], card["config"]).eval()


# -------------------------------------------------------------------------------------- ONNX adaptors
class _OnnxCodec:
    """A digital codec's ONNX pair with the PyTorch model's ``encode`` / ``decode`` (tensors in, tensors out)."""

    def __init__(self, codec: SemanticCodec, config):
        self.codec, self.config = codec, config

    def eval(self):
        return self

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.codec.encode(images.numpy()))

    def decode(self, tokens: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.codec.decode(tokens.numpy(), snr_db.numpy())[0])


class _OnnxAnalogCodec(_OnnxCodec):
    """An analog JSCC pair; the channel between the files is :meth:`ViTJSCC.channel` (it has no weights)."""
    channel = ViTJSCC.channel


class _OnnxClassifier:
    """A JPEG scheme's ONNX classifier with :meth:`ViTClassifier.logits`."""

    def __init__(self, classifier: OnnxImageClassifier, config):
        self.classifier, self.config = classifier, config

    def eval(self):
        return self

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.classifier.classify(images.numpy()))


# --------------------------------------------------------------------------------------------- schemes
@dataclass
class Scheme:
    name: str
    scheme: str
    card: dict
    prefix: str                     #: ``<models_dir>/<name>``
    torch_model: torch.nn.Module | None = None
    notes: list = field(default_factory=list)
    _onnx: object = field(default=None, init=False, repr=False)

    @property
    def family(self) -> str:
        """``digital`` | ``analog`` | ``jpeg`` | ``surrogate`` (:mod:`semcomm.registry`)."""
        return family(self.scheme).name

    @property
    def info(self):
        """Parsed ``semcomm.*`` metadata of the card (:class:`semcomm.export.contract.ModelInfo`)."""
        return parse_metadata(self.card["metadata"], f"{self.name}.card.json")

    @property
    def differentiable(self) -> bool:
        return self.torch_model is not None

    def model(self):
        """The PyTorch model when available, else the ONNX adaptor (loaded once)."""
        if self.torch_model is not None:
            return self.torch_model
        if self._onnx is None:
            config = card_model(self.card).config
            if self.family == "jpeg":
                self._onnx = _OnnxClassifier(OnnxImageClassifier.from_prefix(self.prefix, [CPU], card=True), config)
            else:
                wrapper = _OnnxAnalogCodec if self.family == "analog" else _OnnxCodec
                self._onnx = wrapper(SemanticCodec.from_prefix(self.prefix, [CPU], card=True), config)
        return self._onnx

    def summary(self) -> dict:
        return {"name": self.name, "scheme": self.scheme, "model_id": self.card["model_id"],
                "weights": "pytorch" if self.differentiable else "onnx", "notes": list(self.notes)}


def load_checkpoint(card: dict, path: str) -> tuple[torch.nn.Module | None, str | None]:
    """``(model, None)`` when the checkpoint at ``path`` holds the card's weights, else ``(None, reason)``."""
    from ..export.model_id import codec_model_id

    state = torch.load(path, map_location="cpu", weights_only=True)
    try:
        model = card_model(card)
        model.load_state_dict(deployed_weights(state))
    except (RuntimeError, TypeError, ValueError) as err:  # another architecture or config
        return None, f"checkpoint {path} does not fit the card's config ({str(err).splitlines()[0]})"
    if codec_model_id(model) != card["model_id"]:
        return None, f"checkpoint {path} holds other weights than the card's model_id (retrained since the export?)"
    return model.eval(), None


def recover_from_onnx(scheme: Scheme) -> None:
    """Set ``scheme.torch_model`` from its ONNX files (model id verified), or note why that failed."""
    from ..export.recover import RecoveryError, recover_weights

    try:
        scheme.torch_model = recover_weights(card_model(scheme.card), scheme.card, scheme.prefix)
        scheme.notes.append("PyTorch weights recovered from the ONNX files (model id verified)")
    except RecoveryError as err:
        scheme.notes.append(f"PyTorch weights not recoverable from the ONNX files: {err}")


def _card_name(card_path: Path) -> str:
    """``<dir>/<name>.card.json`` -> ``<name>``."""
    return card_path.name[:-len(".card.json")]


def _selected(card_paths: list[Path], only: tuple) -> list[Path]:
    """The cards of ``only`` (all when empty)."""
    return [path for path in card_paths if not only or _card_name(path) in only]


def check_selection(models_dir, only: tuple):
    """ValueError naming each name of ``only`` with neither ``<models_dir>/<name>.card.json`` nor a surrogate
    card ``<models_dir>/surrogates/<name>.card.json``."""
    from ..export.surrogate import SURROGATES_DIR

    root = Path(models_dir)
    unknown = [name for name in only if not (root / f"{name}.card.json").is_file()
               and not (root / SURROGATES_DIR / f"{name}.card.json").is_file()]
    if unknown:
        raise ValueError(f"--only: no model card or surrogate named {', '.join(unknown)} in {models_dir}")


def discover(models_dir, run_dir=None, torch_weights: bool = True, only: tuple = ()) -> list[Scheme]:
    """Every ``<models_dir>/*.card.json`` (those named in ``only`` when given), sorted by the paper's scheme
    order then name, with its PyTorch model (``torch_weights``) from ``<run_dir>/<name>/checkpoint.pt`` when
    given, present and matching, else recovered from its ONNX files (module doc)."""
    order = {scheme: i for i, scheme in enumerate(PAPER_SCHEMES)}
    found = []
    for card_path in _selected(sorted(Path(models_dir).glob("*.card.json")), only):
        card = load_card(card_path)
        name = _card_name(card_path)
        scheme = Scheme(name, card["scheme"], card, str(Path(models_dir) / name))
        checkpoint = os.path.join(run_dir, name, "checkpoint.pt") if run_dir else None
        if checkpoint and os.path.isfile(checkpoint):
            scheme.torch_model, reason = load_checkpoint(card, checkpoint)
            if reason:
                scheme.notes.append(reason)
        elif checkpoint:
            scheme.notes.append(f"no PyTorch checkpoint {checkpoint}")
        if torch_weights and scheme.torch_model is None:
            recover_from_onnx(scheme)
        found.append(scheme)
    return sorted(found, key=lambda s: (order.get(s.scheme, len(order)), s.name))


def discover_surrogates(models_dir, only: tuple = ()) -> tuple[list[Scheme], list[dict]]:
    """``(surrogates, problems)``: every loadable ``<models_dir>/surrogates/*.card.json`` (those named in
    ``only`` when given) as a scheme with its PyTorch model, and ``{"item", "reason"}`` for each card that
    does not load."""
    from ..export.surrogate import SURROGATES_DIR, SurrogateError, load_surrogate

    found, problems = [], []
    for card_path in _selected(sorted((Path(models_dir) / SURROGATES_DIR).glob("*.card.json")), only):
        name = _card_name(card_path)
        try:
            model, card = load_surrogate(card_path)
        except SurrogateError as err:
            problems.append({"item": f"surrogate {name}", "reason": str(err)})
            continue
        found.append(Scheme(name, card["scheme"], card, str(card_path.parent / name), torch_model=model,
                            notes=["black-box attack surrogate (PyTorch weights, sha256 and model id verified)"]))
    return found, problems


def split_ablations(schemes: list[Scheme], main_names=()) -> tuple[list[Scheme], list[Scheme]]:
    """``(main, ablations)``: one main model per scheme id (the card named in ``main_names``, else the card
    named like its scheme, else the first by name), in the given order; the other cards of a scheme (e.g.
    ``masked_vqvae_j16``, another codebook size) are ablations, used only by the sections that compare them
    (figs 5, 10, table II, ablations). A name of ``main_names`` that is not among ``schemes``, or two of one
    scheme, is refused (ValueError)."""
    names = {x.name: x for x in schemes}
    unknown = [name for name in main_names if name not in names]
    if unknown:
        raise ValueError(f"main model(s) {', '.join(unknown)}: no usable model card of that name")
    schemes_named = [names[name].scheme for name in main_names]
    twice = sorted({s for s in schemes_named if schemes_named.count(s) > 1})
    if twice:
        raise ValueError(f"more than one main model named for scheme(s) {', '.join(twice)}")

    def rank(scheme: Scheme) -> int:
        return 2 if scheme.name in main_names else int(scheme.name == scheme.scheme)

    chosen = {}
    for scheme in schemes:
        if scheme.scheme not in chosen or rank(scheme) > rank(chosen[scheme.scheme]):
            chosen[scheme.scheme] = scheme
    main = [x for x in schemes if chosen[x.scheme] is x]
    return main, [x for x in schemes if chosen[x.scheme] is not x]


class ReservedView:
    """A masked VQ-VAE run with ``round(P * ratio)`` kept patches instead of its own ``T`` (Fig. 7, reserving
    ratio = 1 - masking ratio), at inference only: the same weights, the kept positions chosen by the model's
    own inference rule for that count (the top keep logits for noise-related masking, else the model's
    ``keep_layout``, :func:`~semcomm.nn.masked_vqvae.keep_positions`). Offers the evaluation interface of the
    model (``encode``, ``decode``, ``encode_features``, ``decode_vectors``, ``codebook``, ``config``)."""

    def __init__(self, model: MaskedVQVAE, ratio: float):
        cfg = model.config
        if not 0.0 < ratio <= 1.0:
            raise ValueError(f"reserving ratio must be in (0, 1], got {ratio}")
        self.model, self.codebook = model, model.codebook
        self.config = dataclasses.replace(cfg, mask_ratio=1.0 - ratio)
        count = self.config.num_kept
        if cfg.masking == "noise":
            self.keep = torch.sort(torch.topk(model.keep_logits, count).indices).values
        else:
            grid = (cfg.image_shape[1] // cfg.patch, cfg.image_shape[2] // cfg.patch)
            self.keep = keep_positions(cfg.keep_layout, *grid, count)

    def eval(self):
        self.model.eval()
        return self

    def _keep(self, batch: int) -> torch.Tensor:
        return self.keep[None, :].expand(batch, -1)

    def encode_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.encode_features(images, self._keep(len(images)))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.model.encode(images, self._keep(len(images)))

    def decode_vectors(self, vectors: torch.Tensor, snr_db: torch.Tensor):
        return self.model.decode_vectors(vectors, snr_db, self._keep(len(vectors)))

    def decode(self, indices: torch.Tensor, snr_db: torch.Tensor) -> torch.Tensor:
        indices = indices.clamp(0, self.config.codebook_size - 1)
        return self.decode_vectors(self.codebook.lookup(indices), snr_db)[0]
