"""The LDPC vulnerable-set attack: its stopping sets break the project's decoder, its waveform keeps the PSR
and touches only the set's symbols, and it beats payload jamming when it knows the data."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gr-semcomm" / "python"))

from semcomm.attacks.base import CraftContext, make_attack  # noqa: E402
from semcomm.attacks.jamming import PayloadJamming  # noqa: E402
from semcomm.attacks.threat import PAYLOAD_START, psr_db, span_mask  # noqa: E402
from semcomm.attacks.victim import Victim  # noqa: E402
from semcomm.attacks.vulnerable_set import (TransmittedGraph, VulnerableSetAttack, failure_rate,  # noqa: E402
                                            find_vulnerable_sets, minimum_energy, vulnerable_set)
from semcomm.eval.schemes import discover  # noqa: E402
from semcomm.phy.modem import payload_layout  # noqa: E402
from semcomm.sim.link import ChainSettings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEEDS = 8  # search seeds: enough for a stopping set, quick


@pytest.fixture(scope="module")
def digital_layout():
    return payload_layout(25, "16qam", "wifi1944_r12")


@pytest.fixture(scope="module")
def digital_sets(digital_layout):
    return find_vulnerable_sets(digital_layout, seeds=SEEDS, keep=2)


@pytest.fixture(scope="module")
def victims():
    found = {s.name: s for s in discover(str(ROOT / "models"), None, False, ("masked_vqvae_fim_at", "jpeg_ldpc"))}
    if len(found) < 2:
        pytest.skip("model cards of masked_vqvae_fim_at and jpeg_ldpc are needed")
    return {name: Victim(scheme, ChainSettings()) for name, scheme in found.items()}


@pytest.fixture(scope="module")
def test_images():
    from semcomm.data import load_dataset
    from semcomm.data.torch_data import make_loader

    data = load_dataset("fashion-mnist", "test")
    return next(iter(make_loader(data.subset(np.arange(24)), 24)))


def crafted(victim, images, labels, **options) -> VulnerableSetAttack:
    attack = VulnerableSetAttack(seeds=SEEDS, **options)
    attack.craft(CraftContext(victim, images[:2], labels[:2], 10.0, -10.0))
    return attack


def _decode(layout, llrs):
    return layout.coder.decode(llrs, max_iterations=20, algorithm="nms")


def test_found_sets_are_stopping_sets_that_the_decoder_cannot_undo(digital_layout, digital_sets):
    coder = digital_layout.coder
    graph = TransmittedGraph(coder.code, coder._mask[0])
    rng = np.random.default_rng(3)
    payload = rng.integers(0, 2, (8, digital_layout.num_bits)).astype(np.uint8)
    coded = digital_layout.encode(payload)
    llrs = np.where(coded == 0, 10.0, -10.0).astype(np.float32)
    assert np.array_equal(_decode(digital_layout, llrs).bits, payload)
    for found in digital_sets:
        members = np.zeros(coder.code.n, dtype=bool)
        members[found.positions] = True
        assert graph.is_stopping_set(members) and (found.coded_bits >= 0).all()
        assert graph.peel(members).sum() == found.size  # the erasure decoder recovers none of it
        erased, flipped = llrs.copy(), llrs.copy()
        erased[:, found.coded_bits] = 0.0
        flipped[:, found.coded_bits] *= -1
        stuck = _decode(digital_layout, erased)  # erased: the decoder stays at the erasures' hard decision 0
        assert not stuck.syndrome_ok.any() and not np.any(np.all(stuck.coded_bits == coded, axis=1))
        assert not np.any(np.all(_decode(digital_layout, flipped).bits == payload, axis=1))
    random_erasure = llrs.copy()
    random_erasure[:, rng.choice(llrs.shape[1], digital_sets[0].size, replace=False)] = 0.0
    assert np.array_equal(_decode(digital_layout, random_erasure).bits, payload)


def test_sets_are_ranked_by_cost_and_reused_on_layouts_that_send_their_bits(digital_layout, digital_sets):
    assert [s.cost for s in digital_sets] == sorted(s.cost for s in digital_sets)
    jpeg_layout = payload_layout(400, "16qam", "wifi1944_r12")
    moved = vulnerable_set(jpeg_layout, digital_sets[0].positions)
    assert moved is not None and moved.size == digital_sets[0].size
    filler = digital_layout.coder.code.info_positions[digital_layout.coder.info_lengths[0]]
    assert vulnerable_set(digital_layout, np.r_[digital_sets[0].positions, filler]) is None


@pytest.mark.parametrize("scheme", ["masked_vqvae_fim_at", "jpeg_ldpc"])
@pytest.mark.parametrize("knows_symbols", [False, True])
def test_perturb_keeps_the_psr_and_touches_only_the_set(victims, test_images, scheme, knows_symbols):
    victim = victims[scheme]
    images, labels = test_images
    batch = victim.transmit(images[:6], labels[:6], 10.0)
    attack = crafted(victim, images, labels, knows_symbols=knows_symbols)
    delta = attack.perturb(batch, -12.0, np.random.default_rng(5))
    mask = span_mask("payload", batch.lengths, batch.symbols.shape[1])
    np.testing.assert_allclose(psr_db(delta, batch.symbols, mask), -12.0, atol=0.1)
    for f in range(len(batch.symbols)):
        layout = victim.modem.layout(int(batch.payload_lengths[f]))
        bits = np.concatenate([s.coded_bits for s in attack.sets_for(layout)])
        targeted = np.unique(PAYLOAD_START + bits // layout.qam.bits_per_symbol)
        assert np.array_equal(np.flatnonzero(delta[f]), targeted)


def test_perturb_is_reproducible_from_the_seed(victims, test_images):
    victim = victims["masked_vqvae_fim_at"]
    images, labels = test_images
    batch = victim.transmit(images[:4], labels[:4], 10.0)
    attack = crafted(victim, images, labels)
    first, again = (attack.perturb(batch, -6.0, np.random.default_rng(11)) for _ in range(2))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, attack.perturb(batch, -6.0, np.random.default_rng(12)))


def test_data_aware_attack_breaks_frames_that_payload_jamming_of_equal_power_does_not(victims, test_images):
    victim = victims["masked_vqvae_fim_at"]
    images, labels = test_images
    batch = victim.transmit(images, labels, 10.0)
    aware = crafted(victim, images, labels, knows_symbols=True)
    assert failure_rate(victim, aware, batch, 10.0, -8.0, seed=2)[0].all()
    assert not failure_rate(victim, PayloadJamming(), batch, 10.0, -8.0, seed=2)[0].any()
    assert not failure_rate(victim, aware, batch, 10.0, -np.inf, seed=2)[0].any()


def test_minimum_energy_bisects_to_the_target(victims, test_images):
    victim = victims["masked_vqvae_fim_at"]
    images, labels = test_images
    batch = victim.transmit(images, labels, 10.0)
    aware = minimum_energy(victim, crafted(victim, images, labels, knows_symbols=True), batch, 10.0,
                           tolerance_db=0.5, seed=4)
    jamming = minimum_energy(victim, PayloadJamming(), batch, 10.0, tolerance_db=0.5, seed=4)
    for result in (aware, jamming):
        assert result["failure_rate"] >= 0.9 and result["frames"] == len(images)
        assert result["energy_per_frame_db"] == pytest.approx(result["psr_db"] + 10 * np.log10(301 / 833), abs=0.05)
    assert aware["psr_db"] < jamming["psr_db"] - 3
    below = failure_rate(victim, crafted(victim, images, labels, knows_symbols=True), batch, 10.0,
                         aware["psr_db"] - 0.5, seed=4)[0]
    assert below.mean() < 0.9


def test_registry_builds_the_attack():
    attack = make_attack("vulnerable_set")
    assert isinstance(attack, VulnerableSetAttack) and attack.families == ("digital", "jpeg")
    assert attack.describe()["threat"]["model"] == "none"
    with pytest.raises(RuntimeError, match="craft"):
        attack.perturb(None, 0.0, np.random.default_rng(0))


def test_failure_table_ranks_the_data_aware_set_below_payload_jamming_and_skips_analog_links():
    from semcomm.attacks.campaign import CampaignSettings
    from semcomm.attacks.failure import failure_table

    settings = CampaignSettings(models_dir=str(ROOT / "models"), schemes=("masked_vqvae_fim_at", "jscc"),
                                attacks=("vulnerable_set",), snr_db=(10.0,), images=24, progress=False)
    result = failure_table(settings, frames=24)
    rows = {row["attack"]: row for row in result["rows"]}
    assert set(rows) == {"vulnerable_set", "vulnerable_set_aware", "payload_gaussian", "preamble"}
    assert all(row["failure_rate"] >= 0.9 and row["frames"] == 24 for row in rows.values())
    assert rows["vulnerable_set_aware"]["energy_per_frame_db"] < rows["payload_gaussian"]["energy_per_frame_db"] - 5
    cheapest = min(rows["payload_gaussian"]["energy_per_frame_db"], rows["preamble"]["energy_per_frame_db"])
    assert rows["vulnerable_set_aware"]["ratio_vs_cheapest_classical"] == pytest.approx(
        10 ** ((cheapest - rows["vulnerable_set_aware"]["energy_per_frame_db"]) / 10))
    assert result["skipped"] == [{"scheme": "jscc", "reason": "analog links carry no LDPC code"}]


def test_the_data_blind_pattern_is_a_perturbation_file_for_one_frame_layout(victims, test_images, tmp_path):
    from semcomm.attacks import perturbation as files

    victim = victims["masked_vqvae_fim_at"]
    attack = crafted(victim, *test_images)
    context = CraftContext(victim, test_images[0][:0], test_images[1][:0], 10.0, 0.0)
    made = attack.to_perturbation(victim, context, frames=8)
    assert made.symbols.shape == (8, 833) and not made.symbols[:, :PAYLOAD_START].any()
    frames = victim.transmit(*test_images, 10.0)
    touched = np.flatnonzero(np.abs(attack.perturb(frames, 0.0, np.random.default_rng(0))).sum(axis=0))
    assert set(np.flatnonzero(np.abs(made.symbols).sum(axis=0))) <= set(touched)
    assert not np.array_equal(made.symbols[0], made.symbols[1])  # fresh signs per frame
    assert np.array_equal(made.symbols, attack.to_perturbation(victim, context, frames=8).symbols)  # seeded
    loaded = files.load(files.save(made, tmp_path / "vs"))
    files.check_compatible(loaded, victim.scheme.card["model_id"], files.frame_layout(victim, 25))
    assert loaded.extra["targeted_bits"] == sum(v.size for v in attack.sets_for(attack.modem.layout(25))) > 0
    assert loaded.samples().shape[0] == 8
    with pytest.raises(ValueError, match="data-aware .* depends on each frame's data"):
        crafted(victim, *test_images, knows_symbols=True).to_perturbation(victim, context)
    jpeg = victims["jpeg_ldpc"]
    with pytest.raises(ValueError, match="varying length"):
        crafted(jpeg, *test_images).to_perturbation(jpeg, context)
