"""The attack library's common parts: units (span, PSR, energy per frame), the victim chain on shipped models,
the classical baselines' power budget, perturbation files, the PSR sweep and the minimum-PSR search, and the
command line's refusals."""
import json
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from semcomm.attacks import perturbation as files  # noqa: E402
from semcomm.attacks.base import CraftContext, make_attack  # noqa: E402
from semcomm.attacks.campaign import CampaignSettings, claims, power_table  # noqa: E402
from semcomm.attacks.evaluate import PointResult, crossing, minimum_psr, run_point  # noqa: E402
from semcomm.attacks.threat import (PAYLOAD_START, ThreatModel, attacker_gains, energy_ratio_db, psr_db,  # noqa: E402
                                    scale_to_span, span_mask)
from semcomm.attacks.victim import Victim, detection_metric  # noqa: E402
from semcomm.channel.awgn import awgn  # noqa: E402
from semcomm.data import load_dataset  # noqa: E402
from semcomm.data.torch_data import make_loader  # noqa: E402
from semcomm.eval.schemes import discover  # noqa: E402
from semcomm.sim.link import ChainSettings  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture


@pytest.fixture(scope="module")
def test_batch():
    data = load_dataset("fashion-mnist", "test")
    return next(iter(make_loader(data.subset(np.arange(48)), 48)))


@pytest.fixture(scope="module")
def victims():
    found = {s.name: s for s in discover("models", None, False, ("masked_vqvae_fim_at", "jscc", "jpeg_ldpc"))}
    return {name: Victim(scheme, ChainSettings()) for name, scheme in found.items()}


def test_span_masks_follow_the_frame_layout():
    lengths = np.array([833, 600])
    payload = span_mask("payload", lengths, 833)
    assert payload[0].sum() == 301 and payload[1].sum() == 600 - PAYLOAD_START and not payload[:, :PAYLOAD_START].any()
    assert span_mask("frame", lengths, 833).sum(axis=1).tolist() == [833, 600]
    assert span_mask("preamble_header", lengths, 833).sum(axis=1).tolist() == [PAYLOAD_START] * 2
    with pytest.raises(ValueError, match="unknown span 'header'.*payload, frame, preamble_header"):
        span_mask("header", lengths, 833)


def test_scaling_meets_the_budget_and_energy_follows_the_span():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((4, 833)) + 1j * rng.standard_normal((4, 833))).astype(np.complex64)
    mask = span_mask("payload", np.full(4, 833), 833)
    delta = scale_to_span(rng.standard_normal((4, 833)).astype(np.complex64), x, mask, -7.0)
    assert np.allclose(psr_db(delta, x, mask), -7.0, atol=1e-4)
    assert not delta[:, :PAYLOAD_START].any()
    # energy per frame = PSR over the payload + 10 log10(payload energy share of the frame)
    share = (np.abs(x[:, PAYLOAD_START:]) ** 2).sum(1) / (np.abs(x) ** 2).sum(1)
    assert np.allclose(energy_ratio_db(delta, x, np.full(4, 833)), -7.0 + 10 * np.log10(share), atol=1e-4)
    assert not scale_to_span(delta, x, mask, -np.inf).any()


def test_attacker_gains_have_unit_mean_power_and_threats_are_checked():
    rng = np.random.default_rng(0)
    assert np.allclose(attacker_gains("none", 3, rng), 1)
    assert np.allclose(np.abs(attacker_gains("phase", 100, rng)), 1, atol=1e-6)
    assert abs(np.mean(np.abs(attacker_gains("rayleigh", 20000, rng)) ** 2) - 1) < 0.05
    with pytest.raises(ValueError, match="unknown attacker channel 'ideal'"):
        attacker_gains("ideal", 1, rng)
    with pytest.raises(ValueError, match="unknown threat model 'grey_box'"):
        ThreatModel(model="grey_box")


def test_victims_decide_as_the_codecs_do_on_a_clean_link(victims, test_batch):
    images, labels = test_batch
    for name, victim in victims.items():
        batch = victim.transmit(images, labels, 30.0)
        outcome = victim.receive(batch, batch.symbols, 30.0)  # noiseless: every frame found and decoded
        assert outcome.detected.all() and outcome.header_ok.all() and outcome.crc_ok.all(), name
        assert np.allclose(detection_metric(batch.symbols), 1.0)
        if victim.family == "digital":
            with torch.no_grad():
                expected = victim.model.decode(torch.from_numpy(batch.indices), torch.full((48,), 30.0)).argmax(1)
            assert outcome.predicted.tolist() == expected.tolist()
        assert outcome.correct(labels).mean() > 0.7, name


