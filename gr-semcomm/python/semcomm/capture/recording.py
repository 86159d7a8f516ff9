"""SigMF recordings of complex64 IQ streams, written while a flowgraph runs (no GNU Radio here).

A recording is ``<base>.sigmf-data`` (``cf32_le`` samples) and ``<base>.sigmf-meta`` (JSON, SigMF 1.2):

* **global**: datatype, sample rate, hardware, description, recorder (semcomm's version), the
  ``semcomm`` extension with the testbed config (``semcomm:config``), the tap (``semcomm:tap``) and the link's
  model id; ``core:sha512`` of the data file once the recording is closed.
* **captures**: one segment per contiguous run of stream samples: ``core:sample_start`` (in the file),
  ``core:global_index`` (the sample's index in the stream: a jump means samples were not recorded, e.g. a
  sender that dropped them), ``core:frequency``, ``core:datetime`` (UTC, when the segment began).
* **annotations**: one per frame (:func:`annotate_frames`): ``core:sample_start`` / ``core:sample_count`` in the
  file, ``core:label`` (the true class name or index) and ``semcomm:`` fields: ``seq``, ``model_id``,
  ``detected``, ``header_ok``, ``payload_crc_ok``, ``label``, ``pred`` (the decoded label), ``correct``,
  ``attacked``.

Robustness: memory is bounded (samples go to the file as they come; the hash is updated incrementally, at
the speed of sha512, far above a radio's byte rate); the metadata is rewritten atomically (a temporary file
renamed over it) when a segment begins and every ``checkpoint_s`` seconds, without ``core:sha512`` until
:meth:`SigmfRecorder.close`, so a killed process leaves a valid recording of what was flushed. When the disk
is full (any ``OSError`` on a write) the data file is cut back to its last whole sample, recording stops,
later samples are counted in ``dropped_samples`` and the reason is kept in ``failed``; the flowgraph goes on.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..util import package_version, write_atomic

DATATYPE = "cf32_le"  #: complex64 little-endian
NAMESPACE = "semcomm"  #: the extension namespace of semcomm's fields
SAMPLE = np.dtype("<c8")
SIGMF_VERSION = "1.2.0"
FRAME_FIELDS = ("seq", "model_id", "detected", "header_ok", "payload_crc_ok", "label", "pred", "correct",
                "attacked")


def _base(path) -> Path:
    """``path`` without a ``.sigmf-data`` / ``.sigmf-meta`` / ``.sigmf`` suffix."""
    path = Path(path)
    return path.with_suffix("") if path.suffix in (".sigmf-data", ".sigmf-meta", ".sigmf") else path


def _file(base: Path, kind: str) -> Path:
    """``<base>.sigmf-<kind>`` (``data`` or ``meta``; a dot in the base name stays)."""
    return base.parent / f"{base.name}.sigmf-{kind}"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SigmfRecorder:
    """Writes a SigMF recording at ``path`` (module doc). ``write(samples, index)``: ``index`` is the stream
    index of ``samples[0]`` (None: continuing the last write). ``extra``: more global fields (``semcomm:``
    keys, e.g. the tap and the testbed config)."""

    def __init__(self, path, sample_rate: float, center_freq: float | None = None, hardware: str = "",
                 description: str = "", extra: dict | None = None, checkpoint_s: float = 1.0):
        if not sample_rate > 0:
            raise ValueError(f"sample_rate must be > 0 Hz, got {sample_rate!r}")
        self.base = _base(path)
        self.base.parent.mkdir(parents=True, exist_ok=True)
        self.data_path, self.meta_path = _file(self.base, "data"), _file(self.base, "meta")
        self.center_freq, self.checkpoint_s = center_freq, float(checkpoint_s)
        self.global_info = {"core:datatype": DATATYPE, "core:sample_rate": float(sample_rate),
                            "core:version": SIGMF_VERSION, "core:recorder": f"semcomm {package_version('semcomm')}",
                            "core:extensions": [{"name": NAMESPACE, "version": "1.0.0", "optional": True}],
                            **({"core:hw": hardware} if hardware else {}),
                            **({"core:description": description} if description else {}), **(extra or {})}
        self.captures: list[dict] = []
        self.samples = self.dropped_samples = 0
        self.failed: str | None = None
        self._hash = hashlib.sha512()
        self._next_index: int | None = None
        self._data = open(self.data_path, "wb")
        self._last_checkpoint = time.monotonic()
        self._write_meta()

    def write(self, samples, index: int | None = None) -> None:
        samples = np.ascontiguousarray(samples, dtype=SAMPLE)
        if self._data is None:  # failed or closed
            self.dropped_samples += samples.size
            return
        index = (self._next_index or 0) if index is None else int(index)
        if index != self._next_index:
            self._begin_segment(index)
        data = samples.tobytes()
        try:
            self._data.write(data)
        except OSError as err:
            self._fail(err, samples.size)
            return
        self._hash.update(data)
        self.samples += samples.size
        self._next_index = index + samples.size
        if time.monotonic() - self._last_checkpoint >= self.checkpoint_s:
            self.checkpoint()

    def _begin_segment(self, index: int) -> None:
        capture = {"core:sample_start": self.samples, "core:global_index": index, "core:datetime": _now()}
        if self.center_freq is not None:
            capture["core:frequency"] = float(self.center_freq)
        self.captures.append(capture)
        self.checkpoint()

    def _fail(self, err: OSError, count: int) -> None:
        """A write or flush failed (full disk, ...): keep the whole samples that reached the file, stop recording,
        count the rest in ``dropped_samples``."""
        self.failed = f"{type(err).__name__}: {err}"
        try:
            self._data.close()  # flushes what it can; the rest of its buffer is lost
        except OSError:
            pass
        self._data = None
        kept = self.data_path.stat().st_size // SAMPLE.itemsize
        os.truncate(self.data_path, kept * SAMPLE.itemsize)
        self.dropped_samples += count + self.samples - kept
        self.samples = kept
        self.captures = [capture for capture in self.captures if capture["core:sample_start"] < kept] or \
            self.captures[:1]
        self._hash = hashlib.sha512()
        with open(self.data_path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                self._hash.update(block)
        self._write_meta()

    def checkpoint(self) -> None:
        """Flush the data and rewrite the metadata (no hash yet): what a killed process leaves."""
        if self._data is not None:
            try:
                self._data.flush()
            except OSError as err:
                self._fail(err, 0)
                return
        self._last_checkpoint = time.monotonic()
        self._write_meta()

    def close(self) -> None:
        """Flush, and write the final metadata with ``core:sha512``."""
        if self._data is not None:
            try:
                self._data.close()
                self._data = None
            except OSError as err:
                self._fail(err, 0)
        self._write_meta(sha512=self._hash.hexdigest())

    def _write_meta(self, sha512: str | None = None) -> None:
        info = {**self.global_info, **({"core:sha512": sha512} if sha512 else {})}
        if self.failed:
            info[f"{NAMESPACE}:recording_failed"] = self.failed
            info[f"{NAMESPACE}:dropped_samples"] = self.dropped_samples
        captures = self.captures or [{"core:sample_start": 0, "core:global_index": 0}]
        try:
            _write_json_atomically(self.meta_path, {"global": info, "captures": captures, "annotations": []})
        except OSError as err:  # the last metadata written stays; the stream goes on
            self.failed = self.failed or f"metadata not written: {type(err).__name__}: {err}"


def _write_json_atomically(path: Path, document: dict) -> None:
    write_atomic(path, json.dumps(document, indent=1).encode())


@dataclass
class Recording:
    """A SigMF recording read back: ``samples`` (complex64, memory-mapped), ``meta`` (the JSON document)."""
    base: Path
    samples: np.ndarray
    meta: dict

    def file_index(self, global_index: int) -> int | None:
        """Where stream sample ``global_index`` is in the file, or None when it was not recorded."""
        for index, first, end in self._spans():
            if 0 <= global_index - index < end - first:
                return first + global_index - index
        return None

    def segments(self):
        """``(global index, samples)`` of each capture segment, in order."""
        for index, first, end in self._spans():
            yield index, self.samples[first:end]

    def _spans(self):
        """``(global index, first file sample, end)`` of each capture segment."""
        captures = self.meta["captures"]
        for k, capture in enumerate(captures):
            end = captures[k + 1]["core:sample_start"] if k + 1 < len(captures) else self.samples.size
            yield capture.get("core:global_index", capture["core:sample_start"]), capture["core:sample_start"], end


def load_recording(path, validate: bool = True) -> Recording:
    """Read a SigMF recording (``path`` with or without its suffix). ``validate``: check it with the ``sigmf``
    package (schema, and the sha512 where the metadata has one); ValueError naming the problem."""
    base = _base(path)
    meta_path, data_path = _file(base, "meta"), _file(base, "data")
    for needed in (meta_path, data_path):
        if not needed.is_file():
            taps = sorted(str(p)[:-len(".sigmf-meta")] for p in base.parent.glob(f"{base.name}.*.sigmf-meta"))
            hint = f" (the run recorded {', '.join(taps)})" if taps else ""
            raise ValueError(f"no SigMF recording at {base}: {needed} is missing{hint}")
    meta = json.loads(meta_path.read_text())
    if meta.get("global", {}).get("core:datatype") != DATATYPE:
        raise ValueError(f"{meta_path}: datatype {meta.get('global', {}).get('core:datatype')!r}, "
                         f"semcomm reads {DATATYPE}")
    if validate:
        validate_recording(base)
    size = data_path.stat().st_size // SAMPLE.itemsize
    samples = np.memmap(data_path, SAMPLE, "r", shape=(size,)) if size else np.zeros(0, SAMPLE)
    return Recording(base, samples, meta)


def validate_recording(path) -> None:
    """The ``sigmf`` package's validation (schema; the data file's sha512 where the metadata has one)."""
    from sigmf import sigmffile
    from sigmf.error import SigMFError

    try:
        sigmffile.fromfile(str(_base(path)))
    except (SigMFError, ValueError, KeyError) as err:
        raise ValueError(f"{_base(path)} is not a valid SigMF recording: {err}") from err


def archive_recording(path) -> Path:
    """``<base>.sigmf``: the recording as one SigMF archive (the ``sigmf`` package's tar of data and metadata)."""
    from sigmf import sigmffile

    base = _base(path)
    target = base.parent / f"{base.name}.sigmf"
    sigmffile.fromfile(str(base)).archive(str(target), overwrite=True)
    return target


def annotate_frames(path, frames: list[dict], class_names=None) -> int:
    """Add one annotation per frame to the recording at ``path`` (metadata rewritten atomically; the data and
    its hash are unchanged). Each frame: ``start`` (its stream index, i.e. ``core:global_index`` units),
    ``samples`` (its length) and any of :data:`FRAME_FIELDS`. Frames whose start was not recorded are
    skipped; returns how many were annotated."""
    recording = load_recording(path, validate=False)
    annotations = []
    for frame in frames:
        first = recording.file_index(int(frame["start"]))
        if first is None:
            continue
        annotation = {"core:sample_start": int(first),
                      "core:sample_count": int(min(frame["samples"], recording.samples.size - first))}
        label = frame.get("label")
        if label is not None:
            annotation["core:label"] = str(class_names[label] if class_names else label)
        annotation.update({f"{NAMESPACE}:{key}": frame[key] for key in FRAME_FIELDS if frame.get(key) is not None})
        annotations.append(annotation)
    meta = recording.meta
    meta["annotations"] = sorted(meta.get("annotations", []) + annotations, key=lambda a: a["core:sample_start"])
    _write_json_atomically(_file(recording.base, "meta"), meta)
    return len(annotations)
