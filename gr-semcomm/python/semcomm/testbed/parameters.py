"""The testbed flowgraphs' parameters and the testbed config fields they take their values from.

Every ``parameter`` block of ``flowgraphs/*.grc`` is a constructor argument (and command-line option) of the
compiled graph. :data:`FROM_CONFIG` is the one mapping between config fields and those parameters:
``tools/flowgraphs.py`` writes each parameter's default from the default of its field in
:data:`semcomm.testbed.config.SCHEMA` (:func:`parameter_defaults`), and ``semcomm run`` passes each the value
of its field in the run's config (:func:`parameter_values`). A field that may be null is passed as ``""``
(GRC type ``str``) or ``-1`` (``intx``), which the blocks read as "none" (``data.path``, ``data.seed``); the
radio's parameters come from the graph's radio in ``endpoints.radios`` (:data:`ROLE_RADIO`), a B210's defaults when a
config has no radios. :data:`OTHER` holds the
parameters no config field sets (the run's output files, the transmitter's amplitude).
"""
from __future__ import annotations

import json

from ..config.schema import fill_defaults
from .config import RADIO, load_testbed_config

NO_DC_OFFSET_DB = -300.0  #: what the channel emulator reads as "no DC offset" (a graph parameter cannot be -inf)


#: the radio (``endpoints.radios.<radio>``) whose fields a role's graph takes; other graphs take the receiver's
#: (an emulated link's centre frequency and sample rate, for a CFO in ppm)
ROLE_RADIO = {"tx_b210": "transmitter", "rx_b210": "receiver", "attacker_b210": "attacker"}


def _usrp_args(config: dict) -> str:
    """UHD device arguments: the radio's ``args``, ``serial=<serial>`` when set, and its master clock rate."""
    radio = config["radio"]
    parts = (radio["args"], f"serial={radio['serial']}" if radio["serial"] else "",
             f"master_clock_rate={radio['master_clock_rate']:.0f}")
    return ",".join(part for part in parts if part)


def _multipath(config: dict) -> str:
    """The channel's multipath taps as JSON (``[[delay, power dB, phase degrees], ...]``)."""
    return json.dumps(config["channel"]["multipath"])


def _dc_offset_db(config: dict) -> float:
    """``channel.dc_offset_db``; null (none) as :data:`NO_DC_OFFSET_DB`."""
    value = config["channel"]["dc_offset_db"]
    return NO_DC_OFFSET_DB if value is None else float(value)


def _capture_taps(config: dict) -> str:
    return ",".join(config["capture"]["taps"])


