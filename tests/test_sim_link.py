"""The link simulator (semcomm.sim): the exact chain on the frame modem, measured error profiles and their cache."""
import json
import math

import numpy as np
import pytest

from semcomm.channel import esn0_to_ebn0_db
from semcomm.phy.ldpc import get_code
from semcomm.phy.qam import QAM
from semcomm.sim.ber import simulate_point
from semcomm.sim.error_profile import ErrorProfile, ProfileSettings, validate_profile
from semcomm.sim.exact_chain import ExactChain
from semcomm.sim.link import ChainSettings, frame_payload_bits
from semcomm.sim.profile_cache import (StaleProfileError, build_default_profile, load_or_build, load_profile,
                                      save_profile)

T, J = 98, 256


@pytest.fixture(scope="module")
def profile():
    """The default codec/link (J=256, T=98, 16-QAM, wifi1944_r12, AWGN) over -9..18 dB, fewer frames."""
    return ErrorProfile.build(ProfileSettings.for_codec(J, T, max_frames=256, seed=3))


@pytest.fixture(scope="module")
def tiny_settings():
    return ProfileSettings.for_codec(J, T, snr_min_db=5.0, snr_max_db=6.0, snr_step_db=0.5, max_frames=64,
                                     min_frames=0, batch_frames=64)


def _indices(rng, n, segments=((T, J),)):
    return np.concatenate([rng.integers(0, alphabet, (n, count)) for count, alphabet in segments], axis=1)


def _se(p, n):
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


# --------------------------------------------------------------------------------------- the table
def test_layout_matches_the_frame_payload(profile):
    assert frame_payload_bits(T * 8) == 98 * 8 + 32 == profile.payload_bits
    assert frame_payload_bits(5) == 8 + 32  # index bits padded to whole bytes
    assert profile.num_codewords == 1 and profile.codeword_lengths.tolist() == [816]
    assert profile.coded_bits == 816 + 972  # shortened wifi1944_r12: filler bits are not sent
    assert profile.snr_range == (-9.0, 18.0) and len(profile.snr_grid) == 55


def test_profile_is_monotone_and_saturates(profile):
    n = profile.counts["frames"] * profile.num_codewords
    for i in range(len(profile.snr_grid) - 1):
        slack = 4 * (_se(profile.cwer[i], n[i]) + _se(profile.cwer[i + 1], n[i + 1]))
        assert profile.cwer[i + 1] <= profile.cwer[i] + slack, profile.snr_grid[i]
        assert profile.ber[i + 1] <= profile.ber[i] + slack * 0.5, profile.snr_grid[i]
        assert profile.pre_fec_ber[i + 1] <= profile.pre_fec_ber[i] + 0.01
    assert profile.cwer[0] == 1.0 and 0.3 < profile.ber[0] < 0.5   # every codeword fails at -9 dB
    assert profile.cwer[-1] == 0.0 and profile.ber[-1] == 0.0
    # zero observed errors is stored as a bound, not as an exact 0
    n_last = profile.counts["frames"][-1]
    assert profile.cwer_bound[-1] == pytest.approx(1 - 0.05 ** (1 / n_last))
    assert 0 < profile.ber_bound[-1] < profile.cwer_bound[-1]
    assert math.isnan(profile.cwer_bound[0]) and math.isnan(profile.cond_ber[-1])
    # stopping rule: plentiful errors stop a point early
    assert profile.counts["frames"][0] < profile.counts["frames"][-1] == 256


def test_profile_matches_simulate_point():
    # T=50 bytes + CRC = 432 bits = k of wifi648_r23: one unshortened codeword, the same chain as simulate_point
    chain = ChainSettings(code="wifi648_r23")
    settings = ProfileSettings.for_codec(J, 50, chain=chain, snr_min_db=8.5, snr_max_db=9.5, snr_step_db=0.5,
                                         max_frames=600, min_frames=600)
    prof = ErrorProfile.build(settings)
    assert prof.payload_bits == 432 and prof.coded_bits == 648
    code, qam = get_code("wifi648_r23"), QAM("16qam")
    for i, esn0 in enumerate(prof.snr_grid):
        ebn0 = esn0_to_ebn0_db(esn0, 4, code.rate)
        point = simulate_point(qam, code, ebn0, np.random.default_rng(i), max_errors=10**9, max_bits=600 * code.k,
                               max_iterations=20, algorithm="nms")
        assert point.esn0_db == pytest.approx(esn0)
        z = (point.bler - prof.cwer[i]) / math.sqrt(_se(point.bler, point.blocks) ** 2 + _se(prof.cwer[i], 600) ** 2)
        assert abs(z) < 4.5, (esn0, point.bler, prof.cwer[i])
        assert prof.ber[i] == pytest.approx(point.ber, rel=0.35), (esn0, point.ber, prof.ber[i])


