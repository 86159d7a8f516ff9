"""ONNX export (model-files contract of DESIGN.md) and the ONNX Runtime wrapper.

Small untrained masked VQ-VAEs (classification with and without FIM, reconstruction with a
non-power-of-two codebook, a resnet stem, product quantisation with two indices per patch and pooling over
the kept positions) are exported once per module; tests that tamper with files work on copies.
"""
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from semcomm.export import (METADATA_KEYS, ModelContractError, OnnxDecoder, OnnxEncoder, SemanticCodec,  # noqa: E402
                            build_metadata, check_parity, codec_model_id, export_codec, export_onnx_pair,
                            sha256_file)
from semcomm.nn.masked_vqvae import CodecConfig, MaskedVQVAE  # noqa: E402
from semcomm.phy.bits import IndexBitMapper  # noqa: E402

CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
SMALL = dict(dim=32, decoder_dim=32, encoder_depth=1, decoder_depth=2, heads=2, code_dim=8)
VARIANTS = {
    "fim": dict(codebook_size=64, fim_layers=[0, 1]),
    "plain": dict(codebook_size=32),
    "recon": dict(codebook_size=100, task="reconstruction"),
    "resnet": dict(codebook_size=64, fim_layers=[1], encoder_stem="resnet", stem_widths=[4, 8, 8]),
    "pq": dict(codebook_size=64, fim_layers=[0], code_groups=2, decoder_pool="kept"),
}
CPU = ["CPUExecutionProvider"]


def make_model(variant: str, seed: int = 0) -> MaskedVQVAE:
    """A small codec; the resnet stem's BatchNorm statistics are set by a few training-mode batches,
    so that the export has non-trivial ones to carry."""
    torch.manual_seed(seed)
    model = MaskedVQVAE(CodecConfig(**SMALL, **VARIANTS[variant]))
    if model.config.encoder_stem == "resnet":
        with torch.no_grad():
            for _ in range(3):
                model.encode_features(torch.rand(16, 1, 28, 28) * 0.5)
    return model.eval()


def export(model, out_dir, name="codec", scheme="masked_vqvae_fim_at"):
    classes = CLASSES if model.config.task == "classification" else None
    return export_codec(model, out_dir, name, dataset="fashion_mnist", scheme=scheme, classes=classes,
                        card_extra={"metrics": {"accuracy_12db": 0.5}, "reproduce": "semcomm export --test"})


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = {}
    for variant in VARIANTS:
        model = make_model(variant)
        directory = tmp_path_factory.mktemp(variant)
        out[variant] = (model, export(model, directory), directory)
    return out


def images(n, seed=1):
    return np.random.default_rng(seed).random((n, 1, 28, 28), dtype=np.float32)


def copy_pair(paths, directory):
    return {role: shutil.copy(paths[role], directory / f"codec.{role}.onnx") for role in ("encoder", "decoder")}


def edit_metadata(path, key, value=None):
    """Remove ``key`` (value None) or set it, and save the model again."""
    model = onnx.load(path)
    props = {p.key: p.value for p in model.metadata_props}
    if value is None:
        props.pop(key)
    else:
        props[key] = value
    del model.metadata_props[:]
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)
    onnx.save(model, path)


