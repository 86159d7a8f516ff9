"""Attacker: thin wrapper of :class:`semcomm.channel.attacker_radio.AttackerRadio` (sense the victim, play a
perturbation file in a sync mode, or jam).

One complex input, the sensed stream (what the attacker's antenna receives; in simulation it carries the
transmitter's ``seq`` / ``packet_len`` tags on each frame's first sample, which the ``oracle`` mode and the
per-frame ledger use) and one complex output of the same length: the attacker's waveform at unit power over
its span, which the channel emulator scales to the PSR and passes through ``H_a``.
"""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from semcomm.attacks.perturbation import link_layout, load
from semcomm.channel.attacker_radio import AttackerRadio
from semcomm.channel.jammer import StreamJammer
from semcomm.channel.perturbation_player import PerturbationPlayer
from semcomm.phy.pulse import rrc_taps

from .pdus import KEYS

PACKET_LEN = pmt.intern("packet_len")


class attacker(gr.sync_block):
    """Parameters: ``kind`` (``gaussian`` | ``tone`` | ``perturbation``); for the jammers ``mode``
    (``free_running`` | ``frame_aligned``), ``tone_freq``, ``sense_window``, ``sense_threshold`` (as
    :class:`StreamJammer`); for a perturbation ``perturbation`` (the file), ``sync`` (``oracle`` | ``reactive`` |
    ``predictive`` | ``unsynced``), ``latency`` (samples), ``learn_frames``, and the link it is refused for
    unless it matches: ``model_id`` (hex), ``modulation``, ``code``, ``num_bits`` (index bits per frame);
    ``sps``, ``rolloff``, ``rrc_span``: the link's pulse; ``threshold``: preamble detection threshold; ``seed``.
    Attributes: ``radio`` (the core), ``records`` (per true frame; see :meth:`AttackerRadio.summary`)."""

    def __init__(self, kind="gaussian", mode="free_running", perturbation="", sync="reactive", latency=0,
                 learn_frames=4, tone_freq=0.1, sense_window=64, sense_threshold=0.125, model_id="",
                 modulation="16qam", code="wifi1944_r12", num_bits=0, sps=4, rolloff=0.35, rrc_span=8,
                 threshold=0.5, seed=0):
        gr.sync_block.__init__(self, name="semcomm_attacker", in_sig=[np.complex64], out_sig=[np.complex64])
        taps = rrc_taps(int(sps), float(rolloff), int(rrc_span))
        if kind == "perturbation":
            if not perturbation:
                raise ValueError("attacker kind 'perturbation' needs a perturbation file")
            layout = link_layout(modulation, code, -(-int(num_bits) // 8))
            player = PerturbationPlayer(load(perturbation), model_id or None, layout, int(sps))
            self.radio = AttackerRadio(taps, sps, perturbation=player, sync=sync, latency=int(latency),
                                       learn_frames=int(learn_frames), threshold=threshold, seed=int(seed))
        else:
            jammer = StreamJammer(kind, mode, tone_freq=tone_freq, seed=seed, sense_window=sense_window,
                                  sense_threshold=sense_threshold)
            self.radio = AttackerRadio(taps, sps, jammer=jammer)

    @property
    def records(self) -> list[dict]:
        return self.radio.ledger.records

    def work(self, input_items, output_items):
        start = self.nitems_read(0)
        end = start + len(input_items[0])
        lengths = {tag.offset: pmt.to_long(tag.value) for tag in self.get_tags_in_range(0, start, end, PACKET_LEN)}
        frames = [(tag.offset, lengths.get(tag.offset, 0) * self.radio.sps, pmt.to_long(tag.value))
                  for tag in self.get_tags_in_range(0, start, end, KEYS["seq"])]
        output_items[0][:] = self.radio.process(input_items[0], sorted(frames))
        return len(output_items[0])
