"""``semcomm eval probe``: probes on fixed indices learn what the indices hold (and nothing else), and the
command runs a real ONNX export end to end."""
import argparse
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from semcomm.eval.probe import (LinearProbe, TransformerProbe, build_probe, position_alphabets,  # noqa: E402
                                run_probe, train_probe)
from semcomm.cli.eval import add_commands  # noqa: E402
from semcomm.export import export_codec, export_jscc  # noqa: E402
from semcomm.nn.jscc import JSCCConfig, ViTJSCC  # noqa: E402
from semcomm.nn.masked_vqvae import CodecConfig, MaskedVQVAE  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture
from test_jscc import write_fashion  # noqa: E402

CLASSES = [f"class{i}" for i in range(10)]
TINY = dict(dim=16, heads=2, encoder_depth=1, decoder_dim=16, decoder_depth=1, code_dim=8, codebook_size=16)


def test_position_alphabets():
    assert position_alphabets(256, 3) == [256, 256, 256]
    assert position_alphabets([[2, 16], [1, 1024]], 3) == [16, 16, 1024]
    with pytest.raises(ValueError, match="digital codec"):
        position_alphabets("analog", 4)


def test_linear_probe_adds_one_weight_vector_per_position_and_index():
    probe = LinearProbe([4, 4, 8], num_classes=3)
    torch.nn.init.normal_(probe.weights.weight)
    torch.nn.init.normal_(probe.bias)
    indices = torch.tensor([[0, 3, 7], [2, 1, 0]])
    table = probe.weights.weight
    expected = torch.stack([probe.bias + table[0] + table[4 + 3] + table[8 + 7],
                            probe.bias + table[2] + table[4 + 1] + table[8 + 0]])
    assert torch.allclose(probe(indices), expected)


def synthetic(count, informative, seed):
    """Indices [count, 6] over J = 16; the label is index 3 mod 10 when ``informative``, else random."""
    generator = torch.Generator().manual_seed(seed)
    indices = torch.randint(0, 16, (count, 6), generator=generator)
    labels = indices[:, 3] % 10 if informative else torch.randint(0, 10, (count,), generator=generator)
    return indices, labels


@pytest.mark.parametrize("kind, lr", [("linear", 1e-2), ("transformer", 2e-3)])
def test_probe_learns_the_label_the_indices_hold_and_no_more(kind, lr):
    for informative, check in ((True, lambda acc: acc > 0.95), (False, lambda acc: acc < 0.2)):
        torch.manual_seed(0)
        probe = build_probe(kind, [16] * 6, 10)
        assert isinstance(probe, LinearProbe if kind == "linear" else TransformerProbe)
        history = train_probe(probe, synthetic(3000, informative, 1), synthetic(1000, informative, 2),
                              epochs=6, lr=lr, batch_size=64)
        assert [row["epoch"] for row in history] == list(range(1, 7))
        assert check(history[-1]["test_accuracy"]), (informative, history[-1])


def test_unknown_probe_is_refused():
    with pytest.raises(ValueError, match="unknown probe 'mlp'"):
        build_probe("mlp", [16], 10)


def run_cli(argv):
    parser = argparse.ArgumentParser(prog="semcomm")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_probe_command_on_an_onnx_export(tmp_path, capsys):
    write_fashion(tmp_path / "data", n_train=96, n_test=32)
    torch.manual_seed(0)
    codec = MaskedVQVAE(CodecConfig(**TINY)).eval()
    export_codec(codec, tmp_path / "models", "tiny", scheme="masked_vqvae", dataset="fashion-mnist",
                 classes=CLASSES)
    out = tmp_path / "probe.json"
    assert run_cli(["eval", "probe", "--model", str(tmp_path / "models" / "tiny"), "--probe", "linear",
                    "--epochs", "2", "--test-images", "20", "--data-root", str(tmp_path / "data"),
                    "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert (result["train_images"], result["test_images"], result["num_tokens"]) == (96, 20, 25)
    assert len(result["history"]) == 2 and result["test_accuracy"] == result["history"][-1]["test_accuracy"]
    assert result["card_clean_accuracy"] is None  # an export without training metrics
    assert "linear probe" in capsys.readouterr().out
    # the probe saw exactly the ONNX encoder's indices of the test images
    from semcomm.data import load_dataset
    from semcomm.eval.probe import encode_images
    from semcomm.export.runtime import SemanticCodec
    images = load_dataset("fashion-mnist", "test", root=tmp_path / "data").images[:4]
    with torch.no_grad():
        expected = codec.encode(torch.from_numpy(images.astype(np.float32) / 255)).numpy()
    np.testing.assert_array_equal(encode_images(SemanticCodec.from_prefix(tmp_path / "models" / "tiny"), images),
                                  expected)


def test_probe_refuses_an_analog_codec(tmp_path):
    jscc = ViTJSCC(JSCCConfig(dim=16, heads=2, encoder_depth=1, decoder_dim=16, decoder_depth=1, symbols=32))
    export_jscc(jscc.eval(), tmp_path, "jscc", scheme="jscc", dataset="fashion-mnist", classes=CLASSES)
    with pytest.raises(ValueError, match="digital codec"):
        run_probe(tmp_path / "jscc", "linear", epochs=1)