# ------------------------------------------------------------------------------------------- files
@pytest.mark.parametrize("variant", VARIANTS)
def test_files_opset_ports_and_metadata(exported, variant):
    model, paths, _ = exported[variant]
    cfg = model.config
    want = {"semcomm.task": cfg.task, "semcomm.image_shape": "1,28,28", "semcomm.num_tokens": str(cfg.num_tokens),
            "semcomm.alphabet": str(cfg.codebook_size), "semcomm.model_id": paths["model_id"],
            "semcomm.uses_snr": "1" if cfg.uses_snr else "0", "semcomm.dataset": "fashion_mnist",
            "semcomm.scheme": "masked_vqvae_fim_at"}
    if cfg.task == "classification":
        want["semcomm.classes"] = json.dumps(CLASSES)
    out_name = "logits" if cfg.task == "classification" else "image"
    for role in ("encoder", "decoder"):
        proto = onnx.load(paths[role])
        onnx.checker.check_model(proto, full_check=True)
        assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
        assert not any(onnx.external_data_helper.uses_external_data(t) for t in proto.graph.initializer)
        assert {p.key: p.value for p in proto.metadata_props} == want
        assert proto.producer_name == "semcomm" and "contract" in proto.doc_string
        session = ort.InferenceSession(paths[role], providers=CPU)
        ports = {a.name: (a.type, a.shape) for a in (*session.get_inputs(), *session.get_outputs())}
        if role == "encoder":
            assert ports == {"image": ("tensor(float)", ["N", 1, 28, 28]),
                             "indices": ("tensor(int64)", ["N", cfg.num_tokens])}
        else:
            expected = {"indices": ("tensor(int64)", ["N", cfg.num_tokens]),
                        out_name: ("tensor(float)", ["N", 10] if out_name == "logits" else ["N", 1, 28, 28])}
            if cfg.uses_snr:
                expected["snr_db"] = ("tensor(float)", ["N"])
            assert ports == expected
    assert set(want) <= set(METADATA_KEYS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_card(exported, variant):
    model, paths, _ = exported[variant]
    card = json.loads(open(paths["card"]).read())
    assert card["model_id"] == paths["model_id"] == codec_model_id(model)
    assert card["config"] == model.config.to_dict()
    assert card["dataset"] == "fashion_mnist" and card["scheme"] == "masked_vqvae_fim_at" and card["name"] == "codec"
    for role in ("encoder", "decoder"):
        assert card["files"][role]["sha256"] == sha256_file(paths[role])
    assert card["metrics"] == {"accuracy_12db": 0.5} and card["reproduce"] == "semcomm export --test"
    assert card["onnx"]["opset"] >= 17 and card["created_with"]["torch"] == torch.__version__
    assert card["metadata"]["semcomm.model_id"] == paths["model_id"]


def test_noise_masking_keep_set_travels_in_the_card_and_comes_back_with_the_weights(tmp_path):
    """A noise-related keep set (and its logits) are buffers the ONNX files do not give back as such: the
    card records them exactly, and weight recovery takes them from there; without them recovery fails."""
    from semcomm.export.recover import RecoveryError, recover_weights

    torch.manual_seed(3)
    model = MaskedVQVAE(CodecConfig(**SMALL, codebook_size=32, masking="noise")).eval()
    model.set_noise_statistics(torch.rand(49))
    paths = export(model, tmp_path, scheme="masked_vqvae")
    card = json.loads(open(paths["card"]).read())
    assert card["masking_state"]["inference_keep"] == model.inference_keep.tolist()
    recovered = recover_weights(MaskedVQVAE(CodecConfig(**card["config"])), card, tmp_path / "codec")
    assert torch.equal(recovered.keep_logits, model.keep_logits)
    assert torch.equal(recovered.inference_keep, model.inference_keep)
    assert not torch.equal(recovered.inference_keep, MaskedVQVAE(model.config).inference_keep)  # not as built
    del card["masking_state"]
    with pytest.raises(RecoveryError, match="keep_logits kept as built"):
        recover_weights(MaskedVQVAE(CodecConfig(**card["config"])), card, tmp_path / "codec")


def test_resnet_stem_batchnorm_is_exported_unfolded_and_recovered(exported):
    """The stem's BatchNorm stays a node of its own (not folded into the convolution), so recovery gives
    back its statistics; its training counter is not part of the model id."""
    from semcomm.export.recover import recover_weights

    model, paths, directory = exported["resnet"]
    ops = [node.op_type for node in onnx.load(paths["encoder"]).graph.node]
    assert ops.count("BatchNormalization") == ops.count("Conv") - 1  # all but the 1 x 1 projection
    card = json.loads(open(paths["card"]).read())
    recovered = recover_weights(MaskedVQVAE(CodecConfig(**card["config"])), card, directory / "codec")
    expected = model.state_dict()
    for name, tensor in recovered.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            assert torch.equal(tensor, expected[name]), name
    assert float(model.patch_embed.stem[1].running_mean.abs().sum()) > 0  # statistics were non-trivial


@pytest.mark.parametrize("variant", VARIANTS)
def test_parity_dynamic_batch(exported, variant):
    model, paths, _ = exported[variant]
    for n in (1, 7):
        report = check_parity(model, paths, images(n, seed=n), np.linspace(-3, 12, n, dtype=np.float32))
        assert report["indices_identical"] and report["index_mismatches"] == 0, report
        assert report["decoder_max_abs_diff"] < 1e-4 and report["decoder_random_max_abs_diff"] < 1e-4, report
        assert report["ok"] and report["batch"] == n


def test_runtime_matches_torch_and_reports(exported):
    model, paths, _ = exported["fim"]
    codec = SemanticCodec.from_prefix(paths["encoder"].removesuffix(".encoder.onnx"))
    assert codec.card is not None and codec.model_id == paths["model_id"]
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert codec.providers == ["CPUExecutionProvider"]
    cfg = model.config
    assert (codec.num_tokens, codec.alphabet, codec.task, codec.uses_snr) == (cfg.num_tokens, 64, "classification",
                                                                               True)
    assert codec.classes == tuple(CLASSES) and codec.image_shape == (1, 28, 28)
    x = images(5)
    indices = codec.encode(x)
    assert indices.dtype == np.int64 and indices.shape == (5, cfg.num_tokens)
    with torch.no_grad():
        np.testing.assert_array_equal(indices, model.encode(torch.from_numpy(x)).numpy())
        ref = model.decode(torch.from_numpy(indices), torch.full((5,), 6.0)).numpy()
    logits, clamped = codec.decode(indices, 6.0)  # scalar SNR broadcast
    assert logits.dtype == np.float32 and logits.shape == (5, 10)
    np.testing.assert_allclose(logits, ref, atol=1e-4)
    np.testing.assert_array_equal(clamped, np.zeros(5))
    mapper = codec.index_bit_mapper()
    assert isinstance(mapper, IndexBitMapper) and mapper.num_bits == cfg.num_tokens * 6
    back, _ = IndexBitMapper(codec.alphabet, num_indices=codec.num_tokens).from_bits(mapper.to_bits(indices))
    np.testing.assert_array_equal(back, indices)
    with pytest.raises(ValueError, match="snr_db"):
        codec.decode(indices)


def test_model_id_stable_and_weight_dependent(exported, tmp_path):
    model, paths, _ = exported["plain"]
    again = export(model, tmp_path, name="codec")
    assert again["model_id"] == paths["model_id"]
    for role in ("encoder", "decoder"):  # the TorchScript exporter is deterministic: same bytes
        assert sha256_file(again[role]) == sha256_file(paths[role])
    other = export(make_model("plain", seed=1), tmp_path, name="other")
    assert other["model_id"] != paths["model_id"]


# ------------------------------------------------------------------------------------------ refusals
@pytest.mark.parametrize("role", ["encoder", "decoder"])
@pytest.mark.parametrize("key", METADATA_KEYS)
def test_missing_metadata_key_refused(exported, tmp_path, role, key):
    pair = copy_pair(exported["fim"][1], tmp_path)
    edit_metadata(pair[role], key)
    with pytest.raises(ModelContractError, match=key.replace(".", r"\.")) as info:
        SemanticCodec(pair["encoder"], pair["decoder"], providers=CPU)
    assert info.value.key == key


@pytest.mark.parametrize("variant,key,value", [
    ("fim", "semcomm.num_tokens", "24"),
    ("fim", "semcomm.num_tokens", "many"),
    ("fim", "semcomm.alphabet", "not json"),
    ("fim", "semcomm.alphabet", "1"),
    ("fim", "semcomm.alphabet", "[[20, 64]]"),  # segments do not add up to T
    ("fim", "semcomm.alphabet", "analog"),  # analog alphabet but indices ports
    ("fim", "semcomm.uses_snr", "0"),
    ("plain", "semcomm.uses_snr", "1"),
    ("fim", "semcomm.uses_snr", "yes"),
    ("fim", "semcomm.task", "reconstruction"),
    ("fim", "semcomm.task", "detection"),
    ("recon", "semcomm.task", "classification"),  # (with classes added below)
    ("fim", "semcomm.image_shape", "3,32,32"),
    ("fim", "semcomm.image_shape", "28,28"),
    ("recon", "semcomm.image_shape", "1,28,27"),
    ("fim", "semcomm.classes", json.dumps(CLASSES[:9])),
    ("fim", "semcomm.classes", "{}"),
    ("fim", "semcomm.model_id", "abc"),
    ("fim", "semcomm.dataset", " "),
])
def test_inconsistent_metadata_refused(exported, tmp_path, variant, key, value):
    pair = copy_pair(exported[variant][1], tmp_path)
    for role in ("encoder", "decoder"):  # both files agree, so only the graph/value checks can fire
        edit_metadata(pair[role], key, value)
        if variant == "recon" and value == "classification":
            edit_metadata(pair[role], "semcomm.classes", json.dumps(CLASSES))
    with pytest.raises(ModelContractError, match=key.replace(".", r"\.")) as info:
        SemanticCodec(pair["encoder"], pair["decoder"], providers=CPU)
    assert info.value.key == key


def test_mismatched_pair_refused(exported, tmp_path):
    pair = copy_pair(exported["fim"][1], tmp_path)
    edit_metadata(pair["decoder"], "semcomm.model_id", "f" * 64)
    with pytest.raises(ModelContractError, match=r"semcomm\.model_id differs"):
        SemanticCodec(pair["encoder"], pair["decoder"], providers=CPU)
    other = export(make_model("fim", seed=3), tmp_path, name="other")
    with pytest.raises(ModelContractError, match=r"semcomm\.model_id"):
        SemanticCodec(exported["fim"][1]["encoder"], other["decoder"], providers=CPU)
    pair = copy_pair(exported["fim"][1], tmp_path)
    edit_metadata(pair["decoder"], "semcomm.scheme", "jscc")
    with pytest.raises(ModelContractError, match=r"semcomm\.scheme differs"):
        SemanticCodec(pair["encoder"], pair["decoder"], providers=CPU)


def test_card_mismatch_refused(exported, tmp_path):
    paths = exported["plain"][1]
    pair = copy_pair(paths, tmp_path)
    card = json.loads(open(paths["card"]).read())
    SemanticCodec(pair["encoder"], pair["decoder"], card=card, providers=CPU)
    edit_metadata(pair["encoder"], "semcomm.dataset", "fashion_mnist")  # re-saved: bytes may change
    tampered = dict(card, files={**card["files"], "encoder": {**card["files"]["encoder"], "sha256": "0" * 64}})
    with pytest.raises(ModelContractError, match=r"files\.encoder\.sha256"):
        SemanticCodec(pair["encoder"], pair["decoder"], card=tampered, providers=CPU)
    with pytest.raises(ModelContractError, match="model_id"):
        SemanticCodec(pair["encoder"], pair["decoder"], card=dict(card, model_id="1" * 64), providers=CPU)


# --------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bad", [
    np.zeros((2, 1, 27, 28), np.float32),
    np.zeros((1, 28, 28), np.float32),
    np.zeros((2, 3, 28, 28), np.float32),
    np.zeros((2, 1, 28, 28), np.float64),
    np.zeros((2, 1, 28, 28), np.uint8),
    np.full((2, 1, 28, 28), 255.0, np.float32),
    np.full((2, 1, 28, 28), -0.01, np.float32),
    np.full((2, 1, 28, 28), np.nan, np.float32),
    [[[[0.5] * 28] * 28]],
])
def test_encode_bad_input(exported, bad):
    codec = SemanticCodec.from_prefix(exported["plain"][1]["card"].removesuffix(".card.json"), providers=CPU)
    with pytest.raises(ValueError) as info:
        codec.encode(bad)
    message = str(info.value)
    assert "[N, 1, 28, 28]" in message and "[0, 1]" in message and "float32" in message


