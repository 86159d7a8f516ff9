"""``semcomm eval report`` / ``eval overhead``: scheme discovery, ONNX adaptors, reserving-ratio views,
Table II overhead, and a quick report on tiny fixtures and on the shipped model."""
import argparse
import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

from semcomm.baselines.jpeg import JpegLink, JpegSettings, compress  # noqa: E402
from semcomm.cli.eval import add_commands, settings_from_args  # noqa: E402
from semcomm.data import FASHION_MNIST_CLASSES, load_dataset  # noqa: E402
from semcomm.eval import figures  # noqa: E402
from semcomm.eval.accuracy import accuracy  # noqa: E402
from semcomm.eval.overhead import (analog_overhead, code_choices, digital_overhead, jpeg_overhead,  # noqa: E402
                                   overhead_table, threshold_snr)
from semcomm.eval.schemes import (ReservedView, Scheme, card_model, discover, load_checkpoint,  # noqa: E402
                                  recover_from_onnx, split_ablations)
from semcomm.eval.settings import parse_values  # noqa: E402
from semcomm.export import export_codec, export_jpeg_classifier, export_jscc  # noqa: E402
from semcomm.export.contract import load_card  # noqa: E402
from semcomm.export.model_id import codec_model_id  # noqa: E402
from semcomm.export.recover import RecoveryError, recover_weights  # noqa: E402
from semcomm.export.surrogate import export_surrogate  # noqa: E402
from semcomm.nn.classifier import ClassifierConfig, ViTClassifier  # noqa: E402
from semcomm.nn.jscc import JSCCConfig, ViTJSCC, symbols_per_image  # noqa: E402
from semcomm.nn.masked_vqvae import CodecConfig, MaskedVQVAE  # noqa: E402
from semcomm.nn.resnet import ResNetClassifier, ResNetConfig  # noqa: E402
from semcomm.phy.modem import FrameModem, LinkConfig  # noqa: E402
from semcomm.sim.exact_chain import ExactChain  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture
from test_jscc import write_fashion  # noqa: E402

CLASSES = list(FASHION_MNIST_CLASSES)  # the labels of the Fashion-MNIST-format test set index these
VIT = dict(dim=16, heads=2)
CODEC = dict(VIT, encoder_depth=1, decoder_dim=16, decoder_depth=1, code_dim=8, codebook_size=16)
CONFIG_YAML = """name: {name}
scheme: {scheme}
data: {{dataset: fashion-mnist}}
model: {{patch: 4, dim: 16, encoder_depth: 1, decoder_dim: 16, decoder_depth: 1, heads: 2, code_dim: 8,
        codebook_size: 16}}
link: {{modulation: 16qam, code: wifi1944_r12, snr_db: [-3, 12]}}
train: {{epochs: 1, batch_size: 8, lr: 0.001, similarity_weight: {weight}}}
"""


def save_checkpoint(model, run_dir, name):
    (run_dir / name).mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, run_dir / name / "checkpoint.pt")


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """Tiny schemes: masked_vqvae_fim_at (PyTorch + ONNX), masked_vqvae (ONNX only, no loss (15)), jscc and
    jpeg_ldpc (PyTorch + ONNX); a ResNet attack surrogate; a 16-image Fashion-MNIST-format test set."""
    root = tmp_path_factory.mktemp("zoo")
    models, runs = root / "models", root / "runs"
    (models / "configs").mkdir(parents=True)
    write_fashion(root / "data", n_train=16, n_test=16)
    torch.manual_seed(0)
    fim = MaskedVQVAE(CodecConfig(**CODEC, fim_layers=[0])).eval()
    plain = MaskedVQVAE(CodecConfig(**CODEC)).eval()
    jscc = ViTJSCC(JSCCConfig(**VIT, encoder_depth=1, decoder_dim=16, decoder_depth=1, symbols=32)).eval()
    classifier = ViTClassifier(ClassifierConfig(**VIT, depth=1)).eval()
    common = dict(dataset="fashion-mnist", classes=CLASSES)
    export_codec(fim, models, "masked_vqvae_fim_at", scheme="masked_vqvae_fim_at", **common)
    export_codec(plain, models, "masked_vqvae", scheme="masked_vqvae", **common)
    export_jscc(jscc, models, "jscc", scheme="jscc", **common)
    export_jpeg_classifier(classifier, models, "jpeg_ldpc", scheme="jpeg_ldpc", jpeg=JpegSettings(quality=50), **common)
    surrogate = ResNetClassifier(ResNetConfig(widths=(4, 8))).eval()
    export_surrogate(surrogate, models, "resnet_surrogate", scheme="resnet_surrogate", **common)
    for name, model in (("masked_vqvae_fim_at", fim), ("jscc", jscc), ("jpeg_ldpc", classifier)):
        save_checkpoint(model, runs, name)
    for name, weight in (("masked_vqvae_fim_at", 0.1), ("masked_vqvae", 0)):
        (models / "configs" / f"{name}.yaml").write_text(CONFIG_YAML.format(name=name, scheme=name, weight=weight))
    return {"root": root, "models": models, "runs": runs, "fim": fim, "plain": plain}


