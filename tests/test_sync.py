"""Pulse shaping, the streaming burst synchroniser and the stream channel (core, no GNU Radio)."""
import numpy as np
import pytest

from semcomm.channel.stream import StreamChannel, StreamChannelConfig
from semcomm.phy.framing import Reject
from semcomm.phy.modem import FrameModem, LinkConfig
from semcomm.phy.pulse import matched_filter, rrc_taps, shape
from semcomm.phy.sync import FrameSynchronizer, fit_phase_ramp, preamble_metric, sample_symbols

SPS = 4


def frame_stream(modem, num_frames, rng, guard=64):
    payloads = rng.integers(0, 256, (num_frames, 25), dtype=np.uint8)
    tx = modem.modulate(payloads)
    gap = np.zeros(guard, dtype=np.complex64)
    return tx, np.concatenate([np.concatenate([gap, s]) for s in tx.symbols] + [gap])


def receive(modem, samples, chunk):
    sync = FrameSynchronizer(modem, SPS)
    frames = []
    for i in range(0, samples.size, chunk):
        frames += sync.push(samples[i:i + chunk])
    return frames + sync.flush(), sync


def test_rrc_taps_unit_energy_and_nyquist_after_matched_filter():
    taps = rrc_taps(SPS, 0.35, 8)
    assert taps.size == 8 * SPS + 1 and np.isclose(np.sum(taps.astype(np.float64) ** 2), 1.0, atol=1e-6)
    pulse = matched_filter(shape([1.0], taps, SPS), taps)
    centre = np.argmax(np.abs(pulse))
    assert np.isclose(pulse[centre], 1.0, atol=1e-4)
    neighbours = pulse[centre + SPS * np.arange(-7, 8)[np.arange(-7, 8) != 0]]
    assert np.sum(np.abs(neighbours) ** 2) < 1e-3  # raised cosine truncated to 8 symbols: ISI below -30 dB
    with pytest.raises(ValueError, match="rolloff"):
        rrc_taps(SPS, 0.0)


def test_metric_is_one_on_a_clean_preamble_and_small_on_noise():
    modem = FrameModem(LinkConfig())
    tx, stream = frame_stream(modem, 1, np.random.default_rng(0))
    taps = rrc_taps(SPS)
    y = matched_filter(shape(stream, taps, SPS), taps)
    metric = preamble_metric(y, SPS)
    assert metric.max() == pytest.approx(1.0, abs=1e-3)
    noise = np.array([1, 1j]) @ np.random.default_rng(1).standard_normal((2, 50_000))
    assert preamble_metric(matched_filter(noise.astype(np.complex64), taps), SPS).mean() < 0.3


def test_fit_phase_ramp_and_interpolation():
    k = np.arange(500)
    omega, theta = fit_phase_ramp(np.exp(1j * (0.01 * k + 0.4)))
    assert omega == pytest.approx(0.01, abs=1e-9) and theta == pytest.approx(0.4, abs=1e-7)
    t = np.arange(400)
    y = np.exp(2j * np.pi * 0.01 * t).astype(np.complex64)
    got = sample_symbols(y, 100.3, 4, 50)
    np.testing.assert_allclose(got, np.exp(2j * np.pi * 0.01 * (100.3 + 4 * np.arange(50))), atol=1e-3)


@pytest.mark.parametrize("chunk", [997, 100_000])
def test_synchroniser_recovers_frames_through_impaired_channel(chunk):
    rng = np.random.default_rng(2)
    modem = FrameModem(LinkConfig())
    tx, stream = frame_stream(modem, 20, rng)
    taps = rrc_taps(SPS)
    channel = StreamChannel(StreamChannelConfig(snr_db=10, sps=SPS, cfo=0.004 / SPS, timing_offset=7.6, seed=4))
    y = matched_filter(channel.process(shape(stream, taps, SPS) * 0.5), taps)  # 0.5: unknown gain, Es/N0 = 4 dB
    frames, sync = receive(modem, y, chunk)
    assert [f.header.seq for f in frames] == list(range(20)) and sync.header_failures == 0
    cfo = np.array([f.cfo for f in frames])
    snr = np.array([f.snr_db for f in frames])
    assert np.abs(cfo - 0.004).max() < 2e-4 and np.abs(snr - 10 * np.log10(0.25 * 10)).max() < 1.0
    layout = modem.header_layout(frames[0].header)
    llr = modem.demap_payload(layout, np.stack([f.payload for f in frames]), frames[0].noise_var)
    pre_fec_ber = np.mean((llr < 0) != tx.coded_bits)
    assert pre_fec_ber < 0.2  # 16-QAM at Es/N0 = 4 dB: about 0.12 (theory), so no sync loss beyond that


