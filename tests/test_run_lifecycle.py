"""How a `semcomm run` ends, through the real command: Ctrl-C / SIGTERM, a role's process that dies, a full
disk and the timeout each stop the graph cleanly, keep what was received (per-frame lines written as frames
are decided, a summary saying why the run ended) and exit with the documented status (testbed.outcome)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")

from semcomm.testbed.outcome import EXIT_STATUS  # noqa: E402

pytestmark = pytest.mark.gnuradio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = os.path.join(ROOT, "hw_configs", "loopback.yaml")
CRASH_SIGNS = ("Traceback", "terminate", "core dumped")


def start_run(role, out, *settings, timeout=120, log=None):
    """`semcomm run ROLE` as a process (its own process group, so that it can be signalled as a terminal
    does), its output in ``process.log`` (LOG, default OUT.log)."""
    command = [sys.executable, "-m", "semcomm.cli", "run", role, "--config", LOOPBACK, "--out", str(out),
               "--timeout", str(timeout)] + [item for setting in settings for item in ("--set", setting)]
    log = log or f"{out}.log"
    process = subprocess.Popen(command, cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    process.log = log
    return process


def frame_lines(out):
    return [json.loads(line) for line in (out / "frames.jsonl").read_text().splitlines()]


def lines_on_disk(out):
    """Complete per-frame lines in OUT/frames.jsonl now (0 before the file exists)."""
    path = out / "frames.jsonl"
    return path.read_text().count("\n") if path.is_file() else 0


def run_processes(out, *words):
    """Pids of the `semcomm run` processes writing to OUT (with WORDS among their arguments)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                arguments = handle.read().decode(errors="replace").split("\0")
        except OSError:  # ended meanwhile
            continue
        if "--out" in arguments and arguments[arguments.index("--out") + 1] == str(out) \
                and all(word in arguments for word in words):
            found.append(int(pid))
    return found


def wait_for_frames(process, out, count=5, limit_s=90):
    """Wait until COUNT per-frame lines are on disk (the run is under way)."""
    deadline = time.monotonic() + limit_s
    while lines_on_disk(out) < count:
        assert process.poll() is None, f"the run ended early:\n{open(process.log).read()[-3000:]}"
        assert time.monotonic() < deadline, "no frames on disk in time"
        time.sleep(0.2)


def ended(process, out, limit_s=60):
    """Exit status and output of a run that was told to end; no crash, no process left behind."""
    status = process.wait(timeout=limit_s)
    output = open(process.log).read()
    assert not any(sign in output for sign in CRASH_SIGNS), output[-3000:]
    assert run_processes(out) == [], "processes left behind"
    return status, output


def finish(process, out, limit_s=60):
    """:func:`ended`, and the run's summary."""
    status, output = ended(process, out, limit_s)
    with open(out / "summary.json") as handle:
        return status, output, json.load(handle)


def assert_summary_matches_lines(summary, out):
    """Every frame sent has its line; the summary counts what the lines hold."""
    lines = frame_lines(out)
    assert len(lines) == summary["images"] > 0
    assert sorted(line["seq"] for line in lines) == list(range(summary["images"]))
    assert sum(line["detected"] for line in lines) == summary["frames_detected"]


