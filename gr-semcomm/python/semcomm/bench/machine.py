"""The machine a benchmark ran on, recorded beside its figures (throughput depends on the CPU)."""
from __future__ import annotations

import platform

#: instruction-set flags of /proc/cpuinfo that the GEMM kernels of both runtimes dispatch on
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")


def cpu_info(cpuinfo_path: str = "/proc/cpuinfo") -> dict:
    """The CPU the figures were measured on: ``vendor``, ``model_name``, ``family``, ``model`` (the first
    processor's entries of /proc/cpuinfo) and ``isa`` (those of :data:`ISA_FLAGS` it has); off Linux
    only ``model_name`` from :func:`platform.processor`."""
    try:
        with open(cpuinfo_path) as handle:
            first = handle.read().split("\n\n")[0]
    except OSError:
        return {"model_name": platform.processor() or "unknown"}
    fields = dict(line.split(":", 1) for line in first.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    return {"vendor": fields.get("vendor_id"), "model_name": fields.get("model name"),
            "family": fields.get("cpu family"), "model": fields.get("model"),
            "isa": [flag for flag in ISA_FLAGS if flag in flags]}


def machine_record() -> dict:
    """``machine`` (the architecture, e.g. ``x86_64``) and ``cpu`` (:func:`cpu_info`) of a benchmark's JSON."""
    return {"machine": platform.machine(), "cpu": cpu_info()}
