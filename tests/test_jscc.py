"""Analog ViT deep JSCC baseline (JSCC / JSCC+AT): model, channel, symbol budget, training, evaluation, export."""
import gzip
import json
import struct

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from semcomm.eval.accuracy import accuracy, white_box_attack  # noqa: E402
from semcomm.export import SemanticCodec, check_jscc_parity, export_jscc  # noqa: E402
from semcomm.nn.jscc import DEFAULT_SYMBOLS, JSCCConfig, ViTJSCC, symbols_per_image  # noqa: E402
from semcomm.phy.modem import HEADER_SYMBOLS, PREAMBLE_LENGTH, FrameModem, LinkConfig  # noqa: E402
from semcomm.config import ConfigError  # noqa: E402
from semcomm.train import config as train_config  # noqa: E402
from semcomm.train.trainer import Trainer, build_model  # noqa: E402

CLASSES = [f"class{i}" for i in range(10)]
TINY = dict(dim=16, encoder_depth=1, decoder_dim=16, decoder_depth=1, heads=2)
CPU = ["CPUExecutionProvider"]


def tiny(seed=0, **kwargs) -> ViTJSCC:
    torch.manual_seed(seed)
    return ViTJSCC(JSCCConfig(**{**TINY, **kwargs})).eval()


# ------------------------------------------------------------------------------------- model + channel
@pytest.mark.parametrize("symbols", [DEFAULT_SYMBOLS, 20, 49, 100])
def test_shapes_and_unit_power_per_image(symbols):
    model = tiny(symbols=symbols)
    images = torch.rand(5, 1, 28, 28)
    x = model.encode(images)
    assert x.shape == (5, symbols, 2) and x.dtype == torch.float32
    torch.testing.assert_close(x.pow(2).sum(dim=2).mean(dim=1), torch.ones(5))
    snr = torch.linspace(-3, 12, 5)
    assert model.decode(x, snr).shape == (5, 10)
    out = model(images, snr)
    assert out["output"].shape == (5, 10) and out["aux_logits"] == [] and out["indices"] is None
    assert float(out["vq_loss"]) == 0.0 and model.sample_keep(5) is None
    assert model.config.num_tokens == symbols and model.config.uses_snr


def test_noise_variance_matches_es_n0():
    model = tiny()
    snr = torch.tensor([-3.0, 0.0, 6.0, 12.0])
    x = torch.zeros(4, 40000, 2)
    x[..., 0] = 1.0  # unit-power symbols
    noise = model.channel(x, snr, torch.Generator().manual_seed(1)) - x
    n0 = 10 ** (-snr / 10)
    torch.testing.assert_close(noise.pow(2).sum(dim=2).mean(dim=1), n0, rtol=0.03, atol=0)  # E|n|^2 = N0
    torch.testing.assert_close(noise.var(dim=1), (n0 / 2)[:, None].expand(4, 2), rtol=0.04, atol=0)  # per I, Q
    assert noise.mean().abs() < 0.01


def test_rayleigh_mmse_equalisation_recovers_symbols_at_high_snr():
    model = tiny(channel="rayleigh")
    x = model.encode(torch.rand(3, 1, 28, 28))
    received = model.channel(x, torch.full((3,), 120.0), torch.Generator().manual_seed(0))
    torch.testing.assert_close(received, x, rtol=0, atol=1e-3)
    noisy = model.channel(x, torch.full((3,), 0.0), torch.Generator().manual_seed(0))
    assert torch.isfinite(noisy).all() and (noisy - x).abs().mean() > 0.1
    with pytest.raises(ValueError, match="unknown channel"):
        JSCCConfig(channel="awgn2")


def test_decoder_without_snr_embedding_ignores_snr():
    model = tiny(snr_embedding=False)
    x = model.encode(torch.rand(2, 1, 28, 28))
    assert not model.config.uses_snr
    torch.testing.assert_close(model.decode(x, None), model.decode(x, torch.full((2,), 5.0)))
    with pytest.raises(ValueError, match="snr_db"):
        tiny().decode(x, None)


