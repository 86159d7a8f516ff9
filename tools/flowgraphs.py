"""Generate the testbed's GRC flowgraphs (``flowgraphs/*.grc``) from one description of the chain.

The transmitter, channel, attacker and receiver chains are defined once here; the loopback graph
connects them in one process, the ZMQ graphs cut them at the endpoints, and the B210 graphs swap the
ZMQ endpoints for UHD sink/source, so the variants cannot drift apart. Run after changing a chain:

    .venv/bin/python tools/flowgraphs.py          # rewrites flowgraphs/{loopback,tx,rx,channel,attacker,tx_b210,rx_b210,attacker_b210}.grc

Every ``parameter`` block becomes a constructor argument and command-line option of the compiled
graph (``grcc``), which is how ``semcomm run`` sets them from ``hw_configs/*.yaml``; which config field sets
which parameter, and so each parameter's default here, is :mod:`semcomm.testbed.parameters`.
"""
from __future__ import annotations

import os
import re
import sys

import yaml

from semcomm.testbed.pacing import DEFAULT_LIMIT
from semcomm.testbed.parameters import parameter_defaults

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: parameter id -> (GRC type, default): the testbed schema's defaults (semcomm.testbed.parameters)
PARAMETERS = parameter_defaults()

# ---------------------------------------------------------------------------------------- chains
# block name -> (GRC id, parameters); connections as (src, port, dst, port)
TX_BLOCKS = {
    "source": ("semcomm_image_source", dict(dataset="dataset", path="data_path", split="split", num_images="num_images",
                                            start="first_image", images_per_s="images_per_s", seed="image_seed",
                                            max_in_flight=str(DEFAULT_LIMIT), classes="link.classes")),
    "sem_encoder": ("semcomm_semantic_encoder", dict(model="model")),
    "to_bits": ("semcomm_index_to_bits", dict(alphabet="link.alphabet", num_indices="link.num_tokens")),
    "framer": ("semcomm_framer", dict(model_id="link.model_id", modulation="modulation", code="code")),
    "ldpc_enc": ("semcomm_ldpc_encoder", dict(code="code")),
    "mapper": ("semcomm_qam_mapper", dict(modulation="modulation", guard_symbols="guard_symbols")),
    "to_stream": ("pdu_pdu_to_tagged_stream", dict(type="complex", tag="packet_len")),
    "shaper": ("interp_fir_filter_xxx", dict(type="ccf", interp="sps", taps="taps")),
}
TX_MESSAGES = [("source", "pdus", "sem_encoder", "pdus"), ("sem_encoder", "pdus", "to_bits", "pdus"),
               ("to_bits", "pdus", "framer", "pdus"), ("framer", "pdus", "ldpc_enc", "pdus"),
               ("ldpc_enc", "pdus", "mapper", "pdus"), ("mapper", "pdus", "to_stream", "pdus")]
TX_STREAMS = [("to_stream", "0", "shaper", "0")]

RX_BLOCKS = {  # frame_receiver = frame_sync -> soft_demapper -> ldpc_decoder -> deframer -> bits_to_index in one block
    "matched": ("fir_filter_xxx", dict(type="ccf", decim="1", taps="taps", minoutbuf="65536")),  # large chunks: frames batched
    "receiver": ("semcomm_frame_receiver", dict(model_id="link.model_id", alphabet="link.alphabet",
                                                num_indices="link.num_tokens", sps="sps", threshold="threshold",
                                                decoder="decoder", max_iterations="max_iterations",
                                                llr_method="llr_method",
                                                cfo_range="cfo_search_ppm * 1e-6 * center_freq / sample_rate * sps")),
    "sem_decoder": ("semcomm_semantic_decoder", dict(model="model", snr_db="None")),
    "metrics": ("semcomm_metrics_sink", dict(jsonl_path="metrics_path", tx_log_path="tx_log_path")),
}
RX_MESSAGES = [("receiver", "pdus", "sem_decoder", "pdus"), ("sem_decoder", "pdus", "metrics", "rx"),
               ("receiver", "rejects", "metrics", "rx")]
RX_STREAMS = [("matched", "0", "receiver", "0")]