def test_truncated_stream_and_noise_only():
    rng = np.random.default_rng(5)
    modem = FrameModem(LinkConfig())
    _, stream = frame_stream(modem, 2, rng)
    taps = rrc_taps(SPS)
    y = matched_filter(shape(stream, taps, SPS), taps)
    frames, _ = receive(modem, y[: y.size - 600 * SPS], 4096)  # the second frame is cut short
    assert frames[0].reject is None and frames[0].snr_db > 25  # noiseless: only the RRC truncation and frames[-1].reject == Reject.TOO_SHORT
    noise = (rng.standard_normal(100_000) + 1j * rng.standard_normal(100_000)).astype(np.complex64)
    frames, sync = receive(modem, matched_filter(noise, taps), 8192)
    assert all(f.reject is not None for f in frames) and sync.detections < 5


@pytest.mark.parametrize("cfo", [-0.078, 0.055, 0.078])
def test_the_frequency_search_absorbs_two_uncalibrated_b210s(cfo):
    """+-8 ppm at 2.45 GHz and 1 Msps (0.078 cycles/symbol), beyond one hypothesis's capture range: without the
    search the frames are lost; with cfo_range 0.08 every frame decodes at 10 dB and the CFO is estimated."""
    rng = np.random.default_rng(5)
    modem = FrameModem(LinkConfig())
    tx, stream = frame_stream(modem, 12, rng)
    taps = rrc_taps(SPS)
    channel = StreamChannel(StreamChannelConfig(snr_db=10, sps=SPS, cfo=cfo / SPS, timing_offset=2.3, seed=6))
    y = matched_filter(channel.process(shape(stream, taps, SPS)), taps)
    plain, _ = receive(modem, y, 4096)
    assert sum(f.reject is None for f in plain) <= 2
    sync = FrameSynchronizer(modem, SPS, cfo_range=0.08)
    assert list(sync.hypotheses) == pytest.approx([-0.08, -0.04, 0.0, 0.04, 0.08])
    frames = [f for i in range(0, y.size, 4096) for f in sync.push(y[i:i + 4096])]
    assert [f.header.seq for f in frames] == list(range(12)) and sync.header_failures == 0
    assert np.abs(np.array([f.cfo for f in frames]) - cfo).max() < 2e-4
    llr = modem.demap_payload(modem.header_layout(frames[0].header), np.stack([f.payload for f in frames]),
                              frames[0].noise_var)
    assert np.mean((llr < 0) != tx.coded_bits) < 0.1  # 16-QAM at 10 dB: about 0.06


def test_stream_channel_chunking_invariant_and_snr():
    cfg = StreamChannelConfig(snr_db=5, sps=SPS, cfo=0.001, timing_offset=3.4, fading="rician", k_factor_db=3,
                              fading_block=100, psr_db=-3, h_a=0.5j)
    x = np.exp(1j * np.random.default_rng(2).uniform(0, 6, 5000)).astype(np.complex64) / np.sqrt(SPS)
    jam = np.ones(5000, np.complex64)
    whole = StreamChannel(cfg).process(x, jam)
    chunked = StreamChannel(cfg)
    parts = np.concatenate([chunked.process(x[i:i + 333], jam[i:i + 333]) for i in range(0, 5000, 333)])
    np.testing.assert_array_equal(whole, parts)
    noise_only = StreamChannel(StreamChannelConfig(snr_db=5, sps=SPS)).process(np.zeros(200_000, np.complex64))
    assert np.mean(np.abs(noise_only) ** 2) == pytest.approx(10 ** -0.5, rel=0.02)
    with pytest.raises(ValueError, match="fading"):
        StreamChannelConfig(fading="nakagami")


