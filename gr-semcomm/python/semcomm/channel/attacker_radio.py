"""The attacker radio's signal processing, without GNU Radio: it senses the victim's frames, decides when
each starts and plays its waveform there; and a ledger of what it hit, for the run's metrics.

Stream conventions (all positions are absolute sample indices of the attacker's streams, which run sample for
sample with the transmitter's: output sample ``t`` reaches the receiver together with transmitter sample ``t``):

* :class:`FrameSensor` — the attacker's own receiver: the link's matched filter (RRC taps, causal, so matched-
  filter output ``n`` uses input up to ``n``) and the project's preamble detector
  (:meth:`semcomm.phy.sync.FrameSynchronizer.detect_preambles`). A preamble peak at matched-filter index ``m``
  means the frame's first transmitted sample is ``m - (len(taps) - 1)`` (transmit and matched filter delay);
  the detection is *known* at the last sample the detector used (about 66 symbols after the start).
* :class:`AttackScheduler` — when to transmit, one of :data:`SYNC_MODES`:

  - ``oracle``: at each frame start the transmitter tags (simulation only; the upper bound);
  - ``reactive``: at each detected start, transmitting from ``known + latency`` on (``latency``: the
    attacker's processing delay in samples; a burst whose payload has begun by then is played in part and
    counted late, one that is over is missed);
  - ``predictive``: learns the frame period ``P`` (median spacing of the last ``learn_frames`` detections) and,
    after each detection at ``s``, schedules the first predicted start ``s + k P`` (``k >= 1``) that it can
    still reach whole after its latency: a timed burst, which hits every frame of periodic traffic even when
    the attacker reacts slower than a frame;
  - ``unsynced``: no sensing; bursts back to back from a seeded random offset (the shift-robust perturbation
    is made for this).
* :class:`AttackLedger` — for each true frame start (from the transmitter's tags, where the run has them):
  whether a burst hit it (began within ``sps / 2`` of the start and was not late), the burst's offset in
  samples, and the realised power of the attacker's output over the attacked span relative to its nominal unit
  power per sample (dB; the received PSR is this plus the channel's ``psr_db`` and ``20 log10 |h_a|``).

:class:`AttackerRadio` combines them for a perturbation file (:class:`.perturbation_player.PerturbationPlayer`)
or for today's jammers (:class:`.jammer.StreamJammer`, shaped with the link's RRC so their power lands in
the signal band).
"""
from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from ..attacks.threat import span_mask
from ..phy.modem import PREAMBLE_LENGTH
from ..phy.sync import FrameSynchronizer
from .jammer import StreamJammer
from .perturbation_player import PerturbationPlayer
from .stream import StreamFilter

SYNC_MODES = ("oracle", "reactive", "predictive", "unsynced")


@dataclass(frozen=True)
class Detection:
    start: int      #: the frame's first transmitted sample (stream index)
    known_at: int   #: the last sample the detection used
    metric: float   #: preamble correlation (0..1)


class FrameSensor:
    """Detects the victim's frames in the sensed stream (module doc). ``min_frame_samples``: after a
    detection the search resumes this far after the start (the shortest frame)."""

    def __init__(self, taps, sps: int, threshold: float = 0.5, min_frame_samples: int | None = None):
        self.matched = StreamFilter(np.asarray(taps, dtype=np.float32)[::-1])
        self.delay = len(taps) - 1
        self.detector = FrameSynchronizer(None, sps, threshold)
        self.skip = int(min_frame_samples or PREAMBLE_LENGTH * sps)

    @property
    def detections(self) -> int:
        return self.detector.detections

    def push(self, sensed) -> list[Detection]:
        found = self.detector.detect_preambles(self.matched(sensed), self.skip)
        return [Detection(int(round(start)) - self.delay, known_at, metric) for start, metric, known_at in found]