# -------------------------------------------------------------------------------------- symbol budget
def test_symbols_per_image_equals_what_the_frame_modem_emits():
    modem = FrameModem(LinkConfig(modulation="16qam", code="wifi1944_r12"))
    payload_bytes = -(-25 * 8 // 8)  # T = 25 indices of J = 256
    frame = modem.modulate(np.zeros((1, payload_bytes), np.uint8)).symbols
    payload_symbols = frame.shape[1] - PREAMBLE_LENGTH - HEADER_SYMBOLS
    assert symbols_per_image(25, 256, "16qam", "wifi1944_r12") == payload_symbols == DEFAULT_SYMBOLS == 301
    assert JSCCConfig().symbols == DEFAULT_SYMBOLS
    assert symbols_per_image(frame_overhead=True) == frame.shape[1] == 833
    digital = train_config.load("models/configs/masked_vqvae_fim_at.yaml")
    assert symbols_per_image(digital) == DEFAULT_SYMBOLS  # from the shipped digital config
    for name in ("jscc", "jscc_at"):
        assert train_config.load(f"models/configs/{name}.yaml")["model"]["symbols"] == DEFAULT_SYMBOLS
    # a non-power-of-two alphabet: bits as the IndexBitMapper packs them
    qpsk = FrameModem(LinkConfig(modulation="qpsk", code="wifi648_r12"))
    from semcomm.phy.bits import IndexBitMapper
    nbytes = -(-IndexBitMapper(100, num_indices=30).num_bits // 8)
    emitted = qpsk.modulate(np.zeros((1, nbytes), np.uint8)).symbols.shape[1] - PREAMBLE_LENGTH - HEADER_SYMBOLS
    assert symbols_per_image(30, 100, "qpsk", "wifi648_r12") == emitted


# ------------------------------------------------------------------------------------------- configs
def test_configs_select_jscc_and_validate_its_fields():
    config = train_config.load("models/configs/jscc_at.yaml")
    assert config["adversarial"]["enabled"] and not train_config.load("models/configs/jscc.yaml")["adversarial"][
        "enabled"]
    model = build_model(config, (1, 28, 28), 10)
    assert isinstance(model, ViTJSCC) and model.config.symbols == 301 and model.config.channel == "awgn"
    config["model"]["codebook_size"] = 256  # a codec field is not a JSCC field
    with pytest.raises(ConfigError, match=r"model: Additional properties.*'codebook_size'"):
        train_config.validate(config)
    config["model"].pop("codebook_size")
    config["model"]["symbols"] = 0
    with pytest.raises(ConfigError, match="model/symbols: 0 is less than the minimum of 1"):
        train_config.validate(config)


# --------------------------------------------------------------------------------- training + accuracy
def _idx(array: np.ndarray, code: int) -> bytes:
    return bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write_fashion(root, n_train=512, n_test=64, seed=0):
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = (rng.integers(0, 60, (n, 28, 28)) + 18 * labels[:, None, None]).astype(np.uint8)  # learnable
        (root / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images, 0x08)))
        (root / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels, 0x08)))


def test_one_epoch_adversarial_training_and_accuracy(tmp_path):
    write_fashion(tmp_path / "data")
    config = train_config.validate({
        "name": "jscc_smoke", "scheme": "jscc_at", "seed": 3,
        "data": {"dataset": "fashion-mnist", "root": str(tmp_path / "data")},
        "model": {**TINY, "symbols": 64},
        "link": {"modulation": "16qam", "code": "wifi1944_r12", "snr_db": [-3, 12]},
        "train": {"epochs": 1, "batch_size": 128, "lr": 2e-3},
        "adversarial": {"enabled": True, "start_epoch": 1, "steps": 1},
    })
    trainer = Trainer(config, run_dir=str(tmp_path / "runs"))
    assert trainer.link is None and trainer.analog
    history = trainer.fit(progress=lambda _: None)
    assert len(history) == 1 and history[0]["adversarial"] and np.isfinite(history[0]["loss"])
    assert (tmp_path / "runs" / "jscc_smoke" / "checkpoint.pt").exists()
    assert not (tmp_path / "runs" / "jscc_smoke" / "error_profile.json").exists()  # no digital link
    clean = accuracy(trainer.model, trainer.test_set, 12.0, None, limit=64, seed=1)
    assert clean["images"] == 64 and 0 <= clean["accuracy"] <= 1 and clean["index_error_rate"] is None
    assert accuracy(trainer.model, trainer.test_set, 12.0, None, limit=64, seed=1) == clean  # seeded noise
    attacked = accuracy(trainer.model, trainer.test_set, 12.0, None, {"eps": 8 / 255, "alpha": 2 / 255, "steps": 2},
                        limit=64)
    assert 0 <= attacked["accuracy"] <= 1 and attacked["attack"]["steps"] == 2
    with pytest.raises(ValueError, match="link=None"):
        accuracy(trainer.model, trainer.test_set, 12.0, link=object(), limit=8)



