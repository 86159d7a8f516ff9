import os

import numpy as np
import pytest

from semcomm.phy.ldpc import (CODE_IDS, ShortenedCoder, available_codes, get_code, read_alist,
                              write_alist)

WIFI_CODES = [name for name in CODE_IDS if name.startswith("wifi")]
SHIPPED_CODES = available_codes()


def _bpsk_llrs(codewords, ebn0_db, rate, rng):
    """BPSK over AWGN at Eb/N0 -> LLRs (ln P(0)/P(1))."""
    n0 = 1.0 / (rate * 10 ** (ebn0_db / 10))
    x = 1.0 - 2.0 * codewords
    y = x + rng.standard_normal(x.shape) * np.sqrt(n0 / 2)
    return (4 * y / n0).astype(np.float32)


@pytest.mark.parametrize("name", SHIPPED_CODES)
def test_encoder_output_satisfies_every_check(name):
    code = get_code(name)
    rng = np.random.default_rng(0)
    info = rng.integers(0, 2, (20, code.k), dtype=np.uint8)
    codewords = code.encode(info)
    assert codewords.shape == (20, code.n)
    assert not code.syndrome(codewords).any()
    np.testing.assert_array_equal(codewords[:, code.info_positions], info)  # systematic


@pytest.mark.parametrize("name", WIFI_CODES)
def test_wifi_codes_have_standard_dimensions(name):
    code = get_code(name)
    n, rate = int(name[4:name.index("_")]), name[-2:]
    num, den = int(rate[0]), int(rate[1])
    assert code.n == n and code.k * den == n * num  # H has full rank
    np.testing.assert_array_equal(code.info_positions, np.arange(code.k))  # information bits first


@pytest.mark.parametrize("name", SHIPPED_CODES)
def test_noiseless_llrs_decode_exactly_without_iterating(name):
    code = get_code(name)
    rng = np.random.default_rng(1)
    codewords = code.encode(rng.integers(0, 2, (10, code.k), dtype=np.uint8))
    result = code.decode(8.0 * (1.0 - 2.0 * codewords))
    np.testing.assert_array_equal(result.codewords, codewords)
    assert result.syndrome_ok.all() and not result.iterations.any()


@pytest.mark.parametrize("algorithm", ["nms", "oms", "spa"])
def test_coded_ber_is_far_below_uncoded(algorithm):
    """wifi1944_r12, BPSK, Eb/N0 = 2.5 dB: uncoded BER ~ 1.4e-2; coded must be < 1e-4."""
    code = get_code("wifi1944_r12")
    rng = np.random.default_rng(2)
    info = rng.integers(0, 2, (200, code.k), dtype=np.uint8)
    codewords = code.encode(info)
    llrs = _bpsk_llrs(codewords, 2.5, code.rate, rng)
    uncoded_ber = np.mean((llrs < 0) != codewords)
    result = code.decode(llrs, max_iterations=30, algorithm=algorithm)
    coded_ber = np.mean(result.info_bits != info)
    assert uncoded_ber > 0.03  # channel errors on coded bits at Es/N0 = -0.5 dB
    assert coded_ber < 1e-4 and result.syndrome_ok.mean() > 0.98
    assert result.iterations.max() <= 30


def test_decoder_reports_failure_when_noise_is_hopeless():
    code = get_code("wifi648_r34")
    rng = np.random.default_rng(3)
    codewords = code.encode(rng.integers(0, 2, (16, code.k), dtype=np.uint8))
    result = code.decode(_bpsk_llrs(codewords, -3.0, code.rate, rng), max_iterations=5)
    assert not result.syndrome_ok.all()
    assert np.all(result.iterations[~result.syndrome_ok] == 5)


@pytest.mark.parametrize("num_bits", [1, 971, 972, 973, 3 * 972 + 5, 6304])
def test_shortened_coder_carries_any_length(num_bits):
    code = get_code("wifi1944_r12")
    coder = ShortenedCoder(code, num_bits)
    codewords = -(-num_bits // code.k)
    assert coder.num_codewords == codewords
    assert coder.num_coded_bits == codewords * code.n - (codewords * code.k - num_bits)
    assert coder.info_lengths.max() - coder.info_lengths.min() <= 1
    rng = np.random.default_rng(num_bits)
    bits = rng.integers(0, 2, (5, num_bits), dtype=np.uint8)
    coded = coder.encode(bits)
    assert coded.shape == (5, coder.num_coded_bits)
    llrs = _bpsk_llrs(coded, 3.0, code.rate, rng)
    decoded = coder.decode(llrs)
    np.testing.assert_array_equal(decoded.bits, bits)
    assert decoded.syndrome_ok.all()


def test_alist_round_trip(tmp_path):
    code = get_code("wifi648_r23")
    path = tmp_path / "w.alist"
    write_alist(code, str(path))
    again = read_alist(str(path))
    np.testing.assert_array_equal(again.dense_h(), code.dense_h())
    assert again.k == code.k and again.name == "w"


def test_bad_codes_and_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown LDPC code 'wifi999'.*wifi1944_r12"):
        get_code("wifi999")
    with pytest.raises(ValueError, match="cannot read alist file"):
        get_code(str(tmp_path / "missing.alist"))
    garbage = tmp_path / "garbage.alist"
    garbage.write_text("hello world\n")
    with pytest.raises(ValueError, match="non-integer"):
        read_alist(str(garbage))
    truncated = tmp_path / "truncated.alist"
    truncated.write_text("10 5\n3 6\n3 3 3\n")
    with pytest.raises(ValueError, match="truncated or not in alist format"):
        read_alist(str(truncated))
    with pytest.raises(ValueError, match=r"\[F, 648\]"):
        get_code("wifi648_r12").decode(np.zeros((2, 600)))
    with pytest.raises(ValueError, match="unknown LDPC decoder 'bp'"):
        get_code("wifi648_r12").decode(np.zeros((2, 648)), algorithm="bp")
    with pytest.raises(ValueError, match=r"\[F, 324\]"):
        get_code("wifi648_r12").encode(np.zeros((1, 323), dtype=np.uint8))


def test_grfec_alist_files_are_listed():
    if not os.path.isdir("/usr/share/gnuradio/fec/ldpc"):
        pytest.skip("GNU Radio's LDPC alist files are not installed")
    assert "grfec:n_1800_k_0902_gap_28" in SHIPPED_CODES
    assert get_code("grfec:n_0100_k_0027_gap_04").k == 27
