"""The attacker radio's core (no GNU Radio): on a stream of real frames sensed at 10 dB, each sync mode hits the
frames it should (oracle all, reactive at zero latency all, predictive all after its learning frames, reactive
with more latency than the header lasts none whole), the realised power over the span is the nominal one, and
the output does not depend on the chunking."""
import numpy as np
import pytest

from semcomm.attacks.perturbation import Perturbation
from semcomm.attacks.threat import PAYLOAD_START
from semcomm.channel.attacker_radio import AttackerRadio, AttackScheduler, FrameSensor
from semcomm.channel.awgn import complex_normal
from semcomm.channel.jammer import StreamJammer
from semcomm.channel.perturbation_player import PerturbationPlayer
from semcomm.phy.modem import FrameModem
from semcomm.phy.pulse import rrc_taps, shape

SPS, GUARD, FRAMES = 4, 64, 40
TAPS = rrc_taps(SPS, 0.35, 8)
LAYOUT = {"modulation": "16qam", "code": "wifi1944_r12", "payload_bytes": 25, "frame_symbols": 833,
          "payload_symbols": 301}


def victim_stream(frames=FRAMES, snr_db=10.0, seed=0):
    """Back-to-back frames with a guard, as the transmitter's PDU-to-stream + RRC make them, sensed at
    ``snr_db``; returns (sensed samples, true frame starts)."""
    rng = np.random.default_rng(seed)
    batch = FrameModem().modulate(rng.integers(0, 256, (frames, 25), dtype=np.uint8))
    period = (batch.symbols.shape[1] + GUARD) * SPS
    symbols = np.concatenate([np.concatenate([row, np.zeros(GUARD, np.complex64)]) for row in batch.symbols])
    tx = shape(symbols, TAPS, SPS)[:frames * period]
    sensed = tx + complex_normal(tx.shape, 10 ** (-snr_db / 10), rng)
    return sensed.astype(np.complex64), np.arange(frames) * period


def perturbation_file(seed=0):
    rng = np.random.default_rng(seed)
    symbols = np.zeros(833, np.complex64)
    symbols[PAYLOAD_START:] = rng.standard_normal(301) + 1j * rng.standard_normal(301)
    return Perturbation(symbols, "universal", "victim", "ab" * 32, LAYOUT, "payload", 0.0, {"model": "white_box"})


def attack(sync, latency=0, chunk=4096, snr_db=10.0):
    sensed, starts = victim_stream(snr_db=snr_db)
    radio = AttackerRadio(TAPS, SPS, PerturbationPlayer(perturbation_file()), sync=sync, latency=latency)
    tags = {int(s): (int(s), 897 * SPS, k) for k, s in enumerate(starts)}
    out = np.concatenate([radio.process(sensed[i:i + chunk], [tags[s] for s in range(i, i + chunk) if s in tags])
                          for i in range(0, sensed.size, chunk)])
    return radio, out


def test_the_sensor_finds_each_frame_start_to_within_a_sample_before_its_header_ends():
    sensed, starts = victim_stream()
    sensor = FrameSensor(TAPS, SPS, min_frame_samples=833 * SPS)
    found = [d for i in range(0, sensed.size, 1000) for d in sensor.push(sensed[i:i + 1000])]
    assert len(found) == FRAMES
    assert np.abs(np.array([d.start for d in found]) - starts).max() <= 1
    assert all(d.known_at - d.start < PAYLOAD_START * SPS for d in found)


@pytest.mark.parametrize("sync, latency, least", [("oracle", 0, FRAMES), ("reactive", 0, FRAMES),
                                                  ("reactive", 1000, FRAMES), ("predictive", 0, FRAMES - 4),
                                                  ("predictive", 5000, FRAMES - 6)])
def test_each_sync_mode_hits_the_frames_it_should(sync, latency, least):
    radio, _ = attack(sync, latency)
    summary = radio.summary()
    assert summary["frames_on_air"] == FRAMES
    assert summary["frames_attacked"] >= least, summary
    assert summary["late"] == 0 and summary["offset_max_abs"] <= 1
    assert abs(summary["relative_power_db_mean"]) < 0.2  # unit symbol power over the payload: PSR as set


def test_a_reactive_attacker_slower_than_the_header_is_late_on_every_frame():
    radio, _ = attack("reactive", latency=PAYLOAD_START * SPS)
    summary = radio.summary()
    assert summary["frames_attacked"] == 0 and summary["late"] == FRAMES


def test_an_unsynced_attacker_plays_continuously_without_hitting_frame_starts():
    radio, out = attack("unsynced")
    assert radio.summary()["frames_attacked"] <= 1
    assert np.count_nonzero(out) > 0.3 * out.size


def test_the_output_does_not_depend_on_the_chunking():
    _, whole = attack("reactive", chunk=1 << 20)
    _, chunked = attack("reactive", chunk=777)
    np.testing.assert_array_equal(whole, chunked)


def test_timed_bursts_leave_ahead_of_their_time_and_replay_the_streamed_output():
    """Predictive sync slower than a frame: each burst is known before the stream reaches it (a radio can send
    it with a tx_time), and the bursts placed at their indices are the streamed output."""
    sensed, starts = victim_stream()
    radio = AttackerRadio(TAPS, SPS, PerturbationPlayer(perturbation_file()), sync="predictive", latency=5000,
                          timed_bursts=True)
    out, placed, lead = [], np.zeros(sensed.size, np.complex64), []
    for i in range(0, sensed.size, 1000):
        out.append(radio.process(sensed[i:i + 1000]))
        for first, samples, timed in radio.take_bursts():
            assert timed
            lead.append(first - radio.position)
            samples = samples[:max(0, sensed.size - first)]
            placed[first:first + samples.size] = samples
    assert len(lead) >= FRAMES - 6 and min(lead) > 0  # every burst ahead of the stream
    np.testing.assert_array_equal(placed, np.concatenate(out))


def test_a_jammer_is_shaped_with_the_link_pulse_and_attacks_every_frame():
    sensed, starts = victim_stream(frames=5)
    radio = AttackerRadio(TAPS, SPS, jammer=StreamJammer("gaussian", seed=3))
    out = radio.process(sensed, [(int(s), 897 * SPS, k) for k, s in enumerate(starts)])
    expected = np.convolve(StreamJammer("gaussian", seed=3).process(sensed), TAPS)[:sensed.size]
    np.testing.assert_allclose(out, expected, atol=1e-5)
    assert radio.summary()["frames_attacked"] == 5


def test_bad_settings_are_refused():
    player = PerturbationPlayer(perturbation_file())
    with pytest.raises(ValueError, match="sync must be one of"):
        AttackScheduler(player, "psychic")
    with pytest.raises(ValueError, match="latency"):
        AttackScheduler(player, "reactive", latency=-1)
    with pytest.raises(ValueError, match="either a perturbation file or a jammer"):
        AttackerRadio(TAPS, SPS)
