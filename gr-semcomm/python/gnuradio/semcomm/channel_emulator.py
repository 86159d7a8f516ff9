"""Channel emulator block: thin wrapper of :class:`semcomm.channel.stream.StreamChannel`
(AWGN at Es/N0, CFO, fractional timing offset, block fading, attacker input through ``H_a`` at a PSR)."""
from __future__ import annotations

import json

import numpy as np
from gnuradio import gr

from semcomm.channel.stream import StreamChannel, StreamChannelConfig


def multipath_taps(text: str) -> tuple:
    """``((delay, complex gain), ...)`` of JSON ``[[delay, power dB, phase degrees], ...]``."""
    return tuple((int(delay), 10 ** (power_db / 20) * np.exp(1j * np.deg2rad(phase_deg)))
                 for delay, power_db, phase_deg in json.loads(text or "[]"))


class channel_emulator(gr.sync_block):
    """Input 0: transmitter samples; input 1 (when ``attacker_input``): the attacker's unit-power
    waveform. Output: received samples. ``cfo`` is in cycles/sample, ``timing_offset`` in samples,
    ``psr_db`` relative to the nominal transmitter power ``1 / sps``; the attacker's channel ``H_a``: gain ``h_a``,
    ``h_a_fading`` (``h_a_k_factor_db``), ``h_a_cfo`` (cycles/sample), ``h_a_delay`` (samples) (see the core
    module); the receiver's hardware: ``multipath`` (JSON ``[[delay samples, power dB, phase degrees], ...]``),
    ``phase_noise_var`` (rad^2 per sample), ``iq_gain_db``, ``iq_phase_deg``, ``dc_offset_db`` (<= -300: none)."""

    def __init__(self, snr_db=10.0, sps=4, cfo=0.0, timing_offset=0.0, fading="none", k_factor_db=0.0,
                 fading_block=4096, attacker_input=False, psr_db=-100.0, h_a=1.0 + 0j, h_a_fading="none",
                 h_a_k_factor_db=0.0, h_a_cfo=0.0, h_a_delay=0.0, multipath="[]", phase_noise_var=0.0,
                 iq_gain_db=0.0, iq_phase_deg=0.0, dc_offset_db=-300.0, seed=0):
        inputs = [np.complex64, np.complex64] if attacker_input else [np.complex64]
        gr.sync_block.__init__(self, name="semcomm_channel_emulator", in_sig=inputs, out_sig=[np.complex64])
        self.channel = StreamChannel(StreamChannelConfig(
            snr_db=float(snr_db), sps=int(sps), cfo=float(cfo), timing_offset=float(timing_offset), fading=fading,
            k_factor_db=float(k_factor_db), fading_block=int(fading_block),
            psr_db=float(psr_db) if attacker_input else float("-inf"), h_a=complex(h_a), h_a_fading=h_a_fading,
            h_a_k_factor_db=float(h_a_k_factor_db), h_a_cfo=float(h_a_cfo), h_a_delay=float(h_a_delay),
            multipath=multipath_taps(multipath), phase_noise_var=float(phase_noise_var), iq_gain_db=float(iq_gain_db),
            iq_phase_deg=float(iq_phase_deg),
            dc_offset_db=float("-inf") if float(dc_offset_db) <= -300 else float(dc_offset_db), seed=int(seed)))

    def work(self, input_items, output_items):
        delta = input_items[1] if len(input_items) > 1 else None
        output_items[0][:] = self.channel.process(input_items[0], delta)
        return len(output_items[0])
