"""Progressive gradient ascent on the analog JSCC's received symbols: the budget, reproducibility, its edge
over payload jamming at equal PSR, and the minimum-power search's consistency."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from semcomm.attacks.base import CraftContext, make_attack  # noqa: E402
from semcomm.attacks.evaluate import run_point  # noqa: E402
from semcomm.attacks.pga import AscentSettings, budget_radius, flipped, minimum_power, to_reals  # noqa: E402
from semcomm.attacks.threat import PAYLOAD_START, psr_db, span_mask  # noqa: E402
from semcomm.attacks.victim import Victim  # noqa: E402
from semcomm.data import load_dataset  # noqa: E402
from semcomm.data.torch_data import make_loader  # noqa: E402
from semcomm.eval.schemes import discover  # noqa: E402
from semcomm.sim.link import ChainSettings  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture

SNR_DB = 10.0


@pytest.fixture(scope="module")
def victim():
    return Victim(discover("models", None, True, ("jscc",))[0], ChainSettings())


@pytest.fixture(scope="module")
def test_batch():
    data = load_dataset("fashion-mnist", "test")
    return next(iter(make_loader(data.subset(np.arange(24)), 24)))


@pytest.fixture(scope="module")
def attack(victim, test_batch):
    pga = make_attack("pga", steps=6)
    pga.craft(CraftContext(victim, *test_batch, SNR_DB, -10.0))
    return pga


def test_pga_meets_the_budget_on_the_payload_and_is_reproducible(victim, attack, test_batch):
    frames = victim.transmit(test_batch[0][:6], test_batch[1][:6], SNR_DB)
    delta = attack.perturb(frames, -7.0, np.random.default_rng(3))
    mask = span_mask("payload", frames.lengths, frames.symbols.shape[1])
    assert delta.dtype == np.complex64 and delta.shape == frames.symbols.shape
    assert np.allclose(psr_db(delta, frames.symbols, mask), -7.0, atol=0.1)
    assert not delta[:, :PAYLOAD_START].any()
    assert np.array_equal(delta, attack.perturb(frames, -7.0, np.random.default_rng(3)))
    assert not np.array_equal(delta, attack.perturb(frames, -7.0, np.random.default_rng(4)))


def test_pga_beats_payload_jamming_at_equal_psr(victim, attack, test_batch):
    images, labels = test_batch
    pga = run_point(victim, attack, images, labels, SNR_DB, -5.0).figures["accuracy"]
    jamming = run_point(victim, make_attack("payload_gaussian"), images, labels, SNR_DB, -5.0).figures["accuracy"]
    clean = run_point(victim, attack, images, labels, SNR_DB, -np.inf).figures["accuracy"]
    assert pga < jamming - 0.2 and jamming >= clean - 0.1


def test_pga_needs_crafting_and_an_analog_victim(victim, test_batch):
    frames = victim.transmit(test_batch[0][:2], test_batch[1][:2], SNR_DB)
    with pytest.raises(RuntimeError, match="craft"):
        make_attack("pga").perturb(frames, -10.0, np.random.default_rng(0))
    assert make_attack("pga").families == ("analog",)


def test_minimum_power_is_consistent_and_reproducible(victim, test_batch):
    images, labels = test_batch[0][:10], test_batch[1][:10]
    x = to_reals(victim.transmit(images, labels, SNR_DB).payload)
    settings = AscentSettings(steps=4)
    search = minimum_power(victim.model, x, labels, SNR_DB, start_db=-20.0, stop_db=4.0, step_db=2.0,
                           settings=settings, eval_draws=6, seed=5)
    levels = np.arange(-20.0, 4.0 + 1.0, 2.0)
    found = np.isfinite(search.psr_db)
    assert found.any() and search.clean_correct.any()
    assert np.isin(search.psr_db[found], levels).all()
    assert np.isneginf(search.psr_db[~search.clean_correct]).all()
    # a frame flipped at p is flipped by the returned perturbation, within the budget of p
    done = np.flatnonzero(found)
    assert flipped(victim.model, x[done], search.delta[done], labels[done], SNR_DB, search.noise[:, done]).all()
    norms = search.delta[done].flatten(1).norm(dim=1)
    assert (norms <= budget_radius(x[done], torch.from_numpy(search.psr_db[done])) * (1 + 1e-5)).all()
    assert search.median_psr_db() in set(levels) | {np.inf}
    again = minimum_power(victim.model, x, labels, SNR_DB, start_db=-20.0, stop_db=4.0, step_db=2.0,
                          settings=settings, eval_draws=6, seed=5)
    assert np.array_equal(again.psr_db, search.psr_db)
