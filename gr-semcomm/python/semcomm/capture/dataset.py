"""Frames of SigMF recordings as a training set: per annotated frame, what the receiver saw (the received
codebook indices and its SNR estimate) and the true label (no GNU Radio).

Each recording (``semcomm capture``) holds the testbed config that made it (``semcomm:config``); its samples
go through that config's matched filter and the project's burst receiver
(:class:`semcomm.phy.receiver.BurstReceiver`, as the ``frame_receiver`` block runs it), capture segment by
capture segment, and each frame that decodes its header is joined by sequence number with its annotation's
true label. A recording made with another model id than the model being adapted is refused (ValueError
naming both), as is one without annotations or labels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .recording import NAMESPACE, load_recording


@dataclass
class CapturedFrames:
    """``indices`` ``[N, T]`` int64 received indices, ``snr_db`` ``[N]`` the receiver's estimates, ``labels``
    ``[N]``, ``seqs`` ``[N]``, ``source`` ``[N]`` (which recording), ``recordings`` (path, sha512, frames)."""
    indices: np.ndarray
    snr_db: np.ndarray
    labels: np.ndarray
    seqs: np.ndarray
    source: np.ndarray
    recordings: list = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.labels.size)

    def subset(self, rows) -> "CapturedFrames":
        rows = np.asarray(rows)
        return CapturedFrames(self.indices[rows], self.snr_db[rows], self.labels[rows], self.seqs[rows],
                              self.source[rows], self.recordings)


def captured_frames(paths, model_prefix: str) -> CapturedFrames:
    """The frames of the recordings ``paths`` for the model at ``model_prefix`` (module doc)."""
    from ..export.contract import link_model_info

    info = link_model_info(model_prefix)
    parts, recordings = [], []
    for number, path in enumerate(paths):
        recording = load_recording(path)
        labels = _labels(recording, info.model_id)
        indices, snr, seqs = _receive(recording, info)
        keep = [k for k, seq in enumerate(seqs) if seq in labels]
        parts.append((indices[keep], snr[keep], np.array([labels[seqs[k]] for k in keep], np.int64),
                      np.asarray(seqs, np.int64)[keep], np.full(len(keep), number)))
        recordings.append({"path": str(recording.base), "sha512": recording.meta["global"].get("core:sha512"),
                           "frames": len(keep), "annotated": len(labels)})
    stacked = [np.concatenate(column) for column in zip(*parts)]
    return CapturedFrames(*stacked, recordings=recordings)


def _labels(recording, model_id: str) -> dict:
    """seq -> true label of the recording's annotated frames; refuses another model's recording."""
    annotations = recording.meta.get("annotations", [])
    ids = {a.get(f"{NAMESPACE}:model_id") for a in annotations} - {None}
    if not annotations or not ids:
        raise ValueError(f"{recording.base}: no annotated frames with a model id (record it with semcomm capture)")
    if ids != {model_id}:
        raise ValueError(f"{recording.base} was captured with model id {', '.join(sorted(ids))}, not {model_id} "
                         "(the model being adapted): its indices mean other things")
    return {a[f"{NAMESPACE}:seq"]: a[f"{NAMESPACE}:label"] for a in annotations
            if a.get(f"{NAMESPACE}:label") is not None and a.get(f"{NAMESPACE}:seq") is not None}


def _receive(recording, info) -> tuple[np.ndarray, np.ndarray, list]:
    """Received indices, SNR estimates and sequence numbers of the frames whose header decodes."""
    from ..phy.bits import IndexBitMapper
    from ..phy.modem import FrameModem, LinkConfig
    from ..phy.pulse import matched_filter, rrc_taps
    from ..phy.receiver import BurstReceiver

    config = recording.meta["global"].get(f"{NAMESPACE}:config")
    if not config:
        raise ValueError(f"{recording.base}: the metadata holds no testbed config ({NAMESPACE}:config)")
    modem = config["modem"]
    link = FrameModem(LinkConfig(decoder=modem["decoder"], max_iterations=modem["max_iterations"],
                                 llr_method=modem["llr_method"]))
    mapper = IndexBitMapper(info.alphabet, num_indices=info.num_tokens)
    taps = rrc_taps(modem["sps"], modem["rolloff"], modem["rrc_span"])
    indices, snr, seqs = [], [], []
    for _, samples in recording.segments():
        receiver = BurstReceiver(link, modem["sps"], modem["detect_threshold"], bytes.fromhex(info.model_id)[:4],
                                 _cfo_range(config))
        for frame in receiver.push(matched_filter(np.asarray(samples), taps)) + receiver.flush():
            if frame.reject is None and frame.payload_bits.size >= mapper.num_bits:
                indices.append(mapper.from_bits(frame.payload_bits[None, :mapper.num_bits])[0][0])
                snr.append(frame.sync.snr_db)
                seqs.append(frame.sync.header.seq)
    width = mapper.num_indices
    return np.array(indices, np.int64).reshape(-1, width), np.array(snr, np.float32), seqs


def _cfo_range(config: dict) -> float:
    """The receiver's CFO search in cycles/symbol, as the graphs compute it from the config."""
    from ..testbed.parameters import cfo_search_range

    if not config["modem"].get("cfo_search_ppm"):  # recordings made before the search existed have none
        return 0.0
    return cfo_search_range(config)
