"""ZMQ runs through the real command, processes and sockets on 127.0.0.1: a second `semcomm run zmq` on
the same ports is refused without disturbing the first; a malformed IQ message into a running receiver is
counted and dropped, and the receiver goes on decoding."""
import json
import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
zmq = pytest.importorskip("zmq", reason="pyzmq (python3-zmq) cannot be imported")

from semcomm.testbed.bench import receiver_iq  # noqa: E402
from semcomm.testbed.config import load_testbed_config  # noqa: E402
from semcomm.testbed.metrics import write_tx_log  # noqa: E402

pytestmark = pytest.mark.gnuradio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = os.path.join(ROOT, "hw_configs", "loopback.yaml")
PORTS = {"endpoints.tx_out": "tcp://127.0.0.1:55641", "endpoints.attacker_out": "tcp://127.0.0.1:55642",
         "endpoints.channel_out": "tcp://127.0.0.1:55643"}


def semcomm_run(role: str, out_dir, settings: dict) -> list[str]:
    overrides = [item for field, value in settings.items() for item in ("--set", f"{field}={value}")]
    return [sys.executable, "-m", "semcomm.cli", "run", role, "--config", LOOPBACK, "--out", str(out_dir)] + overrides


def wait_for(path, process, timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while not path.exists():
        assert process.poll() is None and time.time() < deadline, f"{path.name} did not appear"
        time.sleep(0.1)


def test_a_second_run_on_the_same_ports_is_refused_and_the_first_completes_unchanged(tmp_path):
    settings = {**PORTS, "data.num_images": 40, "data.images_per_s": 20}  # the first sends for 2 s
    first = subprocess.Popen(semcomm_run("zmq", tmp_path / "first", settings), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    wait_for(tmp_path / "first" / "tx.ready", first)
    second = subprocess.run(semcomm_run("zmq", tmp_path / "second", settings), capture_output=True, text=True,
                            timeout=120)
    assert first.poll() is None, "the first run ended before the second was refused"
    assert second.returncode == 2, second.stdout + second.stderr
    for field, endpoint in PORTS.items():
        assert f"{field} = {endpoint}" in second.stderr and f"--set {field}=tcp://127.0.0.1:" in second.stderr
    assert "another run" in second.stderr and not (tmp_path / "second").exists()  # no role was started
    output, _ = first.communicate(timeout=300)
    assert first.returncode == 0, output
    summary = json.loads((tmp_path / "first" / "summary.json").read_text())
    assert summary["images"] == 40 and summary["frames_detected"] == 40  # every frame, every bit: accuracy unchanged
    assert summary["payload_crc_failures"] == 0 and summary["ber_post_fec"] == 0.0


def test_a_malformed_message_into_a_running_receiver_is_counted_and_dropped(tmp_path):
    endpoint = PORTS["endpoints.channel_out"]
    config = load_testbed_config(LOOPBACK, {"data.num_images": 10, "endpoints.channel_out": endpoint})
    iq, records = receiver_iq(config)  # the channel's output for 10 images, and the transmitter's log
    write_tx_log(tmp_path / "tx_log.jsonl", records)
    channel = zmq.Context.instance().socket(zmq.PUSH)  # stands in for the channel role: binds channel_out
    channel.setsockopt(zmq.SNDTIMEO, 120_000)
    channel.bind(endpoint)
    try:
        receiver = subprocess.Popen(semcomm_run("rx", tmp_path, {"data.num_images": 10, **PORTS}),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        half = iq.size // 2  # inside frame 5: the message between the halves must not cut it
        for message in (iq[:half].tobytes(), b"\x00" * 12, iq[half:].tobytes()):
            channel.send(message)
        output, _ = receiver.communicate(timeout=120)
    finally:
        channel.close(linger=0)
    assert receiver.returncode == 0, output
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames_detected"] == 10 and summary["ber_post_fec"] == 0.0
    assert summary["counters"]["channel_in.dropped"] == 1 and summary["counters"]["channel_in.dropped_bytes"] == 12
    assert "dropped a malformed message" in output
