"""Small helpers shared across the package that need nothing heavy at import (no torch, onnx or GNU Radio): a
flowgraph block may use them as well as an exporter."""
from __future__ import annotations

import os
from importlib import metadata as importlib_metadata
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so that a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def package_version(package: str) -> str:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"