def test_the_attackers_channel_has_its_own_cfo_timing_error_and_fading():
    """H_a: the attacker's waveform (an impulse train here) reaches the receiver rotated at h_a_cfo, delayed by
    h_a_delay and faded in its own blocks (E|g|^2 = 1) while the transmitter's path stays clean; chunking changes
    nothing."""
    n, block = 40_000, 100
    delta = np.zeros(n, np.complex64)
    delta[::block] = 1.0
    cfg = StreamChannelConfig(snr_db=np.inf, sps=SPS, psr_db=0.0, h_a=2.0, h_a_cfo=0.01, h_a_delay=3,
                              h_a_fading="rayleigh", fading_block=block, seed=7)
    x = np.exp(1j * np.arange(n) * 0.1).astype(np.complex64)
    y = StreamChannel(cfg).process(x, delta) - x  # what the attacker added
    chunked = StreamChannel(cfg)
    parts = np.concatenate([chunked.process(x[i:i + 777], delta[i:i + 777]) for i in range(0, n, 777)]) - x
    np.testing.assert_allclose(parts, y, atol=1e-5)
    arrivals = np.arange(3, n, block)
    assert np.count_nonzero(np.abs(y) > 1e-6) == arrivals.size and np.all(np.abs(y[arrivals]) > 0)
    gains = y[arrivals] / (2.0 / np.sqrt(SPS) * np.exp(2j * np.pi * 0.01 * arrivals))
    assert np.mean(np.abs(gains) ** 2) == pytest.approx(1.0, abs=0.1)  # Rayleigh, one draw per block
    assert np.std(np.abs(gains)) == pytest.approx(np.sqrt(1 - np.pi / 4), abs=0.05)  # |g| Rayleigh distributed
    still = StreamChannel(StreamChannelConfig(snr_db=np.inf, sps=SPS, psr_db=0.0, h_a_cfo=0.01, seed=7))
    rotated = still.process(np.zeros(n, np.complex64), delta)
    np.testing.assert_allclose(rotated[::block], np.exp(2j * np.pi * 0.01 * np.arange(0, n, block)) / np.sqrt(SPS),
                               atol=1e-5)
    tone = np.exp(2j * np.pi * 0.05 * np.arange(4000)).astype(np.complex64)  # band-limited: fractional delay exact
    clean, late = (StreamChannel(StreamChannelConfig(snr_db=np.inf, sps=SPS, psr_db=psr, timing_offset=0.25,
                                                     h_a_delay=2.75)).process(tone, tone) for psr in (-np.inf, 0.0))
    ratio = (late - clean)[200:] / clean[200:]  # the attacker's copy against the transmitter's: 2.5 samples later
    np.testing.assert_allclose(ratio, np.exp(-2j * np.pi * 0.05 * 2.5) / np.sqrt(SPS), atol=1e-3)
    with pytest.raises(ValueError, match="h_a_delay"):
        StreamChannelConfig(h_a_delay=-1)


def test_burst_receiver_refuses_other_models_and_bad_non_semantic_payloads():
    from semcomm.phy.receiver import BurstReceiver
    rng = np.random.default_rng(9)
    taps = rrc_taps(SPS)
    ours = FrameModem(LinkConfig(model_id=b"\x01\x02\x03\x04"))
    _, stream = frame_stream(ours, 3, rng)
    y = matched_filter(shape(stream, taps, SPS), taps)
    frames = BurstReceiver(ours, SPS, expected_model_id=b"\x01\x02\x03\x04").push(y)
    assert [f.reject for f in frames] == [None] * 3 and all(f.payload_crc_ok and f.fec_ok for f in frames)
    refused = BurstReceiver(ours, SPS, expected_model_id=b"\xff\xff\xff\xff").push(y)
    assert [f.reject for f in refused] == [Reject.MODEL_ID_MISMATCH] * 3 and refused[0].payload_bits is None
    plain = FrameModem(LinkConfig(semantic=False))
    _, stream = frame_stream(plain, 4, rng)
    noisy = StreamChannel(StreamChannelConfig(snr_db=-1.0, sps=SPS, seed=1)).process(shape(stream, taps, SPS))
    received = BurstReceiver(plain, SPS).push(matched_filter(noisy, taps))
    crc_failed = [f for f in received if f.sync.header is not None and not f.payload_crc_ok]
    assert crc_failed and all(f.reject == Reject.PAYLOAD_CRC for f in crc_failed)


def test_phase_refinement_removes_a_residual_ramp():
    from semcomm.phy.qam import QAM
    from semcomm.phy.sync import refine_phase
    rng = np.random.default_rng(3)
    reference = QAM("16qam").modulate(rng.integers(0, 2, (2, 1204), dtype=np.uint8))
    k = np.arange(reference.shape[1])
    drifted = reference * np.exp(1j * (0.002 * k + 0.1))
    np.testing.assert_allclose(refine_phase(drifted, reference), reference, atol=5e-3)  # |ref|^2-weighted block means