def build_args(argv):
    parser = argparse.ArgumentParser(prog="semcomm")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def run_cli(argv):
    args = build_args(argv)
    return args.func(args)


# ------------------------------------------------------------------------------------------ pieces
def test_parse_values():
    assert parse_values("0,2/255, 8/255") == (0.0, 2 / 255, 8 / 255)
    assert parse_values("-9:18:9") == (-9.0, 0.0, 9.0, 18.0)
    with pytest.raises(ValueError, match="invalid list"):
        parse_values("1,x")


def test_discover_checkpoints_and_onnx_adaptors(zoo, tmp_path):
    schemes = {s.name: s for s in discover(zoo["models"], zoo["runs"], torch_weights=False)}
    assert list(schemes) == ["masked_vqvae_fim_at", "masked_vqvae", "jscc", "jpeg_ldpc"]  # paper order
    assert schemes["masked_vqvae_fim_at"].differentiable and not schemes["masked_vqvae"].differentiable
    assert "no PyTorch checkpoint" in schemes["masked_vqvae"].notes[0]
    data = load_dataset("fashion-mnist", "test", root=zoo["root"] / "data")
    link = ExactChain(16, 25)
    torch_result = accuracy(zoo["plain"], data, 2.0, link, seed=4)
    onnx_result = accuracy(schemes["masked_vqvae"].model(), data, 2.0, link, seed=4)
    assert onnx_result == torch_result  # same indices, same channel draws, same decisions
    onnx_only = {s.name: s for s in discover(zoo["models"], torch_weights=False)}
    for name, link in (("jscc", None), ("jpeg_ldpc", JpegLink(JpegSettings(quality=50)))):
        model, reason = load_checkpoint(schemes[name].card, str(zoo["runs"] / name / "checkpoint.pt"))
        assert reason is None and not onnx_only[name].differentiable
        assert accuracy(onnx_only[name].model(), data, 6.0, link, seed=2) == accuracy(model, data, 6.0, link, seed=2)
    other = MaskedVQVAE(CodecConfig(**CODEC)).eval()
    save_checkpoint(other, tmp_path, "masked_vqvae")
    model, reason = load_checkpoint(schemes["masked_vqvae"].card, str(tmp_path / "masked_vqvae" / "checkpoint.pt"))
    assert model is None and "other weights" in reason


