"""Why a testbed run ended, what ``semcomm run`` exits with, and stop signals that end a run cleanly.

Every run's ``summary.json`` says why it ended (``ended``) and how (``ended_detail``: a ``message`` for a
person and the fields a script needs); ``semcomm run`` exits with :func:`exit_status`:

=================  ======  ==============================================================================
``ended``          exit    when
=================  ======  ==============================================================================
``completed``      0       every image has a result, or the source finished and nothing more arrived
``timed_out``      3       ``--timeout`` passed first (``timeout_s``)
``peer_died``      4       another role's process of ``run zmq`` ended first (``role``, ``returncode``,
                           ``signal``)
``write_failed``   5       a results file could not be written, e.g. a full disk (``write_errors``)
``interrupted``    128+n   signal n (SIGINT: 130, SIGTERM: 143) stopped it (``signal``)
=================  ======  ==============================================================================

A run stopped early still writes what it saw (per-frame lines and the summary). Exit status 2 stays
what it is for every ``semcomm`` command: the input (config, options, model files) was refused.

A stop signal must not raise inside the run (a ``KeyboardInterrupt`` while GNU Radio's threads run ends
in a C++ ``terminate``) nor kill it (SIGTERM's default): :class:`StopSignals` records it for the run's
loop, and :func:`signals_blocked` keeps it away from the threads a flowgraph starts.
"""
from __future__ import annotations

import signal
from contextlib import contextmanager
from dataclasses import dataclass, field

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: exit status of ``semcomm run`` per ``ended`` (``interrupted``: 128 + the signal's number)
EXIT_STATUS = {"completed": 0, "timed_out": 3, "peer_died": 4, "write_failed": 5}


@dataclass
class RunEnd:
    """Why a run ended: ``reason`` (an ``ended`` value of the module's table), ``message`` (for a person;
    empty when completed) and ``detail`` (for a script)."""
    reason: str
    message: str = ""
    detail: dict = field(default_factory=dict)

    def fields(self) -> dict:
        """The summary's ``ended`` and ``ended_detail``."""
        return {"ended": self.reason, "ended_detail": {"message": self.message, **self.detail} if self.message else {}}


COMPLETED = RunEnd("completed")


def interrupted(signum: int) -> RunEnd:
    name = signal.Signals(signum).name
    return RunEnd("interrupted", f"interrupted by {name}", {"signal": name})


def timed_out(timeout_s: float) -> RunEnd:
    return RunEnd("timed_out", f"timed out after {timeout_s:g} s (--timeout), before every image had a result",
                  {"timeout_s": timeout_s})


def write_failed(errors: list[str]) -> RunEnd:
    return RunEnd("write_failed", "; ".join(errors), {"write_errors": errors})


def peer_died(role: str, returncode: int, log) -> RunEnd:
    """The ``role`` process of ``run zmq`` ended with ``returncode`` (negative: killed by that signal) while
    the receiver still ran; ``log``: its log file."""
    name = signal_of(returncode)
    return RunEnd("peer_died", f"the {role} process {describe_exit(returncode)} during the run (log: {log})",
                  {"role": role, "returncode": returncode, "signal": name})


def exit_status(summary: dict) -> int:
    """What ``semcomm run`` exits with for a summary (its ``ended``, see the module's table)."""
    if summary["ended"] == "interrupted":
        return 128 + signal.Signals[summary["ended_detail"]["signal"]]
    return EXIT_STATUS[summary["ended"]]


def signal_of(returncode: int) -> str | None:
    """The signal that ended a process: killed by it (``returncode`` -n) or stopped on it and exited
    128 + n as ``semcomm run`` does; None otherwise."""
    number = -returncode if returncode < 0 else returncode - 128
    return signal.Signals(number).name if number in signal.valid_signals() else None


def describe_exit(returncode: int) -> str:
    """``was killed by SIGKILL``, ``was stopped by SIGTERM (exit code 143)`` or ``exited with code 1`` (a
    process's ``returncode``)."""
    name = signal_of(returncode)
    if returncode < 0:
        return f"was killed by {name or f'signal {-returncode}'}"
    return f"was stopped by {name} (exit code {returncode})" if name else f"exited with code {returncode}"


class StopSignals:
    """SIGINT and SIGTERM while the ``with`` block runs are recorded in ``signum`` (the first one), neither
    raised nor fatal, so that the run's loop stops its graph and writes its results; on exit the previous
    handlers are back. A stop signal the process ignores (e.g. SIGINT of a background job) stays ignored.
    Must be entered in the main thread (Python runs signal handlers there)."""

    def __init__(self):
        self.signum: int | None = None
        self._previous = {}

    def __enter__(self) -> StopSignals:
        for number in STOP_SIGNALS:
            if signal.getsignal(number) is not signal.SIG_IGN:
                self._previous[number] = signal.signal(number, self._record)
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)

    def _record(self, signum, frame) -> None:
        self.signum = self.signum or signum

    def end(self) -> RunEnd | None:
        """:func:`interrupted` once a stop signal came, else None."""
        return interrupted(self.signum) if self.signum else None


@contextmanager
def signals_blocked():
    """Block the stop signals in this thread while the ``with`` block runs: the threads it starts (GNU
    Radio's schedulers, ONNX Runtime's pools) inherit the block, so a stop signal never interrupts them
    (a ZMQ or UHD call interrupted there throws and aborts the process) but waits for this thread."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