def test_hardware_impairments_measure_as_configured():
    """Multipath, phase noise, IQ imbalance, DC offset and CFO of the stream channel, each estimated back from
    its output: the impulse response, the phase increments, a least-squares fit of y on (x, conj x), the mean,
    the phase slope; with everything on, chunking changes nothing."""
    rng = np.random.default_rng(3)
    x = ((rng.standard_normal(100_000) + 1j * rng.standard_normal(100_000)) / np.sqrt(2 * SPS)).astype(np.complex64)
    clean = dict(snr_db=np.inf, sps=SPS)
    impulse = np.zeros(64, np.complex64)
    impulse[0] = 1
    taps = ((0, 1.0), (3, 0.5j), (7, -0.25))
    response = StreamChannel(StreamChannelConfig(**clean, multipath=taps)).process(impulse)[:8]
    expected = np.array([1, 0, 0, 0.5j, 0, 0, 0, -0.25]) / np.sqrt(1 + 0.25 + 0.0625)
    np.testing.assert_allclose(response, expected, atol=1e-6)
    y = StreamChannel(StreamChannelConfig(**clean, iq_gain_db=1.0, iq_phase_deg=5.0)).process(x)
    (k1, k2), *_ = np.linalg.lstsq(np.stack([x, np.conj(x)], axis=1).astype(np.complex128), y, rcond=None)
    g, phi = 10 ** (1 / 20), np.deg2rad(5.0)
    assert k1 == pytest.approx((1 + g * np.exp(-1j * phi)) / 2, abs=1e-5)
    assert k2 == pytest.approx((1 - g * np.exp(1j * phi)) / 2, abs=1e-5)
    image_rejection_db = 10 * np.log10((1 + 2 * g * np.cos(phi) + g ** 2) / (1 - 2 * g * np.cos(phi) + g ** 2))
    assert 10 * np.log10(abs(k1) ** 2 / abs(k2) ** 2) == pytest.approx(image_rejection_db, abs=0.01)  # 22.8 dB
    y = StreamChannel(StreamChannelConfig(**clean, dc_offset_db=-20.0)).process(x)
    assert 10 * np.log10(abs(np.mean(y - x)) ** 2 * SPS) == pytest.approx(-20.0, abs=1e-3)
    y = StreamChannel(StreamChannelConfig(**clean, phase_noise_var=1e-4)).process(x)
    increments = np.diff(np.unwrap(np.angle(y / x)))
    assert np.var(increments) == pytest.approx(1e-4, rel=0.03)
    tone = np.exp(2j * np.pi * 0.01 * np.arange(10_000)).astype(np.complex64)
    y = StreamChannel(StreamChannelConfig(**clean, cfo=0.0123)).process(tone)
    assert np.polyfit(np.arange(10_000), np.unwrap(np.angle(y)), 1)[0] / (2 * np.pi) == pytest.approx(0.0223, abs=1e-7)
    everything = StreamChannelConfig(snr_db=8, sps=SPS, cfo=0.003, multipath=taps, phase_noise_var=1e-5,
                                     iq_gain_db=0.5, iq_phase_deg=3, dc_offset_db=-25, seed=4)
    whole = StreamChannel(everything).process(x)
    chunked = StreamChannel(everything)
    np.testing.assert_allclose(np.concatenate([chunked.process(x[i:i + 4097]) for i in range(0, x.size, 4097)]),
                               whole, atol=1e-5)
    with pytest.raises(ValueError, match="multipath taps"):
        StreamChannelConfig(multipath=((1.5, 1.0),))


@pytest.mark.parametrize("ppm", [20.0, -20.0])
def test_the_sample_clock_offset_measures_as_configured_and_does_not_depend_on_chunking(ppm):
    """A tone through the resampler comes out at f / (1 + ppm 1e-6): the measured offset is the configured one;
    the samples are the tone at the receiver's instants within the interpolator's accuracy."""
    from semcomm.channel.stream import ClockOffset

    tone = np.exp(2j * np.pi * 0.05 * np.arange(200_000)).astype(np.complex64)
    clock = ClockOffset(ppm)
    y = clock.process(tone)
    chunked = ClockOffset(ppm)
    np.testing.assert_array_equal(np.concatenate([chunked.process(tone[i:i + 777]) for i in range(0, 200_000, 777)]),
                                  y)
    k = np.arange(y.size)
    assert y.size == pytest.approx(200_000 * (1 + ppm * 1e-6), abs=20)
    np.testing.assert_allclose(y[100:-100], np.exp(2j * np.pi * 0.05 * (k * clock.step - 16))[100:-100], atol=2e-3)
    slope = np.polyfit(k[1000:], np.unwrap(np.angle(y[1000:].astype(np.complex128))), 1)[0] / (2 * np.pi)
    assert (0.05 / slope - 1) * 1e6 == pytest.approx(ppm, abs=0.01)
    with pytest.raises(ValueError, match="IQ imbalance"):
        StreamChannelConfig(iq_phase_deg=60)
