"""Perturbation files (contract of ``../shared/DESIGN.md``): a crafted attack that an attacker radio plays.

One file ``<name>.perturbation.npz`` (numpy's zip of arrays, read with ``allow_pickle=False``) holds

* ``symbols``: complex64 ``[S]``, the waveform at the receiver's symbol rate for one frame, frame-aligned
  (symbol 0 is the first preamble symbol; zeros outside the attack's span), or ``[R, S]`` for a
  shift-robust sequence of ``R`` frames;
* ``samples``: complex64, the same pulse-shaped at the link's ``sps`` with its root-raised-cosine taps
  (:func:`semcomm.phy.pulse.shape`): what the attacker transmits, starting at the frame's first sample;
* ``metadata``: a JSON string, the fields of :class:`Perturbation` below: attack kind, scheme, model id,
  frame layout (modulation, code, payload bytes, frame and payload symbols, sps, roll-off), span, the PSR
  it was crafted for, the threat model, and the training images used (dataset, split, count, seed).

The waveform's scale is arbitrary: the player scales it to the PSR asked for over ``span``.
:func:`check_compatible` refuses a file whose model id or frame layout differs from the link's.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..phy.modem import FrameModem, LinkConfig
from ..phy.pulse import rrc_taps, shape

FORMAT = "semcomm.perturbation/1"
SUFFIX = ".perturbation.npz"
LAYOUT_KEYS = ("modulation", "code", "payload_bytes", "frame_symbols", "payload_symbols")


@dataclass
class Perturbation:
    symbols: np.ndarray            #: complex64 ``[S]`` or ``[R, S]`` (module doc)
    kind: str                      #: attack name (:data:`semcomm.attacks.base.ATTACKS`)
    scheme: str                    #: the victim card's name
    model_id: str                  #: the victim's model id (hex)
    layout: dict                   #: modulation, code, payload_bytes, frame_symbols, payload_symbols
    span: str                      #: payload | frame | preamble_header
    psr_db: float                  #: the PSR it was crafted for
    threat: dict                   #: :meth:`semcomm.attacks.threat.ThreatModel.to_dict`
    training: dict = field(default_factory=dict)  #: dataset, split, images, seed, ...
    sps: int = 4
    rolloff: float = 0.35
    extra: dict = field(default_factory=dict)     #: attack-specific figures (crafting loss, time, ...)

    def __post_init__(self):
        self.symbols = np.asarray(self.symbols, dtype=np.complex64)
        if self.symbols.ndim not in (1, 2) or self.symbols.shape[-1] != int(self.layout.get("frame_symbols", -1)):
            raise ValueError(f"perturbation symbols must have shape [S] or [R, S] with S = frame_symbols "
                             f"({self.layout.get('frame_symbols')}), got {list(self.symbols.shape)}")
        missing = [key for key in LAYOUT_KEYS if key not in self.layout]
        if missing:
            raise ValueError(f"perturbation layout lacks {', '.join(missing)}")

    def metadata(self) -> dict:
        meta = {key: value for key, value in asdict(self).items() if key != "symbols"}
        meta["format"] = FORMAT
        meta["sha256_symbols"] = hashlib.sha256(self.symbols.tobytes()).hexdigest()
        return meta

    def samples(self) -> np.ndarray:
        """The pulse-shaped waveform (one row per frame for a sequence), complex64."""
        taps = rrc_taps(self.sps, self.rolloff)
        rows = np.atleast_2d(self.symbols)
        shaped = np.stack([shape(row, taps, self.sps) for row in rows])
        return shaped[0] if self.symbols.ndim == 1 else shaped


def perturbation_path(out_dir, name: str) -> Path:
    return Path(out_dir) / f"{name}{SUFFIX}"


def save(perturbation: Perturbation, path) -> Path:
    """Write the file (``path`` gets the ``.perturbation.npz`` suffix if it lacks it); returns its path."""
    path = Path(path)
    if not path.name.endswith(SUFFIX):
        path = path.with_name(path.name + SUFFIX)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        np.savez(handle, symbols=perturbation.symbols, samples=perturbation.samples(),
                 metadata=np.array(json.dumps(perturbation.metadata(), sort_keys=True)))
    return path


def load(path) -> Perturbation:
    """Read and verify a perturbation file (ValueError naming the file and what is wrong)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no perturbation file {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            symbols, meta = data["symbols"], json.loads(str(data["metadata"]))
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"{path}: not a perturbation file ({err})") from None
    if meta.pop("format", None) != FORMAT:
        raise ValueError(f"{path}: format is not {FORMAT}")
    digest = meta.pop("sha256_symbols", None)
    if digest != hashlib.sha256(np.asarray(symbols, dtype=np.complex64).tobytes()).hexdigest():
        raise ValueError(f"{path}: the symbols do not match their recorded sha256")
    try:
        return Perturbation(symbols=symbols, **meta)
    except TypeError as err:
        raise ValueError(f"{path}: unexpected metadata ({err})") from None


def frame_layout(victim, payload_bytes: int) -> dict:
    """The layout fields of a victim's frame with ``payload_bytes`` payload bytes."""
    return link_layout(victim.link_config.modulation, victim.link_config.code, payload_bytes)


def link_layout(modulation: str, code: str, payload_bytes: int) -> dict:
    """The layout fields of a frame of ``payload_bytes`` payload bytes on a ``modulation`` + ``code`` link (what
    a perturbation file must match: :func:`check_compatible`)."""
    modem = FrameModem(LinkConfig(modulation=modulation, code=code))
    return {"modulation": modulation, "code": code, "payload_bytes": int(payload_bytes),
            "frame_symbols": int(modem.frame_symbols(payload_bytes)),
            "payload_symbols": int(modem.layout(payload_bytes).num_symbols)}


def check_compatible(perturbation: Perturbation, model_id: str, layout: dict) -> None:
    """ValueError unless the file was crafted for ``model_id`` and this frame ``layout``."""
    if perturbation.model_id != model_id:
        raise ValueError(f"perturbation crafted for model id {perturbation.model_id[:16]}..., the link's model id is "
                         f"{model_id[:16]}...")
    differs = {key: (perturbation.layout.get(key), layout.get(key)) for key in LAYOUT_KEYS
               if perturbation.layout.get(key) != layout.get(key)}
    if differs:
        detail = ", ".join(f"{key}: file {a!r}, link {b!r}" for key, (a, b) in differs.items())
        raise ValueError(f"perturbation frame layout differs from the link's ({detail})")
