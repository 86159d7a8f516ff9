"""Unit tests of the neural codec pieces (small models, CPU, seconds)."""
import pytest
import torch
import torch.nn.functional as F

from semcomm.attacks.pgd import pgd_attack
from semcomm.nn.codebook import Codebook
from semcomm.nn.fim import FeatureImportance
from semcomm.nn.masked_vqvae import CodecConfig, MaskedVQVAE, center_positions, spread_positions
from semcomm.nn.vit import patchify, unpatchify
from semcomm.train.awp import WeightPerturbation

SMALL = dict(dim=16, encoder_depth=1, decoder_dim=16, decoder_depth=2, heads=2, code_dim=8, codebook_size=32)


def test_patchify_round_trip():
    images = torch.rand(3, 2, 8, 12)
    patches = patchify(images, 4)
    assert patches.shape == (3, 6, 32)
    assert torch.equal(unpatchify(patches, 4, 2, 8, 12), images)
    assert torch.equal(patches[0, 1], images[0, :, 0:4, 4:8].reshape(-1))  # row-major patch order


def test_codebook_nearest_lookup_and_straight_through():
    torch.manual_seed(0)
    book = Codebook(16, 4).eval()  # eval: no data-dependent initialisation of the codes
    z = (book.normalized()[[3, 7, 7]] * 5.0).detach()  # scaled copies of codes 3, 7, 7
    assert book.nearest(z).tolist() == [3, 7, 7]
    z.requires_grad_(True)
    indices, z_q, loss = book.quantize(z, beta=0.25)
    assert torch.allclose(z_q, book.lookup(indices), atol=1e-6)
    z_q.sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()  # straight-through reaches z


def test_similarity_loss_is_zero_for_orthogonal_codes():
    book = Codebook(4, 4)
    with torch.no_grad():
        book.vectors.copy_(torch.eye(4) * 3)
    assert book.similarity_loss().item() == pytest.approx(0.0, abs=1e-6)
    with torch.no_grad():
        book.vectors.copy_(torch.ones(4, 4))
    assert book.similarity_loss().item() > 0.5


def test_codes_start_on_the_first_training_batch():
    torch.manual_seed(0)
    book = Codebook(8, 4).train()
    z = torch.randn(50, 4)
    book.quantize(z, 0.25)
    assert bool(book.initialized)
    similarity = book.normalized() @ F.normalize(z, dim=1).t()
    assert (similarity.max(dim=1).values > 0.99).all()  # every code sits on an encoder output


def test_unused_codes_are_restarted_on_encoder_outputs():
    torch.manual_seed(0)
    book = Codebook(8, 4).train()
    z = torch.randn(50, 4)
    book.quantize(z, 0.25)
    book.usage.zero_()
    book.usage[0] = 100.0  # only code 0 in use
    assert book.restart_unused(z) == 7


@pytest.mark.parametrize("mode", ["soft", "label", "mean"])
def test_fim_reweights_features_with_mean_weight_one(mode):
    fim = FeatureImportance(dim=6, num_classes=3, mode=mode)
    features = torch.randn(4, 5, 6)
    out, aux = fim(features, torch.tensor([0.0, 5.0, 10.0, -3.0]), torch.tensor([0, 1, 2, 0]))
    assert out.shape == features.shape and aux.shape == (4, 3) and (aux >= 0).all()
    ratio = out / features
    assert torch.allclose(ratio.mean(dim=2), torch.ones(4, 5), atol=1e-5)  # weights average to 1
    with pytest.raises(ValueError, match="unknown FIM mode"):
        FeatureImportance(6, 3, mode="hard")