def test_interpolation_is_log_linear_and_continuous(profile):
    grid, cwer = profile.snr_grid, profile.cwer
    i = int(np.flatnonzero((cwer > 0) & (cwer < 1))[0])
    mid = (grid[i] + grid[i + 1]) / 2
    got = profile.rates(mid)["cwer"][0]
    if cwer[i + 1] > 0:
        assert got == pytest.approx(math.sqrt(cwer[i] * cwer[i + 1]))
    np.testing.assert_allclose(profile.rates(grid)["cwer"], cwer)
    # between the last point with errors and the first without, linear in p (falls to 0 continuously)
    last = int(np.flatnonzero(cwer > 0)[-1])
    assert profile.rates(grid[last] + 0.25)["cwer"][0] == pytest.approx(cwer[last] / 2)


def test_zero_policy_bound_uses_the_confidence_bound(profile):
    assert profile.rates(18.0)["cwer"][0] == 0.0
    profile.zero_policy = "bound"
    try:
        assert profile.rates(18.0)["cwer"][0] == pytest.approx(profile.cwer_bound[-1])
        assert profile.rates(18.0)["ber"][0] == pytest.approx(profile.ber_bound[-1])
    finally:
        profile.zero_policy = "zero"
    with pytest.raises(ValueError, match="zero_policy"):
        profile.zero_policy = "optimistic"