def test_weights_recovered_from_onnx_are_the_exported_ones(zoo):
    schemes = {s.name: s for s in discover(zoo["models"])}  # no run_dir: every model from its ONNX files
    assert all(s.differentiable for s in schemes.values()), [s.notes for s in schemes.values()]
    for name, exported in (("masked_vqvae_fim_at", zoo["fim"]), ("masked_vqvae", zoo["plain"])):
        recovered = schemes[name].torch_model.state_dict()
        assert recovered.keys() == exported.state_dict().keys()
        for key, tensor in exported.state_dict().items():
            assert torch.equal(recovered[key], tensor), key
    trained = MaskedVQVAE(CodecConfig(**CODEC)).eval()
    trained.codebook.initialized.fill_(True)  # as after training: the flag is not in the ONNX files
    export_codec(trained, zoo["root"] / "trained", "masked_vqvae", scheme="masked_vqvae", dataset="fashion-mnist",
                 classes=CLASSES)
    card = load_card(zoo["root"] / "trained" / "masked_vqvae.card.json")
    recovered = recover_weights(card_model(card), card, zoo["root"] / "trained" / "masked_vqvae")
    assert bool(recovered.codebook.initialized) and codec_model_id(recovered) == card["model_id"]


def test_weight_recovery_refuses_files_that_do_not_give_the_cards_model(zoo, tmp_path):
    prefix = zoo["models"] / "masked_vqvae"
    card = load_card(f"{prefix}.card.json")
    with pytest.raises(RecoveryError, match="no ONNX files"):
        recover_weights(card_model(card), card, tmp_path / "absent")
    decoder = onnx.load(f"{prefix}.decoder.onnx")
    head = next(init for init in decoder.graph.initializer if init.name == "model.head.bias")
    head.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(head) + 1.0, head.name))
    shutil.copy(f"{prefix}.encoder.onnx", tmp_path / "masked_vqvae.encoder.onnx")
    onnx.save(decoder, tmp_path / "masked_vqvae.decoder.onnx")
    with pytest.raises(RecoveryError, match="the card says"):
        recover_weights(card_model(card), card, tmp_path / "masked_vqvae")
    scheme = next(s for s in discover(zoo["models"], torch_weights=False) if s.name == "masked_vqvae")
    scheme.prefix = str(tmp_path / "masked_vqvae")
    recover_from_onnx(scheme)
    assert not scheme.differentiable and "not recoverable" in scheme.notes[-1]


def test_split_ablations_keeps_one_main_model_per_scheme():
    def scheme(name, scheme_id):
        return Scheme(name, scheme_id, {}, name)

    found = [scheme("a_j16", "a"), scheme("a", "a"), scheme("a_j64", "a"), scheme("b_small", "b"), scheme("b_big", "b")]
    main, ablations = split_ablations(found)
    assert [x.name for x in main] == ["a", "b_small"]  # the card named like its scheme, else the first
    assert [x.name for x in ablations] == ["a_j16", "a_j64", "b_big"]
    main, ablations = split_ablations(found, main_names=("a_j64", "b_big"))  # named cards stand for their scheme
    assert [x.name for x in main] == ["a_j64", "b_big"]
    assert [x.name for x in ablations] == ["a_j16", "a", "b_small"]
    with pytest.raises(ValueError, match="main model.s. c: no usable model card"):
        split_ablations(found, main_names=("c",))
    with pytest.raises(ValueError, match="more than one main model named for scheme.s. a"):
        split_ablations(found, main_names=("a_j16", "a_j64"))


def test_reserved_view_changes_only_the_kept_patches(zoo):
    model, images = zoo["fim"], torch.rand(3, 1, 28, 28)
    same = ReservedView(model, 1 - model.config.mask_ratio)
    torch.testing.assert_close(same.encode(images), model.encode(images))
    snr = torch.full((3,), 12.0)
    indices = model.encode(images)
    torch.testing.assert_close(same.decode(indices, snr), model.decode(indices, snr))
    wide = ReservedView(model, 0.9)
    assert wide.config.num_tokens == 44 and wide.encode(images).shape == (3, 44)
    assert wide.decode(wide.encode(images), snr).shape == (3, 10)
    with pytest.raises(ValueError, match="reserving ratio"):
        ReservedView(model, 0.0)


