"""Channel models: AWGN, block fading, impairments, attacker injection.

Monte-Carlo checks compare an estimate with its expected value within ``Z`` standard errors, the
standard error being derived from the sample size (closed form, delta method or plug-in).
"""
import math

import numpy as np
import pytest

from semcomm.channel import (attack_channel, awgn, block_gains, complex_normal, ebn0_to_esn0_db, equalize,
                             esn0_to_ebn0_db, fractional_delay, fractional_delay_taps, frequency_offset,
                             gaussian_jamming, mean_power, measure_esn0_db, measure_psr_db, noise_variance,
                             phase_noise, phase_noise_variance, rayleigh_fading, rician_fading, scale_to_psr,
                             tone_jamming)
from semcomm.channel.impairments import FD_HALF_LENGTH
from semcomm.phy.qam import QAM

Z = 5.0  # standard errors; a two-sided Gaussian tail of 5.7e-7 per check
N = 200_000  # Monte-Carlo sample size
DB_PER_LN = 10.0 / math.log(10.0)  # d(10 log10 v) = DB_PER_LN dv / v


def qpsk(shape, rng):
    """Random QPSK symbols with |x| = 1 exactly (so the measured Es is 1)."""
    return np.exp(1j * np.pi / 4 * (2 * rng.integers(0, 4, shape) + 1)).astype(np.complex64)


# --- AWGN -------------------------------------------------------------------------------------

