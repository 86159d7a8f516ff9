"""Testbed (radio/modem/attacker) configuration: ``hw_configs/*.yaml`` validated by a JSON schema.

Every field has its allowed range and default in :data:`SCHEMA` (one place); a config may leave any
field out and :func:`load_testbed_config` returns a plain dict with all defaults filled in. Unknown
keys are errors. Loading, ``extends``, dotted overrides and :class:`semcomm.config.ConfigError` (naming
the path ``channel/snr_db``, the bad value and what is allowed) are :mod:`semcomm.config`'s; the link and
channel fields are spelled as in the training configs (:mod:`semcomm.config.link`). Loopback and B210
configs differ only in ``endpoints``.

Units: ``channel.snr_db`` is Es/N0 in dB; ``channel.cfo`` cycles per symbol, plus ``channel.cfo_ppm`` of the centre
frequency (``endpoints.uhd.center_freq`` at ``sample_rate``, defaults for an emulated link); the receiver's hardware
(:class:`semcomm.channel.stream.FrontEnd`): ``channel.multipath`` taps ``[delay samples, power dB, phase degrees]``
(normalised to unit energy), ``clock_ppm`` the receiver's sample clock against the transmitter's
(:class:`semcomm.channel.stream.ClockOffset`), ``phase_noise_hz`` the LO's 3-dB linewidth, ``iq_gain_db`` / ``iq_phase_deg`` the IQ
imbalance, ``dc_offset_db`` a DC offset relative to the transmitter's power per sample (null: none); ``channel.timing_offset``
samples (fractional allowed); ``channel.fading_block`` samples per fading gain; ``attacker.psr_db`` the
perturbation-to-signal power ratio in dB (:mod:`semcomm.channel.attacker`); ``attacker.tone_freq`` cycles
per sample; ``attacker.h_a`` the attacker channel gain ``|H_a|`` and ``h_a_phase`` its phase in radians, ``h_a_fading``
(``h_a_k_factor_db``) its block fading, ``h_a_cfo`` its carrier offset in cycles per symbol and ``h_a_delay`` its
timing error in samples (:class:`semcomm.channel.stream.StreamChannel`); ``attacker.link_wait_ms`` how long the ZMQ
channel waits for a present attacker's samples before it goes on without them (:mod:`semcomm.testbed.zmq_link`);
``attacker.sense_threshold`` the absolute per-sample power of the sensed transmitter stream above which a
``frame_aligned`` jammer transmits (see :class:`semcomm.channel.jammer.StreamJammer`; a frame on the air
has power ``1 / sps``, so ``0.5 / sps`` = 0.125 at ``sps = 4`` splits frames from silence);
``attacker.kind`` ``perturbation`` plays the file ``attacker.perturbation`` (:mod:`semcomm.attacks.perturbation`)
in an ``attacker.sync`` mode with ``attacker.latency`` samples of processing delay and ``attacker.learn_frames``
(:mod:`semcomm.channel.attacker_radio`), the jammers (``gaussian``, ``tone``) use ``attacker.mode``; the attacker
senses the transmitter through its own channel: ``attacker.sense_snr_db`` Es/N0 at its antenna, ``sense_cfo``
cycles per symbol, ``sense_delay`` samples;
``capture.path`` records SigMF at ``capture.taps`` (``<path>.<tap>.sigmf-data``/``-meta``; the loopback has
``tx``, ``channel`` (what the receiver gets) and ``attacker``, a receiver graph ``rx``; :mod:`semcomm.capture`),
its metadata rewritten every ``capture.checkpoint_s`` seconds;
``modem.cfo_search_ppm`` the carrier offset (ppm of the radio's centre frequency) the receiver's preamble detector
searches (:class:`semcomm.phy.sync.FrameSynchronizer`, frequency hypotheses; 0: its own +-0.03 cycles/symbol only);
``data.images_per_s`` images per second (0: unpaced, as fast as the chain takes them; the testbed graphs
keep at most :data:`semcomm.testbed.pacing.DEFAULT_LIMIT` images in flight either way).
"""
from __future__ import annotations

import copy

from .. import config as configs
from ..config.link import CHANNEL, CHANNEL_DEFAULTS, ES_N0_DB, LINK, code_problems
from ..config.schema import NAME_PATTERN, enum, fill_defaults, integer, number, schema_problems, section, \
    with_defaults
from ..data import DATASETS, SPLITS
from ..phy.ldpc import DECODER_ALGORITHMS
from ..channel.attacker_radio import SYNC_MODES
from ..phy.qam import LLR_METHODS

