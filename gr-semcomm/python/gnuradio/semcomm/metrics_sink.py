"""Metrics sink (per-frame JSON lines and run summaries) and transmitter-log sink: message adapters of
:class:`semcomm.testbed.metrics.LinkMetrics` and :class:`semcomm.testbed.metrics.TxLogWriter`.

Both take transmitter records on port ``tx``: the metadata of any PDU (or a bare PMT dict), e.g. from
the image source, the framer's and the LDPC encoder's ``tx_log`` ports; several records per ``seq``
are merged. The metrics sink takes receiver records on port ``rx``: result PDUs of the semantic
decoder and reject PDUs (see :mod:`.pdus` for the keys). Only the :mod:`.pdus` keys are read.
"""
from __future__ import annotations

import json
import logging
import threading
import time

import pmt
from gnuradio import gr

from semcomm.testbed.metrics import JsonLinesWriter, LinkMetrics, TxLogReader, TxLogWriter

from .pdus import KEYS, PduDropped, meta_value, split_pdu

#: summaries are logged from the periodic thread too: GNU Radio's block logger is not safe to call
#: from a foreign thread while the flowgraph stops, Python's logging is
LOG = logging.getLogger("semcomm.metrics_sink")

TX = pmt.intern("tx")
RX = pmt.intern("rx")
#: how often (s) the metrics sink reads new lines of a transmitter log file at most
TX_LOG_POLL_S = 0.2


def record_of(msg) -> dict:
    """The :mod:`.pdus` metadata of a PDU or bare PMT dict as a Python dict (vectors as numpy arrays)."""
    if pmt.is_pair(msg) and pmt.is_uniform_vector(pmt.cdr(msg)):
        meta = split_pdu(msg)[0]
    elif pmt.is_dict(msg):
        meta = msg
    else:
        raise PduDropped("message is neither a PDU nor a metadata dict")
    return {name: meta_value(meta, name) for name, key in KEYS.items() if pmt.dict_has_key(meta, key)}


class _RecordSink(gr.basic_block):
    """Message ports ``tx`` (and ``rx`` when ``with_rx``) whose messages become records passed to
    ``add_tx`` / ``add_rx`` of the subclass; a bad message is dropped, counted in ``dropped`` and logged."""

    def __init__(self, block_name, with_rx):
        gr.basic_block.__init__(self, name=block_name, in_sig=None, out_sig=None)
        self.dropped = 0
        for port, handler in ((TX, self._on_tx), (RX, self._on_rx))[:2 if with_rx else 1]:
            self.message_port_register_in(port)
            self.set_msg_handler(port, handler)

    def _on_tx(self, msg):
        self._guarded(self.add_tx, msg)

    def _on_rx(self, msg):
        self._guarded(self.add_rx, msg)

    def _guarded(self, add, msg):
        try:
            add(record_of(msg))
        except Exception as err:  # noqa: BLE001 - a running block never raises; the reason is logged
            self.dropped += 1
            self.logger.warn(f"dropped message #{self.dropped}: {type(err).__name__}: {err}")