class AttackScheduler:
    """Turns frame starts (tags or detections) into the player's bursts in one of :data:`SYNC_MODES`."""

    def __init__(self, player: PerturbationPlayer, sync: str, latency: int = 0, learn_frames: int = 4,
                 seed: int = 0):
        if sync not in SYNC_MODES:
            raise ValueError(f"attacker sync must be one of {', '.join(SYNC_MODES)}, got {sync!r}")
        if int(latency) != latency or latency < 0:
            raise ValueError(f"attacker latency must be an integer >= 0 (samples), got {latency!r}")
        if int(learn_frames) != learn_frames or learn_frames < 2:
            raise ValueError(f"learn_frames must be an integer >= 2, got {learn_frames!r}")
        self.player, self.sync, self.latency, self.learn_frames = player, sync, int(latency), int(learn_frames)
        self.period: float | None = None  #: the learnt frame period (predictive), samples
        self.predictions = 0
        self._starts: list[int] = []
        self._last = -math.inf
        self._next_unsynced = int(np.random.default_rng(seed).integers(player.bursts.shape[1]))

    def on_tag(self, start: int) -> None:
        if self.sync == "oracle":
            self._schedule(start, start)

    def on_detection(self, detection: Detection) -> None:
        ready = detection.known_at + self.latency
        if self.sync == "reactive":
            self._schedule(detection.start, ready)
        elif self.sync == "predictive":
            self._predict(detection.start, ready)

    def before_output(self, end: int) -> None:
        """Called before the output up to sample ``end`` is produced (unsynced: keep bursts queued)."""
        length = self.player.bursts.shape[1]
        while self.sync == "unsynced" and self._next_unsynced < end + length:
            self.player.schedule(self._next_unsynced)
            self._next_unsynced += length

    def _predict(self, start: int, ready: int) -> None:
        self._starts = (self._starts + [start])[-self.learn_frames:]
        if len(self._starts) < self.learn_frames:
            return
        self.period = float(np.median(np.diff(self._starts)))
        steps = max(1, math.ceil((ready - start) / self.period))
        predicted = int(round(start + steps * self.period))
        if predicted > self._last + self.period / 2:  # not already predicted from an earlier frame
            self.predictions += 1
            self._schedule(predicted, ready)

    def _schedule(self, start: int, earliest: int) -> None:
        if start <= self._last:
            return
        self._last = start
        self.player.schedule(start, earliest)


class AttackLedger:
    """Per true frame: attacked or not, burst offset and realised relative power over ``window`` (module doc).

    ``window``: ``(first, end)`` samples relative to the frame start over which power is measured, or None for
    the frame's own length (its tag's); ``bursts``: the player's :attr:`~PerturbationPlayer.begun` list (None for
    a jammer: a frame then counts as attacked when the jammer transmitted over most of its window);
    ``lead``: where a burst's energy begins."""

    def __init__(self, sps: int, window: tuple[int, int] | None = None, bursts: list | None = None, lead: int = 0):
        self.sps, self.window, self.bursts, self.lead = int(sps), window, bursts, int(lead)
        self.records: list[dict] = []
        self._pending: list[list] = []  # [seq or index, start, first, end, energy, active samples]
        self._frames = 0

    def on_frame(self, start: int, length: int, seq: int | None = None) -> None:
        """A frame of ``length`` samples (and sequence number ``seq``, where known) starts at ``start``."""
        first, end = (start + self.window[0], start + self.window[1]) if self.window else (start, start + length)
        self._pending.append([self._frames if seq is None else seq, start, first, end, 0.0, 0])
        self._frames += 1

    def observe(self, out: np.ndarray, position: int) -> None:
        """The attacker's output samples ``out`` starting at ``position``; completes the frames they finish."""
        end = position + len(out)
        for record in self._pending:
            lo, hi = max(record[2], position), min(record[3], end)
            if hi > lo:
                piece = out[lo - position:hi - position]
                record[4] += float(np.vdot(piece, piece).real)
                record[5] += int(np.count_nonzero(piece))
        while self._pending and self._pending[0][3] <= end:
            self.records.append(self._finish(*self._pending.pop(0)))

    def _forget_bursts_before(self, start: int) -> None:
        """Frames finish in order: bursts before the one nearest the last finished frame are not needed again."""
        while len(self.bursts) > 1 and self.bursts[1][0] <= start:
            del self.bursts[0]

    def _finish(self, index, start, first, end, energy, active) -> dict:
        span = end - first
        relative_db = 10 * math.log10(energy / span) if energy > 0 else None
        record = {"seq": index, "start": start, "attacked": active > span / 2, "offset": None,
                  "relative_power_db": relative_db}
        if self.bursts is not None:
            self._forget_bursts_before(start)
            burst = self._nearest_burst(start)
            if burst is not None:
                record["offset"] = burst[0] - start
                record["attacked"] = abs(burst[0] - start) <= self.sps // 2 and burst[1] <= burst[0] + self.lead
        return record

    def _nearest_burst(self, start: int):
        starts = [b[0] for b in self.bursts]
        i = bisect.bisect_left(starts, start)
        near = [self.bursts[j] for j in (i - 1, i) if 0 <= j < len(self.bursts)]
        return min(near, key=lambda b: abs(b[0] - start)) if near else None

    def summary(self) -> dict:
        """Frames seen on the air, attacked (hit), hit rate, burst offsets and realised power."""
        hit = [r for r in self.records if r["attacked"]]
        offsets = [r["offset"] for r in hit if r["offset"] is not None]
        powers = [r["relative_power_db"] for r in hit if r["relative_power_db"] is not None]
        return {"frames_on_air": len(self.records), "frames_attacked": len(hit),
                "hit_rate": len(hit) / len(self.records) if self.records else None,
                "offset_mean": float(np.mean(offsets)) if offsets else None,
                "offset_max_abs": int(np.max(np.abs(offsets))) if offsets else None,
                "relative_power_db_mean": float(np.mean(powers)) if powers else None}


