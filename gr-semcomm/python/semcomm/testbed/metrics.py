"""Link metrics of a testbed run: transmitter records joined with receiver records by sequence number.

Records are plain dicts keyed like the PDU metadata of :mod:`gnuradio.semcomm.pdus` (bit vectors as
uint8 arrays of 0/1, times in seconds since the epoch):

* transmitter: ``seq``, ``label``, ``t_tx``, ``tx_payload_bits``, ``tx_coded_bits`` (several records
  per ``seq`` may arrive, e.g. one from the source and one from each PHY block; they are merged);
* receiver: ``seq``, ``detected``, ``header_ok``, ``payload_crc_ok``, ``fec_ok``, ``reject``,
  ``coded_hard``, ``rx_payload_bits``, ``pred``, ``t_rx``, ``snr_est_db``, ``clamped``, ``sample`` (where the
  receiver detected the frame: the matched filter's output index of its first symbol; ``rx_sample`` in the
  frame lines) (any may be missing). A record without ``seq``, or whose ``seq`` was never sent (false detection, corrupt
  header), is counted in :meth:`LinkMetrics.summary` ``rejects`` but makes no frame line.

BER: pre-FEC compares ``coded_hard`` with ``tx_coded_bits``, post-FEC ``rx_payload_bits`` with
``tx_payload_bits``; each pair must cover the same bits (same length), otherwise the frame's BER is
null and the frame is counted in ``ber_length_mismatches``.

The transmitter log (:class:`TxLogWriter`, :class:`TxLogReader`) carries transmitter records from a
TX process to an RX process as JSON lines, bit vectors as ``{"nbits": n, "hex": packed bits}``.
Both it and the per-frame lines are written by :class:`JsonLinesWriter`: flushed line by line, so a run
cut short leaves every line written so far, and a write error (a full disk) is kept, not raised.
"""
from __future__ import annotations

import json
import os
from collections import Counter

import numpy as np

from ..phy.framing import Reject

BIT_KEYS = ("tx_payload_bits", "tx_coded_bits", "coded_hard", "rx_payload_bits")
NO_SEQ = "no_seq"            #: reject reason: a receiver record without a sequence number
UNKNOWN_SEQ = "unknown_seq"  #: reject reason: a sequence number that was never sent
DUPLICATE = "duplicate"      #: reject reason: a second record for an already received sequence number
#: (name, receiver key, transmitter key) of the two bit error rates
BER_PAIRS = (("pre_fec_ber", "coded_hard", "tx_coded_bits"), ("post_fec_ber", "rx_payload_bits", "tx_payload_bits"))


def cannot_write(path, err: OSError) -> str:
    """``cannot write <path>: <reason>`` of a failed write (e.g. ``No space left on device``)."""
    return f"cannot write {path}: {err.strerror or err}"


def _plain(value):
    """A JSON-serialisable Python value (numpy scalars -> Python)."""
    return value.item() if isinstance(value, np.generic) else value


def bit_errors(rx: dict, tx: dict) -> dict:
    """``{name: (errors, bits) | None}`` for :data:`BER_PAIRS`; ``"mismatch"`` when both vectors are
    present but differ in length, None when one is missing or empty."""
    counts = {}
    for name, rx_key, tx_key in BER_PAIRS:
        got, sent = rx.get(rx_key), tx.get(tx_key)
        if got is None or sent is None or len(sent) == 0:
            counts[name] = None
        elif len(got) != len(sent):
            counts[name] = "mismatch"
        else:
            counts[name] = int(np.count_nonzero((np.asarray(got) & 1) != (np.asarray(sent) & 1))), len(sent)
    return counts