def test_white_box_noise_depends_on_its_generator_not_on_the_global_one():
    """The attacker's channel draws come from the generator it is given (report figures must not depend on
    what ran before them, e.g. another model's attack drawing from torch's global generator)."""
    model, images, labels = tiny(), torch.rand(8, 1, 28, 28), torch.arange(8)

    def attack(seed):
        torch.rand(100)  # the global generator moves between the calls
        return white_box_attack(model, images, labels, 0.0, eps=8 / 255, alpha=2 / 255, steps=2,
                                generator=torch.Generator().manual_seed(seed))

    first = attack(5)
    torch.testing.assert_close(attack(5), first, rtol=0, atol=0)
    assert not torch.equal(attack(6), first)  # the draws do reach the noise


def test_white_box_eot_averages_the_loss_over_channel_draws():
    """``draws = M``: each PGD step's loss is the mean cross entropy over M channel draws (EOT), in the
    generator's order; M = 1 is the one-draw attack; M < 1 is refused."""
    import torch.nn.functional as F

    from semcomm.attacks.pgd import pgd_attack

    model, images, labels = tiny(), torch.rand(8, 1, 28, 28), torch.arange(8)
    snr = torch.full((8,), 3.0)

    def by_hand(draws):
        generator = torch.Generator().manual_seed(4)

        def loss(x):
            symbols = model.encode(x)
            return sum(F.cross_entropy(model.decode(model.channel(symbols, snr, generator), snr), labels)
                       for _ in range(draws)) / draws

        return pgd_attack(images, loss, 8 / 255, 2 / 255, 3)

    def attack(draws):
        return white_box_attack(model, images, labels, 3.0, eps=8 / 255, alpha=2 / 255, steps=3,
                                generator=torch.Generator().manual_seed(4), draws=draws)

    eot = attack(4)
    torch.testing.assert_close(eot, by_hand(4), rtol=0, atol=0)
    torch.testing.assert_close(attack(1), by_hand(1), rtol=0, atol=0)
    assert not torch.equal(eot, attack(1))
    with pytest.raises(ValueError, match="draws must be >= 1"):
        attack(0)

# -------------------------------------------------------------------------------------------- export
@pytest.mark.parametrize("snr_embedding", [True, False])
def test_export_parity_metadata_and_runtime(tmp_path, snr_embedding):
    model = tiny(snr_embedding=snr_embedding)
    scheme = "jscc_at" if snr_embedding else "jscc"
    paths = export_jscc(model, tmp_path, "jscc", dataset="fashion_mnist", scheme=scheme, classes=CLASSES,
                        card_extra={"reproduce": "semcomm train models/configs/jscc_at.yaml"})
    want = {"semcomm.task": "classification", "semcomm.image_shape": "1,28,28", "semcomm.num_tokens": "301",
            "semcomm.alphabet": "analog", "semcomm.classes": json.dumps(CLASSES), "semcomm.model_id": paths["model_id"],
            "semcomm.uses_snr": "1" if snr_embedding else "0", "semcomm.dataset": "fashion_mnist",
            "semcomm.scheme": scheme}
    import onnxruntime as ort
    for role in ("encoder", "decoder"):
        proto = onnx.load(paths[role])
        assert {p.key: p.value for p in proto.metadata_props} == want
        session = ort.InferenceSession(paths[role], providers=CPU)
        ports = {a.name: (a.type, a.shape) for a in (*session.get_inputs(), *session.get_outputs())}
        if role == "encoder":
            assert ports == {"image": ("tensor(float)", ["N", 1, 28, 28]), "symbols": ("tensor(float)", ["N", 301, 2])}
        else:
            expected = {"symbols": ("tensor(float)", ["N", 301, 2]), "logits": ("tensor(float)", ["N", 10])}
            if snr_embedding:
                expected["snr_db"] = ("tensor(float)", ["N"])
            assert ports == expected
    card = json.loads(open(paths["card"]).read())
    assert card["config"] == model.config.to_dict() and card["scheme"] == scheme
    codec = SemanticCodec.from_prefix(tmp_path / "jscc", providers=CPU, card=True)
    assert codec.analog and codec.num_tokens == 301 and codec.uses_snr == snr_embedding
    for n in (1, 7):
        images = np.random.default_rng(n).random((n, 1, 28, 28), dtype=np.float32)
        report = check_jscc_parity(model, paths, images, np.linspace(-3, 12, n, dtype=np.float32))
        assert report["symbols_max_abs_diff"] < 1e-5, report
        assert report["decoder_max_abs_diff"] < 1e-4 and report["decoder_noisy_max_abs_diff"] < 1e-4, report
        assert report["ok"]
        symbols = codec.encode(images)
        np.testing.assert_allclose((symbols.astype(np.float64) ** 2).sum(2).mean(1), 1.0, rtol=1e-5)
