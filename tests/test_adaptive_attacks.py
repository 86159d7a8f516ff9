"""Adaptive semantic-noise attacks (semcomm.attacks.adaptive): losses and schedules, the eps-ball and [0, 1]
constraints of every attack, their strength on a linear classifier, and the gradient paths through the
shipped codecs' quantiser."""
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from semcomm.attacks import adaptive  # noqa: E402
from semcomm.data import load_dataset  # noqa: E402
from semcomm.data.torch_data import make_loader  # noqa: E402
from semcomm.eval.schemes import discover  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture

EPS = 8 / 255


@pytest.fixture(scope="module")
def test_batch():
    data = load_dataset("fashion-mnist", "test")
    return next(iter(make_loader(data.subset(np.arange(8)), 8)))


@pytest.fixture(scope="module")
def models():
    found = discover("models", None, True, ("masked_vqvae_fim_at", "jscc_at"))
    return {scheme.name: scheme.torch_model.eval() for scheme in found}


def linear_classifier(seed=0):
    """Two-class logits ``[w.x, -w.x]`` of images ``[N, 1, 4, 4]``: the class flips when ``w.x`` changes sign."""
    weights = torch.randn(16, generator=torch.Generator().manual_seed(seed))

    def logits(images):
        score = images.flatten(1) @ weights
        return torch.stack([score, -score], dim=1)
    return logits, weights


def near_boundary_images(weights, count=32, margin=0.05, seed=1):
    """Images in [0.1, 0.9] of class 0 whose score ``w.x`` is ``margin``: one L-inf step of ``margin / ||w||_1``
    against ``sign(w)`` flips them."""
    images = 0.1 + 0.8 * torch.rand(count, 16, generator=torch.Generator().manual_seed(seed))
    shift = (images @ weights - margin)[:, None] * weights / (weights @ weights)
    return (images - shift).clamp(0.1, 0.9).reshape(count, 1, 4, 4)


def assert_in_ball(adversarial, clean, eps=EPS):
    assert adversarial.shape == clean.shape
    assert float(adversarial.min()) >= 0 and float(adversarial.max()) <= 1
    assert float((adversarial - clean).abs().max()) <= eps + 1e-6


def test_margin_is_positive_exactly_when_misclassified():
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0]])
    labels = torch.tensor([0, 2])
    assert torch.allclose(adaptive.margin(logits, labels), torch.tensor([-1.0, 2.0]))
    assert torch.allclose(adaptive.per_image_loss("ce", logits, labels),
                          torch.nn.functional.cross_entropy(logits, labels, reduction="none"))
    with pytest.raises(ValueError, match="unknown loss"):
        adaptive.per_image_loss("dlr", logits, labels)


def test_step_size_schedules():
    assert adaptive.step_sizes(0.1, 3, "constant") == [0.1] * 3
    cosine = adaptive.step_sizes(0.1, 4, "cosine")
    assert cosine[0] == pytest.approx(0.1) and cosine[2] == pytest.approx(0.05)
    assert all(a > b > 0 for a, b in zip(cosine, cosine[1:]))
    with pytest.raises(ValueError, match="unknown schedule"):
        adaptive.step_sizes(0.1, 3, "apgd")


def test_square_size_halves_p_on_the_rescaled_schedule():
    assert adaptive.square_size(0.1, 0, 100, 784) == round(math.sqrt(78.4))
    assert adaptive.square_size(0.1, 1, 100, 784) == round(math.sqrt(19.6))  # 100 of 10000 > 10, 50: p / 4
    assert adaptive.square_size(0.1, 99, 100, 784) == 1
    assert adaptive.square_size(0.1, 0, 10000, 784) == round(math.sqrt(78.4))


@pytest.mark.parametrize("schedule,loss,restarts", [("cosine", "ce", 1), ("constant", "margin", 3)])
def test_adaptive_pgd_flips_a_linear_classifier_within_the_ball(schedule, loss, restarts):
    logits, weights = linear_classifier()
    eps = 2 * 0.05 / float(weights.abs().sum())
    clean = near_boundary_images(weights)
    labels = torch.zeros(len(clean), dtype=torch.long)
    adversarial = adaptive.adaptive_pgd(clean, labels, logits, eps, steps=4, restarts=restarts, schedule=schedule,
                                        loss=loss, generator=torch.Generator().manual_seed(0))
    assert_in_ball(adversarial, clean, eps)
    assert bool((logits(adversarial).argmax(1) == 1).all())


def test_adaptive_pgd_keeps_the_clean_image_when_nothing_beats_it():
    """A judge whose margin is highest at the clean image (restart 0's first iterate) gets it back unchanged."""
    logits, weights = linear_classifier()
    clean = near_boundary_images(weights, count=4)
    labels = torch.zeros(4, dtype=torch.long)

    def judge(images):
        distance = (images - clean).flatten(1).abs().sum(1)
        return torch.stack([distance, -distance], dim=1)

    adversarial = adaptive.adaptive_pgd(clean, labels, logits, 0.1, steps=3, restarts=2, judge=judge)
    assert torch.equal(adversarial, clean)