def test_masked_vqvae_shapes_and_inference_mask():
    torch.manual_seed(0)
    model = MaskedVQVAE(CodecConfig(fim_layers=[1], **SMALL)).eval()
    assert model.config.num_tokens == 25 and model.config.uses_snr
    images = torch.rand(5, 1, 28, 28)
    indices = model.encode(images)
    assert indices.shape == (5, 25) and indices.dtype == torch.int64
    assert 0 <= int(indices.min()) and int(indices.max()) < 32
    assert model.decode(indices, torch.zeros(5)).shape == (5, 10)
    assert model.decode(indices + 1000, torch.zeros(5)).shape == (5, 10)  # clamped, no error
    keep = model.sample_keep(5)
    assert keep.shape == (5, 25) and all(len(set(row.tolist())) == 25 for row in keep)
    assert len(set(spread_positions(7, 7, 25).tolist())) == 25


def test_product_quantisation_sends_adjacent_indices_of_each_patch_sub_vector():
    torch.manual_seed(0)
    model = MaskedVQVAE(CodecConfig(code_groups=4, fim_layers=[0], **SMALL)).eval()
    assert (model.config.num_kept, model.config.num_tokens, model.codebook.dim) == (25, 100, 2)
    images = torch.rand(3, 1, 28, 28)
    indices = model.encode(images)
    assert indices.shape == (3, 100)
    with torch.no_grad():
        z = model.to_code(model.encoder_norm(_encoder_tokens(model, images)))  # [3, 25, code_dim 8]
    patch_3_group_2 = model.codebook.nearest(z[:, 3, 4:6])
    assert torch.equal(indices[:, 3 * 4 + 2], patch_3_group_2)
    assert model.decode(indices, torch.zeros(3)).shape == (3, 10)
    assert "code_groups" not in CodecConfig(**SMALL).to_dict()  # G = 1 configs hash as before


def test_kept_pooling_averages_the_decoder_outputs_of_the_kept_positions_only():
    torch.manual_seed(0)
    model = MaskedVQVAE(CodecConfig(decoder_pool="kept", fim_layers=[0], **SMALL)).eval()
    outputs = []
    model.decoder_norm.register_forward_hook(lambda module, inputs, output: outputs.append(output))
    keep = model.inference_keep[None, :].expand(3, -1)
    vectors = model.codebook.lookup(model.encode(torch.rand(3, 1, 28, 28)))
    logits = model.decode_vectors(vectors, torch.zeros(3), keep)[0]  # decoder tokens in patch order
    kept_mean = outputs[0][:, model.inference_keep].mean(dim=1)
    assert torch.allclose(logits, model.head(kept_mean), atol=1e-6)
    assert not torch.allclose(logits, model.head(outputs[0].mean(dim=1)), atol=1e-3)


@pytest.mark.parametrize("options", [
    {"fim_layers": [0, 1]},
    {"decoder_pool": "kept", "fim_layers": [1], "keep_layout": "center"},
    {"task": "reconstruction"},
    {"code_groups": 2, "mask_ratio": 0.3},
    {"encoder_stem": "resnet", "stem_widths": [8, 8, 16]},
])
def test_inference_graph_computes_what_the_scattered_layout_computes(options):
    """keep=None (the exported graph) gathers before embedding and orders the decoder tokens received-first
    instead of scattering them: the same indices and outputs as the general per-image keep path."""
    torch.manual_seed(0)
    model = MaskedVQVAE(CodecConfig(**{**SMALL, **options})).eval()
    images, snr = torch.rand(16, 1, 28, 28), torch.full((16,), 12.0)
    keep = model.inference_keep[None, :].expand(16, -1)
    with torch.no_grad():
        indices = model.encode(images)
        assert torch.equal(indices, model.encode(images, keep))
        vectors = model.codebook.lookup(indices)
        output = model.decode_vectors(vectors, snr)[0]
        assert torch.allclose(output, model.decode_vectors(vectors, snr, keep)[0], atol=1e-5)
    order = model.inference_token_order()
    assert order[:model.config.num_kept] == model.inference_keep.tolist()
    assert sorted(order) == list(range(model.config.num_patches))