class LinkMetrics:
    """Joins transmitter and receiver records and computes per-frame lines and a run summary."""

    def __init__(self):
        self.tx: dict[int, dict] = {}   #: merged transmitter record per seq
        self.rx: dict[int, dict] = {}   #: the receiver record kept per seq
        self.rejects = Counter()        #: reason -> count (explicit ``reject`` values and the above)
        self.header_failures = 0
        self.finalized = False
        self._emitted: set[int] = set()
        self._joined: set[int] = set()  #: seqs with both records whose line was not yet emitted

    def add_tx(self, record: dict) -> None:
        """Merge a transmitter record (must have ``seq``; later values of a key win)."""
        seq = int(record["seq"])
        self.tx.setdefault(seq, {}).update(record)
        self._join(seq)

    def add_rx(self, record: dict) -> None:
        """Add a receiver record. Per seq the first record is kept, except that a decoded result
        (with ``pred``) replaces a record without one; every other extra record counts as duplicate."""
        if record.get("reject") is not None:
            self.rejects[record["reject"]] += 1
        if record.get("header_ok") is False or record.get("reject") == Reject.HEADER_CRC:
            self.header_failures += 1
        if record.get("seq") is None:
            if record.get("reject") is None:
                self.rejects[NO_SEQ] += 1
            return
        seq = int(record["seq"])
        kept = self.rx.get(seq)
        if kept is None or (kept.get("pred") is None and record.get("pred") is not None):
            self.rx[seq] = record
            self._join(seq)
        else:
            self.rejects[DUPLICATE] += 1

    def _join(self, seq: int) -> None:
        """Mark ``seq``'s line ready once both sides are in and the transmitter's record holds every bit
        vector the receiver's record is compared with (the framer's log may arrive after the receiver's
        result: a line written before it would lack the BER)."""
        tx, rx = self.tx.get(seq), self.rx.get(seq)
        if tx is None or rx is None or seq in self._emitted:
            return
        if all(tx_key in tx for _, rx_key, tx_key in BER_PAIRS if rx.get(rx_key) is not None):
            self._joined.add(seq)

    def finalize(self) -> None:
        """End of run: transmitted frames without a receiver record become missed frames."""
        self.finalized = True

    def line(self, seq: int) -> dict:
        """The per-frame result of a transmitted ``seq`` (JSON-serialisable)."""
        tx, rx = self.tx[seq], self.rx.get(seq)
        label = _plain(tx.get("label"))
        if rx is None:
            return {"seq": seq, "detected": False, "header_ok": None, "payload_crc_ok": None, "pre_fec_ber": None,
                    "post_fec_ber": None, "label": label, "pred": None, "correct": False, "latency_ms": None,
                    "snr_est_db": None, "reject": None, "rx_sample": None}
        ber = {name: c[0] / c[1] if isinstance(c, tuple) else None for name, c in bit_errors(rx, tx).items()}
        pred = _plain(rx.get("pred"))
        timed = rx.get("t_rx") is not None and tx.get("t_tx") is not None
        latency = 1e3 * (rx["t_rx"] - tx["t_tx"]) if timed else None
        return {"seq": seq, "detected": bool(rx.get("detected", True)), "header_ok": bool(rx.get("header_ok", True)),
                "payload_crc_ok": _plain(rx.get("payload_crc_ok")), **ber,
                "label": label, "pred": pred, "correct": pred is not None and pred == label,
                "latency_ms": _plain(latency), "snr_est_db": _plain(rx.get("snr_est_db")),
                "reject": rx.get("reject"), "rx_sample": _plain(rx.get("sample"))}

    def lines(self) -> list[dict]:
        """Per-frame lines of every transmitted frame with a final result (received; after :meth:`finalize`
        all), by seq."""
        return [self.line(seq) for seq in sorted(self.tx if self.finalized else self.rx.keys() & self.tx.keys())]

    def new_lines(self) -> list[dict]:
        """Like :meth:`lines`, but each seq only once over all calls (for appending to a file as frames
        are decided): the seqs joined since the last call, and after :meth:`finalize` the missed ones.
        A frame's line is taken from its first receiver record; should a decoded result replace a
        record without one later (see :meth:`add_rx`), the summary counts the result, the line stays."""
        seqs = sorted(set(self.tx) - self._emitted if self.finalized else self._joined)
        self._emitted.update(seqs)
        self._joined.clear()
        return [self.line(seq) for seq in seqs]

    def summary(self, condition: str, elapsed_s: float) -> dict:
        """Run summary (JSON-serialisable).

        ``images``: frames sent; ``frames_detected`` / ``frames_missed`` (missed only after
        :meth:`finalize`; before, undecided frames are ``frames_pending``); ``accuracy``: correct /
        images sent (missed frames count as wrong), ``accuracy_received``: correct / frames decoded;
        ``ber_pre_fec`` / ``ber_post_fec``: bit-weighted over received frames; ``images_per_s``: frames
        decoded per second of ``elapsed_s``; latencies in ms (null when there are none).
        """
        lines = [self.line(seq) for seq in sorted(self.tx)]
        received = [line for seq, line in zip(sorted(self.tx), lines) if seq in self.rx]
        detected = sum(line["detected"] for line in received)
        decoded = [line for line in received if line["pred"] is not None]
        correct = sum(line["correct"] for line in lines)
        errors = {name: np.zeros(2, dtype=np.int64) for name, _, _ in BER_PAIRS}  # [bit errors, bits]
        mismatches = 0
        for seq in self.rx.keys() & self.tx.keys():
            for name, counted in bit_errors(self.rx[seq], self.tx[seq]).items():
                if isinstance(counted, tuple):
                    errors[name] += counted
                mismatches += counted == "mismatch"
        latencies = np.array([line["latency_ms"] for line in received if line["latency_ms"] is not None])
        rejects = Counter(self.rejects)
        unknown = sum(seq not in self.tx for seq in self.rx)
        if unknown:
            rejects[UNKNOWN_SEQ] += unknown
        missed = len(self.tx) - len(received) if self.finalized else 0
        return {
            "condition": condition, "images": len(self.tx), "frames_detected": detected, "frames_missed": missed,
            "frames_pending": len(self.tx) - len(received) - missed, "frames_decoded": len(decoded),
            "header_crc_failures": self.header_failures,
            "payload_crc_failures": sum(line["payload_crc_ok"] is False for line in received),
            "rejects": dict(sorted(rejects.items())),
            "ber_pre_fec": float(errors["pre_fec_ber"][0] / errors["pre_fec_ber"][1]) if errors["pre_fec_ber"][1]
            else None,
            "ber_post_fec": float(errors["post_fec_ber"][0] / errors["post_fec_ber"][1]) if errors["post_fec_ber"][1]
            else None,
            "ber_length_mismatches": mismatches,
            "accuracy": correct / len(self.tx) if self.tx else None,
            "accuracy_received": correct / len(decoded) if decoded else None,
            "images_per_s": len(decoded) / elapsed_s if elapsed_s > 0 else None,
            "latency_ms_mean": float(latencies.mean()) if latencies.size else None,
            "latency_ms_p95": float(np.percentile(latencies, 95)) if latencies.size else None,
            "elapsed_s": elapsed_s,
        }