CHANNEL_BLOCKS = {
    "chan": ("semcomm_channel_emulator", dict(
        snr_db="snr_db", sps="sps", cfo="cfo / sps + cfo_ppm * 1e-6 * center_freq / sample_rate",
        timing_offset="timing_offset", fading="fading", k_factor_db="k_factor_db", fading_block="fading_block",
        attacker_input="True", psr_db="psr_db if attack else float('-inf')",
        h_a="h_a_gain * numpy.exp(1j * h_a_phase)", h_a_fading="h_a_fading", h_a_k_factor_db="h_a_k_factor_db",
        h_a_cfo="h_a_cfo / sps", h_a_delay="h_a_delay", multipath="multipath",
        phase_noise_var="2 * numpy.pi * phase_noise_hz / sample_rate", iq_gain_db="iq_gain_db",
        iq_phase_deg="iq_phase_deg", dc_offset_db="dc_offset_db", seed="channel_seed")),
}
CLOCK_BLOCKS = {"clock": ("semcomm_clock_offset", dict(ppm="clock_ppm"))}  # the receiver's sample clock
SENSE_BLOCKS = {  # what the attacker's antenna receives: the transmitter through its own channel
    "sense": ("semcomm_channel_emulator", dict(
        snr_db="sense_snr_db", sps="sps", cfo="sense_cfo / sps", timing_offset="sense_delay", fading="'none'",
        k_factor_db="0", fading_block="1024", attacker_input="False", psr_db="float('-inf')", h_a="1",
        seed="channel_seed + 1")),
}
ATTACKER_BLOCKS = {  # switched off, the attacker jams (nothing reaches the receiver: the channel's PSR is -inf)
    "attacker_radio": ("semcomm_attacker", dict(
        kind="attacker_kind if attack else 'gaussian'", perturbation="perturbation", sync="attacker_sync",
        latency="attacker_latency", learn_frames="learn_frames", mode="attacker_mode", tone_freq="tone_freq",
        sense_window="sense_window", sense_threshold="sense_threshold", model_id="link.model_id",
        modulation="modulation", code="code", num_bits="link.num_bits", sps="sps", rolloff="rolloff",
        rrc_span="rrc_span", threshold="threshold", seed="attacker_seed")),
}
# the image source's in-flight window (semcomm.testbed.pacing) is closed by the receiver's decisions where the
# receiver runs in the same graph, else by a frame acks block on the transmitter's output stream
RECEIVER_ACKS = [("sem_decoder", "pdus", "source", "acks"), ("receiver", "rejects", "source", "acks")]
STREAM_ACKS = {"acks": ("semcomm_frame_acks", {})}
STREAM_ACK_MESSAGES = [("acks", "acks", "source", "acks")]
STREAM_ACK_STREAMS = [("shaper", "0", "acks", "0")]
VARIABLES = {"link": "semcomm.model_link(model)", "taps": "semcomm.rrc_taps(sps, rolloff, rrc_span)"}


def _zmq_out(address: str):
    """GNU Radio's ZMQ PUSH sink: binds ``address`` (run checks that no other run holds it)."""
    return ("zeromq_push_sink", dict(type="complex", address=address, timeout="100", hwm="-1"))


def _zmq_in(address: str):
    """semcomm's ZMQ IQ source: connects to ``address``; counts and drops malformed messages (GNU Radio's
    PULL source stops on them)."""
    return ("semcomm_zmq_iq_source", dict(address=address, timeout="100", hwm="-1"))


def _timed_out(address: str):
    """semcomm's timed ZMQ PUSH sink: binds ``address``; sample indices travel; never blocks."""
    return ("semcomm_zmq_timed_sink", dict(address=address, hwm="-1"))


def _timed_in(address: str):
    """semcomm's timed ZMQ PULL source: connects to ``address``; tags where the sample index jumps."""
    return ("semcomm_zmq_timed_source", dict(address=address, timeout="100", hwm="-1"))