def test_encode_edges(exported):
    codec = SemanticCodec.from_prefix(exported["plain"][1]["card"].removesuffix(".card.json"), providers=CPU)
    assert codec.encode(np.zeros((0, 1, 28, 28), np.float32)).shape == (0, codec.num_tokens)
    assert codec.encode(np.ones((1, 1, 28, 28), np.float32)).shape == (1, codec.num_tokens)


@pytest.mark.parametrize("variant", ["plain", "recon"])
def test_decode_clamps_and_counts(exported, variant):
    model, paths, _ = exported[variant]
    codec = SemanticCodec(paths["encoder"], paths["decoder"], providers=CPU)
    j, t = model.config.codebook_size, model.config.num_tokens
    indices = codec.encode(images(3))
    bad = indices.copy()
    bad[0, :3] = [-1, j, 10**9]
    bad[2, -1] = 2**bits_needed(j) - 1  # a valid bit pattern that names an index >= J (J=100)
    out, clamped = codec.decode(bad, 3.0)
    expected_clamped = [3, 0, int(bad[2, -1] >= j)]
    np.testing.assert_array_equal(clamped, expected_clamped)
    fixed = np.clip(bad, 0, j - 1)
    with torch.no_grad():
        ref = model.decode(torch.from_numpy(fixed), torch.zeros(3)).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-4)
    if model.config.task == "reconstruction":
        assert out.shape == (3, 1, 28, 28) and out.min() >= 0 and out.max() <= 1
    out32, clamped32 = codec.decode(bad.astype(np.int32))
    np.testing.assert_array_equal(clamped32, expected_clamped)
    with pytest.raises(ValueError, match=rf"\[N, {t}\]"):
        codec.decode(indices[:, :-1])
    with pytest.raises(ValueError, match=rf"\[N, {t}\]"):
        codec.decode(indices.astype(np.float32))
    empty, none = codec.decode(np.zeros((0, t), np.int64))
    assert empty.shape[0] == 0 and none.shape == (0,)


