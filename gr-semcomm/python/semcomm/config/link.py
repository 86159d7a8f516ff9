"""The fields of the digital link and of the channel, spelled once for every config that has them.

- :data:`LINK`: ``modulation`` and LDPC ``code`` (a code name, an ``.alist`` path or ``none``: uncoded),
  checked beyond the schema by :func:`code_problems`; :data:`ES_N0_DB`, the Es/N0 in dB of one SNR value.
  A training config holds them in its ``link`` section (``snr_db`` a ``[low, high]`` training range), a
  testbed config in ``modem`` (``channel.snr_db`` the emulator's Es/N0).
- :data:`CHANNEL`: the ``channel`` section's fading model, ``fading`` (:data:`FADINGS`: ``none`` is AWGN
  alone, ``rayleigh``, ``rician``), and its ``k_factor_db`` (the Rician K factor in dB); defaults in
  :data:`CHANNEL_DEFAULTS`. The testbed's stream emulator adds how many samples one gain lasts
  (``fading_block``); the training chain draws one gain per symbol. The link simulator's spec
  (:class:`semcomm.sim.link.ChainSettings`) spells the fading model the same way.
- The command lines' ``--channel`` (``semcomm ber``, ``semcomm eval``), the BER sweep's
  :class:`~semcomm.sim.ber.FadingSpec` and the analog JSCC's model config (in its model cards) name a channel
  instead: ``awgn`` for no fading (:data:`FADING_OF_CHANNEL`, :func:`channel_name`).
"""
from __future__ import annotations

from ..phy.ldpc import get_code
from ..phy.qam import MODULATION_IDS
from .errors import problem
from .schema import enum, number

#: fading models: ``none`` (AWGN alone), flat ``rayleigh`` or ``rician`` fading
FADINGS = ("none", "rayleigh", "rician")

LINK = {"modulation": enum(MODULATION_IDS), "code": {"type": "string"}}
ES_N0_DB = number(-20, 60)
CHANNEL = {"fading": enum(FADINGS), "k_factor_db": number(-30, 40)}
CHANNEL_DEFAULTS = {"fading": "none", "k_factor_db": 6}
#: a channel's name (command lines, BER sweep, analog JSCC config) -> its fading model
FADING_OF_CHANNEL = {"awgn": "none", "rayleigh": "rayleigh", "rician": "rician"}


def channel_name(fading: str) -> str:
    """The name of the channel with fading model ``fading`` (``none``: ``awgn``), :data:`FADING_OF_CHANNEL`'s
    inverse."""
    return {model: name for name, model in FADING_OF_CHANNEL.items()}[fading]


def code_problems(path: str, code: str) -> list[str]:
    """The problem of the LDPC ``code`` at ``path``, if it names no code (``none``: uncoded, allowed)."""
    if code == "none":
        return []
    try:
        get_code(code)
    except (ValueError, OSError) as err:
        message, _, codes = str(err).partition("; allowed: ")
        return [problem(path, message, (codes or "a code name or a readable .alist file") + ", or 'none'")]
    return []
