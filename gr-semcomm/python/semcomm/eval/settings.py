"""Settings of ``semcomm eval``: the report's (:class:`ReportSettings`), the probes', and the number lists its
options take (:func:`parse_values`). Light: no torch, so the command line registers without loading it."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

from ..attacks.threat import ATTACKER_CHANNELS
from ..phy.modem import LinkConfig

CHANNELS = ("awgn", "rayleigh")
#: receivers of ``semcomm eval probe`` (:mod:`semcomm.eval.probe`)
PROBES = ("linear", "transformer")


@dataclass(frozen=True)
class ReportSettings:
    models_dir: str = "models"
    run_dir: str | None = "runs"
    dataset: str = "fashion-mnist"
    data_root: str | None = None
    images: int = 1000                     #: first test images used everywhere
    batch_size: int = 250
    snr: tuple = tuple(float(s) for s in range(-9, 19, 3))  #: Es/N0 (dB) of figs 4, 5
    eps: tuple = (0.0, 1 / 255, 2 / 255, 4 / 255, 8 / 255, 16 / 255)  #: fig 6
    noise_eps: float = 8 / 255             #: semantic noise of figs 4, 5, 9 and table III
    eps_snr: float = 12.0                  #: SNR of figs 6, 7, 9 and table III
    steps: int = 5                         #: PGD iterations K
    eot_draws: int = 1                     #: analog channel draws per PGD step (EOT; 1: one draw)
    channel: str = "awgn"
    modulation: str = "16qam"
    code: str = "wifi1944_r12"
    ratios: tuple = (0.1, 0.3, 0.5, 0.7, 0.9)  #: reserving ratios of fig 7
    ratio_eps: tuple = (0.0, 4 / 255, 8 / 255)  #: fig 7 curves
    codebook_sizes: tuple = (16, 64, 256, 1024)  #: J values fig 5 asks for
    proposed: str = "masked_vqvae_fim_at"  #: the scheme of fig 7 and of fig 5's first sweep
    main_models: tuple = ()                #: cards that stand for their scheme (default: named like it)
    only_models: tuple = ()                #: the model cards and surrogates to use (default: all of models_dir)
    jpeg_quality: int | None = None        #: None: the JPEG card's settings, else quality 75
    code_frames: int = 2000                #: at most this many frames per Es/N0 point of table II's code choices
    ssnr: tuple = tuple(float(x) for x in range(-5, 26, 5))  #: signal-to-semantic-noise ratios (dB) of fig 8
    craft_images: int = 2000               #: training images receiver-side noise is crafted on (figs 8, table III)
    craft_ssnr: float | None = None        #: SSNR (dB) it is crafted at (None: at each SSNR it is played at)
    receiver_ssnr: float = 0.0             #: SSNR (dB) of table III's receiver-side rows
    attacker_channel: str = "none"         #: H_a of the receiver-side noise (semcomm.attacks.threat)
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        if self.attacker_channel not in ATTACKER_CHANNELS:
            raise ValueError(f"unknown attacker channel {self.attacker_channel!r}; allowed: "
                             f"{', '.join(ATTACKER_CHANNELS)}")
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}; allowed: {', '.join(CHANNELS)}")
        if min(int(self.images), int(self.batch_size), int(self.steps), int(self.eot_draws),
               int(self.craft_images)) < 1:
            raise ValueError("images, batch_size, steps, eot_draws and craft_images must be >= 1")
        LinkConfig(modulation=self.modulation, code=self.code)  # names a bad modulation or code

    def quick(self) -> "ReportSettings":
        """A tiny sweep for tests and smoke runs: at most 16 images, SNR 0 and 12 dB, eps 0 and 8/255, reserving
        ratios 0.3 and 0.5, K = 2, 32 frames per point of the code choices, SSNR 0 and 10 dB crafted on 16
        training images."""
        return dataclasses.replace(self, images=min(self.images, 16), snr=(0.0, 12.0), eps=(0.0, 8 / 255),
                                   ratio_eps=(0.0, 8 / 255), ratios=(0.3, 0.5), steps=2, batch_size=16,
                                   code_frames=32, ssnr=(0.0, 10.0), craft_images=min(self.craft_images, 16))


def eps_label(eps: float) -> str:
    """``eps`` in grey levels, e.g. ``8/255``."""
    return f"{eps * 255:.3g}/255"


def parse_values(text: str) -> tuple:
    """Comma-separated numbers or fractions (``0,2/255,8/255``) -> floats; ``START:STOP[:STEP]`` for a range."""
    from ..sim.ber import parse_db_range

    if ":" in str(text):
        return tuple(float(v) for v in parse_db_range(text))
    try:
        return tuple(float(Fraction(part.strip())) for part in str(text).split(",") if part.strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"invalid list {text!r}: expected comma-separated numbers or fractions, e.g. 0,2/255,8/255, "
                         "or START:STOP[:STEP]") from None