def _capture(tap: str, hardware: str):
    """A SigMF sink recording the ``tap`` when the run's ``capture.path`` is set and lists it in ``capture.taps``."""
    return ("semcomm_sigmf_sink", dict(
        path=f"capture_path + '.{tap}' if capture_path and '{tap}' in capture_taps.split(',') else ''",
        sample_rate="sample_rate", center_freq="center_freq", hardware=hardware, tap=f"'{tap}'",
        config="capture_config", sps="sps", checkpoint_s="capture_checkpoint_s"))


EMULATED = "'semcomm channel emulator (no radio)'"
B210_HARDWARE = "'USRP B210 ' + usrp_args"


def _uhd(kind: str):
    """A USRP source or sink from the role's radio (``endpoints.radios``): args with serial and master clock,
    rate, tune request with LO offset, gain, antenna, clock and time source."""
    params = dict(type="fc32", dev_args="usrp_args", samp_rate="sample_rate",
                  center_freq0="uhd.tune_request(center_freq, lo_offset)",
                  gain0="tx_gain" if kind == "sink" else "rx_gain", ant0="tx_antenna" if kind == "sink" else "rx_antenna",
                  clock_source0="clock_source", time_source0="time_source", sync="'none'", num_mboards="1", nchan="1")
    return (f"uhd_usrp_{kind}", params)


