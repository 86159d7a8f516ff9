"""The `semcomm` entry point as a user runs it (subprocess of the installed console script)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from semcomm.sim.ber import parse_db_range

SEMCOMM = os.path.join(os.path.dirname(sys.executable), "semcomm")


def run(*args, check=True):
    result = subprocess.run([SEMCOMM, *args], capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_db_ranges():
    np.testing.assert_allclose(parse_db_range("0:10"), np.arange(11))
    np.testing.assert_allclose(parse_db_range("0:1:0.25"), [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(parse_db_range("-3:3:3"), [-3, 0, 3])
    np.testing.assert_allclose(parse_db_range("5"), [5])
    for bad, message in [("10:0", "below START"), ("0:10:0", "STEP must be > 0"), ("a:b", "numbers"),
                         ("0:1:2:3", "START:STOP"), ("0:1e6:0.001", "at most")]:
        with pytest.raises(ValueError, match=message):
            parse_db_range(bad)


@pytest.mark.parametrize("argv", [[], ["ber"], ["bench"], ["bench", "ldpc"], ["bench", "qam"], ["demo"], ["run"], ["phy-loopback"], ["codes"],
                                  ["eval", "probe"]])
def test_help(argv):
    assert "usage: semcomm" in run(*argv, "--help").stdout


def test_ber_json():
    points = json.loads(run("ber", "--mod", "16qam", "--ebn0", "0:4:2", "--json", "--max-bits", "40000",
                            "--quiet").stdout)
    assert [p["ebn0_db"] for p in points] == [0, 2, 4]
    for p in points:
        assert {"ebn0_db", "esn0_db", "ber", "bler", "bits", "errors"} <= set(p)
        assert p["esn0_db"] == pytest.approx(p["ebn0_db"] + 10 * np.log10(4))
    assert points[0]["ber"] > points[-1]["ber"] > 0


def test_coded_ber_json_uses_code_rate():
    points = json.loads(run("ber", "--mod", "qpsk", "--code", "wifi648_r12", "--esn0", "3", "--json",
                            "--max-bits", "20000", "--quiet").stdout)
    assert points[0]["ebn0_db"] == pytest.approx(3.0)  # Es/N0 = Eb/N0 + 10 log10(2 * 1/2)
    assert points[0]["ber"] < 1e-3


@pytest.mark.parametrize("argv, message", [
    (["ber", "--mod", "16qam", "--ebn0", "10:0"], "STOP 0.0 is below START 10.0"),
    (["ber", "--mod", "16qam", "--code", "turbo", "--ebn0", "0"], "unknown LDPC code 'turbo'"),
    (["ber", "--mod", "16qam"], "exactly one of --ebn0"),
    (["eval", "probe", "--model", "models/masked_vqvae_fim_at", "--epochs", "0"], "--epochs must be >= 1"),
    (["eval", "probe", "--model", "models/masked_vqvae_fim_at", "--train-images", "0"],
     "--train-images must be >= 1, got 0"),
    (["eval", "probe", "--model", "models/no_such_model"], "no_such_model"),
])
def test_bad_arguments_exit_2_with_a_named_reason(argv, message):
    result = run(*argv, check=False)
    assert result.returncode == 2 and message in result.stderr


def test_unknown_modulation_is_refused_by_argparse():
    result = run("ber", "--mod", "8psk", "--ebn0", "0", check=False)
    assert result.returncode == 2 and "invalid choice: '8psk'" in result.stderr


def test_bench_qam_json():
    result = json.loads(run("bench", "qam", "--json", "--symbols", "20000", "--repeats", "1").stdout)
    assert result["coded_mbps"] > 0 and {r["modulation"] for r in result["results"]} == {"bpsk", "qpsk", "16qam", "64qam"}
    assert result["machine"] and result["cpu"]["model_name"]


def test_bench_ldpc_json(tmp_path):
    out = tmp_path / "ldpc.json"
    result = json.loads(run("bench", "ldpc", "--json", "--code", "wifi648_r12", "--ebn0", "3", "--frames", "64",
                            "--grfec-frames", "8", "--repeats", "1", "--iterations", "5", "--out", str(out)).stdout)
    assert result["coded_mbps"] > 0 and "grfec_coded_mbps" in result
    pypi = result["results"][0]["pypi_ldpc"]  # the ldpc package's decoder on the same frames, side by side
    assert pypi["available"] and pypi["coded_mbps"] > 0 and pypi["frames"] == 64 and result["ratio_pypi_ldpc"] > 0
    assert result["machine"] and result["cpu"]["model_name"]
    assert json.loads(out.read_text()) == result


def test_phy_loopback_writes_json(tmp_path):
    run("phy-loopback", "--esn0", "10", "--frames", "4", "--payload", "64", "--out", str(tmp_path))
    data = json.loads((tmp_path / "phy_loopback.json").read_text())
    assert data["points"][0]["frame_error_rate"] == 0.0


def test_json_output_is_only_json_even_when_gnu_radio_logs():
    """`--json`: GNU Radio's own log lines (the matched filter's buffer size, ...) go to stderr, stdout holds the
    JSON object alone (`semcomm bench flowgraph --json | jq` works)."""
    pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
    done = run("bench", "flowgraph", "--images", "4", "--json")
    result = json.loads(done.stdout)
    assert result["images"] == 4 and result["losses"] == 0
    assert "set_min_output_buffer" in done.stderr
    stages = result["rx_stages"]  # the per-stage profile: every stage timed, the core's rate
    assert stages["frames"] == 4 and set(stages["stage_seconds"]) >= {"sync", "ldpc+deframe", "onnx decode"}
    assert stages["core_samples_per_s"] > 0 and all(v >= 0 for v in stages["stage_seconds"].values())