def test_jamming_meets_its_budget_and_preamble_jamming_loses_frames(victims, test_batch):
    images, labels = test_batch
    victim = victims["masked_vqvae_fim_at"]
    batch = victim.transmit(images, labels, 10.0)
    for name in ("gaussian", "payload_gaussian", "preamble", "tone"):
        attack = make_attack(name)
        delta = attack.perturb(batch, -3.0, np.random.default_rng(0))
        mask = span_mask(attack.span, batch.lengths, batch.symbols.shape[1])
        assert np.allclose(psr_db(delta, batch.symbols, mask), -3.0, atol=0.1), name
        assert not np.abs(delta[~mask]).any(), name
    point = run_point(victim, make_attack("preamble"), images, labels, 10.0, 15.0)
    assert point.figures["lost_to_sync"] + point.figures["header_failures"] == 48
    assert point.figures["accuracy"] == 0.0 and abs(point.figures["psr_db_measured"] - 15.0) < 0.1
    clean = run_point(victim, make_attack("preamble"), images, labels, 10.0, -np.inf)
    assert clean.figures["lost_to_sync"] == 0 and clean.figures["accuracy"] > 0.7


def test_points_reproduce_from_the_seed_and_the_attack_hurts(victims, test_batch):
    images, labels = test_batch
    victim = victims["jpeg_ldpc"]
    a, b = (run_point(victim, make_attack("payload_gaussian"), images, labels, 10.0, -8.0, seed=3) for _ in range(2))
    assert a.to_dict() == b.to_dict() and (a.correct == b.correct).all()
    strong = run_point(victim, make_attack("payload_gaussian"), images, labels, 10.0, 0.0, seed=3)
    assert strong.figures["payload_crc_failures"] == 48 and strong.figures["accuracy"] == 0.0


def test_minimum_psr_interpolates_and_brackets():
    assert crossing([0, 10], [0.9, 0.1], 0.5) == pytest.approx(5.0)
    assert crossing([0, 10], [0.9, 0.8], 0.5) is None
    points = [PointResult(0.0, float(psr), np.arange(100) < n, {"energy_per_frame_db": psr - 3.0,
                                                                    "psr_db_measured": float(psr)})
              for psr, n in ((-np.inf, 90), (-10, 90), (0, 50), (10, 10))]
    result = minimum_psr(points, 0.45, seed=0)
    assert result["psr_db"] == pytest.approx(1.25)
    assert result["energy_per_frame_db"] == pytest.approx(-1.75)
    low, high = result["psr_db_ci"]
    assert low < result["psr_db"] < high
    dead = [PointResult(0.0, float(psr), np.zeros(100, bool), {}) for psr in (-np.inf, -10, 0)]
    assert minimum_psr(dead, 0.0)["psr_db"] is None and "scores 0" in minimum_psr(dead, 0.0)["note"]


def test_perturbation_files_round_trip_and_refuse_a_mismatch(victims, tmp_path):
    victim = victims["masked_vqvae_fim_at"]
    layout = files.frame_layout(victim, 25)
    assert layout["frame_symbols"] == 833 and layout["payload_symbols"] == 301
    symbols = np.zeros(833, dtype=np.complex64)
    symbols[PAYLOAD_START:] = np.exp(1j * np.arange(301))
    made = files.Perturbation(symbols, "universal", "masked_vqvae_fim_at", victim.scheme.card["model_id"], layout,
                              "payload", -10.0, ThreatModel("white_box").to_dict(), {"images": 4})
    path = files.save(made, tmp_path / "p")
    loaded = files.load(path)
    assert np.array_equal(loaded.symbols, symbols) and loaded.metadata() == made.metadata()
    assert len(loaded.samples()) == 833 * 4 + 32  # pulse-shaped at sps 4 with the 33-tap RRC
    files.check_compatible(loaded, victim.scheme.card["model_id"], layout)
    with pytest.raises(ValueError, match="crafted for model id"):
        files.check_compatible(loaded, "00" * 32, layout)
    with pytest.raises(ValueError, match="payload_bytes: file 25, link 26"):
        files.check_compatible(loaded, victim.scheme.card["model_id"], files.frame_layout(victim, 26))
    with np.load(path) as data:
        arrays = dict(data)
    arrays["symbols"] = arrays["symbols"] * 2
    np.savez(tmp_path / "bad.perturbation.npz", **arrays)
    with pytest.raises(ValueError, match="do not match their recorded sha256"):
        files.load(tmp_path / "bad.perturbation.npz")
    with pytest.raises(ValueError, match="no perturbation file"):
        files.load(tmp_path / "missing.perturbation.npz")


def _row_curve(psr, low, high, energy_offset=-1.0):
    energy = None if psr is None else psr + energy_offset  # None: the target was not reached
    return {"points": [{"accuracy": 0.9}], "minimum": {"target_accuracy": 0.45, "psr_db": psr, "psr_db_ci": [low, high],
                                                      "energy_per_frame_db": energy}}


