import numpy as np
import pytest

from semcomm.phy.bits import IndexBitMapper, bits_per_index, gray_decode, gray_encode


@pytest.mark.parametrize("labelling", ["natural", "gray"])
@pytest.mark.parametrize("alphabet", [2, 16, 256, 1000, 1024])
def test_round_trip_is_exact(alphabet, labelling):
    rng = np.random.default_rng(alphabet)
    mapper = IndexBitMapper(alphabet, num_indices=49, labelling=labelling)
    indices = rng.integers(0, alphabet, (32, 49))
    bits = mapper.to_bits(indices)
    assert bits.shape == (32, 49 * bits_per_index(alphabet)) and bits.dtype == np.uint8
    decoded, clamped = mapper.from_bits(bits)
    np.testing.assert_array_equal(decoded, indices)
    assert not clamped.any()


def test_bits_per_index_is_ceil_log2():
    assert [bits_per_index(j) for j in (2, 3, 4, 5, 16, 17, 256, 1000, 1024)] == [1, 2, 2, 3, 4, 5, 8, 10, 10]


def test_natural_labelling_is_msb_first():
    mapper = IndexBitMapper(16, num_indices=2)
    np.testing.assert_array_equal(mapper.to_bits(np.array([[1, 8]])), [[0, 0, 0, 1, 1, 0, 0, 0]])


def test_gray_neighbours_differ_in_one_bit():
    mapper = IndexBitMapper(64, num_indices=1, labelling="gray")
    bits = mapper.to_bits(np.arange(64)[:, None])
    assert np.all(np.sum(bits[1:] != bits[:-1], axis=1) == 1)
    values = np.arange(1 << 10)
    np.testing.assert_array_equal(gray_decode(gray_encode(values), 10), values)


def test_multi_segment_sequence():
    mapper = IndexBitMapper("[[4, 16], [2, 1024], [3, 5]]", labelling="gray")
    assert mapper.num_indices == 9 and mapper.num_bits == 4 * 4 + 2 * 10 + 3 * 3
    indices = np.array([[15, 0, 7, 3, 1023, 512, 4, 0, 2]])
    decoded, clamped = mapper.from_bits(mapper.to_bits(indices))
    np.testing.assert_array_equal(decoded, indices)
    assert clamped.tolist() == [0]


@pytest.mark.parametrize("labelling", ["natural", "gray"])
def test_out_of_range_after_bit_errors_is_clamped_and_counted(labelling):
    mapper = IndexBitMapper(5, num_indices=3, labelling=labelling)  # 3 bits, values 5..7 invalid
    words = np.array([[0, 0, 0, 1, 1, 1, 1, 0, 1]], dtype=np.uint8)  # 0, 7, 5 (natural)
    decoded, clamped = mapper.from_bits(words)
    assert decoded.max() <= 4 and decoded.min() >= 0
    expected_invalid = sum(v >= 5 for v in (gray_decode(np.array([0, 7, 5]), 3) if labelling == "gray" else [0, 7, 5]))
    assert clamped.tolist() == [expected_invalid]


def test_transmitter_refuses_out_of_range_indices():
    mapper = IndexBitMapper(10, num_indices=2)
    with pytest.raises(ValueError, match=r"index 10 outside \[0, 10\)"):
        mapper.to_bits(np.array([[3, 10]]))
    with pytest.raises(ValueError, match="must be integers"):
        mapper.to_bits(np.array([[0.5, 1.0]]))


@pytest.mark.parametrize("bad, message", [
    (dict(alphabet=1, num_indices=4), "alphabet size must be >= 2"),
    (dict(alphabet=16), "needs num_indices"),
    (dict(alphabet=16, num_indices=4, labelling="binary"), "unknown labelling 'binary'"),
    (dict(alphabet="[[0, 16]]"), "segment count must be >= 1"),
    (dict(alphabet=[[2, 16]], num_indices=3), "does not match"),
])
def test_bad_configuration_is_named(bad, message):
    with pytest.raises(ValueError, match=message):
        IndexBitMapper(**bad)


def test_shape_errors_name_expected_shape():
    mapper = IndexBitMapper(256, num_indices=4)
    with pytest.raises(ValueError, match=r"\[N, 4\]"):
        mapper.to_bits(np.zeros((2, 5), dtype=int))
    with pytest.raises(ValueError, match=r"\[N, 32\]"):
        mapper.from_bits(np.zeros((2, 31), dtype=np.uint8))