def graphs() -> dict:
    """Name -> (title, description, blocks, message connections, stream connections)."""
    tx_log = {"tx_log": ("semcomm_tx_log_sink", dict(path="tx_log_path"))}
    tx_log_msg = [("ldpc_enc", "tx_log", "tx_log", "tx")]
    scale = {"scale": ("blocks_multiply_const_vxx", dict(type="complex", const="tx_amplitude"))}
    burst_sink = ("uhd_usrp_sink", {**_uhd("sink")[1], "len_tag_name": "'packet_len'"})  # bursts: tx_sob/tx_eob
    tx_events = {"uhd_events": ("semcomm_uhd_tx_monitor", {})}  # the sink's underflows, late bursts, ...
    local_metrics = {"metrics": ("semcomm_metrics_sink", dict(jsonl_path="metrics_path", tx_log_path="''"))}
    captures = {f"capture_{tap}": _capture(tap, EMULATED) for tap in ("tx", "channel", "attacker")}
    loopback = ({**TX_BLOCKS, **CHANNEL_BLOCKS, **CLOCK_BLOCKS, **SENSE_BLOCKS, **ATTACKER_BLOCKS, **RX_BLOCKS,
                 **local_metrics, **captures},
                TX_MESSAGES + RX_MESSAGES + RECEIVER_ACKS + [("ldpc_enc", "tx_log", "metrics", "tx")],
                TX_STREAMS + RX_STREAMS + [
                    ("shaper", "0", "chan", "0"), ("shaper", "0", "sense", "0"), ("sense", "0", "attacker_radio", "0"),
                    ("attacker_radio", "0", "chan", "1"), ("chan", "0", "clock", "0"), ("clock", "0", "matched", "0"),
                    ("shaper", "0", "capture_tx", "0"), ("clock", "0", "capture_channel", "0"),
                    ("attacker_radio", "0", "capture_attacker", "0")])
    tx_zmq = ({**TX_BLOCKS, **tx_log, **STREAM_ACKS, "out": _zmq_out("tx_out")}, TX_MESSAGES + tx_log_msg
              + STREAM_ACK_MESSAGES, TX_STREAMS + STREAM_ACK_STREAMS + [("shaper", "0", "out", "0")])
    rx_zmq = ({"channel_in": _zmq_in("channel_out"), **RX_BLOCKS, "capture_rx": _capture("rx", EMULATED)},
              RX_MESSAGES, RX_STREAMS + [("channel_in", "0", "matched", "0"), ("channel_in", "0", "capture_rx", "0")])
    # the attacker's links carry sample indices: its waveform lands where it was aimed, whenever it arrives, and
    # a dead, slow or restarted attacker never stops the channel (the aligned source waits link_wait_ms at most)
    attacker_in = ("semcomm_zmq_aligned_source", dict(address="attacker_out", wait="link_wait_ms", hwm="-1"))
    channel = ({"tx_in": _zmq_in("tx_out"), "attacker_in": attacker_in,
                **CHANNEL_BLOCKS, **CLOCK_BLOCKS, **SENSE_BLOCKS, "out": _zmq_out("channel_out"),
                "sense_push": _timed_out("sense_out")},
               [], [("tx_in", "0", "chan", "0"), ("tx_in", "0", "attacker_in", "0"), ("attacker_in", "0", "chan", "1"),
                    ("chan", "0", "clock", "0"), ("clock", "0", "out", "0"), ("tx_in", "0", "sense", "0"), ("sense", "0", "sense_push", "0")])
    attacker = ({"sense_in": _timed_in("sense_out"), **ATTACKER_BLOCKS, "out": _timed_out("attacker_out")}, [],
                [("sense_in", "0", "attacker_radio", "0"), ("attacker_radio", "0", "out", "0")])
    # on a radio the attacker transmits bursts: each perturbation burst with the tx_time of the sensed sample it
    # aims at (UHD's rx_time + its index), sent as soon as scheduled; tx_sob/tx_eob from the USRP sink's burst mode
    timed_attacker = {name: (block_id, {**params, "timed_bursts": "True", "samp_rate": "sample_rate"})
                      for name, (block_id, params) in ATTACKER_BLOCKS.items()}
    attacker_b210 = ({"src": _uhd("source"), **timed_attacker, "waveform": ("blocks_null_sink", dict(type="complex")),
                      "to_stream": ("pdu_pdu_to_tagged_stream", dict(type="complex", tag="packet_len")), **scale,
                      "out": burst_sink, **tx_events},
                     [("attacker_radio", "bursts", "to_stream", "pdus"), ("out", "async_msgs", "uhd_events", "async")],
                     [("src", "0", "attacker_radio", "0"), ("attacker_radio", "0", "waveform", "0"),
                      ("to_stream", "0", "scale", "0"), ("scale", "0", "out", "0")])
    # each frame (with its guard) is a UHD burst: the length tag counts symbols until the shaper interpolates, so
    # it is scaled to samples, and the USRP sink's burst mode adds tx_sob / tx_eob at its ends
    burst_length = {"burst_length": ("blocks_tagged_stream_multiply_length",
                                     dict(type="complex", lengthtagname="'packet_len'", c="sps"))}
    tx_b210 = ({**TX_BLOCKS, **tx_log, **STREAM_ACKS, **scale, **burst_length, "out": burst_sink, **tx_events},
               TX_MESSAGES + tx_log_msg + STREAM_ACK_MESSAGES + [("out", "async_msgs", "uhd_events", "async")],
               TX_STREAMS + STREAM_ACK_STREAMS + [("shaper", "0", "scale", "0"), ("scale", "0", "burst_length", "0"),
                                                  ("burst_length", "0", "out", "0")])
    rx_b210 = ({"src": _uhd("source"), **RX_BLOCKS, "capture_rx": _capture("rx", B210_HARDWARE),
                "uhd_events": ("semcomm_uhd_rx_monitor", {})}, RX_MESSAGES,
               RX_STREAMS + [("src", "0", "matched", "0"), ("src", "0", "capture_rx", "0"),
                             ("src", "0", "uhd_events", "0")])
    return {
        "loopback": ("Semantic link loopback", "Image source -> semantic encoder -> digital PHY -> channel emulator "
                     "(+ attacker) -> receiver -> semantic decoder -> metrics, in one process, no radio.", *loopback),
        "tx": ("Semantic link transmitter (ZMQ)", "Transmitter; IQ out on ZMQ PUSH tx_out; reference bits to the "
               "tx_log_path JSON-lines file for the receiver's metrics.", *tx_zmq),
        "rx": ("Semantic link receiver (ZMQ)", "Receiver; IQ in from ZMQ PULL channel_out; metrics joined with the "
               "transmitter's tx_log_path.", *rx_zmq),
        "channel": ("Channel emulator (ZMQ)", "ZMQ PULL tx_out (+ the attacker's timed attacker_out, aligned "
                    "to the transmitter's samples) -> channel emulator -> ZMQ PUSH channel_out; what the attacker's "
                    "antenna receives on the timed ZMQ PUSH sense_out.", *channel),
        "attacker": ("Attacker (ZMQ)", "Senses the transmitter on the timed ZMQ PULL sense_out (the channel's "
                     "sensing output), plays a perturbation file (oracle/reactive/predictive/unsynced) or jams, unit power "
                     "over its span, on the timed ZMQ PUSH attacker_out (the channel applies PSR and h_a).", *attacker),
        "attacker_b210": ("Attacker (USRP B210)", "The ZMQ attacker with a UHD source (sensing) and a UHD sink "
                          "(injection) instead of the ZMQ endpoints; a perturbation leaves as timed bursts (tx_time "
                          "from the source's rx_time, tx_sob/tx_eob from the sink's burst mode).", *attacker_b210),
        "tx_b210": ("Semantic link transmitter (USRP B210)", "The ZMQ transmitter with a UHD sink instead of the "
                    "ZMQ endpoint; each frame is a burst (tx_sob/tx_eob from the sink's burst mode).", *tx_b210),
        "rx_b210": ("Semantic link receiver (USRP B210)", "The ZMQ receiver with a UHD source instead of the ZMQ "
                    "endpoint.", *rx_b210),
    }


