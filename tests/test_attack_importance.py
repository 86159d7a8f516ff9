"""The importance attack on the digital codec: token bits -> coded bits -> symbols through the shortened
systematic code, the Tanner neighbourhood, the budget and reproducibility, importance from training images
only, and its edge over payload jamming at equal PSR where it has one."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from semcomm.attacks.base import CraftContext, make_attack  # noqa: E402
from semcomm.attacks.campaign import PerBudget  # noqa: E402
from semcomm.attacks.evaluate import run_point  # noqa: E402
from semcomm.attacks.importance import target_symbols, tanner_neighbourhood, token_bits, token_importance  # noqa: E402
from semcomm.attacks.threat import PAYLOAD_START, psr_db, span_mask  # noqa: E402
from semcomm.attacks.victim import Victim  # noqa: E402
from semcomm.data import load_dataset  # noqa: E402
from semcomm.data.torch_data import make_loader  # noqa: E402
from semcomm.eval.schemes import discover  # noqa: E402
from semcomm.sim.link import ChainSettings  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture

SNR_DB = 10.0


def _batch(split: str, start: int, count: int):
    data = load_dataset("fashion-mnist", split)
    return next(iter(make_loader(data.subset(np.arange(start, start + count)), count)))


@pytest.fixture(scope="module")
def victim():
    return Victim(discover("models", None, True, ("masked_vqvae_fim_at",))[0], ChainSettings())


@pytest.fixture(scope="module")
def train_batch():
    return _batch("train", 0, 100)


@pytest.fixture(scope="module")
def test_batch():
    return _batch("test", 0, 100)


@pytest.fixture(scope="module")
def frames(victim, test_batch):
    return victim.transmit(*test_batch, SNR_DB)


def test_depth_zero_targets_exactly_the_symbols_of_a_tokens_bits(victim, frames):
    layout = victim.modem.layout(int(frames.payload_lengths[0]))
    bits = token_bits(victim.mapper)
    assert len(bits) == 25 and all(len(b) == 8 for b in bits)
    index_bits = victim.mapper.to_bits(frames.indices)
    for t in (0, 7, 24):
        symbols = target_symbols(layout, bits[t], 0)
        assert symbols.tolist() == [2 * t, 2 * t + 1]  # systematic bits first, 4 coded bits per 16-QAM symbol
        coded = np.stack(frames.coded_bits)[:, (4 * symbols[:, None] + np.arange(4)).ravel()]
        assert np.array_equal(coded, index_bits[:, bits[t]])


def test_tanner_neighbourhood_follows_the_parity_checks(victim, frames):
    code = victim.modem.layout(int(frames.payload_lengths[0])).coder.code
    h = code.dense_h().astype(bool)
    start = np.array([3, 40])
    one = tanner_neighbourhood(code, start, 1)
    assert np.array_equal(one, np.flatnonzero(h[h[:, start].any(axis=1)].any(axis=0)))
    assert np.array_equal(tanner_neighbourhood(code, start, 0), start)
    assert set(one) < set(tanner_neighbourhood(code, start, 2))


@pytest.fixture(scope="module")
def crafted(victim, train_batch):
    attack = make_attack("importance", tokens=8, depth=1, draws=2)
    attack.craft(CraftContext(victim, *train_batch, SNR_DB, 0.0, seed=3))
    return attack


def test_budget_targets_and_reproducibility(crafted, frames):
    delta = crafted.perturb(frames, -5.0, np.random.default_rng(2))
    mask = span_mask("payload", frames.lengths, frames.symbols.shape[1])
    assert delta.dtype == np.complex64 and np.allclose(psr_db(delta, frames.symbols, mask), -5.0, atol=0.1)
    hit = np.flatnonzero(np.abs(delta).sum(axis=0)) - PAYLOAD_START
    assert np.array_equal(hit, crafted.symbols) and 0 < len(hit) < 301
    assert np.array_equal(delta, crafted.perturb(frames, -5.0, np.random.default_rng(2)))
    assert not np.array_equal(delta, crafted.perturb(frames, -5.0, np.random.default_rng(5)))


def test_the_oracle_pushes_each_targeted_symbol_across_both_axes(victim, train_batch, frames):
    oracle = make_attack("importance", tokens=2, depth=0, knows_symbols=True, draws=1)
    oracle.craft(CraftContext(victim, *train_batch, SNR_DB, 0.0))
    k = PAYLOAD_START + oracle.symbols
    delta, x = oracle.perturb(frames, 0.0, np.random.default_rng(0))[:, k], frames.symbols[:, k]
    assert (np.sign(delta.real) == -np.sign(x.real)).all() and (np.sign(delta.imag) == -np.sign(x.imag)).all()


def test_importance_comes_from_the_training_images_only(victim, crafted, train_batch, frames):
    indices = torch.from_numpy(victim.transmit(*train_batch, SNR_DB).indices)
    again = token_importance(victim.model, indices, train_batch[1], SNR_DB, 256, 2, torch.Generator().manual_seed(3))
    assert np.allclose(crafted.weights, again)
    other = _batch("train", 100, 100)
    elsewhere = make_attack("importance", tokens=8, depth=1, draws=2)
    elsewhere.craft(CraftContext(victim, *other, SNR_DB, 0.0, seed=3))
    assert not np.allclose(elsewhere.weights, crafted.weights)
    before = crafted.weights.copy()
    crafted.perturb(frames, 0.0, np.random.default_rng(0))
    assert np.array_equal(crafted.weights, before) and crafted.weights.max() > 0


def test_craft_picks_the_worst_choice_on_training_images(victim, train_batch):
    attack = make_attack("importance", draws=1)
    attack.craft(CraftContext(victim, *train_batch, SNR_DB, 0.0))
    assert attack.training_accuracy[attack.chosen] == min(attack.training_accuracy.values())
    assert len(attack.training_accuracy) > 1 and attack.describe()["tokens"] == attack.chosen[0]


def test_beats_payload_jamming_at_equal_psr_and_refuses_analog(victim, crafted, train_batch, test_batch):
    images, labels = test_batch
    jamming = make_attack("payload_gaussian")
    blind = run_point(victim, crafted, images, labels, SNR_DB, 0.0).figures["accuracy"]
    assert blind < run_point(victim, jamming, images, labels, SNR_DB, 0.0).figures["accuracy"]
    oracle = make_attack("importance", tokens=8, depth=1, knows_symbols=True, draws=2)
    oracle.craft(CraftContext(victim, *train_batch, SNR_DB, -3.0, seed=3))
    pushed = run_point(victim, oracle, images, labels, SNR_DB, -3.0).figures["accuracy"]
    assert pushed < run_point(victim, jamming, images, labels, SNR_DB, -3.0).figures["accuracy"] - 0.3
    analog = Victim(discover("models", None, True, ("jscc",))[0], ChainSettings())
    with pytest.raises(ValueError, match="digital codecs only"):
        make_attack("importance").craft(CraftContext(analog, *test_batch, SNR_DB, 0.0))


def test_crafting_per_budget_chooses_at_each_psr_and_keeps_the_importance(victim, train_batch, frames):
    attack = PerBudget(make_attack("importance", draws=1), (-5.0, 5.0))
    attack.craft(CraftContext(victim, *train_batch, SNR_DB, 0.0))
    low, high = attack.crafted[-5.0], attack.crafted[5.0]
    assert np.array_equal(low.weights, high.weights) and low._weights_key == high._weights_key
    for crafted in (low, high):
        assert crafted.training_accuracy[crafted.chosen] == min(crafted.training_accuracy.values())
    hit = np.flatnonzero(np.abs(attack.perturb(frames, 5.0, np.random.default_rng(0))).sum(axis=0)) - PAYLOAD_START
    assert np.array_equal(hit, high.symbols)
    assert attack.describe()["crafted_per_psr"]["-5"]["tokens"] == low.chosen[0]
    with pytest.raises(ValueError, match="crafted at PSR -5, 5 dB, not 0"):
        attack.perturb(frames, 0.0, np.random.default_rng(0))