# --------------------------------------------------------------------------------------- persistence
def test_json_round_trip(profile, tmp_path):
    path = tmp_path / "profile.json"
    save_profile(profile, str(path))
    data = json.loads(path.read_text())
    assert data["settings"]["chain"]["code"] == "wifi1944_r12" and "Es/N0" in data["snr_definition"]
    loaded = load_profile(str(path), expected=profile.settings)
    assert loaded.settings == profile.settings
    for name, column in profile.counts.items():
        np.testing.assert_array_equal(loaded.counts[name], column)
    snr = np.linspace(-9, 18, 40)
    for key, value in profile.rates(snr).items():
        np.testing.assert_allclose(loaded.rates(snr)[key], value)
    idx = _indices(np.random.default_rng(0), 50)
    snr = np.random.default_rng(1).uniform(-3, 12, 50)
    a, _ = profile.corrupt(idx, snr, np.random.default_rng(7))
    b, _ = loaded.corrupt(idx, snr, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


def test_stale_profiles_are_refused(tiny_settings, tmp_path):
    path = str(tmp_path / "p.json")
    save_profile(ErrorProfile.build(tiny_settings), path)
    load_profile(path, expected=tiny_settings)
    other_code = ProfileSettings.for_codec(J, T, chain=ChainSettings(code="wifi648_r12"), snr_min_db=5.0,
                                           snr_max_db=6.0, max_frames=64, min_frames=0, batch_frames=64)
    with pytest.raises(StaleProfileError, match=r"chain\.code: file has 'wifi1944_r12', expected 'wifi648_r12'"):
        load_profile(path, expected=other_code)
    other_codec = ProfileSettings.for_codec(512, T, snr_min_db=5.0, snr_max_db=6.0, max_frames=64, min_frames=0,
                                            batch_frames=64)
    with pytest.raises(StaleProfileError, match="alphabet"):
        load_profile(path, expected=other_codec)
    data = json.load(open(path))
    data["version"] = 0
    json.dump(data, open(path, "w"))
    with pytest.raises(StaleProfileError, match="format version"):
        load_profile(path)
    with open(path, "w") as handle:
        handle.write("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_profile(path)
    with pytest.raises(ValueError, match="cannot read"):
        load_profile(str(tmp_path / "missing.json"))


def test_load_or_build(tiny_settings, tmp_path):
    path = str(tmp_path / "sub" / "p.json")
    built = load_or_build(path, tiny_settings)
    again = load_or_build(path, tiny_settings)
    np.testing.assert_array_equal(again.counts["bit_errors"], built.counts["bit_errors"])
    changed = ProfileSettings(**{**tiny_settings.__dict__, "seed": 9})
    with pytest.raises(StaleProfileError, match="seed"):
        load_or_build(path, changed)
    assert load_or_build(path, changed, rebuild_stale=True).settings.seed == 9


def test_build_default_profile_small(tmp_path):
    path = str(tmp_path / "default.json")
    rows = []
    prof = build_default_profile(path, snr_min_db=10.0, snr_max_db=12.0, snr_step_db=1.0, max_frames=64,
                                 progress=rows.append)
    assert [r["snr_db"] for r in rows] == [10.0, 11.0, 12.0]
    assert prof.settings.alphabet == ((98, 256),) and prof.settings.chain.code == "wifi1944_r12"
    assert load_profile(path, expected=prof.settings).payload_bits == 816


# ------------------------------------------------------------------------------------------ corrupt
@pytest.mark.parametrize("mode", ["profile", "exact"])
def test_high_snr_leaves_indices_unchanged_low_snr_changes_many(profile, mode):
    channel = profile if mode == "profile" else ExactChain(J, T)
    rng = np.random.default_rng(0)
    idx = _indices(rng, 64)
    out, stats = channel.corrupt(idx, np.full(64, 18.0), rng)
    np.testing.assert_array_equal(out, idx)
    assert out.dtype == np.int64 and stats.bit_errors.sum() == 0 and not stats.frame_error.any()
    out, stats = channel.corrupt(idx, np.full(64, -9.0), rng)
    assert stats.summary()["index_error_rate"] > 0.9 and stats.frame_error.all()
    assert (out != idx).mean() == pytest.approx(stats.summary()["index_error_rate"])
    assert 0.3 < stats.summary()["index_bit_error_rate"] < 0.5


@pytest.mark.parametrize("model", ["codeword", "independent"])
@pytest.mark.parametrize("snr", [3.0, 5.5, 6.0, 6.25])
def test_corrupt_bit_error_rate_matches_profile(profile, model, snr):
    profile.model = model
    try:
        rng = np.random.default_rng(int(snr * 100))
        n = 3000
        _, stats = profile.corrupt(_indices(rng, n), np.full(n, snr), rng)
    finally:
        profile.model = "codeword"
    expected = profile.rates(snr)
    got = stats.summary()
    assert got["index_bit_error_rate"] == pytest.approx(expected["ber"][0], rel=0.2)
    if model == "codeword":  # errors cluster: frames fail at the codeword error rate (one codeword here)
        assert got["frame_error_rate"] == pytest.approx(expected["cwer"][0], abs=5 * _se(expected["cwer"][0], n))
    else:  # independent flips spread errors over (almost) every frame
        assert got["frame_error_rate"] >= min(1.0, expected["cwer"][0]) - 0.05


def test_codeword_model_is_bursty_independent_is_not(profile):
    rng = np.random.default_rng(5)
    idx = _indices(rng, 2000)
    _, bursty = profile.corrupt(idx, np.full(2000, 6.0), rng)
    profile.model = "independent"
    try:
        _, spread = profile.corrupt(idx, np.full(2000, 6.0), rng)
    finally:
        profile.model = "codeword"
    assert bursty.frame_error.mean() < 0.3 < spread.frame_error.mean()


def test_exact_chain_agrees_with_profile(profile):
    rows = validate_profile(profile, [5.5, 6.0], images=600, seed=1)
    for row in rows:
        assert row["consistent"], row
    mid = rows[0]
    assert mid["exact"]["index_error_rate"] == pytest.approx(mid["profile"]["index_error_rate"], rel=0.3)
    assert mid["exact"]["index_bit_error_rate"] == pytest.approx(mid["profile"]["index_bit_error_rate"], rel=0.3)


def test_exact_chain_per_image_snr():
    chain = ExactChain(J, T)
    rng = np.random.default_rng(2)
    idx = _indices(rng, 40)
    snr = np.where(np.arange(40) % 2 == 0, -5.0, 15.0)
    out, stats = chain.corrupt(idx, snr, rng)
    np.testing.assert_array_equal(out[1::2], idx[1::2])
    assert stats.frame_error[0::2].all() and not stats.frame_error[1::2].any()
    assert 0 < chain.last_pre_fec_ber < 0.5


@pytest.mark.parametrize("mode", ["profile", "exact"])
def test_clamping_is_counted_for_non_power_of_two_alphabets(mode):
    segments = [[30, 200], [20, 12]]  # 8 and 4 bits per index, neither a power of two
    chain = ChainSettings(code="wifi648_r12")
    if mode == "profile":
        settings = ProfileSettings(alphabet=segments, labelling="gray", chain=chain, snr_min_db=-9.0,
                                   snr_max_db=-8.0, max_frames=64)
        channel = ErrorProfile.build(settings)
    else:
        channel = ExactChain(segments, labelling="gray", chain=chain)
    rng = np.random.default_rng(4)
    idx = _indices(rng, 200, [(30, 200), (20, 12)])
    out, stats = channel.corrupt(idx, np.full(200, -9.0), rng)
    assert stats.clamped.sum() > 0
    assert out[:, :30].max() <= 199 and out[:, 30:].max() <= 11
    # a clamped index decodes to J - 1: every clamp shows up as J - 1 in the output
    assert ((out[:, :30] == 199).sum(axis=1) + (out[:, 30:] == 11).sum(axis=1) >= stats.clamped).all()
    assert channel.payload_bits == frame_payload_bits(30 * 8 + 20 * 4)


def test_rayleigh_is_worse_than_awgn():
    awgn, rayleigh = (ErrorProfile.build(ProfileSettings.for_codec(
        J, T, chain=ChainSettings(fading=kind), snr_min_db=6.5, snr_max_db=7.0, max_frames=128)) for kind in
        ("none", "rayleigh"))  # independent per-symbol fading, perfect CSI: ~1.5 dB later waterfall
    assert awgn.cwer.max() < 0.05 and rayleigh.cwer.min() > 0.6
    _, stats = ExactChain(J, T, chain=ChainSettings(fading="rayleigh")).corrupt(
        _indices(np.random.default_rng(0), 64), np.full(64, 6.5), np.random.default_rng(1))
    assert stats.frame_error.mean() > 0.6


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("mode", ["profile", "exact"])
def test_bad_inputs_give_clear_errors(profile, mode):
    channel = profile if mode == "profile" else ExactChain(J, T)
    rng = np.random.default_rng(0)
    idx = _indices(rng, 4)
    with pytest.raises(ValueError, match=r"shape \[N, 98\]"):
        channel.corrupt(idx[:, :50], np.zeros(4), rng)
    with pytest.raises(ValueError, match="integers"):
        channel.corrupt(idx.astype(np.float32), np.zeros(4), rng)
    with pytest.raises(ValueError, match=r"outside \[0, 256\)"):
        channel.corrupt(idx + 256, np.zeros(4), rng)
    with pytest.raises(ValueError, match=r"snr_db must have shape \[N\] = \[4\]"):
        channel.corrupt(idx, np.zeros(3), rng)
    with pytest.raises(ValueError, match="finite"):
        channel.corrupt(idx, np.array([0, 1, np.nan, 2]), rng)
    with pytest.raises(ValueError, match="rng"):
        channel.corrupt(idx, np.zeros(4), None)
    out, stats = channel.corrupt(idx, 18.0, rng)  # a scalar SNR applies to every image
    np.testing.assert_array_equal(out, idx)
    empty, stats = channel.corrupt(idx[:0], np.zeros(0), rng)
    assert empty.shape == (0, T) and stats.summary()["images"] == 0


def test_snr_outside_profile_range(profile):
    idx = _indices(np.random.default_rng(0), 3)
    with pytest.raises(ValueError, match=r"outside the error profile's Es/N0 range \[-9, 18\] dB"):
        profile.corrupt(idx, np.array([0.0, 25.0, 1.0]), np.random.default_rng(0))
    profile.out_of_range = "clip"
    try:
        out, stats = profile.corrupt(idx, np.array([-20.0, 25.0, 1.0]), np.random.default_rng(0))
    finally:
        profile.out_of_range = "error"
    np.testing.assert_array_equal(stats.snr_db, [-9.0, 18.0, 1.0])
    np.testing.assert_array_equal(out[1], idx[1])


def test_bad_settings():
    with pytest.raises(ValueError, match="unknown fading 'rain'; allowed: none, rayleigh, rician"):
        ChainSettings(fading="rain")
    with pytest.raises(ValueError, match="unknown LDPC code"):
        ChainSettings(code="wifi999")
    with pytest.raises(ValueError, match="two points"):
        ProfileSettings(snr_min_db=5, snr_max_db=5)
    with pytest.raises(ValueError, match="max_frames"):
        ProfileSettings(max_frames=0)
    with pytest.raises(ValueError, match="num_indices"):
        ProfileSettings(alphabet=256)
    with pytest.raises(ValueError, match="unknown error-profile settings"):
        ProfileSettings.from_dict({"frames": 3})


def test_exact_chain_sends_the_frame_modems_payload():
    from semcomm.phy.modem import FrameModem

    chain = ExactChain([[30, 200], [20, 12]], chain=ChainSettings(code="wifi648_r12"))
    bits = chain.mapper.to_bits(_indices(np.random.default_rng(6), 5, [(30, 200), (20, 12)]))
    tx = FrameModem(chain.chain.link_config()).modulate(np.packbits(bits, axis=1))
    np.testing.assert_array_equal(chain.payload(bits), tx.payload_bits)
    assert chain.layout == tx.layout and chain.payload(bits[:0]).shape == (0, chain.payload_bits)