DEFAULT_MODEL = "models/masked_vqvae_fim_at"

ATTACKER_KINDS = ("gaussian", "tone", "perturbation")
CAPTURE_TAPS = ("tx", "channel", "attacker", "rx")  #: where a graph can record (channel: the receiver's input)
_SEED = {"type": "integer", "minimum": 0, "default": 1}
_ENDPOINT = {"type": "string", "pattern": "^tcp://"}
RADIO_ROLES = ("transmitter", "receiver", "attacker")  #: the radios of a B210 testbed
B210_MAX_RATE = 61.44e6  #: the B210's highest master clock (and sample) rate, Hz
#: one USRP B210 (UHD); ranges from the B210's data sheet (AD9361: 70 MHz - 6 GHz, gains in 0.25 dB steps)
RADIO = section({
    "serial": {"type": "string", "default": ""},
    "args": {"type": "string", "default": "type=b200"},
    "clock_source": enum(["internal", "external", "gpsdo"], "internal"),
    "time_source": enum(["internal", "external", "gpsdo"], "internal"),
    "master_clock_rate": number(5e6, B210_MAX_RATE, 32e6),
    "sample_rate": number(0, B210_MAX_RATE, 1e6, exclusive=True),
    "center_freq": number(70e6, 6e9, 2.45e9),
    "lo_offset": number(-30e6, 30e6, 0),
    "tx_gain": number(0, 89.75, 60),
    "rx_gain": number(0, 76, 40),
    "tx_antenna": enum(["TX/RX"], "TX/RX"),
    "rx_antenna": enum(["RX2", "TX/RX"], "RX2"),
    "tx_amplitude": number(0, 1, 0.25, exclusive=True),
}, default={})

SCHEMA = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": NAME_PATTERN, "default": "testbed"},
        "model": {"type": "string", "minLength": 1, "default": DEFAULT_MODEL},
        "data": section({
            "dataset": enum(DATASETS, "fashion-mnist"),
            "path": {"type": ["string", "null"], "default": None},
            "split": enum(SPLITS, "test"),
            "num_images": integer(1, default=100),
            "start": integer(0, default=0),
            "images_per_s": number(0, default=0),
            "seed": {"type": ["integer", "null"], "minimum": 0, "default": None},
        }, default={}),
        "modem": section({
            **with_defaults(LINK, {"modulation": "16qam", "code": "wifi1944_r12"}),
            "decoder": enum(DECODER_ALGORITHMS, "nms"),
            "max_iterations": integer(1, 100, 20),
            "llr_method": enum(LLR_METHODS, "maxlog"),
            "sps": integer(2, 16, 4),
            "rolloff": number(0.05, 1, 0.35),
            "rrc_span": integer(4, 32, 8),
            "guard_symbols": integer(0, default=64),
            "detect_threshold": number(0, 1, 0.5),
            "cfo_search_ppm": number(0, 50, 0),
        }, default={}),
        "channel": section({
            "snr_db": {**ES_N0_DB, "default": 10},
            "cfo": number(-0.05, 0.05, 0),
            "timing_offset": number(0, default=0),
            **with_defaults(CHANNEL, CHANNEL_DEFAULTS),
            "fading_block": integer(1, default=1024),
            "cfo_ppm": number(-100, 100, 0),
            "clock_ppm": number(-100, 100, 0),
            "multipath": {"type": "array", "default": [], "maxItems": 32,
                          "items": {"type": "array", "minItems": 3, "maxItems": 3,
                                    "prefixItems": [integer(0, 9999), number(-60, 20), number(-360, 360)]}},
            "phase_noise_hz": number(0, 1e5, 0),
            "iq_gain_db": number(-6, 6, 0),
            "iq_phase_deg": number(-45, 45, 0),
            "dc_offset_db": {"type": ["number", "null"], "maximum": 20, "default": None},
            "seed": _SEED,
        }, default={}),
        "attacker": section({
            "enabled": {"type": "boolean", "default": False},
            "kind": enum(ATTACKER_KINDS, "gaussian"),
            "perturbation": {"type": ["string", "null"], "minLength": 1, "default": None},
            "sync": enum(SYNC_MODES, "reactive"),
            "latency": integer(0, default=0),
            "learn_frames": integer(2, 1000, 4),
            "mode": enum(["free_running", "frame_aligned"], "free_running"),
            "psr_db": number(-60, 30, -10),
            "tone_freq": number(-0.5, 0.5, 0.1, exclusive=True),
            "h_a": number(0, default=1),
            "h_a_phase": number(default=0),
            "h_a_fading": enum(["none", "rayleigh", "rician"], "none"),
            "h_a_k_factor_db": number(-20, 40, 0),
            "h_a_cfo": number(-0.05, 0.05, 0),
            "h_a_delay": number(0, default=0),
            "link_wait_ms": number(0, 60000, 1000),
            "seed": {**_SEED, "default": 2},
            "sense_window": integer(1, 4096, 64),
            "sense_threshold": number(0, default=0.125, exclusive=True),
            "sense_snr_db": {**ES_N0_DB, "default": 20},
            "sense_cfo": number(-0.05, 0.05, 0),
            "sense_delay": number(0, default=0),
        }, default={}),
        "capture": section({
            "path": {"type": ["string", "null"], "minLength": 1, "default": None},
            "taps": {"type": "array", "items": {"enum": list(CAPTURE_TAPS)}, "uniqueItems": True, "minItems": 1,
                     "default": ["channel"]},
            "checkpoint_s": number(0.05, 3600, 1.0),
        }, default={}),
        "endpoints": section({
            "tx_out": {**_ENDPOINT, "default": "tcp://127.0.0.1:55501"},
            "attacker_out": {**_ENDPOINT, "default": "tcp://127.0.0.1:55502"},
            "sense_out": {**_ENDPOINT, "default": "tcp://127.0.0.1:55504"},
            "channel_out": {**_ENDPOINT, "default": "tcp://127.0.0.1:55503"},
            "radios": {**section({role: {**RADIO, "default": {}} for role in RADIO_ROLES}),
                       "default": None, "type": ["object", "null"]},
        }, default={}),
    },
}


