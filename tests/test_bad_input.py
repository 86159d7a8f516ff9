"""Bad input through the real `semcomm` command: a clear message and exit status 2, never a traceback, a figure
computed from nothing or a value read other than as the user meant it (issue 32, "Tracebacks and misleading
messages instead of clear errors", one test per item)."""
import os
import shutil
import subprocess

import pytest

from semcomm.cli import main
from semcomm.config import parse_overrides
from semcomm.export import ModelContractError, SemanticCodec
from semcomm.testbed import load_testbed_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = os.path.join(ROOT, "hw_configs", "loopback.yaml")
MODEL = os.path.join(ROOT, "models", "masked_vqvae_fim_at")


def refused(argv, capsys) -> str:
    """What the command printed on standard error; it must have ended with status 2 (returned, or argparse's
    exit)."""
    try:
        status = main(argv)
    except SystemExit as exit_:
        status = exit_.code
    assert status == 2
    return capsys.readouterr().err


def run_loopback_args(tmp_path, *sets):
    return ["run", "loopback", "--config", LOOPBACK, "--out", str(tmp_path / "run"),
            *[arg for value in sets for arg in ("--set", value)]]


# ------------------------------------------------------------------------------------- config values
def test_an_integer_field_refuses_a_float(tmp_path, capsys):
    err = refused(run_loopback_args(tmp_path, "modem.sps=4.0"), capsys)
    assert "modem/sps: 4.0 is not an integer (write 4); allowed: integer with 2 <= x <= 16" in err


def test_exponent_numbers_are_numbers_in_overrides_and_files(tmp_path, capsys):
    err = refused(run_loopback_args(tmp_path, "channel.snr_db=1e9"), capsys)
    assert "channel/snr_db: 1000000000.0 is greater than the maximum of 60" in err
    assert parse_overrides(["channel.snr_db=1e1", "channel.cfo=-2e-3", "name='1e1'"]) == \
        {"channel.snr_db": 10.0, "channel.cfo": -0.002, "name": "1e1"}
    config = tmp_path / "exponent.yaml"
    config.write_text("channel:\n  snr_db: 1e1\n  cfo: 1.0e-3\n")
    channel = load_testbed_config(config)["channel"]
    assert (channel["snr_db"], channel["cfo"]) == (10.0, 0.001)
    err = refused(run_loopback_args(tmp_path, "channel.timing_offset=.inf", "channel.snr_db=.nan"), capsys)
    assert "channel/snr_db: nan is not a finite number" in err
    assert "channel/timing_offset: inf is not a finite number; allowed: number with 0 <= x" in err


def test_a_binary_config_file_is_named(tmp_path, capsys):
    binary = tmp_path / "image.yaml"
    binary.write_bytes(bytes(range(128, 256)) * 4)
    err = refused(["run", "loopback", "--config", str(binary), "--out", str(tmp_path / "run")], capsys)
    assert f"testbed config '{binary}' is not UTF-8 text" in err


# ------------------------------------------------------------------------------------------- models
@pytest.fixture
def truncated_model(tmp_path):
    """A copy of the default model whose decoder file lost its second half."""
    prefix = tmp_path / "models" / "truncated"
    prefix.parent.mkdir()
    for suffix in (".encoder.onnx", ".decoder.onnx", ".card.json"):
        shutil.copyfile(MODEL + suffix, str(prefix) + suffix)
    decoder = tmp_path / "models" / "truncated.decoder.onnx"
    decoder.write_bytes(decoder.read_bytes()[:decoder.stat().st_size // 2])
    return prefix


def test_a_truncated_decoder_is_refused_by_its_card_hash_before_loading(truncated_model, tmp_path, capsys):
    pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
    err = refused(run_loopback_args(tmp_path, f"model={truncated_model}", "data.num_images=1"), capsys)
    assert "card files.decoder.sha256" in err and f"does not match {truncated_model}.decoder.onnx" in err
    assert "Protobuf" not in err


def test_a_truncated_decoder_without_a_card_is_named(truncated_model):
    os.remove(f"{truncated_model}.card.json")
    with pytest.raises(ModelContractError, match=f"decoder model file {truncated_model}.decoder.onnx is not a "
                                                 "readable ONNX model"):
        SemanticCodec.from_prefix(truncated_model)


@pytest.mark.parametrize("model, kind", [("jscc", "an analog codec"), ("jpeg_ldpc", "the JPEG baseline")])
def test_a_model_without_indices_is_refused_by_the_testbed(model, kind, tmp_path, capsys):
    pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
    prefix = os.path.join(ROOT, "models", model)
    err = refused(run_loopback_args(tmp_path, f"model={prefix}", "data.num_images=1"), capsys)
    assert f"{prefix} is {kind}" in err and "the testbed carries a digital codec's indices" in err


# ------------------------------------------------------------------------------------- output paths
@pytest.fixture
def read_only_dir(tmp_path):
    """A directory no one may create entries in: mode 555, or for root (whom modes do not stop) a read-only
    tmpfs mounted there."""
    directory = tmp_path / "read_only"
    directory.mkdir()
    if os.geteuid() != 0:
        directory.chmod(0o555)
        yield directory
        directory.chmod(0o755)
        return
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(directory)],
                           capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"root ignores directory modes and a read-only tmpfs cannot be mounted: {mount.stderr}")
    yield directory
    subprocess.run(["umount", str(directory)], check=True)