def _encoder_tokens(model, images):
    tokens = model.patch_tokens(images, None) + model.pos_embed
    tokens = tokens[:, model.inference_keep]
    for block in model.encoder:
        tokens = block(tokens)
    return tokens


def test_center_keep_layout_is_the_central_block():
    model = MaskedVQVAE(CodecConfig(keep_layout="center", **SMALL))
    assert model.inference_keep.tolist() == [r * 7 + c for r in range(1, 6) for c in range(1, 6)]  # 5 x 5 of 7 x 7
    assert center_positions(4, 4, 4).tolist() == [5, 6, 9, 10]
    assert MaskedVQVAE(CodecConfig(**SMALL)).inference_keep.tolist() == spread_positions(7, 7, 25).tolist()
    state = model.state_dict()  # the keep set travels with the weights
    other = MaskedVQVAE(CodecConfig(**SMALL))
    other.load_state_dict(state)
    assert torch.equal(other.inference_keep, model.inference_keep)


def test_noise_masking_keeps_quiet_patches():
    model = MaskedVQVAE(CodecConfig(masking="noise", **SMALL))
    energy = torch.arange(49, dtype=torch.float32)  # noise grows with the patch index
    model.set_noise_statistics(energy)
    assert model.inference_keep.tolist() == list(range(25))
    kept = torch.cat([model.sample_keep(200)]).flatten()
    assert (kept < 25).float().mean() > 0.6  # noisy patches are masked more often


def test_reconstruction_task_outputs_images_in_unit_range():
    model = MaskedVQVAE(CodecConfig(task="reconstruction", **SMALL)).eval()
    out = model.decode(model.encode(torch.rand(2, 1, 28, 28)), torch.zeros(2))
    assert out.shape == (2, 1, 28, 28) and 0 <= float(out.detach().min()) and float(out.detach().max()) <= 1


@pytest.mark.parametrize("bad, message", [
    (dict(patch=5), "not divisible"), (dict(mask_ratio=1.0), "mask_ratio"), (dict(task="detection"), "unknown task"),
    (dict(fim_layers=[5]), "outside decoder blocks"), (dict(task="reconstruction", fim_layers=[0]), "classification"),
    (dict(keep_layout="corners"), "unknown keep_layout"),
    (dict(code_groups=3), "divisor of code_dim 32"), (dict(code_groups=0), "positive divisor"),
    (dict(decoder_pool="max"), "unknown decoder_pool"),
    (dict(encoder_stem="vgg"), "unknown encoder_stem"),
    (dict(encoder_stem="resnet", stem_widths=[8, 16]), "reduces the image by 2, not by the patch size 4"),
    (dict(encoder_stem="resnet", stem_widths=[8, 0, 8]), "positive widths"),
])
def test_bad_codec_config(bad, message):
    with pytest.raises(ValueError, match=message):
        CodecConfig(**bad)


RESNET_STEM = dict(SMALL, encoder_stem="resnet", stem_widths=[4, 8, 8])


def test_keep_pixels_zeroes_exactly_the_dropped_patches():
    model = MaskedVQVAE(CodecConfig(**RESNET_STEM))
    keep = torch.stack([model.inference_keep, torch.arange(25) + 24])
    kept = patchify(model.keep_pixels(torch.ones(2, 1, 28, 28), keep), 4)  # [2, 49, 16]
    for row, positions in zip(kept, keep):
        expected = torch.zeros(49)
        expected[positions] = 1.0
        assert torch.equal(row, expected[:, None].expand(-1, 16))
    assert torch.equal(model.keep_pixels(torch.ones(3, 1, 28, 28)), model.keep_pixels(
        torch.ones(3, 1, 28, 28), model.inference_keep[None, :].expand(3, -1)))  # default: inference keep set