def test_an_et_al_claim_compares_the_cheapest_attacks_on_analog_and_jpeg_links():
    results = {"schemes": {
        "jscc": {"family": "analog", "attacks": {"pga": {"curves": {"10.0": _row_curve(-2.0, -2.5, -1.5)}},
                                                 "gaussian": {"curves": {"10.0": _row_curve(1.0, 0.5, 1.5)}}}},
        "jpeg_ldpc": {"family": "jpeg", "attacks": {"vulnerable_set": {"curves": {"10.0": _row_curve(-9.0, -9.5, -8.5)}},
                                                    "payload_gaussian": {"curves": {"10.0": _row_curve(None, None,
                                                                                                        None)}}}}}}
    results["table"] = power_table(results)
    (check,) = claims(results)
    assert check["attacks"] == ["pga", "vulnerable_set"] and check["check"].startswith("An et al.")
    assert check["energy_difference_db"] == pytest.approx(7.0) and check["ratio"] == pytest.approx(10 ** 0.7)
    assert check["interval_half_width_db"] == pytest.approx(np.hypot(0.5, 0.5)) and check["verdict"] == "ahead"
    results["schemes"]["jscc"]["attacks"]["pga"]["curves"]["10.0"] = _row_curve(-9.2, -9.7, -8.7)
    results["table"] = power_table(results)
    assert claims(results)[0]["verdict"] == "tied"


def test_hu_et_al_claims_compare_the_cheapest_semantic_attacks_of_the_schemes():
    def scheme(family, **attacks):
        return {"family": family, "attacks": {name: {"curves": {"10.0": _row_curve(*psr)}}
                                              for name, psr in attacks.items()}}

    results = {"schemes": {
        "masked_vqvae_fim_at": scheme("digital", universal=(-1.0, -1.5, -0.5), gaussian=(-9.0, -9.5, -8.5)),
        "masked_vqvae": scheme("digital", universal=(-4.0, -4.5, -3.5), importance=(-5.0, -5.5, -4.5)),
        "masked_vqvae_at": scheme("digital", universal=(-5.2, -5.7, -4.7))}}
    results["table"] = power_table(results)
    checks = claims(results)
    versus_plain = next(c for c in checks if "than masked_vqvae " in c["check"])
    assert versus_plain["attacks"] == ["universal", "importance"]  # the classical gaussian does not count
    assert versus_plain["energy_difference_db"] == pytest.approx(4.0) and versus_plain["verdict"] == "ahead"
    training = next(c for c in checks if "adversarial training" in c["check"])
    assert training["energy_difference_db"] == pytest.approx(-0.2) and training["verdict"] == "tied"
    assert len(checks) == 3


def test_bad_campaign_input_is_refused_with_what_is_allowed():
    with pytest.raises(ValueError, match="unknown attack\\(s\\) jam; allowed: .*gaussian"):
        CampaignSettings(attacks=("jam",))
    with pytest.raises(ValueError, match="PSR range is empty"):
        CampaignSettings(attacks=("gaussian",), psr_db=())
    with pytest.raises(ValueError, match="unknown attack 'nope'; allowed"):
        make_attack("nope")
    assert isinstance(CraftContext(None, None, None, 10.0, -10.0), CraftContext)


@pytest.mark.parametrize("argv, message", [
    (["eval", "--psr=5:0:1"], "STOP 0.0 is below START 5.0"),
    (["eval", "--schemes", "nope", "--psr=0"], "no model card or surrogate named nope"),
    (["eval", "--attacks", "jam", "--psr=0"], "unknown attack(s) jam"),
    (["craft", "--scheme", "jpeg_ldpc", "--attack", "gaussian", "--out", "/tmp/x"], "crafts no perturbation file"),
    (["failure", "--snr", ","], "no Es/N0 value in ','"),
    (["failure", "--schemes", "nope"], "no model card or surrogate named nope"),
])
def test_the_command_line_refuses_bad_input(argv, message):
    run = subprocess.run([sys.executable, "-m", "semcomm.cli", "attack", *argv], capture_output=True, text=True)
    assert run.returncode == 2 and message in run.stderr, run.stderr


def test_attack_eval_writes_json_and_the_table(tmp_path):
    run = subprocess.run([sys.executable, "-m", "semcomm.cli", "attack", "eval", "--schemes", "masked_vqvae_fim_at",
                          "--attacks", "payload_gaussian,preamble", "--psr=-10:5:5", "--snr", "10", "--images", "40",
                          "--out", str(tmp_path), "--quiet"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    results = json.loads((tmp_path / "campaign.json").read_text())
    rows = {row["attack"]: row for row in results["table"]}
    assert set(rows) == {"payload_gaussian", "preamble"} and (tmp_path / "attack_10dB.png").is_file()
    assert rows["payload_gaussian"]["energy_per_frame_db"] < rows["preamble"]["energy_per_frame_db"]
    assert "min PSR dB" in run.stdout