def test_overhead_matches_the_frame_modem():
    link = LinkConfig(modulation="16qam", code="wifi1944_r12")
    modem = FrameModem(link)
    row = digital_overhead(256, 25, link)
    assert row["payload_bytes"] == 25 and row["payload_symbols"] == modem.layout(25).num_symbols == 301
    assert row["frame_symbols"] == modem.frame_symbols(25) == symbols_per_image(25, 256, frame_overhead=True)
    assert row["effective_code_rate"] == pytest.approx(232 / 1204)
    segments = digital_overhead([[4, 16], [2, 1024]], 6, link)
    assert segments["index_bits"] == 4 * 4 + 2 * 10 and segments["payload_bytes"] == 5
    images = np.random.default_rng(0).random((5, 1, 28, 28), dtype=np.float32)
    settings = JpegSettings(quality=40)
    jpeg = jpeg_overhead(images, settings, link)
    symbols = [modem.frame_symbols(len(compress(image, settings))) for image in images]
    assert jpeg["frame_symbols"] == {"mean": np.mean(symbols), "min": min(symbols), "max": max(symbols)}
    table = overhead_table({"codec": row, "jscc": analog_overhead(301), "jpeg": jpeg}, link)
    assert table["link"]["mother_code_rate"] == 0.5 and table["link"]["bits_per_symbol"] == 4
    assert table["rows"]["codec"]["frame_symbols_vs_jpeg"] == pytest.approx(833 / np.mean(symbols))
    assert table["rows"]["jpeg"]["payload_symbols_vs_jpeg"] == 1.0


def test_threshold_snr_is_where_the_fer_stays_below_the_target():
    table = [{"snr_db": 0.0, "fer": 0.5}, {"snr_db": 1.0, "fer": 0.005}, {"snr_db": 2.0, "fer": 0.02},
             {"snr_db": 3.0, "fer": 0.001}, {"snr_db": 4.0, "fer": 0.0}]
    assert threshold_snr(table, 0.01) == 3.0  # 1 dB is below the target, but 2 dB is not
    assert threshold_snr(table, 0.6) == 0.0 and threshold_snr(table[:1], 0.01) is None


def test_code_choices_trade_symbols_for_snr():
    link = LinkConfig(modulation="16qam", code="wifi1944_r12")
    codes = ["wifi648_r12", "wifi1944_r12", "wifi648_r56"]
    choices = code_choices(256, 25, link, codes, snr_range=(-2.0, 14.0, 1.0), max_frames=200, seed=1)
    rows = choices["rows"]
    assert list(rows) == codes and len(choices["snr_db"]) == 17 and choices["channel"] == "awgn"
    # 232 payload bits + all n - k parity bits of the shortened codeword: 324, 972, 108
    assert [rows[c]["payload_symbols"] for c in codes] == [139, 301, 85]
    assert rows["wifi1944_r12"]["payload_symbols"] == digital_overhead(256, 25, link)["payload_symbols"]
    thresholds = [rows[c]["threshold_esn0_db"] for c in codes]
    assert thresholds[1] < thresholds[0] < thresholds[2]  # more parity per payload bit: a lower threshold
    for code in codes:
        row = rows[code]
        assert len(row["fer"]) == 17 and row["fer"][0] == 1.0 and row["fer"][-1] <= 0.01
        assert row["threshold_image_energy_db"] == pytest.approx(
            row["threshold_esn0_db"] + 10 * np.log10(row["payload_symbols"]))