def bits_needed(j):
    return int(j - 1).bit_length()


def test_encoder_decoder_alone_and_providers(exported):
    paths = exported["plain"][1]
    encoder, decoder = OnnxEncoder(paths["encoder"]), OnnxDecoder(paths["decoder"])
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        assert encoder.providers == decoder.providers == ["CPUExecutionProvider"]
    assert encoder.model_id == decoder.model_id == paths["model_id"]
    out, _ = decoder.decode(encoder.encode(images(2)))  # no SNR needed without FIM
    assert out.shape == (2, 10)
    with pytest.raises(FileNotFoundError):
        OnnxEncoder(paths["encoder"] + ".missing")


def test_runtime_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None; sys.modules['onnx'] = None\n"
            "from semcomm.export import SemanticCodec, ModelContractError\n"
            "import semcomm.export.runtime\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_contract_imports_without_onnxruntime():
    """Code that reads cards, metadata or file hashes (training, the demo, the benchmarks) loads no inference
    engine: the contract module imports neither onnxruntime nor torch nor onnx."""
    code = ("import sys\n"
            "import semcomm.export.contract\n"
            "loaded = sorted(m for m in ('onnxruntime', 'torch', 'onnx') if m in sys.modules)\n"
            "assert not loaded, loaded\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------ analog baseline hook
class ToyJsccEncoder(torch.nn.Module):
    def __init__(self, symbols=16):
        super().__init__()
        self.symbols = symbols
        self.linear = torch.nn.Linear(784, 2 * symbols)

    def forward(self, image):
        x = self.linear(image.flatten(1)).reshape(-1, self.symbols, 2)
        return x / x.pow(2).sum(dim=2).mean(dim=1).sqrt()[:, None, None]  # unit average power


class ToyJsccDecoder(torch.nn.Module):
    def __init__(self, symbols=16):
        super().__init__()
        self.linear = torch.nn.Linear(2 * symbols + 1, 10)

    def forward(self, symbols, snr_db):
        return self.linear(torch.cat([symbols.flatten(1), snr_db[:, None] / 10], dim=1))


def test_analog_pair_export_and_runtime(tmp_path):
    torch.manual_seed(0)
    encoder, decoder = ToyJsccEncoder(), ToyJsccDecoder()
    x = torch.rand(2, 1, 28, 28)
    meta = build_metadata(task="classification", image_shape=(1, 28, 28), num_tokens=16, alphabet="analog",
                          classes=CLASSES, uses_snr=True, dataset="fashion_mnist", scheme="jscc")
    paths = export_onnx_pair(encoder, decoder, encoder_inputs={"image": x}, encoder_outputs=["symbols"],
                             decoder_inputs={"symbols": encoder(x).detach(), "snr_db": torch.zeros(2)},
                             decoder_outputs=["logits"], metadata=meta, out_dir=tmp_path, name="jscc")
    again = export_onnx_pair(encoder, decoder, encoder_inputs={"image": x}, encoder_outputs=["symbols"],
                             decoder_inputs={"symbols": encoder(x).detach(), "snr_db": torch.zeros(2)},
                             decoder_outputs=["logits"], metadata=meta, out_dir=tmp_path, name="jscc2")
    assert paths["model_id"] == again["model_id"]
    codec = SemanticCodec(paths["encoder"], paths["decoder"], providers=CPU)
    assert codec.analog and codec.alphabet == "analog" and codec.num_tokens == 16
    batch = images(7)
    symbols = codec.encode(batch)
    assert symbols.shape == (7, 16, 2) and symbols.dtype == np.float32
    np.testing.assert_allclose((symbols**2).sum(2).mean(1), 1.0, rtol=1e-5)
    with torch.no_grad():
        np.testing.assert_allclose(symbols, encoder(torch.from_numpy(batch)).numpy(), atol=1e-5)
        ref = decoder(torch.from_numpy(symbols), torch.full((7,), 5.0)).numpy()
    logits, clamped = codec.decode(symbols, 5.0)
    np.testing.assert_allclose(logits, ref, atol=1e-4)
    assert not clamped.any()
    with pytest.raises(ValueError, match=r"\[N, 16, 2\]"):
        codec.decode(symbols[:, :8], 5.0)
    with pytest.raises(ValueError, match="analog"):
        codec.index_bit_mapper()


def test_export_codec_argument_errors(tmp_path):
    model = make_model("plain").train()
    with pytest.raises(ValueError, match="classes"):
        export_codec(model, tmp_path, "x", dataset="fashion_mnist", scheme="masked_vqvae")
    with pytest.raises(ValueError, match="10 classes"):
        export_codec(model, tmp_path, "x", dataset="fashion_mnist", scheme="masked_vqvae", classes=CLASSES[:3])
    with pytest.raises(ValueError, match="name"):
        export_codec(model, tmp_path, "../x", dataset="fashion_mnist", scheme="masked_vqvae", classes=CLASSES)
    with pytest.raises(ValueError, match="card_extra"):
        export_codec(model, tmp_path, "x", dataset="fashion_mnist", scheme="masked_vqvae", classes=CLASSES,
                     card_extra={"model_id": "0" * 64})
    assert not list(tmp_path.iterdir())  # refused before writing anything
    export_codec(model, tmp_path, "x", dataset="fashion_mnist", scheme="masked_vqvae", classes=CLASSES)
    assert model.training  # mode restored