@pytest.mark.parametrize("esn0_db", [-5.0, 0.0, 7.5, 20.0])
def test_measured_esn0_matches_request(esn0_db):
    rng = np.random.default_rng(1)
    x = qpsk((4, N // 4), rng)
    y, n0 = awgn(x, esn0_db, rng)
    assert y.dtype == np.complex64 and y.shape == x.shape
    assert n0 == pytest.approx(10 ** (-esn0_db / 10), rel=1e-12)
    # |n|^2 ~ N0 Exp(1): mean N0, std N0 / sqrt(N)  ->  std of the dB estimate = DB_PER_LN / sqrt(N)
    assert abs(measure_esn0_db(x, y) - esn0_db) < Z * DB_PER_LN / math.sqrt(N)
    n = (y - x).astype(np.complex128).ravel()
    for part in (n.real, n.imag):  # N(0, N0/2) each: std of the sample variance = (N0/2) sqrt(2/N)
        assert abs(part.var() - n0 / 2) < Z * (n0 / 2) * math.sqrt(2 / N)
        assert abs(part.mean()) < Z * math.sqrt(n0 / 2 / N)
    assert abs(np.mean(n.real * n.imag)) < Z * (n0 / 2) / math.sqrt(N)  # independent I and Q


def test_awgn_per_frame_snr_signal_power_and_noiseless():
    rng = np.random.default_rng(2)
    x = qpsk((2, N // 2), rng)
    y, n0 = awgn(x, np.array([[0.0], [10.0]]), rng)
    np.testing.assert_allclose(n0, [[1.0], [0.1]])
    per_frame = measure_esn0_db(x, y, axis=-1)
    np.testing.assert_array_less(np.abs(per_frame - [0.0, 10.0]), Z * DB_PER_LN / math.sqrt(N / 2))
    assert noise_variance(3.0, signal_power=4.0) == pytest.approx(4.0 * 10 ** -0.3)
    y, n0 = awgn(x, np.inf, rng)
    assert n0 == 0.0
    np.testing.assert_array_equal(y, x)


def test_awgn_noise_is_reproducible_from_the_seed():
    x = qpsk((3, 50), np.random.default_rng(0))
    y, n0 = awgn(x, 4.0, np.random.default_rng(9))
    np.testing.assert_array_equal(y, x + complex_normal(x.shape, n0, np.random.default_rng(9)))


def test_ebn0_esn0_conversions():
    assert ebn0_to_esn0_db(4.0, 2, 0.5) == pytest.approx(4.0)
    assert ebn0_to_esn0_db(0.0, 4) == pytest.approx(10 * math.log10(4))
    assert ebn0_to_esn0_db(3.0, 6, 2 / 3) == pytest.approx(3.0 + 10 * math.log10(4))
    assert esn0_to_ebn0_db(10.0, 1) == pytest.approx(10.0)
    ebn0 = np.linspace(-5, 15, 9)
    for k, rate in [(1, 1.0), (2, 0.5), (4, 5 / 6), (6, 3 / 4)]:
        np.testing.assert_allclose(esn0_to_ebn0_db(ebn0_to_esn0_db(ebn0, k, rate), k, rate), ebn0, atol=1e-12)
        np.testing.assert_allclose(ebn0_to_esn0_db(ebn0, k, rate) - ebn0, 10 * np.log10(k * rate))


# --- block fading -----------------------------------------------------------------------------

def test_rayleigh_power_is_exponential():
    h = block_gains((N,), np.random.default_rng(3), block_length=1).astype(np.complex128)
    power = np.abs(h) ** 2
    assert abs(power.mean() - 1.0) < Z / math.sqrt(N)  # Exp(1): variance 1
    for threshold in (0.1, 1.0, 3.0):
        p = 1 - math.exp(-threshold)
        assert abs(np.mean(power < threshold) - p) < Z * math.sqrt(p * (1 - p) / N)
    assert abs(h.mean()) < Z * math.sqrt(1 / N)  # zero-mean scattering, no LoS


@pytest.mark.parametrize("k_db", [0.0, 6.0, 10.0])
def test_rician_mean_power_and_k_factor(k_db):
    k, theta = 10 ** (k_db / 10), 0.7
    h = block_gains((N,), np.random.default_rng(4), k_db, theta, block_length=1).astype(np.complex128)
    power = np.abs(h) ** 2
    # E|h|^2 = 1 and Var|h|^2 = (1 + 2K) / (K + 1)^2 (noncentral chi-square, 2 degrees of freedom)
    assert abs(power.mean() - 1.0) < Z * math.sqrt((1 + 2 * k) / (k + 1) ** 2 / N)
    centred = (power - power.mean()) ** 2
    assert abs(centred.mean() - (1 + 2 * k) / (k + 1) ** 2) < Z * centred.std() / math.sqrt(N)
    # first-moment estimate: E h = sqrt(K/(K+1)) e^{j theta}  ->  K = |m|^2 / (1 - |m|^2);
    # delta method: std(K_hat) = (K + 1) sqrt(2 K / N), std(angle m) = 1 / sqrt(2 K N)
    m = h.mean()
    assert abs(abs(m) ** 2 / (1 - abs(m) ** 2) - k) < Z * (k + 1) * math.sqrt(2 * k / N)
    assert abs(np.angle(m) - theta) < Z / math.sqrt(2 * k * N)


def test_gains_are_constant_within_blocks_and_differ_across_blocks():
    rng = np.random.default_rng(5)
    x = qpsk((3, 1000), rng)
    y, h = rayleigh_fading(x, rng, block_length=64)  # 15 full blocks and one of 40 symbols
    assert h.shape == x.shape and h.dtype == np.complex64
    np.testing.assert_array_equal(y, x * h)
    starts = np.arange(0, 1000, 64)
    np.testing.assert_array_equal(h, np.repeat(h[:, starts], 64, axis=1)[:, :1000])
    assert np.all(np.diff(h[:, starts], axis=1) != 0) and np.all(np.diff(h[:, 0]) != 0)
    _, h = rician_fading(x, rng, 3.0)  # block_length=None: one gain per frame
    np.testing.assert_array_equal(h, np.repeat(h[:, :1], 1000, axis=1))
    assert len(np.unique(h[:, 0])) == 3
    # independence across blocks: correlation of consecutive gains ~ 0 (std 1 / sqrt(pairs))
    pairs = block_gains((N // 2, 2), rng, block_length=1).astype(np.complex128)
    assert abs(np.mean(pairs[:, 0] * np.conj(pairs[:, 1]))) < Z / math.sqrt(N / 2)


def test_equalize_recovers_x_without_noise():
    rng = np.random.default_rng(6)
    qam = QAM("16qam")
    bits = rng.integers(0, 2, (4, 400), dtype=np.uint8)
    x = qam.modulate(bits)
    y, h = rician_fading(x, rng, 0.0, block_length=10)
    x_hat, n0_eff = equalize(y, h, 0.1)
    np.testing.assert_allclose(x_hat, x, rtol=0, atol=1e-5)
    np.testing.assert_allclose(n0_eff, 0.1 / np.abs(h) ** 2, rtol=1e-6)
    np.testing.assert_array_equal(qam.demodulate_hard(x_hat), bits)
    h[0, :10] = 0  # a deep fade: no information, LLR exactly 0
    x_hat, n0_eff = equalize(x * h, h, 0.1)
    assert np.all(x_hat[0, :10] == 0) and np.all(np.isinf(n0_eff[0, :10]))
    llr = qam.demodulate_llr(x_hat, n0_eff)
    assert np.all(llr[0, :40] == 0) and np.all(llr[0, 40:] != 0)


# --- impairments ------------------------------------------------------------------------------

def test_cfo_rotates_the_phase_linearly():
    rng = np.random.default_rng(7)
    x = qpsk((2, 4096), rng)
    freq, phi0 = np.array([[0.0123], [-0.2]]), np.array([[0.4], [-1.0]])
    y = frequency_offset(x, freq, phi0)
    np.testing.assert_allclose(np.abs(y), np.abs(x), rtol=1e-6)
    t = np.arange(4096)
    for frame in range(2):
        rotation = np.unwrap(np.angle(y[frame] * np.conj(x[frame])).astype(np.float64))
        slope, intercept = np.polyfit(t, rotation, 1)
        assert slope == pytest.approx(2 * np.pi * freq[frame, 0], rel=1e-6)
        assert intercept == pytest.approx(phi0[frame, 0], abs=1e-5)


@pytest.mark.parametrize("delay", [0.3, 2.5, -1.75, 7.9])
@pytest.mark.parametrize("freq", [0.01, 0.1, 0.25, -0.4])
def test_fractional_delay_of_a_sinusoid_matches_the_analytic_delay(delay, freq):
    n, t = 512, np.arange(512)
    y = fractional_delay(np.exp(2j * np.pi * freq * t)[None].repeat(2, 0), delay)
    assert y.shape == (2, n) and y.dtype == np.complex64
    expected = np.exp(2j * np.pi * freq * (t - delay))
    inside = slice(FD_HALF_LENGTH + 9, n - FD_HALF_LENGTH - 9)  # away from the edge transients
    # documented filter accuracy 2e-4 for |f| <= 0.4, plus complex64 rounding of 32 taps
    np.testing.assert_array_less(np.abs(y[:, inside] - expected[inside]), 2e-4 + 1e-5)


@pytest.mark.parametrize("delay", [0, 3, -5, 100, 150, -150])
def test_integer_delay_is_an_exact_shift(delay):
    x = qpsk((3, 100), np.random.default_rng(8))
    y = fractional_delay(x, float(delay))
    expected = np.zeros_like(x)
    if delay >= 0:
        expected[:, delay:] = x[:, :100 - delay] if delay < 100 else 0
    else:
        expected[:, :100 + delay] = x[:, -delay:] if -delay < 100 else 0
    np.testing.assert_array_equal(y, expected)


def test_fractional_delay_taps():
    taps = fractional_delay_taps(0.5)
    assert len(taps) == 2 * FD_HALF_LENGTH and taps.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(taps, taps[::-1], atol=1e-15)  # mu = 1/2 is symmetric: linear phase


def test_phase_noise_increment_variance():
    variance = phase_noise_variance(1e3, 1e6)
    assert variance == pytest.approx(2 * np.pi * 1e-3)
    rng = np.random.default_rng(9)
    x = qpsk((8, 25_001), rng)
    y, phi = phase_noise(x, variance, rng, initial_phase=0.3)
    np.testing.assert_allclose(y, x * np.exp(1j * phi), atol=1e-6)
    assert np.all(phi[:, 0] == 0.3)
    steps = np.diff(phi, axis=-1).ravel()
    count = steps.size
    assert abs(steps.var() - variance) < Z * variance * math.sqrt(2 / count)
    assert abs(steps.mean()) < Z * math.sqrt(variance / count)
    lag1 = np.mean(steps[:-1] * steps[1:]) / variance  # white increments
    assert abs(lag1) < Z / math.sqrt(count)


# --- attacker ---------------------------------------------------------------------------------

@pytest.mark.parametrize("psr_db", [-30.0, -10.0, -3.0, 0.0, 6.5, 20.0])
def test_scale_to_psr_is_exact(psr_db):
    rng = np.random.default_rng(10)
    x = QAM("64qam").modulate(rng.integers(0, 2, (4, 6 * 300), dtype=np.uint8))
    for delta in (gaussian_jamming(x.shape, rng), 7.0 * tone_jamming(300, 0.05),
                  rng.standard_normal(x.shape) - 0.5):
        scaled = scale_to_psr(delta, x, psr_db)
        assert scaled.shape == x.shape and scaled.dtype == np.complex64
        np.testing.assert_allclose(measure_psr_db(scaled, x), psr_db, atol=1e-5)
    per_frame = np.array([[-10.0], [0.0], [3.0], [-np.inf]])
    measured = measure_psr_db(scale_to_psr(gaussian_jamming(x.shape, rng), x, per_frame + psr_db), x)
    np.testing.assert_allclose(measured, per_frame[:, 0] + psr_db, atol=1e-5)


def test_jamming_waveforms_have_unit_power():
    noise = gaussian_jamming((4, N // 4), np.random.default_rng(11))
    assert abs(mean_power(noise.ravel()) - 1.0) < Z / math.sqrt(N)  # |g|^2 ~ Exp(1)
    tone = tone_jamming((2, 1000), 0.125, phase=0.5)
    np.testing.assert_allclose(mean_power(tone), 1.0, rtol=1e-6)
    np.testing.assert_allclose(tone[0, :3], np.exp(1j * (0.5 + 2 * np.pi * 0.125 * np.arange(3))), rtol=1e-6)


def test_attack_channel_is_faded_signal_plus_noise_plus_faded_perturbation():
    rng = np.random.default_rng(12)
    x = qpsk((4, 256), rng)
    h_t, h_a = block_gains(x.shape, rng, block_length=32), block_gains(x.shape, rng, 6.0, 1.0)
    delta = 3.0 * rng.standard_normal(x.shape) + tone_jamming(256, 0.2)  # any caller waveform
    y, n0 = attack_channel(x, delta, -6.0, 10.0, np.random.default_rng(13), h_t=h_t, h_a=h_a)
    assert n0 == pytest.approx(0.1) and y.shape == x.shape and y.dtype == np.complex64
    noise = complex_normal(x.shape, n0, np.random.default_rng(13))
    np.testing.assert_allclose(y - h_t * x - noise, h_a * scale_to_psr(delta, x, -6.0), atol=1e-5)
    y, n0 = attack_channel(x, delta, -np.inf, np.inf, rng)  # no attack, no noise: y = x
    assert n0 == 0.0
    np.testing.assert_array_equal(y, x)


# --- argument checks ----------------------------------------------------------------------------

def test_bad_arguments_raise_informative_errors():
    rng = np.random.default_rng(0)
    x = qpsk((2, 10), rng)
    cases = [
        (lambda: awgn(x, np.nan, rng), r"esn0_db must be a number in dB, got nan"),
        (lambda: awgn(x, -np.inf, rng), r"esn0_db must be finite dB"),
        (lambda: awgn(x, 10.0, rng, signal_power=0), r"signal_power must be a finite number > 0, got 0"),
        (lambda: awgn(np.complex64(1), 10.0, rng), r"shape \[\.\.\., n\]"),
        (lambda: complex_normal((3,), -1.0, rng), r"variance must be finite and >= 0"),
        (lambda: ebn0_to_esn0_db(0.0, 0), r"bits_per_symbol must be a finite number > 0, got 0"),
        (lambda: ebn0_to_esn0_db(0.0, 2, 1.5), r"code_rate must be in \(0, 1\], got 1.5"),
        (lambda: block_gains((2, 10), rng, block_length=0), r"block_length must be an int >= 1 or None .*, got 0"),
        (lambda: block_gains((2, 10), rng, block_length=2.5), r"block_length .* got 2.5"),
        (lambda: block_gains((2, -1), rng), r"shape must be .* got \(2, -1\)"),
        (lambda: rician_fading(x, rng, np.inf), r"k_factor_db must be finite dB \(-inf allowed\), got inf"),
        (lambda: equalize(x, x, -1.0), r"n0 must be finite and >= 0, got -1.0"),
        (lambda: frequency_offset(x, 0.7), r"freq must be .* \[-0.5, 0.5\] cycles/sample, got 0.7"),
        (lambda: fractional_delay(x, np.nan), r"delay must be a finite real scalar .* got nan"),
        (lambda: fractional_delay(x, [1.0, 2.0]), r"delay must be a finite real scalar"),
        (lambda: fractional_delay(x, 1.5, half_length=0), r"half_length must be an int >= 1, got 0"),
        (lambda: fractional_delay(x, 1.5, kaiser_beta=-1), r"kaiser_beta must be a finite number > 0, got -1"),
        (lambda: fractional_delay_taps(1.2), r"mu must be in \[0, 1\), got 1.2"),
        (lambda: phase_noise(x, -1e-3, rng), r"increment_variance must be finite and >= 0 rad\^2 per sample"),
        (lambda: phase_noise_variance(-5, 1e6), r"linewidth_hz must be finite and >= 0 Hz, got -5"),
        (lambda: phase_noise_variance(100, 0), r"sample_rate_hz must be a finite number > 0, got 0"),
        (lambda: scale_to_psr(np.zeros(10), x, 0.0), r"delta has a frame with zero power"),
        (lambda: scale_to_psr(x, np.zeros(10), 0.0), r"x has a frame with zero power"),
        (lambda: scale_to_psr(np.ones(7), x, 0.0), r"delta shape \(7,\) does not broadcast against x shape \(2, 10\)"),
        (lambda: scale_to_psr(x, x, np.inf), r"psr_db must be finite dB \(-inf allowed\), got inf"),
        (lambda: tone_jamming(10, 0.6), r"freq must be .* got 0.6"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()
    np.testing.assert_array_equal(scale_to_psr(np.zeros(10), x, -np.inf), np.zeros_like(x))  # no attack is fine