def test_resnet_stem_sees_only_the_kept_patches():
    torch.manual_seed(0)
    model = MaskedVQVAE(CodecConfig(**RESNET_STEM))
    model(torch.rand(8, 1, 28, 28), torch.zeros(8), labels=torch.zeros(8, dtype=torch.long))  # BatchNorm stats
    model.eval()
    images = torch.rand(2, 1, 28, 28)
    dropped = torch.ones(49, dtype=torch.bool)
    dropped[model.inference_keep] = False
    pixel_dropped = dropped.reshape(7, 1, 7, 1).expand(7, 4, 7, 4).reshape(28, 28)
    other = torch.where(pixel_dropped, torch.rand(2, 1, 28, 28), images)
    assert torch.equal(model.encode_features(images), model.encode_features(other))
    first_kept = int(model.inference_keep[0])
    row, col = divmod(first_kept, 7)
    changed = images.clone()
    changed[:, :, 4 * row:4 * row + 4, 4 * col:4 * col + 4] = 1.0 - changed[:, :, 4 * row:4 * row + 4, 4 * col:4 * col + 4]
    assert not torch.allclose(model.encode_features(images), model.encode_features(changed))


def test_resnet_stem_codec_round_trip_and_gradients():
    torch.manual_seed(0)
    model = MaskedVQVAE(CodecConfig(**RESNET_STEM, fim_layers=[0]))
    assert model.config.to_dict()["stem_widths"] == [4, 8, 8]
    assert "encoder_stem" not in MaskedVQVAE(CodecConfig(**SMALL)).config.to_dict()  # a ViT's config as before
    images, labels = torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 2, 3])
    out = model(images, torch.zeros(4), model.sample_keep(4), labels)
    model.task_loss(out["output"], images, labels).backward()
    assert out["indices"].shape == (4, 25) and out["output"].shape == (4, 10)
    assert float(model.patch_embed.stem[0].weight.grad.abs().sum()) > 0  # straight-through reaches the stem
    model.eval()
    assert model.decode(model.encode(images), torch.zeros(4)).shape == (4, 10)


def test_pgd_stays_in_the_ball_and_raises_the_loss():
    torch.manual_seed(0)
    weights = torch.randn(10, 16)
    images = torch.rand(8, 1, 4, 4)
    labels = torch.randint(0, 10, (8,))

    def loss_fn(x):
        return F.cross_entropy(x.flatten(1) @ weights.t(), labels)

    adversarial = pgd_attack(images, loss_fn, eps=0.03, alpha=0.01, steps=5)
    assert (adversarial - images).abs().max() <= 0.03 + 1e-6
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    assert loss_fn(adversarial) > loss_fn(images)
    l2 = pgd_attack(images, loss_fn, eps=0.5, alpha=0.2, steps=5, norm="l2")
    assert ((l2 - images).flatten(1).norm(dim=1) <= 0.5 + 1e-5).all()


def test_weight_perturbation_is_bounded_and_restored():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    before = [p.detach().clone() for p in model.parameters()]
    x, y = torch.randn(16, 4), torch.randint(0, 2, (16,))
    awp = WeightPerturbation(model, gamma=0.01)
    awp.perturb(lambda: F.cross_entropy(model(x), y))
    for param, original in zip(awp.params, [before[0], before[2]]):
        assert (param - original).norm() <= 0.01 * original.norm() * 1.0001
    awp.restore()
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))


def test_patch_noise_energy_drives_noise_masking():
    from semcomm.attacks.statistics import patch_noise_energy

    torch.manual_seed(0)
    model = MaskedVQVAE(CodecConfig(masking="noise", **SMALL)).eval()
    images = torch.rand(6, 1, 28, 28)
    energy = patch_noise_energy(model, images, torch.randint(0, 10, (6,)), torch.zeros(6), eps=0.05,
                                alpha=0.02, steps=2, batch_size=4)
    assert energy.shape == (49,) and (energy >= 0).all() and energy.sum() > 0
    assert energy.max() <= 16 * 0.05**2 + 1e-6  # L-inf ball bounds the energy of a 4x4 patch
    model.set_noise_statistics(energy)
    assert int(torch.argmax(energy)) not in model.inference_keep.tolist()
