"""JPEG + LDPC baseline: JPEG codec and byte budget, the frame chain, CRC-failure scoring, the ViT classifier
(training schemes, white-box noise) and its ONNX export."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

import semcomm.baselines.jpeg as jpeg_module  # noqa: E402
from semcomm.baselines.jpeg import (JPEG_DECODE_FAILED, JpegLink, JpegSettings, compress, decode_jpeg,  # noqa: E402
                                    encode_jpeg)
from semcomm.data import ImageDataset  # noqa: E402
from semcomm.eval.accuracy import accuracy, white_box_attack  # noqa: E402
from semcomm.eval.jpeg import jpeg_accuracy  # noqa: E402
from semcomm.export import (ModelContractError, OnnxDecoder, OnnxImageClassifier, check_classifier_parity,  # noqa: E402
                            export_jpeg_classifier)
from semcomm.nn.classifier import ClassifierConfig, ViTClassifier  # noqa: E402
from semcomm.phy.modem import FrameModem, LinkConfig  # noqa: E402
from semcomm.config import ConfigError  # noqa: E402
from semcomm.train import config as train_config  # noqa: E402
from semcomm.train.trainer import Trainer, build_model  # noqa: E402
from test_jscc import write_fashion  # noqa: E402

CLASSES = [f"class{i}" for i in range(10)]
TINY = dict(dim=16, depth=1, heads=2)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny models run fastest on one thread (and leave the other cores to other jobs)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def smooth_images(n, channels=1, size=28, seed=0) -> np.ndarray:
    """Float32 ``[n, C, size, size]`` in [0, 1]: smooth gradients plus a little texture (JPEG-friendly)."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, size, dtype=np.float32)
    base = 0.5 * (ramp[None, :] + ramp[:, None])
    texture = 0.05 * rng.random((n, channels, size, size))
    images = base[None, None] * rng.uniform(0.3, 1.0, (n, channels, 1, 1)) + texture
    return np.clip(images, 0, 1).astype(np.float32)


def tiny_classifier(seed=0) -> ViTClassifier:
    torch.manual_seed(seed)
    return ViTClassifier(ClassifierConfig(**TINY)).eval()


class ConstantClassifier:
    """Always answers ``label``: accuracy on images of that label is the share the receiver delivered."""
    config = ClassifierConfig(**TINY)  #: of the jpeg family (semcomm.registry.family_of)

    def __init__(self, label=3):
        self.label = label

    def eval(self):
        return self

    def logits(self, images):
        return torch.nn.functional.one_hot(torch.full((len(images),), self.label), 10).float()


def dataset(images, label=3) -> ImageDataset:
    pixels = np.rint(images * 255).astype(np.uint8)
    return ImageDataset(pixels, np.full(len(images), label, dtype=np.int64), CLASSES, "test")