# ------------------------------------------------------------------------------------------ report
def test_quick_report_on_tiny_fixtures(zoo, tmp_path):
    out = tmp_path / "report"
    assert run_cli(["eval", "report", "--out", str(out), "--quick", "--quiet", "--models", str(zoo["models"]),
                    "--run-dir", str(zoo["runs"]), "--data-root", str(zoo["root"] / "data"),
                    "--codebook-sizes", "16,32"]) == 0
    report = json.loads((out / "report.json").read_text())
    for key in ("settings", "schemes", "missing", "fig4", "fig5", "fig6", "fig7", "fig8", "fig9", "fig10", "table2",
                "table3", "checks"):
        assert key in report
    for png in ("fig4_accuracy_vs_snr", "fig5_codebook_size", "fig6_accuracy_vs_eps", "fig7_reserving_ratio",
                "fig8_accuracy_vs_ssnr", "fig9_activation_frequency", "fig10_codebook_similarity",
                "table3_transfer_attacks", "table3_receiver_side"):
        assert (out / f"{png}.png").stat().st_size > 1000
    missing = {m["item"] for m in report["missing"]}
    assert {"scheme masked_vqvae_at", "scheme jscc_at", "scheme jpeg_ldpc_at", "fig5 J=32"} <= missing
    assert "scheme jpeg_ldpc" not in missing and "fig7" not in missing
    assert "semantic noise: masked_vqvae" not in missing  # no checkpoint: weights recovered from its ONNX files
    assert [s["weights"] for s in report["schemes"]] == ["pytorch"] * 4
    fig4 = report["fig4"]["curves"]
    assert set(fig4) == {"masked_vqvae_fim_at", "masked_vqvae", "jscc", "jpeg_ldpc"}
    assert all(0 <= a <= 1 for c in fig4.values() for a in c["clean"])
    assert None not in fig4["masked_vqvae"]["semantic_noise"] + fig4["jscc"]["semantic_noise"]
    assert fig4["jpeg_ldpc"]["points"]["clean"][0]["decoder_failure_rate"] == 1.0  # 0 dB: every JPEG frame lost
    assert list(report["fig5"]["sweeps"]) == ["masked_vqvae_fim_at"]  # masked_vqvae has one J: no sweep
    assert report["fig5"]["sweeps"]["masked_vqvae_fim_at"]["16"]["clean"] == fig4["masked_vqvae_fim_at"]["clean"]
    assert report["fig7"]["num_tokens"] == [15, 25] and set(report["fig7"]["curves"]) == {"0/255", "8/255"}
    assert report["fig9"]["schemes"]["masked_vqvae"]["fim"] is False
    assert sum(report["fig9"]["schemes"]["masked_vqvae_fim_at"]["semantic_noise"]) == pytest.approx(1.0)
    assert report["fig10"]["masked_vqvae"]["similarity_weight"] == 0.0
    assert np.array(report["fig10"]["masked_vqvae_fim_at"]["matrix"]).shape == (16, 16)
    table3 = report["table3"]
    assert table3["sources"] == ["masked_vqvae_fim_at", "masked_vqvae", "jscc", "jpeg_ldpc", "resnet_surrogate"]
    assert table3["black_box_sources"] == ["resnet_surrogate"] and "table3 ResNet-based model" not in missing
    assert set(table3["accuracy"]["masked_vqvae"]) == set(table3["sources"])
    assert set(table3["white_box"]) == set(table3["targets"]) == set(fig4)
    assert all(0 <= row["resnet_surrogate"] <= 1 for row in table3["accuracy"].values())
    fig8 = report["fig8"]
    assert fig8["ssnr_db"] == [0.0, 10.0] and set(fig8["curves"]) == set(fig4)
    assert {c["attack"] for c in fig8["curves"].values()} == {"universal", "vulnerable_set"}
    assert all(0 <= a <= 1 for c in fig8["curves"].values() for a in c["accuracy"] + c["gaussian"])
    receiver = table3["receiver_side"]
    assert receiver["sources"] == ["masked_vqvae_fim_at", "masked_vqvae", "jscc"]  # universal: digital, analog
    assert receiver["white_box"]["masked_vqvae"] is not None
    assert receiver["transfer"]["masked_vqvae"]["jscc"] is None  # the tiny JSCC's frame is shorter: no transfer
    assert any(c["check"].startswith("Fig. 8: masked_vqvae_fim_at vs") for c in report["checks"])
    assert report["table2"]["rows"]["jpeg_ldpc (measured)"]["jpeg"]["quality"] == 50  # the card's settings
    choices = report["table2"]["code_choices"]
    assert choices["scheme"] == "masked_vqvae_fim_at" and "wifi648_r12" in choices["rows"]
    assert (out / "table2_code_choices.png").stat().st_size > 1000