def test_square_attack_flips_a_linear_classifier_within_the_ball():
    logits, weights = linear_classifier()
    eps = 2 * 0.05 / float(weights.abs().sum())
    clean = near_boundary_images(weights)
    labels = torch.zeros(len(clean), dtype=torch.long)
    adversarial = adaptive.square_attack(clean, labels, logits, eps, queries=200, p_init=0.3,
                                         generator=torch.Generator().manual_seed(0))
    assert_in_ball(adversarial, clean, eps)
    assert float((logits(adversarial).argmax(1) == 1).float().mean()) >= 0.9
    with pytest.raises(ValueError):
        adaptive.square_attack(clean, labels, logits, eps, queries=10, p_init=0.0)


def test_quantiser_gradient_paths_of_a_shipped_codec(models, test_batch):
    """Straight-through's forward is the real decision; a cold soft assignment agrees with it; all paths give
    gradients on the image, and every attack's output stays in the ball."""
    model = models["masked_vqvae_fim_at"]
    images, labels = test_batch
    hard = adaptive.hard_logits(model, 12.0)
    with torch.no_grad():
        decided = hard(images)
        assert torch.allclose(adaptive.straight_through_logits(model, 12.0)(images), decided, atol=1e-4)
        cold = adaptive.soft_quantiser_logits(model, 12.0, 1e-5)(images)
        assert bool((cold.argmax(1) == decided.argmax(1)).all())
    generator = torch.Generator().manual_seed(0)
    for path in (adaptive.straight_through_logits(model, 12.0), adaptive.soft_quantiser_logits(model, 12.0, 0.1),
                 adaptive.continuous_logits(model, 12.0)):
        adversarial = adaptive.adaptive_pgd(images, labels, path, EPS, steps=2, restarts=2, loss="margin",
                                            judge=hard, generator=generator)
        assert_in_ball(adversarial, images)
        assert bool((adaptive.margin(hard(adversarial), labels) >= adaptive.margin(decided, labels) - 1e-5).all())
    assert_in_ball(adaptive.square_attack(images, labels, hard, EPS, queries=5, generator=generator), images)


def test_analog_expectation_over_channel_draws(models, test_batch):
    model = models["jscc_at"]
    images, labels = test_batch
    path = adaptive.analog_logits(model, 12.0, draws=2, generator=torch.Generator().manual_seed(0))
    generator, snr = torch.Generator().manual_seed(0), torch.full((len(images),), 12.0)
    with torch.no_grad():
        symbols = model.encode(images)
        draws = [torch.log_softmax(model.decode(model.channel(symbols, snr, generator), snr), 1) for _ in range(2)]
        assert not torch.allclose(draws[0], draws[1])
        assert torch.allclose(path(images), (draws[0] + draws[1]) / 2, atol=1e-5)
    adversarial = adaptive.adaptive_pgd(images, labels, path, EPS, steps=2, restarts=1)
    assert_in_ball(adversarial, images)
    with pytest.raises(ValueError, match="draws"):
        adaptive.analog_logits(model, 12.0, draws=0)


# ------------------------------------------------------------------------------------------ the evaluation
def test_command_line_writes_the_per_image_worst_case(tmp_path, capsys):
    """``semcomm eval adaptive`` on 8 test images: every attack listed for each family, each stays in the ball,
    and ``robust`` is the share of images correct under every attack."""
    from semcomm.cli import main

    code = main(["eval", "adaptive", "--out", str(tmp_path), "--images", "8", "--batch-size", "8", "--steps", "2",
                 "--restarts", "2", "--queries", "3", "--draws", "1", "--schemes", "masked_vqvae_fim_at,jpeg_ldpc",
                 "--quiet"])
    assert code == 0
    report = json.loads((tmp_path / "adaptive.json").read_text())
    digital, jpeg = report["results"]["masked_vqvae_fim_at"], report["results"]["jpeg_ldpc"]
    assert list(digital["accuracy"]) == ["none", "pgd_k5", "pgd_ce", "pgd_margin", "pgd_soft", "pgd_transfer",
                                         "square"]
    assert list(jpeg["accuracy"]) == ["none", "pgd_k5", "pgd_ce", "pgd_margin", "square"]
    assert report["missing"] == []
    for row in (digital, jpeg):
        correct = np.array(list(row["correct"].values()), dtype=bool)
        assert correct.shape == (len(row["accuracy"]), 8)
        assert row["robust"] == pytest.approx(correct.all(axis=0).mean())
        assert row["robust"] <= min(row["accuracy"].values())
        assert row["drop_vs_reported"] == pytest.approx(row["accuracy"]["pgd_k5"] - row["robust"])
        assert row["max_abs_delta"]["none"] == 0 and max(row["max_abs_delta"].values()) <= EPS + 1e-6
    printed = capsys.readouterr().out
    assert "robust (min)" in printed and "below pgd_k5" in printed