@pytest.mark.parametrize("stop, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signalled_loopback_run_stops_cleanly_and_writes_what_it_saw(tmp_path, stop, status):
    out = tmp_path / "run"
    process = start_run("loopback", out, "data.num_images=3000")
    wait_for_frames(process, out)
    process.send_signal(stop)
    code, output, summary = finish(process, out)
    assert code == status
    assert summary["ended"] == "interrupted" and summary["ended_detail"]["signal"] == stop.name
    assert 5 <= summary["images"] < 3000
    assert_summary_matches_lines(summary, out)
    assert f"interrupted by {stop.name}" in output and "wrote" in output


def test_ctrl_c_of_run_zmq_stops_every_role_and_keeps_the_receivers_records(tmp_path):
    out = tmp_path / "zmq"
    ports = [f"endpoints.{name}=tcp://127.0.0.1:{port}"
             for name, port in (("tx_out", 55651), ("attacker_out", 55652), ("channel_out", 55653))]
    process = start_run("zmq", out, "data.num_images=3000", *ports)
    wait_for_frames(process, out)
    os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole process group
    code, output, summary = finish(process, out)
    assert code == 130 and summary["ended"] == "interrupted" and summary["condition"] == "rx"
    assert_summary_matches_lines(summary, out)
    for role in ("tx", "rx", "channel", "attacker"):
        log = (out / f"{role}.log").read_text()
        assert not any(sign in log for sign in CRASH_SIGNS), f"{role}: {log[-2000:]}"


@pytest.mark.parametrize("kill, port", [(signal.SIGKILL, 55661), (signal.SIGTERM, 55671)], ids=["SIGKILL", "SIGTERM"])
def test_a_channel_that_dies_during_run_zmq_is_reported_and_the_receivers_records_kept(tmp_path, kill, port):
    out = tmp_path / "zmq"
    ports = [f"endpoints.{name}=tcp://127.0.0.1:{port + offset}"
             for offset, name in enumerate(("tx_out", "attacker_out", "channel_out"))]
    process = start_run("zmq", out, "data.num_images=3000", *ports)
    wait_for_frames(process, out)
    channel = run_processes(out, "channel")
    assert len(channel) == 1
    os.kill(channel[0], kill)
    code, output, summary = finish(process, out)
    assert code == EXIT_STATUS["peer_died"] and summary["ended"] == "peer_died"
    detail = summary["ended_detail"]
    assert detail["role"] == "channel" and detail["signal"] == kill.name
    assert "the channel process was" in output and kill.name in output  # said under the table
    assert_summary_matches_lines(summary, out)


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs (root only): the per-frame lines of a few hundred frames fill it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a small tmpfs needs root and mount(8)")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True,
                            text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_is_reported_with_the_file_and_ends_the_run_cleanly(small_disk, tmp_path):
    out = small_disk / "run"
    process = start_run("loopback", out, "data.num_images=1000", "data.images_per_s=0", log=tmp_path / "run.log")
    code, output = ended(process, out, limit_s=120)
    assert code == EXIT_STATUS["write_failed"], output[-3000:]
    assert f"cannot write {out}/frames.jsonl: No space left on device" in output
    assert f"cannot write {out}/summary.json: No space left on device" in output
    assert not (out / "summary.json").exists()  # no partial file: the table above says what was received
    assert "accuracy" in output and lines_on_disk(out) > 50


def test_a_timeout_says_so_and_a_timeout_that_is_not_positive_is_refused(tmp_path):
    out = tmp_path / "rx"
    process = start_run("rx", out, "data.num_images=20", "endpoints.channel_out=tcp://127.0.0.1:55681", timeout=2)
    code, output, summary = finish(process, out)  # no transmitter: nothing ever arrives
    assert code == EXIT_STATUS["timed_out"] and summary["ended"] == "timed_out"
    assert summary["ended_detail"]["timeout_s"] == 2 and summary["images"] == 0
    assert "timed out after 2 s" in output
    refused = subprocess.run([sys.executable, "-m", "semcomm.cli", "run", "rx", "--timeout", "-1", "--out",
                              str(tmp_path / "never")], cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 2 and "--timeout: -1.0 is less than or equal to the minimum of 0" in refused.stderr
    assert not (tmp_path / "never").exists()


def test_the_exit_statuses_are_documented_in_the_help():
    help_text = subprocess.run([sys.executable, "-m", "semcomm.cli", "run", "--help"], capture_output=True,
                               text=True).stdout
    for reason, status in EXIT_STATUS.items():
        assert f"\n  {status:<4} {reason.replace('_', ' ')}" in help_text, reason
    assert "130  interrupted by SIGINT" in help_text and "143 by SIGTERM" in help_text