def validate(config: dict) -> dict:
    """The config with defaults filled in, or :class:`semcomm.config.ConfigError` listing every invalid field."""
    config = fill_defaults(SCHEMA, copy.deepcopy(config))
    problems = schema_problems(SCHEMA, config)
    if not problems:
        problems = (code_problems("modem/code", config["modem"]["code"]) + _data_problems(config["data"])
                    + _attacker_problems(config["attacker"]) + _radio_problems(config["endpoints"]["radios"]))
    configs.raise_problems("testbed config", problems)
    return config


def _data_problems(data: dict) -> list[str]:
    """Only Fashion-MNIST has a default location (:data:`semcomm.data.FASHION_MNIST_ROOT`)."""
    if data["dataset"] != "fashion-mnist" and data["path"] is None:
        return [configs.problem("data/path", f"None is not allowed for dataset {data['dataset']!r}",
                                "the directory holding the dataset")]
    return []


def _attacker_problems(attacker: dict) -> list[str]:
    """An enabled perturbation attacker needs its file (checked against the link when the graph starts)."""
    if attacker["enabled"] and attacker["kind"] == "perturbation" and attacker["perturbation"] is None:
        return [configs.problem("attacker/perturbation", "None is not allowed for an enabled attacker of kind 'perturbation'",
                                "a perturbation file (semcomm attack craft)")]
    return []


def _radio_problems(radios: dict | None) -> list[str]:
    """Each radio's master clock an integer multiple of its sample rate; the three radios on one link (the same
    sample rate and centre frequency)."""
    if radios is None:
        return []
    problems = []
    for role, radio in radios.items():
        ratio = radio["master_clock_rate"] / radio["sample_rate"]
        if abs(ratio - round(ratio)) > 1e-9 * ratio:
            problems.append(configs.problem(f"endpoints/radios/{role}/master_clock_rate",
                                            f"{radio['master_clock_rate']:g} Hz is {ratio:.4g} x the sample rate "
                                            f"{radio['sample_rate']:g} Hz", "an integer multiple of the sample rate "
                                            "(the FPGA decimates by integers)"))
    for field in ("sample_rate", "center_freq"):
        values = {role: radio[field] for role, radio in radios.items()}
        if len(set(values.values())) > 1:
            problems.append(configs.problem(f"endpoints/radios/*/{field}", f"the radios differ: {values}",
                                            "one value: the three radios share the link"))
    return problems


def load_testbed_config(path_or_dict, overrides: dict | None = None) -> dict:
    """Read (a path) or take (a dict) a testbed config, apply dotted ``overrides`` and validate it.

    Returns the config as a dict with every default filled in; raises :class:`semcomm.config.ConfigError`.
    """
    return configs.load(path_or_dict, "testbed config", validate, overrides)
