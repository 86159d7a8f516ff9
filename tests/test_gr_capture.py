"""Captures through the real flowgraphs: `semcomm capture` records the loopback's taps as SigMF that the
`sigmf` package validates, one annotation per frame with its outcome; replaying the receiver's input through
the rx graph gives the live run's per-frame decisions bit for bit."""
import json
import os
import tarfile

import pytest

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
pytest.importorskip("sigmf", reason="the sigmf package is not installed")

from semcomm.capture import load_recording  # noqa: E402
from semcomm.testbed.capture import tx_log_path  # noqa: E402
from semcomm.testbed.capture_runs import replay, run_capture  # noqa: E402
from semcomm.testbed.config import load_testbed_config  # noqa: E402

pytestmark = pytest.mark.gnuradio
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = os.path.join(ROOT, "hw_configs", "loopback.yaml")
DECISIONS = ("seq", "detected", "header_ok", "payload_crc_ok", "pre_fec_ber", "post_fec_ber", "pred", "snr_est_db",
             "reject")


def frames(path):
    return {f["seq"]: [f.get(key) for key in DECISIONS] for f in map(json.loads, path.read_text().splitlines())}


def test_a_captured_run_is_annotated_and_replays_bit_for_bit(tmp_path):
    base = tmp_path / "capture" / "run"
    overrides = {"data.num_images": 12, "channel.snr_db": 4.0, "capture.path": str(base),
                 "capture.taps": ["tx", "channel", "attacker"], "attacker.enabled": True, "attacker.kind": "perturbation",
                 "attacker.psr_db": -2.0}
    live = run_capture(LOOPBACK, overrides, "loopback", tmp_path / "live", timeout_s=120, archive=True)
    config = load_testbed_config(LOOPBACK, overrides)
    assert set(live["captures"]) == {"tx", "channel", "attacker"}
    for tap, described in live["captures"].items():
        recording = load_recording(described["path"])  # validated by the sigmf package, hash included
        assert recording.meta["global"]["semcomm:tap"] == tap and recording.meta["global"]["core:sha512"]
        assert recording.meta["global"]["semcomm:config"]["channel"]["snr_db"] == 4.0
        assert described["frames_annotated"] == 12 and described["dropped_samples"] == 0
        assert tarfile.is_tarfile(described["archive"])  # the sigmf package's archive of the recording
    annotations = load_recording(f"{base}.channel").meta["annotations"]
    outcomes = {f[0]: f for f in frames(tmp_path / "live" / "frames.jsonl").values()}
    for k, annotation in enumerate(annotations):
        assert annotation["semcomm:seq"] == k and annotation["semcomm:attacked"] is True
        assert annotation["semcomm:payload_crc_ok"] == outcomes[k][3] and annotation["core:label"]
        assert annotation["core:sample_start"] == k * annotation["core:sample_count"]  # frames back to back
    assert tx_log_path(base).is_file()
    replayed = replay(config, f"{base}.channel", tmp_path / "replay", timeout_s=120)
    assert replayed["ended"] == "completed" and replayed["images"] == 12
    assert frames(tmp_path / "replay" / "frames.jsonl") == frames(tmp_path / "live" / "frames.jsonl")
    assert replayed["accuracy"] == live["accuracy"] and replayed["payload_crc_failures"] > 0


def test_a_capture_tap_the_graph_has_not_is_refused(tmp_path):
    with pytest.raises(ValueError, match="loopback graph records attacker, channel, tx, not rx"):
        run_capture(LOOPBACK, {"capture.path": str(tmp_path / "x"), "capture.taps": ["rx"]}, "loopback", tmp_path,
                    timeout_s=30)
    with pytest.raises(ValueError, match="capture.path is not set"):
        run_capture(LOOPBACK, {}, "loopback", tmp_path, timeout_s=30)


def test_a_separate_receivers_input_is_recorded_and_annotated_where_it_detected_each_frame(tmp_path):
    """`semcomm capture --role zmq` (capture.taps [rx]): the rx process records what it receives and annotates each
    frame it detected (no transmitter tags reach it) at its detected position; the frames read back."""
    from semcomm.capture.dataset import captured_frames

    base = tmp_path / "zmq"
    settings = {"endpoints.tx_out": "tcp://127.0.0.1:55671", "endpoints.attacker_out": "tcp://127.0.0.1:55672",
                "endpoints.channel_out": "tcp://127.0.0.1:55673", "endpoints.sense_out": "tcp://127.0.0.1:55674",
                "data.num_images": 8, "capture.path": str(base), "capture.taps": ["rx"]}
    summary = run_capture(LOOPBACK, settings, "zmq", tmp_path / "run", timeout_s=300)
    assert summary["captures"]["rx"]["frames_annotated"] == 8
    recording = load_recording(f"{base}.rx")
    starts = [a["core:sample_start"] for a in recording.meta["annotations"]]
    assert [b - a for a, b in zip(starts, starts[1:])] == [3588] * 7  # frames back to back on the ZMQ stream
    assert recording.meta["global"]["semcomm:tap"] == "rx"
    frames = captured_frames([f"{base}.rx"], os.path.join(ROOT, "models", "masked_vqvae_fim_at"))
    assert list(frames.seqs) == list(range(8))