# ------------------------------------------------------------------------------------ transmitter log
def encode_record(record: dict) -> str:
    """One JSON line; bit vectors (:data:`BIT_KEYS`) as ``{"nbits", "hex"}`` of the packed bits."""
    out = {}
    for key, value in record.items():
        if key in BIT_KEYS and value is not None:
            bits = np.asarray(value, dtype=np.uint8) & 1
            value = {"nbits": int(bits.size), "hex": np.packbits(bits).tobytes().hex()}
        out[key] = _plain(value)
    return json.dumps(out)


def decode_record(line: str) -> dict:
    """Inverse of :func:`encode_record` (bit vectors back to uint8 arrays of 0/1)."""
    record = json.loads(line)
    for key in BIT_KEYS:
        value = record.get(key)
        if isinstance(value, dict):
            packed = np.frombuffer(bytes.fromhex(value["hex"]), dtype=np.uint8)
            record[key] = np.unpackbits(packed)[:value["nbits"]]
    return record


class JsonLinesWriter:
    """Appends one JSON line per record to a file (``path``, emptied first unless ``append``), flushed at
    once: a reader in another process, or a run cut short, finds every line written so far.

    Opening the file may raise :class:`OSError`; a later write error (e.g. a full disk) does not: it is
    kept in ``error`` (the file and the reason), the partial line is left as it is, and the records after
    it are counted in ``lost`` (a flowgraph block never raises). ``written``: lines written."""

    def __init__(self, path, append: bool = False, encode=json.dumps):
        self.path, self.encode = os.fspath(path), encode
        self.error: str | None = None
        self.written = self.lost = 0
        if not append:
            open(self.path, "w").close()
        self._handle = open(self.path, "a", encoding="utf-8")  # O_APPEND: every line lands at the end

    def write(self, record: dict) -> None:
        if self.error is not None:
            self.lost += 1
            return
        try:
            self._handle.write(self.encode(record) + "\n")
            self._handle.flush()
            self.written += 1
        except OSError as err:
            self.error = cannot_write(self.path, err)
            self.lost += 1

    def close(self) -> None:
        try:
            self._handle.close()
        except OSError as err:  # the buffered rest of a line that failed: already reported in ``error``
            self.error = self.error or cannot_write(self.path, err)


class TxLogWriter(JsonLinesWriter):
    """The transmitter log: records as :func:`encode_record` lines, for a live RX process to read."""

    def __init__(self, path, append: bool = False):
        super().__init__(path, append, encode=encode_record)


class TxLogReader:
    """Reads a transmitter log incrementally while another process appends to it."""

    def __init__(self, path):
        self.path = os.fspath(path)
        self._offset = 0
        self.bad_lines = 0  #: complete lines that were not valid records (skipped)

    def read_new(self) -> list[dict]:
        """Records of the complete lines added since the last call ([] while the file does not exist)."""
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n") + 1
        self._offset += end
        records = []
        for line in filter(str.strip, data[:end].decode("utf-8", errors="replace").splitlines()):
            try:
                records.append(decode_record(line))
            except (ValueError, KeyError, TypeError, AttributeError):
                self.bad_lines += 1
        return records


def write_tx_log(path, records) -> None:
    """Write transmitter records to a new JSON-lines file (:class:`OSError` when that fails)."""
    writer = TxLogWriter(path)
    for record in records:
        writer.write(record)
    writer.close()
    if writer.error:
        raise OSError(writer.error)


def read_tx_log(path) -> list[dict]:
    """All records of a transmitter log file."""
    return TxLogReader(path).read_new()
