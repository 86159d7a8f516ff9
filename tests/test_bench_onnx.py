"""`semcomm bench onnx`: a quick run returns its keys and positive figures (no speed assertion:
the speed target is measured by the benchmark script, not by tests)."""
import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from semcomm.bench import onnx as bench_onnx  # noqa: E402
from semcomm.bench.machine import cpu_info  # noqa: E402
from semcomm.export import export_codec  # noqa: E402
from semcomm.nn.masked_vqvae import CodecConfig, MaskedVQVAE  # noqa: E402

TINY = dict(dim=16, decoder_dim=16, encoder_depth=1, decoder_depth=1, heads=2, code_dim=8, codebook_size=32,
            fim_layers=[0])
QUICK = dict(batch_sizes=(1, 4), repeats=1, seconds_per_case=0.0, min_iterations=1, warmup=0, threads=1)


def check_result(result, batches=(1, 4)):
    assert result["benchmark"] == "onnx"
    assert result["threads"] == 1
    assert result["providers"] == ["CPUExecutionProvider"]
    assert result["onnx_settings"]["intra_op_num_threads"] == result["torch_settings"]["num_threads"] == 1
    assert [row["batch"] for row in result["results"]] == list(batches)
    for row in result["results"]:
        for key in ("torch_images_per_s", "onnx_images_per_s", "ratio", "onnx_wrapper_images_per_s"):
            assert row[key] > 0, key
        assert row["ratio"] == pytest.approx(row["onnx_images_per_s"] / row["torch_images_per_s"])
        assert row["max_abs_output_diff"] < 1e-4  # the same network and weights on both sides
        assert set(row["minor_page_faults_per_call"]) == {"torch", "onnx"}
        b = row["batch"]
        assert result[f"ratio_b{b}"] == row["ratio"]
        assert result[f"torch_images_per_s_b{b}"] == row["torch_images_per_s"]
        assert result[f"onnx_images_per_s_b{b}"] == row["onnx_images_per_s"]
    assert isinstance(result["meets_target"], bool) and result["verdict"]
    assert {"torch", "onnxruntime", "numpy", "python"} <= set(result["versions"])
    assert result["cpu"]["model_name"] and set(result["torch_backends"]) == {"mkl", "mkldnn"}
    json.dumps(result)  # serialisable as printed by --json


def test_cpu_info_reads_the_first_processor(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    processor = ("processor\t: {n}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n"
                 "model name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu avx2 fma avx512f amx_tile\n")
    cpuinfo.write_text(processor.format(n=0) + "\n" + processor.format(n=1).replace("avx512f ", ""))
    assert cpu_info(str(cpuinfo)) == {
        "vendor": "GenuineIntel", "model_name": "Intel(R) Xeon(R) Platinum 8480+", "family": "6", "model": "143",
        "isa": ["avx2", "fma", "avx512f", "amx_tile"]}
    assert set(cpu_info(str(tmp_path / "absent"))) == {"model_name"}


def test_page_faults_per_call_counts_fresh_memory():
    import numpy as np

    fresh = bench_onnx.page_faults_per_call(lambda: np.ones(1 << 22).sum())  # 32 MB mapped afresh each call
    kept = np.ones(1 << 22)  # written: its pages are mapped now
    reused = bench_onnx.page_faults_per_call(kept.sum)
    assert fresh > 10 and reused < fresh / 4  # > 10: 16 faults at least even with 2 MB transparent huge pages


def test_quick_run_default_architecture_override():
    result = bench_onnx.run(model_config=TINY, **QUICK)
    check_result(result)
    assert result["uses_snr"] is True
    assert result["onnx_files"].startswith("temporary export")


def test_model_prefix_with_checkpoint_times_the_shipped_files(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    model = MaskedVQVAE(CodecConfig(**TINY)).eval()
    export_codec(model, tmp_path, "tiny", dataset="fashion_mnist", scheme="masked_vqvae_fim_at",
                 classes=[str(i) for i in range(10)])
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"model": model.state_dict()}, checkpoint)
    prefix = str(tmp_path / "tiny")
    result = bench_onnx.run(prefix, checkpoint=str(checkpoint), **QUICK)
    check_result(result)
    assert result["onnx_files"] == "shipped"
    # without the checkpoint: the weights recovered from the ONNX files, which are timed as they are
    result = bench_onnx.run(prefix, **QUICK)
    check_result(result)
    assert result["onnx_files"] == "shipped" and result["weights"].startswith("recovered")
    assert result["config"]["dim"] == TINY["dim"]
    other = MaskedVQVAE(CodecConfig(**TINY)).eval()  # other weights: exported to a temporary directory
    torch.save({"model": other.state_dict()}, checkpoint)
    assert bench_onnx.run(prefix, checkpoint=str(checkpoint), **QUICK)["onnx_files"].startswith("temporary export")


def test_cli_json(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(4)
    model = MaskedVQVAE(CodecConfig(**TINY)).eval()
    export_codec(model, tmp_path, "tiny", dataset="fashion_mnist", scheme="masked_vqvae_fim_at",
                 classes=[str(i) for i in range(10)])
    semcomm = os.path.join(os.path.dirname(sys.executable), "semcomm")
    out = tmp_path / "bench.json"
    run = subprocess.run([semcomm, "bench", "onnx", "--model", str(tmp_path / "tiny"), "--batch-sizes", "1", "4",
                          "--threads", "1", "--repeats", "1", "--seconds", "0", "--json", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert json.loads(out.read_text())["results"] == result["results"]
    assert [row["batch"] for row in result["results"]] == [1, 4]
    assert result["ratio_b1"] > 0 and result["ratio_b4"] > 0
    table = subprocess.run([semcomm, "bench", "onnx", "--model", str(tmp_path / "tiny"), "--batch-sizes", "2",
                            "--threads", "1", "--repeats", "1", "--seconds", "0"],
                           capture_output=True, text=True, timeout=300)
    assert table.returncode == 0, table.stderr
    assert "onnxruntime img/s" in table.stdout and "ratio" in table.stdout


def test_bad_model_prefix_is_a_named_error(tmp_path):
    with pytest.raises(ValueError, match="no model card"):
        bench_onnx.run(str(tmp_path / "missing"), **QUICK)
