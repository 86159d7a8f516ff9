"""Attacks on the link: receiver-side semantic noise, LDPC vulnerable sets, progressive gradient ascent,
protocol-aware jamming, and the transmitter-side PGD of the codecs' robustness figures.

Threat model and units (every attack module and result uses these; :mod:`.threat` implements them)
-------------------------------------------------------------------------------------------------
Received frame, symbol-spaced and frame-aligned (Hu et al. eq. 8)::

    y = H_t x + n + H_a delta,      n ~ CN(0, N0),  E|x_k|^2 = 1 over the payload,  Es/N0 = 1 / N0

``x`` is the victim's frame (preamble 64 BPSK | header 468 BPSK | payload, :mod:`semcomm.phy.modem`; an
analog JSCC frame carries its ``S`` channel symbols after the same preamble and header), ``delta`` the
attacker's waveform at the receiver's symbol rate (a file the attacker radio plays holds it
pulse-shaped, :mod:`.perturbation`), ``H_t`` and ``H_a`` the legitimate and attacker channels.

* **PSR** (perturbation-to-signal ratio), in dB, per frame: received attacker power / received
  legitimate power, both averaged over the symbols of the attack's **span**::

      PSR = mean_{k in span} |H_a delta_k|^2 / mean_{k in span} |H_t x_k|^2

  The span is stated by each attack: ``payload`` (the payload symbols), ``frame`` (the whole frame) or
  ``preamble_header`` (the 532 BPSK symbols a receiver synchronises on).
* **Energy per frame**, in dB: the attacker's received energy over the whole frame / the frame's received
  energy, ``sum_k |H_a delta_k|^2 / sum_k |H_t x_k|^2``. Short bursts and continuous jamming compare on
  this axis: a payload-span attack at PSR ``p`` costs ``p + 10 log10(S_payload / S_frame)`` dB of frame
  energy.
* ``Es/N0`` is the legitimate link's SNR per symbol, the axis of :mod:`semcomm.sim.link`.
* ``H_t = 1`` (AWGN) unless a fading channel is configured; ``H_a`` is drawn per frame from the attacker
  channel's statistics (:data:`.threat.ATTACKER_CHANNELS`: ``none`` = 1, ``phase`` = unit gain with a
  uniform phase, ``rayleigh`` = CN(0, 1)); with ``E|H_a|^2 = 1`` the requested PSR is the mean received one.

What each attack knows is a :class:`.threat.ThreatModel`: the model (white box: the victim's weights;
black box: a surrogate's), the PHY (code, modulation, frame layout: public in any standard), the attacker
channel (``exact``, ``statistics`` or ``none``) and synchronisation (``oracle``: frame-aligned, or a
timing/phase error it must survive).
"""