#: graph parameter -> (GRC type, the dotted testbed config field, or a function of the config, that sets it)
FROM_CONFIG = {
    "model": ("str", "model"),
    "dataset": ("str", "data.dataset"), "data_path": ("str", "data.path"), "split": ("str", "data.split"),
    "num_images": ("intx", "data.num_images"), "first_image": ("intx", "data.start"),
    "images_per_s": ("eng_float", "data.images_per_s"), "image_seed": ("intx", "data.seed"),
    "modulation": ("str", "modem.modulation"), "code": ("str", "modem.code"), "decoder": ("str", "modem.decoder"),
    "max_iterations": ("intx", "modem.max_iterations"), "llr_method": ("str", "modem.llr_method"),
    "sps": ("intx", "modem.sps"), "rolloff": ("eng_float", "modem.rolloff"), "rrc_span": ("intx", "modem.rrc_span"),
    "guard_symbols": ("intx", "modem.guard_symbols"), "threshold": ("eng_float", "modem.detect_threshold"),
    "cfo_search_ppm": ("eng_float", "modem.cfo_search_ppm"),
    "snr_db": ("eng_float", "channel.snr_db"), "cfo": ("eng_float", "channel.cfo"),
    "timing_offset": ("eng_float", "channel.timing_offset"), "fading": ("str", "channel.fading"),
    "k_factor_db": ("eng_float", "channel.k_factor_db"), "fading_block": ("intx", "channel.fading_block"),
    "channel_seed": ("intx", "channel.seed"), "cfo_ppm": ("eng_float", "channel.cfo_ppm"),
    "clock_ppm": ("eng_float", "channel.clock_ppm"),
    "multipath": ("str", _multipath), "phase_noise_hz": ("eng_float", "channel.phase_noise_hz"),
    "iq_gain_db": ("eng_float", "channel.iq_gain_db"), "iq_phase_deg": ("eng_float", "channel.iq_phase_deg"),
    "dc_offset_db": ("eng_float", _dc_offset_db),
    "attack": ("intx", "attacker.enabled"), "attacker_kind": ("str", "attacker.kind"),
    "attacker_mode": ("str", "attacker.mode"), "psr_db": ("eng_float", "attacker.psr_db"),
    "tone_freq": ("eng_float", "attacker.tone_freq"), "h_a_gain": ("eng_float", "attacker.h_a"),
    "h_a_phase": ("eng_float", "attacker.h_a_phase"),
    "h_a_fading": ("str", "attacker.h_a_fading"), "h_a_k_factor_db": ("eng_float", "attacker.h_a_k_factor_db"),
    "h_a_cfo": ("eng_float", "attacker.h_a_cfo"), "h_a_delay": ("eng_float", "attacker.h_a_delay"),
    "link_wait_ms": ("eng_float", "attacker.link_wait_ms"), "attacker_seed": ("intx", "attacker.seed"),
    "sense_window": ("intx", "attacker.sense_window"), "sense_threshold": ("eng_float", "attacker.sense_threshold"),
    "perturbation": ("str", "attacker.perturbation"), "attacker_sync": ("str", "attacker.sync"),
    "attacker_latency": ("intx", "attacker.latency"), "learn_frames": ("intx", "attacker.learn_frames"),
    "sense_snr_db": ("eng_float", "attacker.sense_snr_db"), "sense_cfo": ("eng_float", "attacker.sense_cfo"),
    "sense_delay": ("eng_float", "attacker.sense_delay"), "sense_out": ("str", "endpoints.sense_out"),
    "tx_out": ("str", "endpoints.tx_out"), "attacker_out": ("str", "endpoints.attacker_out"),
    "channel_out": ("str", "endpoints.channel_out"),
    "usrp_args": ("str", _usrp_args), "sample_rate": ("eng_float", "radio.sample_rate"),
    "center_freq": ("eng_float", "radio.center_freq"), "lo_offset": ("eng_float", "radio.lo_offset"),
    "tx_gain": ("eng_float", "radio.tx_gain"), "rx_gain": ("eng_float", "radio.rx_gain"),
    "rx_antenna": ("str", "radio.rx_antenna"), "tx_antenna": ("str", "radio.tx_antenna"),
    "clock_source": ("str", "radio.clock_source"), "time_source": ("str", "radio.time_source"),
    "tx_amplitude": ("eng_float", "radio.tx_amplitude"),
    "capture_path": ("str", "capture.path"), "capture_taps": ("str", _capture_taps),
    "capture_checkpoint_s": ("eng_float", "capture.checkpoint_s"),
}
#: graph parameter -> (GRC type, default) of the parameters no config field sets
OTHER = {
    "metrics_path": ("str", ""), "tx_log_path": ("str", "results/zmq/tx_log.jsonl"),  # set by semcomm run
    "capture_config": ("str", "{}"),  # set by semcomm run: the run's whole config as JSON, kept in recordings
}


def parameter_values(config: dict, names, role: str | None = None) -> dict:
    """The value of each graph parameter in ``names`` that a field of the validated ``config`` sets, the radio's
    fields (``radio.*``) from the ``role``'s radio (:data:`ROLE_RADIO`)."""
    config = _with_radio(config, ROLE_RADIO.get(role, "receiver"))
    return {name: _typed(FROM_CONFIG[name][0], _field(config, FROM_CONFIG[name][1]))
            for name in names if name in FROM_CONFIG}


def cfo_search_range(config: dict, role: str = "rx_b210") -> float:
    """The receiver's CFO search in cycles/symbol: ``modem.cfo_search_ppm`` of the ``role``'s radio's centre
    frequency at its sample rate (what the receiver graphs compute from their parameters)."""
    values = parameter_values(config, ["center_freq", "sample_rate"], role)
    return config["modem"]["cfo_search_ppm"] * 1e-6 * values["center_freq"] / values["sample_rate"] * \
        config["modem"]["sps"]


def parameter_defaults() -> dict:
    """Graph parameter -> (GRC type, default): every parameter's, from the testbed schema's defaults."""
    defaults = parameter_values(load_testbed_config({}), FROM_CONFIG)
    return {**{name: (kind, defaults[name]) for name, (kind, _) in FROM_CONFIG.items()}, **OTHER}


def _with_radio(config: dict, role: str) -> dict:
    """``config`` with ``radio``: ``endpoints.radios.<role>``, or a B210's defaults when the config has no radios."""
    radios = config["endpoints"]["radios"]
    radio = radios[role] if radios is not None else fill_defaults(RADIO, {})
    return {**config, "radio": radio}


def _field(config: dict, source):
    if callable(source):
        return source(config)
    value = config
    for key in source.split("."):
        value = value[key]
    return value


def _typed(kind: str, value):
    """``value`` as the graph takes a parameter of GRC type ``kind`` (null: ``""`` or ``-1``)."""
    if kind == "str":
        return "" if value is None else str(value)
    if kind == "intx":
        return -1 if value is None else int(value)
    return float(value)
