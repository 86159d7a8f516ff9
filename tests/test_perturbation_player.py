"""The perturbation player: a perturbation file as a burst per scheduled frame start, the same in any
chunking, unit symbol power over the span (so the emulator's scale sets the PSR), rows cycled, late and
overlapping starts counted, files for another link refused."""
import numpy as np
import pytest

from semcomm.attacks.perturbation import Perturbation
from semcomm.attacks.threat import PAYLOAD_START
from semcomm.channel.perturbation_player import PerturbationPlayer
from semcomm.phy.pulse import matched_filter, rrc_taps

LAYOUT = {"modulation": "16qam", "code": "wifi1944_r12", "payload_bytes": 25, "frame_symbols": 833,
          "payload_symbols": 301}
MODEL_ID = "ab" * 32


def make_file(rows=1, seed=0, scale=3.0):
    rng = np.random.default_rng(seed)
    symbols = np.zeros((rows, 833), dtype=np.complex64)
    symbols[:, PAYLOAD_START:] = scale * (rng.standard_normal((rows, 301)) + 1j * rng.standard_normal((rows, 301)))
    return Perturbation(symbols if rows > 1 else symbols[0], "universal", "masked_vqvae_fim_at", MODEL_ID, LAYOUT,
                        "payload", 0.0, {"model": "white_box"})


def test_output_does_not_depend_on_the_chunking():
    starts = [100, 5000, 9000]
    whole = PerturbationPlayer(make_file(rows=3))
    for start in starts:
        whole.schedule(start)
    expected = whole.process(14000)
    chunked = PerturbationPlayer(make_file(rows=3))
    pieces, rng = [], np.random.default_rng(1)
    for start in starts:
        chunked.schedule(start)
    while sum(map(len, pieces)) < 14000:
        pieces.append(chunked.process(min(int(rng.integers(1, 2000)), 14000 - sum(map(len, pieces)))))
    assert np.array_equal(np.concatenate(pieces), expected) and chunked.played == 3


def test_a_burst_carries_the_file_at_unit_power_per_sample_over_its_span():
    player = PerturbationPlayer(make_file())
    player.schedule(40)
    out = player.process(40 + len(player.bursts[0]) + 100)
    assert not out[:40].any() and not out[40 + len(player.bursts[0]):].any()
    taps = rrc_taps(4)
    received = matched_filter(out[40:40 + len(player.bursts[0])], taps)[len(taps) - 1::4][:833]
    payload = received[PAYLOAD_START:]
    assert abs(10 * np.log10(np.mean(np.abs(payload) ** 2) / 4)) < 0.1  # sps times the unit-energy symbols' power
    assert np.mean(np.abs(received[:PAYLOAD_START - 8]) ** 2) < 4e-3  # nothing on the preamble and header


def test_rows_cycle_and_late_or_overlapping_starts_are_counted():
    player = PerturbationPlayer(make_file(rows=2))
    length = len(player.bursts[0])
    player.schedule(0)
    player.schedule(10)  # inside the first burst
    player.schedule(length)
    player.schedule(2 * length)
    out = player.process(3 * length)
    assert np.array_equal(out[:length], player.bursts[0]) and np.array_equal(out[length:2 * length], player.bursts[1])
    assert np.array_equal(out[2 * length:], player.bursts[0])
    assert (player.played, player.overlapped, player.late) == (3, 1, 0)
    assert 4 * (PAYLOAD_START - 8) < player.lead <= 4 * PAYLOAD_START  # the payload, less the RRC's reach
    player.process(length)
    player.schedule(4 * length - player.lead - 1)  # the attacker reacted one sample after the payload had begun
    assert player.late == 1 and np.array_equal(player.process(100), player.bursts[1][player.lead + 1:][:100])
    player.process(length)
    player.schedule(player.position - length)  # the whole burst lies in the past: nothing left to play
    assert player.missed == 1 and player.played == 4 and not player.process(100).any()
    with pytest.raises(ValueError, match="must not decrease"):
        player.schedule(0)


def test_a_burst_is_silent_before_the_attackers_earliest_sample():
    player = PerturbationPlayer(make_file())
    earliest = 100 + player.lead + 300  # the attacker can transmit only 300 samples into the payload
    player.schedule(100, earliest=earliest)
    out = player.process(100 + len(player.bursts[0]))
    assert not out[:earliest].any() and np.array_equal(out[earliest:], player.bursts[0][player.lead + 300:])
    assert player.late == 1 and player.begun == [(100, earliest)]


def test_a_reactive_start_in_the_past_plays_the_rest_of_the_burst():
    player = PerturbationPlayer(make_file())
    player.process(1000 + player.lead)  # the frame began at 1000; its header has just been decoded
    player.schedule(1000)
    out = player.process(len(player.bursts[0]))
    assert player.late == 0 and player.played == 1
    assert np.array_equal(out[:len(player.bursts[0]) - player.lead], player.bursts[0][player.lead:])


def test_a_file_for_another_link_is_refused():
    with pytest.raises(ValueError, match="crafted for model id"):
        PerturbationPlayer(make_file(), model_id="00" * 32, layout=LAYOUT)
    with pytest.raises(ValueError, match="payload_bytes: file 25, link 26"):
        PerturbationPlayer(make_file(), model_id=MODEL_ID, layout={**LAYOUT, "payload_bytes": 26})
    with pytest.raises(ValueError, match="4 samples per symbol, the link uses 8"):
        PerturbationPlayer(make_file(), sps=8)
    with pytest.raises(ValueError, match="no power on its span"):
        PerturbationPlayer(make_file(scale=0.0))
    PerturbationPlayer(make_file(), model_id=MODEL_ID, layout=LAYOUT, sps=4)
