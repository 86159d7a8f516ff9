"""What the commands print and write: JSON (to a file and/or standard output), plain text tables, progress
lines on standard error."""
from __future__ import annotations

import contextlib
import json
import os
import sys


_JSON_STDOUT = None  #: while a ``--json`` command runs: the real standard output, kept for the JSON alone


@contextlib.contextmanager
def stdout_for_json_only():
    """Standard output (file descriptor 1, so GNU Radio's C++ log lines too) goes to standard error while the
    command runs; :func:`write_json` writes to the real standard output, which then holds only the JSON."""
    global _JSON_STDOUT
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    _JSON_STDOUT = os.fdopen(os.dup(saved), "w")
    try:
        yield
    finally:
        sys.stdout.flush()
        _JSON_STDOUT.close()
        _JSON_STDOUT = None
        os.dup2(saved, 1)
        os.close(saved)


def write_json(data, out: str | None, to_stdout: bool) -> None:
    text = json.dumps(data, indent=2)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as handle:
            handle.write(text + "\n")
    if to_stdout:
        print(text, file=_JSON_STDOUT or sys.stdout, flush=True)


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Plain text table; ``columns`` are (key, title, format)."""
    cells = [[title for _, title, _ in columns]]
    cells += [[format(row[key], fmt) if row.get(key) is not None else "-" for key, _, fmt in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(cell.rjust(width) for cell, width in zip(line, widths)) for line in cells)


def err(message: str) -> None:
    print(message, file=sys.stderr)
