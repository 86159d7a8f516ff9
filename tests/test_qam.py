import math

import numpy as np
import pytest

from semcomm.phy.qam import BITS_PER_SYMBOL, QAM
from semcomm.sim.ber import FadingSpec, simulate_point, theoretical_ber, theoretical_ber_rayleigh

MODULATIONS = list(BITS_PER_SYMBOL)


@pytest.mark.parametrize("name", MODULATIONS)
def test_unit_energy_gray_constellation(name):
    qam = QAM(name)
    points = qam.points
    assert len(points) == 2 ** qam.bits_per_symbol
    assert abs(np.mean(np.abs(points) ** 2) - 1.0) < 1e-6
    assert len(np.unique(np.round(points, 5))) == len(points)
    # Gray: nearest neighbours differ in exactly one bit
    labels = np.arange(len(points))
    distance = np.abs(points[:, None] - points[None, :])
    np.fill_diagonal(distance, np.inf)
    for label in labels:
        nearest = np.flatnonzero(np.isclose(distance[label], distance[label].min()))
        assert all(bin(label ^ other).count("1") == 1 for other in nearest)


@pytest.mark.parametrize("name", MODULATIONS)
def test_hard_and_soft_decisions_round_trip(name):
    qam = QAM(name)
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (4, 60 * qam.bits_per_symbol), dtype=np.uint8)
    symbols = qam.modulate(bits)
    assert symbols.shape == (4, 60) and symbols.dtype == np.complex64
    np.testing.assert_array_equal(qam.demodulate_hard(symbols), bits)
    for method in ("maxlog", "exact"):
        llr = qam.demodulate_llr(symbols, 0.01, method)
        np.testing.assert_array_equal((llr < 0).astype(np.uint8), bits)  # positive LLR <=> bit 0


def test_bpsk_llr_is_4y_over_n0():
    qam = QAM("bpsk")
    y = np.array([0.3 + 0.7j, -1.2 - 0.1j], dtype=np.complex64)
    for method in ("maxlog", "exact"):
        np.testing.assert_allclose(qam.demodulate_llr(y, 0.5, method), 4 * y.real / 0.5, rtol=1e-5)


@pytest.mark.parametrize("name", ["qpsk", "16qam", "64qam"])
def test_exact_llr_matches_bruteforce_posterior(name):
    qam = QAM(name)
    rng = np.random.default_rng(1)
    y = (rng.standard_normal(50) + 1j * rng.standard_normal(50)).astype(np.complex64)
    n0 = 0.3
    points = qam.points
    bits_of_point = np.array([[(p >> (qam.bits_per_symbol - 1 - j)) & 1 for j in range(qam.bits_per_symbol)]
                              for p in range(len(points))])
    likelihood = np.exp(-np.abs(y[:, None] - points[None, :]) ** 2 / n0)
    expected = np.stack([np.log(likelihood[:, bits_of_point[:, j] == 0].sum(1)) -
                         np.log(likelihood[:, bits_of_point[:, j] == 1].sum(1))
                         for j in range(qam.bits_per_symbol)], axis=1).reshape(-1)
    np.testing.assert_allclose(qam.demodulate_llr(y, n0, "exact"), expected, rtol=1e-3, atol=1e-3)
    maxlog = qam.demodulate_llr(y, n0, "maxlog")
    assert np.all(np.sign(maxlog[np.abs(expected) > 0.5]) == np.sign(expected[np.abs(expected) > 0.5]))


def test_theory_matches_textbook_forms():
    for ebn0 in (0.0, 4.0, 8.0):
        g = 10 ** (ebn0 / 10)
        q = lambda x: 0.5 * math.erfc(x / math.sqrt(2))  # noqa: E731
        assert theoretical_ber("bpsk", ebn0) == pytest.approx(q(math.sqrt(2 * g)), rel=1e-9)
        assert theoretical_ber("qpsk", ebn0) == pytest.approx(q(math.sqrt(2 * g)), rel=1e-9)
        # 16-QAM Gray, high-SNR form 3/4 Q(sqrt(4/5 Eb/N0)) is within a few % at these SNRs
        assert theoretical_ber("16qam", ebn0) == pytest.approx(0.75 * q(math.sqrt(0.8 * g)), rel=0.1)


@pytest.mark.parametrize("name", ["qpsk", "16qam", "64qam"])
def test_uncoded_awgn_ber_matches_closed_form(name):
    """Monte-Carlo BER over Eb/N0 0..12 dB agrees with the exact expression (5 sigma + 3 errors)."""
    rng = np.random.default_rng(7)
    qam = QAM(name)
    for ebn0 in range(0, 13, 2):
        point = simulate_point(qam, None, ebn0, rng, max_errors=10**9, max_bits=600_000)
        p = theoretical_ber(name, ebn0)
        expected = p * point.bits
        # bits of one symbol are not independent: widen the binomial sigma by bits/symbol
        sigma = math.sqrt(expected * (1 - p) * qam.bits_per_symbol)
        assert abs(point.errors - expected) <= 5 * sigma + 3, (ebn0, point.errors, expected)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown modulation '8psk'.*bpsk, qpsk, 16qam, 64qam"):
        QAM("8psk")
    with pytest.raises(ValueError, match="not a multiple of 4"):
        QAM("16qam").modulate(np.zeros(6, dtype=np.uint8))
    with pytest.raises(ValueError, match="unknown LLR method"):
        QAM("qpsk").demodulate_llr(np.zeros(2, np.complex64), 1.0, "approx")
    with pytest.raises(ValueError, match="noise_var"):
        QAM("qpsk").demodulate_llr(np.zeros(2, np.complex64), 0.0)


@pytest.mark.parametrize("name", ["bpsk", "qpsk"])
def test_uncoded_rayleigh_ber_matches_closed_form(name):
    rng = np.random.default_rng(11)
    qam = QAM(name)
    for ebn0 in (0, 5, 10, 15):
        point = simulate_point(qam, None, ebn0, rng, max_errors=10**9, max_bits=400_000,
                               channel=FadingSpec("rayleigh"))
        p = theoretical_ber_rayleigh(name, ebn0)
        expected = p * point.bits
        assert abs(point.errors - expected) <= 5 * math.sqrt(expected * qam.bits_per_symbol) + 3, (ebn0, point.errors)


def test_fading_spec_rejects_bad_values():
    with pytest.raises(ValueError, match="unknown channel 'nakagami'"):
        FadingSpec("nakagami")
    with pytest.raises(ValueError, match="block length must be >= 1"):
        FadingSpec("rayleigh", block_length=0)