#: every command with an output path, the path's kind and any other arguments it requires
OUTPUT_OPTIONS = [
    (["ber", "--ebn0", "0"], "--out", "file"), (["ber", "--ebn0", "0"], "--plot", "file"),
    (["bench", "ldpc"], "--out", "file"), (["bench", "qam"], "--out", "file"), (["bench", "onnx"], "--out", "file"),
    (["bench", "flowgraph"], "--out", "file"), (["phy-loopback"], "--out", "directory"),
    (["demo"], "--out", "directory"), (["run", "loopback"], "--out", "directory"),
    (["agreement"], "--out", "directory"), (["export", "config.yaml"], "--out", "directory"),
    (["eval", "report"], "--out", "directory"), (["eval", "overhead"], "--out", "directory"),
]


@pytest.mark.parametrize("argv, option, kind", OUTPUT_OPTIONS)
def test_an_output_path_that_cannot_be_written_is_refused(argv, option, kind, read_only_dir, tmp_path, capsys):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    wrong_kind = str(a_file) if kind == "directory" else str(tmp_path)
    expected = f"{a_file} is a file, not a directory" if kind == "directory" else f"{tmp_path} is a directory"
    assert expected in refused([*argv, option, wrong_kind], capsys)
    below_a_file = str(a_file / "out")
    assert f"cannot write {below_a_file}: {a_file} is a file" in refused([*argv, option, below_a_file], capsys)
    read_only = str(read_only_dir / "out")
    assert f"directory {read_only_dir} is not writable" in refused([*argv, option, read_only], capsys)


# ------------------------------------------------------------------------------ ber and bench options
@pytest.mark.parametrize("argv, message", [
    (["ber", "--ebn0", "0:inf"], "argument --ebn0: invalid dB range '0:inf': START, STOP and STEP must be finite"),
    (["ber", "--ebn0", "nan:10"], "invalid dB range 'nan:10': START, STOP and STEP must be finite"),
    (["ber", "--esn0", "0:70:10"], "invalid dB range '0:70:10': 70.0 is greater than the maximum of 60"),
    (["ber", "--ebn0", "0", "--max-bits", "0"], "argument --max-bits: 0 is less than the minimum of 1"),
    (["ber", "--ebn0", "0", "--max-errors", "-1"], "argument --max-errors: -1 is less than the minimum of 1"),
    (["ber", "--ebn0", "0", "--fading-block", "0"], "argument --fading-block: 0 is less than the minimum of 1"),
    (["ber", "--ebn0", "0", "--k-factor", "inf"], "argument --k-factor: inf is not a finite number"),
    (["ber", "--ebn0", "0", "--iterations", "0"], "argument --iterations: 0 is less than the minimum of 1"),
    (["ber", "--ebn0", "0", "--seed", "-1"], "argument --seed: -1 is less than the minimum of 0"),
    (["phy-loopback", "--esn0", "nan"], "argument --esn0: invalid dB range 'nan'"),
    (["phy-loopback", "--frames", "0"], "argument --frames: 0 is less than the minimum of 1"),
    (["phy-loopback", "--payload", "0"], "argument --payload: 0 is less than the minimum of 1"),
    (["bench", "ldpc", "--repeats", "0"], "argument --repeats: 0 is less than the minimum of 1"),
    (["bench", "ldpc", "--frames", "0"], "argument --frames: 0 is less than the minimum of 1"),
    (["bench", "ldpc", "--grfec-frames", "0"], "argument --grfec-frames: 0 is less than the minimum of 1"),
    (["bench", "ldpc", "--target-bler", "2"],
     "argument --target-bler: 2.0 is greater than or equal to the maximum of 1; allowed: number with 0 < x < 1"),
    (["bench", "ldpc", "--target-bler", "0"], "argument --target-bler: 0.0 is less than or equal to the minimum"),
    (["bench", "ldpc", "--iterations", "10", "0"], "argument --iterations: 0 is less than the minimum of 1"),
    (["bench", "ldpc", "--ebn0", "nan"], "argument --ebn0: nan is not a finite number"),
    (["bench", "qam", "--symbols", "0"], "argument --symbols: 0 is less than the minimum of 1"),
    (["bench", "qam", "--repeats", "1.5"], "argument --repeats: '1.5' is not an integer; allowed: integer with 1 <= x"),
    (["bench", "onnx", "--batch-sizes", "0"], "argument --batch-sizes: 0 is less than the minimum of 1"),
    (["bench", "onnx", "--threads", "0"], "argument --threads: 0 is less than the minimum of 1"),
    (["bench", "onnx", "--seconds", "-1"], "argument --seconds: -1.0 is less than the minimum of 0"),
    (["bench", "flowgraph", "--images", "0"], "argument --images: 0 is less than the minimum of 1"),
])
def test_a_numeric_option_out_of_range_is_refused_while_parsing(argv, message, capsys):
    assert message in refused(argv, capsys)


@pytest.mark.parametrize("argv, message", [
    (["run", "loopback", "--source", "sigmf:x"], "use it with the rx role, not loopback"),
    (["run", "rx", "--source", "file:x"], "--source must be sigmf:PATH, got 'file:x'"),
    (["run", "rx", "--source", "sigmf:/nonexistent/run.channel"], "no SigMF recording at /nonexistent/run.channel"),
    (["capture", "--out", "/tmp/semcomm-capture-refused", "--taps", "rx"], "records attacker, channel, tx, not rx"),
    (["capture", "--out", "/tmp/semcomm-capture-refused", "--taps", "air"], "capture/taps"),
])
def test_a_bad_capture_or_replay_is_refused_before_anything_runs(argv, message, capsys):
    assert message in refused(argv, capsys)