def _grc_value(default) -> str:
    """A parameter's default as GRC writes it: a string literal, or a number as short as it reads back."""
    if isinstance(default, str):
        return repr(default)
    short = re.sub(r"e([+-])0*(\d)", lambda m: "e" + m[1].replace("+", "") + m[2], f"{default:g}")
    return short if float(short) == default else repr(default)


def _identifiers(*texts) -> set:
    return set(re.findall(r"[A-Za-z_]\w*", " ".join(str(t) for t in texts)))


def _entry(name: str, block_id: str, parameters: dict, x: int, y: int) -> dict:
    return {"name": name, "id": block_id, "parameters": parameters,
            "states": {"coordinate": [x, y], "rotation": 0, "state": "enabled"}}


def grc_document(graph_id: str, title: str, description: str, blocks: dict, messages, streams) -> dict:
    entries = []
    values = [v for _, params in blocks.values() for v in params.values()]
    variables = [name for name in VARIABLES if name in _identifiers(*values)]
    used = _identifiers(*values, *(VARIABLES[v] for v in variables)) & set(PARAMETERS)
    for i, name in enumerate(sorted(used)):
        kind, default = PARAMETERS[name]
        fields = {"label": name, "type": kind, "value": _grc_value(default), "hide": "none"}
        entries.append(_entry(name, "parameter", fields, 8 + 160 * (i % 8), 8 + 80 * (i // 8)))
    imports = "import numpy\nfrom gnuradio import semcomm" + ("\nfrom gnuradio import uhd" if "lo_offset" in used else "")
    entries.append(_entry("imports", "import", {"imports": imports}, 8, 420))
    for i, name in enumerate(variables):
        entries.append(_entry(name, "variable", {"value": VARIABLES[name]}, 200 + 200 * i, 420))
    for i, (name, (block_id, params)) in enumerate(blocks.items()):
        entries.append(_entry(name, block_id, dict(params), 8 + 200 * (i % 6), 520 + 140 * (i // 6)))
    options = {"parameters": {"id": graph_id, "title": title, "description": description, "author": "semcomm",
                              "generate_options": "no_gui", "output_language": "python", "run": "True",
                              "run_options": "run", "catch_exceptions": "True"},
               "states": {"coordinate": [8, 8], "rotation": 0, "state": "enabled"}}
    connections = [list(c) for c in messages] + [list(c) for c in streams]
    return {"options": options, "blocks": entries, "connections": connections,
            "metadata": {"file_format": 1, "grc_version": "3.10.5.1"}}


def main(out_dir: str = os.path.join(ROOT, "flowgraphs")) -> int:
    for graph_id, (title, description, blocks, messages, streams) in graphs().items():
        path = os.path.join(out_dir, f"{graph_id}.grc")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("# Generated by tools/flowgraphs.py (edit the chain there; GRC edits are overwritten).\n")
            yaml.safe_dump(grc_document(graph_id, title, description, blocks, messages, streams), handle,
                           sort_keys=False, width=110)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