def test_ablation_cards_feed_figs_5_10_and_the_ablation_table_only(zoo, tmp_path, monkeypatch):
    monkeypatch.setattr(figures, "HEATMAP_MAX_J", 32)
    models = tmp_path / "models"
    shutil.copytree(zoo["models"], models)
    torch.manual_seed(1)
    for name, scheme, fim_layers in (("masked_vqvae_j32", "masked_vqvae", []),
                                     ("masked_vqvae_fim_at_j32", "masked_vqvae_fim_at", [0])):
        (models / "configs" / f"{name}.yaml").write_text(
            CONFIG_YAML.format(name=name, scheme=scheme, weight=0).replace("codebook_size: 16", "codebook_size: 32"))
        wide = MaskedVQVAE(CodecConfig(**dict(CODEC, codebook_size=32), fim_layers=fim_layers)).eval()
        export_codec(wide, models, name, scheme=scheme, dataset="fashion-mnist", classes=CLASSES)
    noise = _noise_masking_ablation(models, zoo["root"] / "data")
    out = tmp_path / "report"
    assert run_cli(["eval", "report", "--out", str(out), "--quick", "--quiet", "--models", str(models),
                    "--run-dir", str(zoo["runs"]), "--data-root", str(zoo["root"] / "data"),
                    "--codebook-sizes", "16,32,64"]) == 0
    report = json.loads((out / "report.json").read_text())
    ablation_names = {"masked_vqvae_j32", "masked_vqvae_fim_at_j32", "masked_vqvae_fim_at_noise"}
    assert {s["name"] for s in report["ablation_models"]} == ablation_names
    assert not ablation_names & ({s["name"] for s in report["schemes"]} | set(report["fig4"]["curves"]))
    assert not ablation_names & set(report["table3"]["sources"] + list(report["fig6"]["curves"]))
    sweeps = report["fig5"]["sweeps"]  # the proposed scheme first, then the other scheme with two sizes
    assert list(sweeps) == ["masked_vqvae_fim_at", "masked_vqvae"]
    for scheme_id, sweep in sweeps.items():
        assert set(sweep) == {"16", "32"} and sweep["32"]["name"] == f"{scheme_id}_j32"
        assert sweep["16"]["clean"] == report["fig4"]["curves"][scheme_id]["clean"]
    missing = {m["item"] for m in report["missing"]}
    assert "fig5 J=64" in missing and not {"fig5 J=32", "fig5 with masked_vqvae_fim_at"} & missing
    fig10 = report["fig10"]  # matrices of the main models and of ablations with another weight of loss (15)
    assert fig10["masked_vqvae_j32"]["matrix"] is None and 0 < fig10["masked_vqvae_j32"]["mean_abs_off_diagonal"] < 1
    assert fig10["masked_vqvae_fim_at_j32"]["similarity_weight"] == 0  # the main model's is 0.1
    assert fig10["masked_vqvae_fim_at"]["similarity_weight"] == 0.1
    assert np.array(fig10["masked_vqvae_fim_at_j32"]["matrix"]).shape == (32, 32)
    assert np.array(report["fig10"]["masked_vqvae"]["matrix"]).shape == (16, 16)
    assert report["table2"]["rows"]["masked_vqvae_j32"]["index_bits"] == 25 * 5
    row = report["ablations"]["rows"]["masked_vqvae_j32"]
    assert row["main"] == "masked_vqvae" and row["main_clean"] == report["fig6"]["curves"]["masked_vqvae"][0]
    assert row["differs"] == {"model.codebook_size": [16, 32]} and 0 <= row["semantic_noise"] <= 1
    assert report["ablations"]["rows"]["masked_vqvae_fim_at_noise"]["differs"] == {"model.masking": [None, "noise"]}
    masks = report["masking"]  # keep sets; the noise-related one from the weights recovered with the card's state
    assert masks["masked_vqvae_j32"]["inference_keep"] == masks["masked_vqvae"]["inference_keep"]
    assert masks["masked_vqvae_fim_at_noise"]["inference_keep"] == noise.inference_keep.tolist()
    assert masks["masked_vqvae_fim_at_noise"]["inference_keep"] != masks["masked_vqvae_fim_at"]["inference_keep"]
    assert masks["masked_vqvae_fim_at_noise"]["patch_noise_energy"] == pytest.approx(
        noise.keep_logits.mul(-1).tolist())  # the recorded energy (here: minus the logits)
    assert masks["masked_vqvae_fim_at_noise"]["energy_vs_intensity"] == pytest.approx(1.0)
    assert masks["masked_vqvae"]["patch_noise_energy"] is None and masks["masked_vqvae"]["grid"] == [7, 7]
    assert (out / "masking_keep_sets.png").stat().st_size > 1000