class AttackerRadio:
    """Sensed samples (+ the transmitter's frame-start tags where known) in, the attacker's waveform out.

    Either ``perturbation`` (a :class:`.perturbation_player.PerturbationPlayer`) in a ``sync`` mode, or ``jammer``
    (a :class:`.jammer.StreamJammer`, shaped with ``taps``). ``taps``: the link's RRC (the sensor's matched
    filter); ``threshold``: the sensor's detection threshold; ``timed_bursts``: also collect each burst when it
    is scheduled, for a radio that transmits it ahead of time at its sample index (:meth:`take_bursts`)."""

    def __init__(self, taps, sps: int, perturbation: PerturbationPlayer | None = None, sync: str = "reactive",
                 latency: int = 0, learn_frames: int = 4, jammer: StreamJammer | None = None,
                 threshold: float = 0.5, seed: int = 0, timed_bursts: bool = False):
        if (perturbation is None) == (jammer is None):
            raise ValueError("an attacker plays either a perturbation file or a jammer")
        self.sps, self.player, self.jammer, self.position = int(sps), perturbation, jammer, 0
        if perturbation is not None:
            layout = perturbation.perturbation.layout
            self.scheduler = AttackScheduler(perturbation, sync, latency, learn_frames, seed)
            self.sensor = FrameSensor(taps, sps, threshold, int(layout["frame_symbols"]) * self.sps) \
                if sync in ("reactive", "predictive") else None
            self.ledger = AttackLedger(sps, _span_window(perturbation), perturbation.begun, perturbation.lead)
            perturbation.outbox = [] if timed_bursts else None
        else:
            self.shaper, self.sensor = StreamFilter(np.asarray(taps, dtype=np.float32)), None
            self.ledger = AttackLedger(sps)
            self._jammed: list | None = [] if timed_bursts else None

    def process(self, sensed, frame_tags=()) -> np.ndarray:
        """Output for the sensed chunk ``sensed`` (complex ``[n]``); ``frame_tags``: ``(start, length in samples,
        seq)`` of the frames the transmitter began in this chunk (true starts: oracle sync and the ledger)."""
        sensed = np.asarray(sensed, dtype=np.complex64)
        for start, length, seq in frame_tags:
            self.ledger.on_frame(start, length, seq)
            if self.player is not None:
                self.scheduler.on_tag(start)
        if self.player is None:
            out = self.shaper(self.jammer.process(sensed))
            if self._jammed is not None:
                self._jammed.append((self.position, out))
        else:
            for detection in self.sensor.push(sensed) if self.sensor else ():
                self.scheduler.on_detection(detection)
            self.scheduler.before_output(self.position + sensed.size)
            out = self.player.process(sensed.size)
        self.ledger.observe(out, self.position)
        self.position += sensed.size
        return out

    def take_bursts(self) -> list[tuple[int, np.ndarray, bool]]:
        """What to transmit since the last call (``timed_bursts``), ``(first sample index, samples, timed)`` each:
        a perturbation's bursts as they are scheduled (ahead of their time in ``predictive`` sync), to be sent at
        their index (``timed``); a jammer's output chunk by chunk, to be sent at once (its time has passed)."""
        if self.player is None:
            chunks, self._jammed = self._jammed, []
            return [(first, samples, False) for first, samples in chunks]
        bursts, self.player.outbox = self.player.outbox, []
        return [(first, samples, True) for first, samples in bursts]

    def summary(self) -> dict:
        """The ledger's summary and the attacker's own counters (detections, bursts, late, missed)."""
        summary = self.ledger.summary()
        if self.player is not None:
            summary.update(sync=self.scheduler.sync, detections=self.sensor.detections if self.sensor else None,
                           bursts=self.player.played, late=self.player.late, missed=self.player.missed,
                           overlapped=self.player.overlapped, period=self.scheduler.period)
        return summary


def _span_window(player: PerturbationPlayer) -> tuple[int, int]:
    """Samples (relative to the frame start) of the file's span: where the realised power is measured."""
    perturbation = player.perturbation
    frame_symbols = int(perturbation.layout["frame_symbols"])
    symbols = np.flatnonzero(span_mask(perturbation.span, [frame_symbols], frame_symbols)[0])
    return int(symbols[0]) * perturbation.sps, int(symbols[-1] + 1) * perturbation.sps
