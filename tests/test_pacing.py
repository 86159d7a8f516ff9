"""Back-pressure of an unpaced image source: the in-flight window alone, then the loopback and ZMQ graphs
with an unpaced source (real scheduler, real processes)."""
import json
import os
import threading
import time

import numpy as np
import pytest

from semcomm.testbed.pacing import DEFAULT_LIMIT, InFlightWindow

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = os.path.join(ROOT, "hw_configs", "loopback.yaml")


def send(window, frames):
    for _ in range(frames):
        assert window.wait_for_room()
        window.sent()


def test_the_window_holds_the_sender_until_a_frame_is_acknowledged():
    window = InFlightWindow(limit=3, stall_s=30)
    send(window, 3)
    released = threading.Event()
    sender = threading.Thread(target=lambda: (window.wait_for_room(), released.set()))
    sender.start()
    assert not released.wait(0.2)  # 3 in flight: no room
    window.acknowledge(0)
    assert released.wait(5)
    sender.join()
    window.acknowledge(None)   # a frame whose header failed: the oldest in flight
    window.acknowledge(99)     # never sent (a corrupt header): settles no more than was sent
    assert (window.in_flight, window.settled, window.max_in_flight, window.stalls) == (0, 3, 3, 0)


def test_frames_never_acknowledged_are_given_up_after_the_stall_time_and_close_wakes_the_sender():
    window = InFlightWindow(limit=2, stall_s=0.1)
    send(window, 2)
    window.acknowledge(1)  # in order: frame 0 was lost
    send(window, 2)
    start = time.monotonic()
    assert window.wait_settled()  # the last two are never acknowledged
    assert time.monotonic() - start >= 0.1 and window.stalls == 1 and window.in_flight == 0
    held = InFlightWindow(limit=1, stall_s=30)
    send(held, 1)
    threading.Timer(0.1, held.close).start()
    assert not held.wait_for_room()  # the source was stopped
    with pytest.raises(ValueError, match="integer >= 1"):
        InFlightWindow(limit=0)


def frame_latencies(out_dir) -> np.ndarray:
    """Latency (ms) of each frame of ``out_dir/frames.jsonl`` in sequence order (NaN: not received)."""
    lines = sorted((json.loads(line) for line in (out_dir / "frames.jsonl").read_text().splitlines()),
                   key=lambda line: line["seq"])
    return np.array([np.nan if line["latency_ms"] is None else line["latency_ms"] for line in lines])


@pytest.mark.gnuradio
def test_an_unpaced_loopback_keeps_its_latency_within_the_window(tmp_path):
    pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
    from semcomm.testbed.config import load_testbed_config
    from semcomm.testbed.run import run_loopback

    config = load_testbed_config(LOOPBACK, {"data.num_images": 300, "data.images_per_s": 0})
    summary = run_loopback(config, "unpaced", tmp_path, timeout_s=300)
    assert summary["frames_missed"] == 0 and summary["images_per_s"] > 0
    # at most DEFAULT_LIMIT frames between source and receiver: a frame waits for fewer than that many
    # ahead of it, each taking 1 / rate on average (x6 for jitter), once the graph has warmed up (its first
    # frames wait for the blocks' first calls); unbounded, the 300th waited for the 299 before it
    bound_ms = 6 * DEFAULT_LIMIT / summary["images_per_s"] * 1e3
    latencies = frame_latencies(tmp_path)
    steady = latencies[2 * DEFAULT_LIMIT:]
    assert latencies.size == 300 and steady.max() < bound_ms, (steady.max(), bound_ms)


@pytest.mark.gnuradio
def test_an_unpaced_zmq_transmitter_loses_no_frame_at_the_end_of_the_run(tmp_path):
    pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
    from semcomm.testbed.run import run_zmq

    settings = {"endpoints.tx_out": "tcp://127.0.0.1:55621", "endpoints.attacker_out": "tcp://127.0.0.1:55622",
                "endpoints.channel_out": "tcp://127.0.0.1:55623", "data.num_images": 400, "data.images_per_s": 0}
    summary = run_zmq(LOOPBACK, [f"{k}={v}" for k, v in settings.items()], tmp_path, timeout_s=300)
    # without the window the transmitter queued all 400 images at once and stopped 1 s after the last
    # left its source: the last 88 never reached the air
    assert summary["images"] == 400 and summary["frames_missed"] == 0


@pytest.mark.gnuradio
def test_the_soak_benchmark_reports_its_figures(tmp_path, capsys):
    pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
    from semcomm.cli import main

    assert main(["bench", "soak", "--images", "40", "--out", str(tmp_path / "soak.json")]) == 0
    result = json.loads((tmp_path / "soak.json").read_text())
    assert (result["images"], result["frames_missed"], result["ended"]) == (40, 0, "completed")
    assert set(result["latency_ms"]) == {"p50", "p95", "p99", "max"} and result["latency_ms"]["max"] > 0
    assert 0 < result["rss_mib_start"] <= result["rss_mib_max"] and result["memory_samples"]["rows"][-1][2] == 40
    assert "soak: 40 images, unpaced, loopback" in capsys.readouterr().out
    assert len((tmp_path / "soak" / "frames.jsonl").read_text().splitlines()) == 40