class metrics_sink(_RecordSink):
    """Joins transmitter and receiver records (see module docstring) into per-frame results.

    Parameters: ``jsonl_path`` (per-frame JSON lines, each written and flushed as soon as its frame has
    both records, those of frames never received at :meth:`finalize`; ``""``: none), ``summary_every``
    (seconds between logged summaries; 0: none),
    ``tx_log_path`` (read transmitter records from this JSON-lines file, written by a
    :class:`tx_log_sink` in another process, instead of port ``tx``).
    Attributes: ``metrics`` (:class:`LinkMetrics`), ``frames_seen`` (receiver messages),
    ``results_seen`` (sent images with a receiver record), ``tx_seen`` (transmitter records),
    ``write_error`` (why the lines file could not be written, e.g. a full disk; None while all is well:
    the block goes on joining records, the run's owner decides to stop).
    :meth:`finalize` runs at the latest when the flowgraph stops; records arriving later are ignored.
    """

    def __init__(self, jsonl_path="", summary_every=0.0, tx_log_path=""):
        _RecordSink.__init__(self, "semcomm_metrics_sink", with_rx=True)
        self.metrics = LinkMetrics()
        self.summary_every = float(summary_every)
        self.tx_log = TxLogReader(tx_log_path) if tx_log_path else None
        self.frames_seen = self.tx_seen = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread = None
        self._t_start = time.time()
        self._last_poll = 0.0
        self._lines = JsonLinesWriter(jsonl_path) if jsonl_path else None

    @property
    def write_error(self) -> str | None:
        return self._lines.error if self._lines else None

    @property
    def results_seen(self) -> int:
        with self._lock:
            self._poll_tx_log(force=False)
            return len(self.metrics.rx.keys() & self.metrics.tx.keys())

    def add_tx(self, record):
        if self.tx_log is None:
            with self._lock:
                if self.metrics.finalized:
                    return
                self.metrics.add_tx(record)
                self.tx_seen += 1
                self._write_lines()

    def add_rx(self, record):
        with self._lock:
            if self.metrics.finalized:
                return
            self.metrics.add_rx(record)
            self.frames_seen += 1
            self._poll_tx_log(force=False)
            self._write_lines()

    def _poll_tx_log(self, force):
        if self.tx_log is None or self.metrics.finalized or \
                (not force and time.monotonic() - self._last_poll < TX_LOG_POLL_S):
            return
        self._last_poll = time.monotonic()
        for record in self.tx_log.read_new():
            if record.get("seq") is not None:
                self.metrics.add_tx(record)
                self.tx_seen += 1
        self._write_lines()  # frames whose transmitter record came after the receiver's

    def _write_lines(self):
        lines = self.metrics.new_lines()
        if self._lines is not None:
            for line in lines:
                self._lines.write(line)

    def start(self):
        self._t_start = time.time()
        if self.summary_every > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._periodic, name="semcomm_metrics_sink", daemon=True)
            self._thread.start()
        return True

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.finalize()
        if self._lines is not None:
            self._lines.close()
        return True

    def _periodic(self):
        while not self._stop.wait(self.summary_every):
            with self._lock:
                self._poll_tx_log(force=True)
                LOG.info(json.dumps(self.summary("running")))

    def finalize(self):
        """Mark unreceived frames missed and write the remaining lines (once; later calls do nothing)."""
        with self._lock:
            if self.metrics.finalized:
                return
            self._poll_tx_log(force=True)
            self.metrics.finalize()
            self._write_lines()
            LOG.info(json.dumps(self.summary("final")))

    def summary(self, condition, elapsed_s=None) -> dict:
        """:meth:`LinkMetrics.summary`; ``elapsed_s`` defaults to the time since the flowgraph started."""
        with self._lock:
            self._poll_tx_log(force=True)
            return self.metrics.summary(condition, time.time() - self._t_start if elapsed_s is None else elapsed_s)


class tx_log_sink(_RecordSink):
    """Writes the transmitter records of port ``tx`` to a JSON-lines file (``path``), one line per
    message, flushed at once, for a :class:`metrics_sink` in the receiver process (``tx_log_path``).
    Records without ``seq`` are dropped and counted. Attributes ``written`` and ``write_error`` (as the
    metrics sink's)."""

    def __init__(self, path):
        _RecordSink.__init__(self, "semcomm_tx_log_sink", with_rx=False)
        self.writer = TxLogWriter(path)

    @property
    def written(self) -> int:
        return self.writer.written

    @property
    def write_error(self) -> str | None:
        return self.writer.error

    def add_tx(self, record):
        if record.get("seq") is None:
            raise PduDropped("transmitter record without seq")
        self.writer.write(record)

    def stop(self):
        self.writer.close()
        return True