# ----------------------------------------------------------------------------------------- JPEG codec
@pytest.mark.parametrize("channels,size", [(1, 28), (3, 32)])
def test_jpeg_round_trip(channels, size):
    image = smooth_images(1, channels, size)[0]
    data = encode_jpeg(image, quality=90)
    assert data[:2] == b"\xff\xd8"  # JPEG SOI marker
    decoded = decode_jpeg(data, image.shape)
    assert decoded.shape == image.shape and decoded.dtype == np.float32
    assert np.abs(decoded - image).mean() < 0.03
    assert decode_jpeg(b"not a jpeg", image.shape) is None
    assert decode_jpeg(data[: len(data) // 2], image.shape) is None  # truncated
    assert decode_jpeg(data, (channels, size + 4, size)) is None  # wrong size
    assert len(encode_jpeg(image, quality=20)) < len(data)


def test_byte_budget_picks_the_highest_quality_that_fits():
    for image in smooth_images(4):
        data = compress(image, JpegSettings(max_bytes=400))
        assert len(data) <= 400
        sizes = {q: len(encode_jpeg(image, q)) for q in range(1, 96)}
        best = max(q for q, n in sizes.items() if n <= 400)
        assert len(data) == sizes[best]
    tiny_budget = compress(smooth_images(1)[0], JpegSettings(max_bytes=50))
    assert tiny_budget == encode_jpeg(smooth_images(1)[0], 1)  # nothing fits: quality 1, over budget
    assert compress(smooth_images(1)[0]) == encode_jpeg(smooth_images(1)[0], 75)  # default: fixed quality 75
    for bad in (dict(quality=0), dict(quality=96), dict(max_bytes=0)):
        with pytest.raises(ValueError):
            JpegSettings(**bad)


# ------------------------------------------------------------------------------------------ the chain
def test_chain_delivers_the_jpeg_at_high_snr():
    images = smooth_images(5)
    link = JpegLink(JpegSettings(quality=60))
    reception = link.transmit(images, 30.0, np.random.default_rng(0))
    assert reception.ok.all() and reception.failures() == {}
    modem = FrameModem(LinkConfig())
    for i, image in enumerate(images):
        data = compress(image, JpegSettings(quality=60))
        assert reception.payload_bytes[i] == len(data)
        assert reception.frame_symbols[i] == modem.frame_symbols(len(data))
        np.testing.assert_array_equal(reception.images[i], decode_jpeg(data, image.shape))


def test_failed_crc_is_scored_wrong_and_counted():
    images = smooth_images(6)
    link = JpegLink()
    snr = np.array([30.0, 30.0, 30.0, -1.0, -1.0, -1.0])  # the last three: payload CRC fails
    reception = link.transmit(images, snr, np.random.default_rng(1))
    assert reception.ok.tolist() == [True] * 3 + [False] * 3
    assert reception.failures() == {"payload_crc": 3} and not reception.images[3:].any()
    lost = jpeg_accuracy(ConstantClassifier(), dataset(images), -1.0, link)
    assert lost["accuracy"] == 0.0 and lost["decoder_failure_rate"] == 1.0 and lost["failures"] == {"payload_crc": 6}
    kept = jpeg_accuracy(ConstantClassifier(), dataset(images), 30.0, link)
    assert kept["accuracy"] == 1.0 and kept["decoder_failure_rate"] == 0.0 and kept["mean_payload_bytes"] > 100
    very_low = link.transmit(images, -20.0, np.random.default_rng(2))  # even the header is lost
    assert not very_low.ok.any() and set(very_low.failures()) - {"payload_crc"}


def test_undecodable_jpeg_is_a_decoder_failure(monkeypatch):
    monkeypatch.setattr(jpeg_module, "decode_jpeg", lambda data, shape: None)
    reception = JpegLink().transmit(smooth_images(2), 30.0, np.random.default_rng(0))
    assert not reception.ok.any() and reception.failures() == {JPEG_DECODE_FAILED: 2}


# ------------------------------------------------------------------------------------- the classifier
def test_classifier_shapes_and_white_box_noise_on_the_image():
    model = tiny_classifier()
    images = torch.from_numpy(smooth_images(4))
    assert model.logits(images).shape == (4, 10) and model.sample_keep(4) is None
    out = model(images, torch.zeros(4))
    assert out["output"].shape == (4, 10) and out["aux_logits"] == [] and float(out["vq_loss"]) == 0
    labels = torch.tensor([0, 1, 2, 3])
    adversarial = white_box_attack(model, images, labels, 12.0, eps=8 / 255, alpha=2 / 255, steps=3)
    assert (adversarial - images).abs().max() <= 8 / 255 + 1e-6
    loss = torch.nn.functional.cross_entropy
    assert loss(model.logits(adversarial), labels) > loss(model.logits(images), labels)


def test_noise_is_added_to_the_received_image():
    model, images = tiny_classifier(), smooth_images(8)
    attack = {"eps": 8 / 255, "alpha": 2 / 255, "steps": 2}
    clean = jpeg_accuracy(model, dataset(images), 30.0, JpegLink(), None)
    attacked = jpeg_accuracy(model, dataset(images), 30.0, JpegLink(), attack)
    assert attacked["attack"] == attack and attacked["accuracy"] <= clean["accuracy"]
    assert accuracy(model, dataset(images), 30.0, JpegLink()) == clean  # accuracy() hands over to jpeg_accuracy


def test_jpeg_schemes_train_with_the_trainer(tmp_path):
    for name in ("jpeg_ldpc", "jpeg_ldpc_at"):
        config = train_config.load(f"models/configs/{name}.yaml")
        assert config["scheme"] == name and isinstance(build_model(config, (1, 28, 28), 10), ViTClassifier)
    write_fashion(tmp_path / "data", n_train=256, n_test=16)
    config = train_config.validate({
        "name": "jpeg_smoke", "scheme": "jpeg_ldpc_at", "seed": 3,
        "data": {"dataset": "fashion-mnist", "root": str(tmp_path / "data")},
        "model": TINY, "link": {"modulation": "16qam", "code": "wifi1944_r12", "snr_db": [-3, 12]},
        "train": {"epochs": 1, "batch_size": 128, "lr": 2e-3},
        "adversarial": {"enabled": True, "start_epoch": 1, "steps": 1},
    })
    trainer = Trainer(config, run_dir=str(tmp_path / "runs"))
    assert trainer.link is None and not trainer.digital and not trainer.analog
    history = trainer.fit(progress=lambda _: None)
    assert history[0]["adversarial"] and np.isfinite(history[0]["loss"])
    result = accuracy(trainer.model, trainer.test_set, 12.0, None, limit=16)
    assert result["images"] == 16 and result["decoder_failure_rate"] == 0.0
    bad = dict(config, model={**TINY, "encoder_depth": 2})
    with pytest.raises(ConfigError, match="encoder_depth"):
        train_config.validate(bad)


# ------------------------------------------------------------------------------------------- export
def test_classifier_export_parity_metadata_and_card(tmp_path):
    model = tiny_classifier()
    settings = JpegSettings(quality=50)
    paths = export_jpeg_classifier(model, tmp_path, "jpeg", dataset="fashion-mnist", scheme="jpeg_ldpc_at",
                                   classes=CLASSES, jpeg=settings, card_extra={"reproduce": "semcomm test"})
    assert not (tmp_path / "jpeg.encoder.onnx").exists()
    parity = check_classifier_parity(model, paths, smooth_images(6))
    assert parity["ok"] and parity["decoder_max_abs_diff"] < 1e-4
    classifier = OnnxImageClassifier.from_prefix(tmp_path / "jpeg", card=True)
    info = classifier.info
    assert (info.alphabet, info.num_tokens, info.scheme, info.uses_snr) == ("jpeg", 784, "jpeg_ldpc_at", False)
    assert info.model_id == paths["model_id"] and classifier.classify(smooth_images(3)).shape == (3, 10)
    card = json.loads((tmp_path / "jpeg.card.json").read_text())
    assert card["jpeg"] == settings.to_dict() and set(card["files"]) == {"decoder"}
    assert card["interface"]["decoder"]["inputs"]["image"]["shape"] == ["N", 1, 28, 28]
    with pytest.raises(ValueError, match="images must be float32"):
        classifier.classify(np.zeros((1, 1, 28, 28), np.uint8))
    with pytest.raises(ModelContractError, match="indices"):
        OnnxDecoder(paths["decoder"])  # not an index decoder: refused with the reason
    card["model_id"] = "0" * 64
    (tmp_path / "jpeg.card.json").write_text(json.dumps(card))
    with pytest.raises(ModelContractError, match="model_id"):
        OnnxImageClassifier.from_prefix(tmp_path / "jpeg")
    with pytest.raises(ValueError, match="scheme"):
        export_jpeg_classifier(model, tmp_path, "x", dataset="d", scheme="jscc", classes=CLASSES)