def _noise_masking_ablation(models, data_root):
    """``masked_vqvae_fim_at_noise``: the noise-related masking strategy with a recorded noise energy (here
    the test images' mean intensity per patch, so that the report finds a correlation of 1)."""
    from semcomm.nn.vit import patchify

    name = "masked_vqvae_fim_at_noise"
    (models / "configs" / f"{name}.yaml").write_text(
        CONFIG_YAML.format(name=name, scheme="masked_vqvae_fim_at", weight=0.1).replace(
            "codebook_size: 16}", "codebook_size: 16, masking: noise}"))
    model = MaskedVQVAE(CodecConfig(**CODEC, fim_layers=[0], masking="noise")).eval()
    test_images = torch.from_numpy(load_dataset("fashion-mnist", "test", root=data_root).float_images())
    energy = patchify(test_images, 4).mean(dim=(0, 2))
    model.set_noise_statistics(energy)
    model.keep_logits.copy_(-energy)  # any logits: what matters is that the card gives them back exactly
    record = {"epoch": 2, "noise_masking": {"patch_noise_energy": energy.tolist(),
                                            "inference_keep": model.inference_keep.tolist()}}
    export_codec(model, models, name, scheme="masked_vqvae_fim_at", dataset="fashion-mnist", classes=CLASSES,
                 card_extra={"training": {"history": [{"epoch": 1}, record]}})
    return model


def test_report_main_option_names_the_cards_that_stand_for_their_schemes(zoo, tmp_path):
    common = ["eval", "report", "--out", str(tmp_path / "report"), "--quick", "--quiet", "--models", str(zoo["models"]),
              "--run-dir", str(zoo["runs"]), "--data-root", str(zoo["root"] / "data")]
    with pytest.raises(ValueError, match="main model.s. masked_vqvae_nosuch: no usable model card"):
        run_cli(common + ["--main", "masked_vqvae_nosuch"])
    assert settings_from_args(build_args(common + ["--main", "a, b"])).main_models == ("a", "b")


def test_report_only_option_selects_cards_and_surrogates(zoo, tmp_path):
    common = ["eval", "report", "--out", str(tmp_path / "report"), "--quick", "--quiet", "--models", str(zoo["models"]),
              "--run-dir", str(zoo["runs"]), "--data-root", str(zoo["root"] / "data")]
    with pytest.raises(ValueError, match="--only: no model card or surrogate named masked_vqvae_nosuch in"):
        run_cli(common + ["--only", "masked_vqvae_fim_at,masked_vqvae_nosuch"])
    settings = settings_from_args(build_args(common + ["--only", "masked_vqvae_fim_at, jscc"]))
    assert settings.only_models == ("masked_vqvae_fim_at", "jscc")
    ev = figures.evaluator(settings)
    assert [x.name for x in ev.models()] == ["masked_vqvae_fim_at", "jscc"] and ev.surrogates == []
    assert {"scheme masked_vqvae", "scheme jpeg_ldpc"} <= {entry["item"] for entry in ev.missing}
    settings = settings_from_args(build_args(common + ["--only", "jscc,resnet_surrogate"]))
    ev = figures.evaluator(settings)
    assert [x.name for x in ev.models()] == ["jscc"] and [x.name for x in ev.surrogates] == ["resnet_surrogate"]


