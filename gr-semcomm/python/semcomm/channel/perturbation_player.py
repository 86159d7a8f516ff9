"""Perturbation player: a crafted perturbation file (:mod:`semcomm.attacks.perturbation`) as a sample stream,
one burst per scheduled frame start, generated chunk by chunk.

The attacker decides *when* a victim frame starts (from the transmitter's tags in simulation, or from its
own detection of the preamble) and calls :meth:`PerturbationPlayer.schedule` with the frame's first sample;
:meth:`PerturbationPlayer.process` then yields the stream: zeros, and from each scheduled start the file's
pulse-shaped waveform (row ``k mod R`` for the ``k``-th burst of a shift-robust or per-frame sequence of ``R``
rows). Output of consecutive calls equals one call of the summed length.

Power: every row is normalised so that its mean power over the symbols of the file's span equals 1, the mean
power of the victim's unit-energy symbols, and pulse-shaped with the same unit-energy RRC as the transmitter
and scaled by ``sqrt(sps)``: over the span the burst has unit power per sample, as the jammers
(:class:`.jammer.StreamJammer`) have, and the channel emulator's scale ``sqrt(10^(PSR/10) / sps)`` (relative to
the transmitter's ``1 / sps`` per sample, :class:`.stream.StreamChannel`) gives the requested PSR.

The attacker may only be able to transmit from some sample ``earliest`` on (a reactive attacker learns of a
frame from its preamble, then needs its processing latency): the burst is then played from ``earliest`` (zeros
before). A burst whose energy begins (``lead`` samples after the start: the payload of a payload-span file)
before ``earliest`` is played in part and counted in ``late``; one with nothing left to play is dropped and
counted in ``missed``. Bursts never overlap: a start that falls before the end of the last burst accepted is
dropped and counted in ``overlapped``. ``played`` counts bursts accepted; :attr:`begun` lists them. Everything
about a burst is decided when it is scheduled, so a radio that transmits timed bursts can send it at once
(:meth:`schedule` returns it) while :meth:`process` plays the same samples at their indices.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from ..attacks.perturbation import Perturbation, check_compatible
from ..attacks.threat import scale_to_span, span_mask
from ..phy.pulse import rrc_taps, shape


class PerturbationPlayer:
    """Plays ``perturbation`` (module doc). ``model_id`` / ``layout``: the victim link's; when given, a file
    made for another model id or frame layout is refused (ValueError naming what differs); ``sps`` must be
    the file's."""

    def __init__(self, perturbation: Perturbation, model_id: str | None = None, layout: dict | None = None,
                 sps: int | None = None):
        if model_id is not None or layout is not None:
            check_compatible(perturbation, model_id or perturbation.model_id, layout or perturbation.layout)
        if sps is not None and int(sps) != perturbation.sps:
            raise ValueError(f"perturbation shaped at {perturbation.sps} samples per symbol, the link uses {sps}")
        self.perturbation = perturbation
        self.bursts = _normalised_bursts(perturbation)      #: [R, L] complex64
        self.lead = _first_active_sample(self.bursts)       #: samples before any burst's energy begins
        self.position = 0                                   #: absolute index of the next output sample
        self.played = self.late = self.missed = self.overlapped = 0
        self.begun: list[tuple[int, int]] = []              #: (start, earliest) of each burst accepted
        self.outbox: list | None = None                     #: when a list: what :meth:`schedule` returns, collected
        self._queue: deque[tuple[int, int, np.ndarray]] = deque()  # (start, earliest, burst) not yet played out
        self._last_start = -np.inf
        self._busy_until = 0  # first sample after the last burst accepted

    def schedule(self, start: int, earliest: int | None = None) -> tuple[int, np.ndarray] | None:
        """A victim frame starts at absolute sample ``start`` (starts must not decrease); the attacker can
        transmit from sample ``earliest`` on (default: ``start``; never before the next output sample).

        Returns what will be played for it, ``(first sample index, samples)``, or None (missed or overlapped):
        a radio that transmits timed bursts sends exactly this, ahead of time (also appended to :attr:`outbox`
        when it is a list)."""
        start = int(start)
        if start < self._last_start:
            raise ValueError(f"frame starts must not decrease: {start} after {self._last_start}")
        self._last_start = start
        earliest = max(self.position, start if earliest is None else int(earliest))
        if earliest >= start + self.bursts.shape[1]:
            self.missed += 1
            return None
        if start < self._busy_until:
            self.overlapped += 1
            return None
        if earliest > start + self.lead:
            self.late += 1
        burst = self.bursts[self.played % len(self.bursts)]
        self._busy_until = start + len(burst)
        self._queue.append((start, earliest, burst))
        self.begun.append((start, earliest))
        self.played += 1
        first = max(start, earliest)
        played = (first, burst[first - start:])
        if self.outbox is not None:
            self.outbox.append(played)
        return played

    def process(self, n: int) -> np.ndarray:
        """The next ``n`` output samples, complex64."""
        out = np.zeros(int(n), dtype=np.complex64)
        end = self.position + len(out)
        while self._queue and self._queue[0][0] < end:
            start, earliest, burst = self._queue[0]
            lo, hi = max(start, earliest, self.position), min(start + len(burst), end)
            if hi > lo:
                out[lo - self.position:hi - self.position] = burst[lo - start:hi - start]
            if start + len(burst) > end:
                break
            self._queue.popleft()
        self.position = end
        return out


def _normalised_bursts(perturbation: Perturbation) -> np.ndarray:
    """Rows of the file's waveform with unit mean symbol power over the span, pulse-shaped, unit power per sample
    (module doc)."""
    rows = np.atleast_2d(perturbation.symbols).astype(np.complex64)
    mask = span_mask(perturbation.span, np.full(len(rows), rows.shape[1]), rows.shape[1])
    rows = scale_to_span(rows, np.ones_like(rows), mask, 0.0)  # PSR 0 dB against unit-energy symbols
    if not rows.any(axis=1).all():
        raise ValueError(f"perturbation {perturbation.kind} for {perturbation.scheme} has a row with no power "
                         f"on its span ({perturbation.span})")
    taps = rrc_taps(perturbation.sps, perturbation.rolloff)
    return np.stack([shape(row, taps, perturbation.sps) for row in rows]) * np.float32(np.sqrt(perturbation.sps))


def _first_active_sample(bursts: np.ndarray) -> int:
    """The first sample where any burst has more than 1e-6 of its peak magnitude."""
    active = np.abs(bursts).max(axis=0) > 1e-6 * np.abs(bursts).max()
    return int(np.argmax(active))
