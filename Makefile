# The two commands: `make demo` (main job) and `make test` (whole suite).
# Both set up a fresh Debian 12 machine first (tools/bootstrap.sh, idempotent).
VENV     := .venv
BIN      := $(VENV)/bin
export GRC_BLOCKS_PATH := $(CURDIR)/gr-semcomm/grc
export PYTHONUNBUFFERED := 1

.PHONY: setup demo test bench grc clean

setup:
	@bash tools/bootstrap.sh

demo: setup
	$(BIN)/semcomm demo --config hw_configs/loopback.yaml --out results/demo

test: setup
	$(BIN)/python -m pytest -q tests

bench: setup
	$(BIN)/semcomm bench ldpc --json --out results/bench/ldpc.json
	$(BIN)/semcomm bench qam --json --out results/bench/qam.json

# Open GNU Radio Companion with the semcomm blocks on its block path (the wrapper tools/bootstrap.sh installs).
grc: setup
	$(BIN)/gnuradio-companion flowgraphs/*.grc

clean:
	rm -rf results .pytest_cache build *.egg-info
