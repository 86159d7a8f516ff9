"""Training from captures: the frames of a real SigMF capture become (received indices, SNR estimate, label);
`semcomm adapt` fine-tunes the decoder only and exports a model whose encoder is the deployed one byte for byte,
whose model id is the deployed one (so the testbed's receiver takes the deployed transmitters' frames) and whose
card names the recordings it learned from; a capture made with another model is refused."""
import json
import os

import numpy as np
import pytest

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
pytest.importorskip("sigmf", reason="the sigmf package is not installed")

from semcomm.capture import load_recording  # noqa: E402
from semcomm.capture.dataset import captured_frames  # noqa: E402
from semcomm.export.runtime import SemanticCodec  # noqa: E402
from semcomm.testbed.capture_runs import run_capture  # noqa: E402
from semcomm.train.adapt import adapt  # noqa: E402

pytestmark = pytest.mark.gnuradio
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMULATED = os.path.join(ROOT, "hw_configs", "emulated_b210.yaml")
MODEL = os.path.join(ROOT, "models", "masked_vqvae_fim_at")


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """30 training-split images through the emulated B210 pair at 5 dB, the receiver's input recorded."""
    base = tmp_path_factory.mktemp("captures") / "train"
    overrides = {"data.num_images": 30, "data.split": "train", "data.images_per_s": 0, "channel.snr_db": 5.0,
                 "capture.path": str(base), "model": MODEL}
    run_capture(EMULATED, overrides, "loopback", base.parent / "run", timeout_s=120)
    return f"{base}.channel"


def test_captured_frames_are_the_receivers_indices_with_their_labels(capture):
    frames = captured_frames([capture], MODEL)
    annotations = load_recording(capture).meta["annotations"]
    labels = {a["semcomm:seq"]: a["semcomm:label"] for a in annotations}
    assert 28 <= len(frames) <= 30 and frames.indices.shape == (len(frames), 25)
    assert all(labels[seq] == label for seq, label in zip(frames.seqs, frames.labels))
    assert np.all((frames.snr_db > 2) & (frames.snr_db < 8))  # the receiver's estimates at 5 dB
    assert frames.recordings[0]["sha512"] == load_recording(capture).meta["global"]["core:sha512"]


def test_a_capture_made_with_another_model_is_refused(capture):
    with pytest.raises(ValueError, match="captured with model id 01743ab3"):
        captured_frames([capture], os.path.join(ROOT, "models", "masked_vqvae"))


def test_adapt_exports_a_decoder_the_deployed_transmitters_frames_reach(capture, tmp_path):
    out = tmp_path / "adapted"
    section = adapt(MODEL, [capture], str(out), eval_captures=[capture], epochs=1, lr=1e-3, batch=8)
    card = json.loads((tmp_path / "adapted.card.json").read_text())
    base = json.loads(open(f"{MODEL}.card.json").read())
    assert (tmp_path / "adapted.encoder.onnx").read_bytes() == open(f"{MODEL}.encoder.onnx", "rb").read()
    assert card["model_id"] == base["model_id"] and card["adaptation"]["base_model_id"] == base["model_id"]
    assert card["adaptation"]["recordings"][0]["sha512"] == load_recording(capture).meta["global"]["core:sha512"]
    assert section["frames_train"] + section["frames_val"] == section["frames_eval"][capture]
    assert set(section["accuracy_after"]) == {"val", capture}
    assert section["accuracy_after"]["val"] >= section["accuracy_before"]["val"]  # the epoch is chosen on it
    codec = SemanticCodec(str(out) + ".encoder.onnx", str(out) + ".decoder.onnx")  # the runtime's contract checks
    frames = captured_frames([capture], str(out))
    logits, _ = codec.decode(frames.indices, frames.snr_db)
    assert logits.shape == (len(frames), 10)


def test_adapt_records_fine_tunes_and_exports_in_one_command(tmp_path, capsys):
    """`semcomm adapt --record N`: capture -> fine-tune -> export, the recording next to the model."""
    from semcomm.cli import main

    out = tmp_path / "one"
    assert main(["adapt", "--record", "20", "--config", EMULATED, "--model", MODEL, "--out", str(out), "--epochs", "1",
                 "--set", "channel.snr_db=6"]) == 0
    card = json.loads((tmp_path / "one.card.json").read_text())
    assert card["adaptation"]["recordings"][0]["path"] == f"{out}.captures/train.channel"
    assert card["adaptation"]["frames_train"] + card["adaptation"]["frames_val"] >= 18
    assert "validation" in capsys.readouterr().out
