"""Hu et al.'s sample-independent semantic noise (semcomm.attacks.universal): crafting on a few training images
raises the task loss, perturb meets the PSR with one waveform for all frames, the seed reproduces it, the
shift-robust variant shifts it per frame, and the perturbation file round-trips."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from semcomm.attacks import perturbation as files  # noqa: E402
from semcomm.attacks.base import CraftContext, make_attack  # noqa: E402
from semcomm.attacks.threat import PAYLOAD_START, psr_db, span_mask  # noqa: E402
from semcomm.attacks.universal import ShiftRobustNoise, UniversalNoise  # noqa: E402
from semcomm.attacks.victim import Victim  # noqa: E402
from semcomm.data import load_dataset  # noqa: E402
from semcomm.data.torch_data import make_loader  # noqa: E402
from semcomm.eval.schemes import discover  # noqa: E402
from semcomm.sim.link import ChainSettings  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture

OPTIONS = {"iterations": 2, "batch_size": 8}


@pytest.fixture(scope="module")
def victims():
    found = discover("models", None, True, ("masked_vqvae_fim_at", "jscc"))
    return {scheme.name: Victim(scheme, ChainSettings()) for scheme in found}


@pytest.fixture(scope="module")
def train_batch():
    data = load_dataset("fashion-mnist", "train")
    return next(iter(make_loader(data.subset(np.arange(16)), 16)))


def _crafted(attack, victim, train_batch, psr=0.0, seed=0, channel="none"):
    images, labels = train_batch
    context = CraftContext(victim, images, labels, 10.0, psr, channel, seed)
    attack.craft(context)
    return attack, context


@pytest.mark.parametrize("scheme", ["masked_vqvae_fim_at", "jscc"])
def test_crafting_raises_the_task_loss(victims, train_batch, scheme):
    attack, _ = _crafted(UniversalNoise(**OPTIONS), victims[scheme], train_batch)
    assert attack.training["loss_attacked"] > attack.training["loss_clean"] + 0.1
    assert np.isclose(np.linalg.norm(attack.delta), attack.training["eps"], rtol=1e-4)


def test_perturb_meets_the_psr_with_one_waveform_for_all_frames(victims, train_batch):
    victim = victims["masked_vqvae_fim_at"]
    attack, _ = _crafted(UniversalNoise(**OPTIONS), victim, train_batch, channel="phase")
    batch = victim.transmit(*train_batch, 10.0)
    delta = attack.perturb(batch, -7.0, np.random.default_rng(0))
    mask = span_mask("payload", batch.lengths, batch.symbols.shape[1])
    assert delta.dtype == np.complex64 and delta.shape == batch.symbols.shape
    assert np.allclose(psr_db(delta, batch.symbols, mask), -7.0, atol=0.1)
    assert not delta[:, :PAYLOAD_START].any()
    # one waveform: every frame's copy is the crafted delta times that frame's (real, positive) scale
    scales = np.abs(delta[:, PAYLOAD_START]) / np.abs(attack.delta[0])
    assert np.allclose(delta[:, PAYLOAD_START:], scales[:, None] * attack.delta[None, :], atol=1e-5)


def test_crafting_reproduces_from_the_seed(victims, train_batch):
    victim = victims["masked_vqvae_fim_at"]
    first, second, other = (_crafted(UniversalNoise(**OPTIONS), victim, train_batch, seed=seed)[0].delta
                            for seed in (3, 3, 4))
    assert np.allclose(first, second, atol=1e-6) and not np.allclose(first, other, atol=1e-3)


def test_shift_robust_noise_shifts_each_frame_and_keeps_the_psr(victims, train_batch):
    victim = victims["masked_vqvae_fim_at"]
    attack, _ = _crafted(ShiftRobustNoise(max_shift=4, **OPTIONS), victim, train_batch)
    assert attack.threat.sync == "timing_error" and attack.describe()["max_shift_symbols"] == 4
    batch = victim.transmit(*train_batch, 10.0)
    delta = attack.perturb(batch, -5.0, np.random.default_rng(1))
    mask = span_mask("payload", batch.lengths, batch.symbols.shape[1])
    assert np.allclose(psr_db(delta, batch.symbols, mask), -5.0, atol=0.1)
    payload = delta[:, PAYLOAD_START:]
    for row in payload:
        shift = int(np.argmax(np.abs(np.correlate(row, attack.delta, "full")))) - len(attack.delta) + 1
        assert -4 <= shift <= 4
        window = slice(max(shift, 0), len(row) + min(shift, 0))  # row[k] = scale * delta[k - shift]
        expected = np.roll(attack.delta, shift)[window]
        assert np.allclose(row[window] / np.linalg.norm(row[window]), expected / np.linalg.norm(expected), atol=1e-5)
    assert len({int(np.argmax(np.abs(row) > 0)) for row in payload}) > 1  # not all frames got the same shift


def test_the_perturbation_file_round_trips(victims, train_batch, tmp_path):
    victim = victims["masked_vqvae_fim_at"]
    attack, context = _crafted(make_attack("universal", **OPTIONS), victim, train_batch)
    path = files.save(attack.to_perturbation(victim, context), tmp_path / "universal")
    loaded = files.load(path)
    assert loaded.kind == "universal" and loaded.span == "payload" and loaded.threat["model"] == "white_box"
    assert np.allclose(loaded.symbols[PAYLOAD_START:], attack.delta)
    files.check_compatible(loaded, victim.scheme.card["model_id"], files.frame_layout(victim, 25))
    assert loaded.training["images"] == 16 and loaded.training["loss_attacked"] > loaded.training["loss_clean"]


def test_jpeg_and_uncrafted_use_are_refused(victims, train_batch):
    with pytest.raises(ValueError, match="craft"):
        UniversalNoise().frame_waveform(833)
    assert "jpeg" not in UniversalNoise.families
    with pytest.raises(ValueError, match="iterations"):
        UniversalNoise(iterations=0)
