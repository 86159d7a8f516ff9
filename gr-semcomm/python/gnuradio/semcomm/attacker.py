"""Attacker: thin wrapper of :class:`semcomm.channel.attacker_radio.AttackerRadio` (sense the victim, play a
perturbation file in a sync mode, or jam).

One complex input, the sensed stream (what the attacker's antenna receives; in simulation it carries the
transmitter's ``seq`` / ``packet_len`` tags on each frame's first sample, which the ``oracle`` mode and the
per-frame ledger use) and one complex output of the same length: the attacker's waveform at unit power over
its span, which the channel emulator scales to the PSR and passes through ``H_a``.

With ``timed_bursts`` (a perturbation file on a radio) each burst also leaves on the message port ``bursts`` as
soon as it is scheduled — ahead of its time in ``predictive`` sync — as a PDU of its samples with metadata
``stream_index`` (its first sample's index in the sensed stream) and, once the input has carried UHD's
``rx_time`` tag, ``tx_time`` (UHD's ``(full seconds, fractional seconds)``: the time that sensed sample was
received, ``rx_time + (index - tagged index) / samp_rate``); a jammer's output leaves chunk by chunk without
``tx_time`` (sent at once: it is made as the air is sensed). PDU to Tagged Stream turns the metadata into tags
on the burst's first sample and a USRP sink in burst mode (its length tag) sends it with ``tx_sob`` /
``tx_eob`` at that time. The stream output then still carries the same waveform at its indices.
"""
from __future__ import annotations

import math

import numpy as np
import pmt
from gnuradio import gr

from semcomm.attacks.perturbation import link_layout, load
from semcomm.channel.attacker_radio import AttackerRadio
from semcomm.channel.jammer import StreamJammer
from semcomm.channel.perturbation_player import PerturbationPlayer
from semcomm.phy.pulse import rrc_taps

from .pdus import RX_TIME, frame_tags
from .zmq_timed import STREAM_INDEX

TX_TIME = pmt.intern("tx_time")


class attacker(gr.sync_block):
    """Parameters: ``kind`` (``gaussian`` | ``tone`` | ``perturbation``); for the jammers ``mode``
    (``free_running`` | ``frame_aligned``), ``tone_freq``, ``sense_window``, ``sense_threshold`` (as
    :class:`StreamJammer`); for a perturbation ``perturbation`` (the file), ``sync`` (``oracle`` | ``reactive`` |
    ``predictive`` | ``unsynced``), ``latency`` (samples), ``learn_frames``, and the link it is refused for
    unless it matches: ``model_id`` (hex), ``modulation``, ``code``, ``num_bits`` (index bits per frame);
    ``sps``, ``rolloff``, ``rrc_span``: the link's pulse; ``threshold``: preamble detection threshold; ``seed``;
    ``timed_bursts`` and ``samp_rate`` (Hz): timed bursts on the ``bursts`` port (module doc).
    Attributes: ``radio`` (the core), ``records`` (per true frame; see :meth:`AttackerRadio.summary`)."""

    def __init__(self, kind="gaussian", mode="free_running", perturbation="", sync="reactive", latency=0,
                 learn_frames=4, tone_freq=0.1, sense_window=64, sense_threshold=0.125, model_id="",
                 modulation="16qam", code="wifi1944_r12", num_bits=0, sps=4, rolloff=0.35, rrc_span=8,
                 threshold=0.5, seed=0, timed_bursts=False, samp_rate=1e6):
        gr.sync_block.__init__(self, name="semcomm_attacker", in_sig=[np.complex64], out_sig=[np.complex64])
        self.message_port_register_out(pmt.intern("bursts"))
        self.samp_rate, self._clock = float(samp_rate), None  # (input index, full s, fractional s) of the last rx_time
        taps = rrc_taps(int(sps), float(rolloff), int(rrc_span))
        if kind == "perturbation":
            if not perturbation:
                raise ValueError("attacker kind 'perturbation' needs a perturbation file")
            layout = link_layout(modulation, code, -(-int(num_bits) // 8))
            player = PerturbationPlayer(load(perturbation), model_id or None, layout, int(sps))
            self.radio = AttackerRadio(taps, sps, perturbation=player, sync=sync, latency=int(latency),
                                       learn_frames=int(learn_frames), threshold=threshold, seed=int(seed),
                                       timed_bursts=bool(timed_bursts))
        else:
            jammer = StreamJammer(kind, mode, tone_freq=tone_freq, seed=seed, sense_window=sense_window,
                                  sense_threshold=sense_threshold)
            self.radio = AttackerRadio(taps, sps, jammer=jammer, timed_bursts=bool(timed_bursts))
        self.timed_bursts = bool(timed_bursts)

    @property
    def records(self) -> list[dict]:
        return self.radio.ledger.records

    def work(self, input_items, output_items):
        start = self.nitems_read(0)
        end = start + len(input_items[0])
        frames = frame_tags(self, start, end, self.radio.sps)
        for tag in self.get_tags_in_range(0, start, end, RX_TIME):
            self._clock = (tag.offset, pmt.to_uint64(pmt.tuple_ref(tag.value, 0)),
                           pmt.to_double(pmt.tuple_ref(tag.value, 1)))
        output_items[0][:] = self.radio.process(input_items[0], frames)
        if self.timed_bursts:
            for first, samples, timed in self.radio.take_bursts():
                self.message_port_pub(pmt.intern("bursts"), pmt.cons(self._burst_metadata(first, timed),
                                                                     pmt.init_c32vector(len(samples), samples)))
        return len(output_items[0])

    def _burst_metadata(self, first: int, timed: bool):
        metadata = pmt.dict_add(pmt.make_dict(), STREAM_INDEX, pmt.from_uint64(int(first)))
        if timed and self._clock is not None:
            offset, full, fractional = self._clock  # whole seconds apart: a double keeps the fraction exact enough
            fractional += (first - offset) / self.samp_rate
            carry = math.floor(fractional)
            metadata = pmt.dict_add(metadata, TX_TIME, pmt.make_tuple(pmt.from_uint64(full + carry),
                                                                      pmt.from_double(fractional - carry)))
        return metadata
