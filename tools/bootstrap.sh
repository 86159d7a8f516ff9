#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 machine for semcomm:
#   1. apt packages (GNU Radio, UHD, ZMQ, venv, Fashion-MNIST),
#   2. a virtualenv from /usr/bin/python3 with --system-site-packages (so `from gnuradio import ...` works),
#   3. the pinned pip packages of requirements.txt and semcomm itself (editable),
#   4. $VENV/bin/grcc and $VENV/bin/gnuradio-companion: GNU Radio's own tools run with the venv's python.
# Each step is skipped when already done, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(gnuradio python3-uhd python3-zmq python3-venv python3-matplotlib python3-pil dataset-fashion-mnist)
VENV=.venv
STAMP="$VENV/.semcomm-installed"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing_apt=()
for pkg in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing_apt+=("$pkg")
done
if [ ${#missing_apt[@]} -gt 0 ]; then
    echo "bootstrap: installing apt packages: ${missing_apt[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${APT_PACKAGES[@]}"
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "bootstrap: creating $VENV from /usr/bin/python3 (--system-site-packages)"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
fi

want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
have=$(cat "$STAMP" 2>/dev/null || true)
if [ "$want" != "$have" ]; then
    echo "bootstrap: installing pinned pip packages"
    "$VENV/bin/python" -m pip install -q -r requirements.txt
    "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e . \
        --config-settings editable_mode=compat
    # GRC and grcc find the module's blocks through GRC_BLOCKS_PATH.
    grep -q GRC_BLOCKS_PATH "$VENV/bin/activate" ||
        echo "export GRC_BLOCKS_PATH=\"$(pwd)/gr-semcomm/grc\${GRC_BLOCKS_PATH:+:\$GRC_BLOCKS_PATH}\"" >> "$VENV/bin/activate"
    echo "$want" > "$STAMP"
fi

# The system grcc and gnuradio-companion run /usr/bin/python3, which cannot import gnuradio.semcomm from the
# venv: wrappers in $VENV/bin run them with the venv's python and the semcomm blocks on GRC_BLOCKS_PATH (a
# python script, so `python $VENV/bin/grcc` works too). Outside the stamp check so that existing venvs get
# them; a wrapper is rewritten only when its text changes.
grc_wrapper() {  # the wrapper of the system script $1
    cat <<EOF
#!$(pwd)/$VENV/bin/python
"""$1 of the system's GNU Radio, run with this virtualenv's python (it imports gnuradio.semcomm) and the
semcomm blocks on GRC_BLOCKS_PATH. Written by tools/bootstrap.sh."""
import os
import runpy
import sys

BLOCKS = "$(pwd)/gr-semcomm/grc"
others = [path for path in os.environ.get("GRC_BLOCKS_PATH", "").split(os.pathsep) if path and path != BLOCKS]
os.environ["GRC_BLOCKS_PATH"] = os.pathsep.join([BLOCKS] + others)
sys.argv[0] = "$1"
runpy.run_path("$1", run_name="__main__")
EOF
}
for tool in grcc gnuradio-companion; do
    [ -x "/usr/bin/$tool" ] || continue
    wrapper="$VENV/bin/$tool"
    grc_wrapper "/usr/bin/$tool" > "$wrapper.new"
    chmod +x "$wrapper.new"
    if cmp -s "$wrapper.new" "$wrapper"; then
        rm "$wrapper.new"
    else
        mv "$wrapper.new" "$wrapper"
        echo "bootstrap: installed $wrapper"
    fi
done