def test_report_labels_a_folder_dataset_by_the_cards_class_names(zoo, tmp_path):
    from PIL import Image

    fashion = load_dataset("fashion-mnist", "test", root=zoo["root"] / "data")
    folder = tmp_path / "folder"
    for split in ("train", "test"):  # class folders as a user names them; sorted, not in the cards' order
        for index, (image, label) in enumerate(zip(fashion.images, fashion.labels)):
            path = folder / split / CLASSES[label].replace("/", "_").lower() / f"{index:02d}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image[0]).save(path)
    common = ["eval", "report", "--out", str(tmp_path / "report"), "--quick", "--quiet", "--models", str(zoo["models"]),
              "--run-dir", str(zoo["runs"]), "--only", "masked_vqvae_fim_at,resnet_surrogate", "--dataset"]
    ev = figures.evaluator(settings_from_args(build_args(common + [str(folder)])))
    order = sorted(range(len(fashion)), key=lambda i: (CLASSES[fashion.labels[i]].replace("/", "_").lower(), i))
    assert ev.data.classes == CLASSES and ev.labels.tolist() == fashion.labels[order].tolist()
    assert [x.name for x in ev.surrogates] == ["resnet_surrogate"]
    (folder / "test" / "bag").rename(folder / "test" / "handbag")
    with pytest.raises(ValueError, match="class.es. 'handbag' not among the model's classes 'T-shirt/top', "):
        figures.evaluator(settings_from_args(build_args(common + [str(folder)])))


def test_report_on_the_shipped_model_attacks_it_white_box_from_its_onnx_files(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    for role in ("encoder.onnx", "decoder.onnx", "card.json"):
        shutil.copy(f"models/masked_vqvae_fim_at.{role}", models)
    out = tmp_path / "report"
    assert run_cli(["eval", "report", "--out", str(out), "--quick", "--quiet", "--images", "8", "--models",
                    str(models), "--run-dir", str(tmp_path / "none")]) == 0
    report = json.loads((out / "report.json").read_text())
    curve = report["fig4"]["curves"]["masked_vqvae_fim_at"]
    assert report["images"] == 8 and len(curve["clean"]) == 2 and None not in curve["semantic_noise"]
    assert "model id verified" in report["schemes"][0]["notes"][-1]
    missing = {m["item"] for m in report["missing"]}
    assert {"scheme jpeg_ldpc", "fig9 without FIM", "table3 ResNet-based model"} <= missing
    assert "fig7" not in missing and "semantic noise: masked_vqvae_fim_at" not in missing
    assert report["table3"]["sources"] == ["masked_vqvae_fim_at"]
    assert report["fig10"]["masked_vqvae_fim_at"]["similarity_weight"] is None
    assert run_cli(["eval", "overhead", "--out", str(out), "--quick", "--quiet", "--models", str(models)]) == 0
    overhead = json.loads((out / "overhead.json").read_text())
    assert overhead["rows"]["masked_vqvae_fim_at"]["frame_symbols"] == 833
    assert overhead["code_choices"]["rows"]["wifi1944_r12"]["payload_symbols"] == 301


def test_report_eot_draws_option_reaches_the_attack(zoo, tmp_path):
    common = ["eval", "report", "--out", str(tmp_path / "report"), "--quick", "--quiet", "--models", str(zoo["models"]),
              "--run-dir", str(zoo["runs"]), "--data-root", str(zoo["root"] / "data")]
    assert settings_from_args(build_args(common)).eot_draws == 1
    settings = settings_from_args(build_args(common + ["--eot-draws", "4"]))
    assert settings.eot_draws == 4 and figures.evaluator(settings).attack(8 / 255)["draws"] == 4
    with pytest.raises(ValueError, match="eot_draws and craft_images must be >= 1"):
        settings_from_args(build_args(common + ["--eot-draws", "0"]))
    receiver = settings_from_args(build_args(common + ["--ssnr=-5,5", "--attacker-channel", "rayleigh"]))
    assert receiver.attacker_channel == "rayleigh" and receiver.ssnr == (0.0, 10.0)  # --quick keeps two SSNRs
    with pytest.raises(SystemExit):
        build_args(common + ["--attacker-channel", "ricean"])
