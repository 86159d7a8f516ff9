"""GRC integration: the semcomm GNU Radio module imports, its .block.yml files match it, every
flowgraph compiles with the venv's grcc (the wrapper tools/bootstrap.sh installs, as from a shell), their
parameters' defaults are the testbed schema's, and the index/bits loopback flowgraph runs headless to the end."""
import ast
import glob
import os
import subprocess
import sys

import pytest
import yaml

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")

pytestmark = pytest.mark.gnuradio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRC_DIR = os.path.join(ROOT, "gr-semcomm", "grc")
BLOCK_FILES = sorted(glob.glob(os.path.join(GRC_DIR, "*.block.yml")))
FLOWGRAPHS = sorted(glob.glob(os.path.join(ROOT, "flowgraphs", "*.grc")))
LOOPBACK = os.path.join(ROOT, "flowgraphs", "index_bits_loopback.grc")
GRCC = os.path.join(ROOT, ".venv", "bin", "grcc")
needs_grcc = pytest.mark.skipif(not os.access(GRCC, os.X_OK),
                                reason=".venv/bin/grcc (installed by tools/bootstrap.sh) is missing: run make setup")


def grcc(flowgraph, out_dir):
    """Compile ``flowgraph`` into ``out_dir`` as from a shell, with the venv's ``grcc`` and no block path set: the
    wrapper runs GNU Radio's grcc with the venv's python and the semcomm blocks."""
    env = {key: value for key, value in os.environ.items() if key != "GRC_BLOCKS_PATH"}
    return subprocess.run([GRCC, "-o", str(out_dir), str(flowgraph)], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_gnuradio_semcomm_module_imports_from_this_tree():
    from gnuradio import semcomm
    assert os.path.realpath(semcomm.__file__).startswith(os.path.realpath(ROOT))
    assert {"index_to_bits", "bits_to_index"} <= set(semcomm.__all__)


@pytest.mark.parametrize("path", BLOCK_FILES, ids=os.path.basename)
def test_block_yml_matches_module(path):
    from gnuradio import semcomm
    with open(path) as handle:
        block = yaml.safe_load(handle)
    assert os.path.basename(path) == f"{block['id']}.block.yml"
    assert block["category"] == "[Semantic Comm]" and block["file_format"] == 1
    assert block["templates"]["imports"] == "from gnuradio import semcomm"
    name = block["id"].removeprefix("semcomm_")
    assert block["templates"]["make"].startswith(f"semcomm.{name}(") and hasattr(semcomm, name)
    assert block["documentation"].strip()


@needs_grcc
@pytest.mark.parametrize("flowgraph", FLOWGRAPHS, ids=os.path.basename)
def test_flowgraph_compiles(flowgraph, tmp_path):
    result = grcc(flowgraph, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert list(tmp_path.glob("*.py")), "grcc wrote no python file"


@pytest.mark.parametrize("flowgraph", [path for path in FLOWGRAPHS if path != LOOPBACK], ids=os.path.basename)
def test_flowgraph_parameters_default_to_the_testbed_schema(flowgraph):
    from semcomm.testbed.config import load_testbed_config
    from semcomm.testbed.parameters import FROM_CONFIG, OTHER, parameter_values

    with open(flowgraph) as handle:
        blocks = yaml.safe_load(handle)["blocks"]
    defaults = {block["name"]: ast.literal_eval(block["parameters"]["value"]) for block in blocks
                if block["id"] == "parameter"}
    assert set(defaults) <= set(FROM_CONFIG) | set(OTHER)
    expected = parameter_values(load_testbed_config({}), defaults)
    assert {name: defaults[name] for name in expected} == expected


@needs_grcc
def test_loopback_flowgraph_runs_headless_and_terminates(tmp_path):
    result = grcc(LOOPBACK, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    run = subprocess.run([sys.executable, str(tmp_path / "index_bits_loopback.py")], capture_output=True,
                         text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("((clamped . 0))") == 4, run.stdout  # num_pdus PDUs, none clamped
    assert "dropped" not in run.stdout + run.stderr


@needs_grcc
def test_grcc_refuses_an_invalid_alphabet(tmp_path):
    with open(LOOPBACK) as handle:
        flowgraph = yaml.safe_load(handle)
    for block in flowgraph["blocks"]:
        if block["name"] == "alphabet":
            block["parameters"]["value"] = "1"
    broken = tmp_path / "broken.grc"
    broken.write_text(yaml.safe_dump(flowgraph))
    result = grcc(broken, tmp_path)
    assert result.returncode != 0
    assert "Assertion" in result.stdout + result.stderr
