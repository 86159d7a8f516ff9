"""SigMF recordings without GNU Radio: what the recorder writes validates with the `sigmf` package (schema and
sha512), stream-index jumps become capture segments with `core:global_index`, frames become annotations, a
corrupted file is refused, and a killed process or a full disk leaves a valid recording of what was written."""
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("sigmf", reason="the sigmf package is not installed")

from semcomm.capture import SigmfRecorder, annotate_frames, load_recording  # noqa: E402


def ramp(start, count):
    return (np.arange(start, start + count) * (1 + 2j)).astype(np.complex64)


def test_a_recording_validates_and_maps_stream_indices_to_the_file(tmp_path):
    recorder = SigmfRecorder(tmp_path / "run.v1", 1e6, 2.45e9, "emulator", "test", {"semcomm:tap": "channel"})
    recorder.write(ramp(0, 1000), 0)
    recorder.write(ramp(1000, 500))  # continues
    recorder.write(ramp(5000, 500), 5000)  # 3500 samples not recorded
    recorder.close()
    recording = load_recording(tmp_path / "run.v1.sigmf-data")  # validated, hash checked
    np.testing.assert_array_equal(recording.samples, np.concatenate([ramp(0, 1500), ramp(5000, 500)]))
    captures = recording.meta["captures"]
    assert [(c["core:sample_start"], c["core:global_index"]) for c in captures] == [(0, 0), (1500, 5000)]
    assert all(c["core:frequency"] == 2.45e9 and c["core:datetime"].endswith("Z") for c in captures)
    assert (recording.file_index(1499), recording.file_index(3000), recording.file_index(5499)) == (1499, None, 1999)
    info = recording.meta["global"]
    assert info["core:datatype"] == "cf32_le" and info["core:sample_rate"] == 1e6 and len(info["core:sha512"]) == 128
    assert info["semcomm:tap"] == "channel" and info["core:hw"] == "emulator"


def test_frames_become_annotations_in_file_order_with_their_outcome(tmp_path):
    recorder = SigmfRecorder(tmp_path / "run", 1e6)
    recorder.write(ramp(0, 1000), 100)
    recorder.close()
    frames = [{"seq": 1, "start": 600, "samples": 300, "label": 2, "pred": 0, "correct": False, "attacked": True},
              {"seq": 0, "start": 100, "samples": 300, "label": 1, "pred": 1, "correct": True, "detected": True},
              {"seq": 2, "start": 50, "samples": 300, "label": 1}]  # before the recording began: skipped
    assert annotate_frames(tmp_path / "run", frames, class_names=["a", "b", "c"]) == 2
    recording = load_recording(tmp_path / "run")  # still valid: the data and its hash did not change
    first, second = recording.meta["annotations"]
    assert (first["core:sample_start"], first["core:label"], first["semcomm:seq"]) == (0, "b", 0)
    assert (second["core:sample_start"], second["core:sample_count"], second["semcomm:attacked"]) == (500, 300, True)


def test_a_corrupted_or_missing_recording_is_refused(tmp_path):
    recorder = SigmfRecorder(tmp_path / "run", 1e6)
    recorder.write(ramp(0, 100), 0)
    recorder.close()
    with open(tmp_path / "run.sigmf-data", "r+b") as handle:
        handle.seek(16)
        handle.write(b"\x00\x00\x80\x7f")
    with pytest.raises(ValueError, match="not a valid SigMF recording"):
        load_recording(tmp_path / "run")
    with pytest.raises(ValueError, match="is missing"):
        load_recording(tmp_path / "other")


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)


def test_a_killed_recorder_leaves_a_valid_recording_of_what_it_flushed(tmp_path):
    done = run_python(f"""
        import os, numpy as np
        from semcomm.capture import SigmfRecorder
        recorder = SigmfRecorder({str(tmp_path / 'run')!r}, 1e6, checkpoint_s=0)
        for k in range(10):
            recorder.write(np.full(1000, k, np.complex64))
        os.kill(os.getpid(), 9)
        """)
    assert done.returncode == -9
    recording = load_recording(tmp_path / "run")
    assert recording.samples.size == 10_000 and "core:sha512" not in recording.meta["global"]
    assert recording.samples[-1] == 9


def test_a_full_disk_stops_the_recording_keeps_whole_samples_and_counts_the_rest(tmp_path):
    done = run_python(f"""
        import resource, signal, numpy as np
        from semcomm.capture import SigmfRecorder
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_004, 20_004))  # the "disk" holds 2500.5 samples
        recorder = SigmfRecorder({str(tmp_path / 'run')!r}, 1e6)
        for k in range(10):
            recorder.write(np.full(1000, k, np.complex64))
        recorder.close()
        print(recorder.samples, recorder.dropped_samples, recorder.failed)
        """)
    assert done.returncode == 0, done.stderr
    samples, dropped, failed = done.stdout.split(maxsplit=2)
    assert int(samples) + int(dropped) == 10_000 and int(samples) <= 2500 and "File too large" in failed
    recording = load_recording(tmp_path / "run")
    assert recording.samples.size == int(samples)
    assert recording.meta["global"]["semcomm:dropped_samples"] == int(dropped)
    assert json.loads((tmp_path / "run.sigmf-meta").read_text())["global"]["semcomm:recording_failed"]
