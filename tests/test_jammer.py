"""StreamJammer: unit power, chunked processing equal to one call, tone phase continuity and the
frame-aligned (reactive) gate driven by the sensed transmitter envelope."""
import numpy as np
import pytest

from semcomm.channel import complex_normal, mean_power
from semcomm.channel.jammer import StreamJammer

SPS = 4


def bursty_stream(rng, frames=((500, 3000), (4000, 6000)), n=8000):
    """Silence with 'frames' of per-sample power 1 / SPS at the given [start, stop) ranges."""
    x = np.zeros(n, dtype=np.complex64)
    for start, stop in frames:
        x[start:stop] = complex_normal((stop - start,), 1.0 / SPS, rng)
    return x


def run_chunked(jammer, x, sizes):
    out, start = [], 0
    for size in sizes:
        out.append(jammer.process(x[start:start + size]))
        start += size
    out.append(jammer.process(x[start:]))
    return np.concatenate(out)


@pytest.mark.parametrize("kind", ["gaussian", "tone"])
@pytest.mark.parametrize("mode", ["free_running", "frame_aligned"])
def test_chunked_processing_equals_one_call(kind, mode):
    x = bursty_stream(np.random.default_rng(1))
    whole = StreamJammer(kind, mode, tone_freq=0.137, seed=5).process(x)
    sizes = np.random.default_rng(2).integers(0, 700, 20)  # includes empty chunks
    chunked = run_chunked(StreamJammer(kind, mode, tone_freq=0.137, seed=5), x, sizes)
    assert whole.dtype == chunked.dtype == np.complex64 and whole.shape == x.shape
    np.testing.assert_allclose(chunked, whole, atol=2e-6)


def test_free_running_has_unit_power_and_ignores_the_sensed_values():
    rng = np.random.default_rng(3)
    quiet, loud = np.zeros(200_000, np.complex64), complex_normal((200_000,), 4.0, rng)
    gaussian = StreamJammer("gaussian", seed=9).process(quiet)
    np.testing.assert_array_equal(gaussian, StreamJammer("gaussian", seed=9).process(loud))
    assert abs(mean_power(gaussian) - 1.0) < 0.01
    tone = StreamJammer("tone", tone_freq=-0.21).process(quiet[:1000])
    np.testing.assert_allclose(np.abs(tone), 1.0, atol=1e-6)


def test_tone_phase_is_continuous_across_calls():
    jammer = StreamJammer("tone", tone_freq=0.01)
    first, second = jammer.process(np.zeros(33, np.complex64)), jammer.process(np.zeros(50, np.complex64))
    t = np.arange(83)
    np.testing.assert_allclose(np.concatenate([first, second]), np.exp(2j * np.pi * 0.01 * t), atol=1e-5)
    assert jammer.samples == 83


def test_frame_aligned_jams_only_while_a_frame_is_sensed():
    window, threshold = 64, 0.5 / SPS
    x = bursty_stream(np.random.default_rng(4))
    jam = StreamJammer("gaussian", "frame_aligned", seed=1, sense_window=window, sense_threshold=threshold).process(x)
    on = jam != 0
    lag = 2 * window  # the gate opens after ~window/2 samples, with margin for the random envelope
    assert not on[:500].any() and not on[3000 + lag:4000].any() and not on[6000 + lag:].any()
    assert on[500 + lag:3000].all() and on[4000 + lag:6000].all()
    assert abs(mean_power(jam[on]) - 1.0) < 0.03  # unit power while jamming


def test_frame_aligned_gate_follows_the_moving_average_exactly():
    window, threshold = 8, 0.3
    x = np.sqrt(np.array([0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1], dtype=np.float32)).astype(np.complex64)
    jammer = StreamJammer("tone", "frame_aligned", tone_freq=0.0, sense_window=window, sense_threshold=threshold)
    gate = np.abs(jammer.process(x)) > 0
    padded = np.concatenate([np.zeros(window - 1), np.abs(x) ** 2])
    average = np.convolve(padded, np.ones(window) / window, mode="valid")
    assert gate.any() and not gate.all()
    np.testing.assert_array_equal(gate, average > threshold)


@pytest.mark.parametrize("kwargs", [dict(kind="sweep"), dict(mode="always"), dict(tone_freq=0.6),
                                    dict(sense_window=0), dict(sense_window=2.5), dict(sense_threshold=0)])
def test_invalid_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        StreamJammer(**kwargs)
