"""``semcomm agreement``: accuracy through the loopback flowgraph vs the core's pure simulation on the
same images and channel.

* flowgraph: the ``loopback`` graph (RRC, stream AWGN channel, preamble sync, CFO/phase/gain/noise
  estimation, LDPC, ONNX codec), one run per SNR (:func:`.run.run_loopback`);
* simulation: frame-aligned symbols (:class:`semcomm.phy.modem.FrameModem`) + AWGN at the same Es/N0
  and the same ONNX codec, perfect synchronisation, the true SNR given to the decoder.

Both score a frame whose header is lost as wrong and decode a payload whose CRC fails (semantic
frames). The difference shows what synchronisation and estimation cost.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import load_testbed_config
from .run import run_loopback


@dataclass
class ImageFrames:
    """A config's test images as the transmitter sends them (one frame per image)."""
    labels: np.ndarray  #: true classes ``[N]``
    codec: object       #: the :class:`semcomm.export.runtime.SemanticCodec`
    mapper: object      #: its :class:`semcomm.phy.bits.IndexBitMapper`
    modem: object       #: the :class:`semcomm.phy.modem.FrameModem` of the config's modem section
    tx: object          #: the :class:`semcomm.phy.modem.TxBatch` (symbols and reference bits)


def image_frames(config: dict) -> ImageFrames:
    """Encode ``data.num_images`` test images from ``data.start`` with the config's model and build
    their frames (header with the model id) with the config's modulation, code and decoder."""
    from ..data import load_dataset
    from ..data.dataset import to_unit_float
    from ..export.runtime import SemanticCodec
    from ..phy.modem import FrameModem, LinkConfig

    data, modem_cfg = config["data"], config["modem"]
    codec = SemanticCodec.from_prefix(config["model"])
    dataset = load_dataset(data["dataset"], data["split"], root=data["path"], classes=codec.classes)
    chosen = np.arange(data["start"], data["start"] + data["num_images"])
    mapper = codec.index_bit_mapper()
    modem = FrameModem(LinkConfig(modulation=modem_cfg["modulation"], code=modem_cfg["code"],
                                  decoder=modem_cfg["decoder"], max_iterations=modem_cfg["max_iterations"],
                                  model_id=bytes.fromhex(codec.model_id[:8])))
    indices = codec.encode(to_unit_float(dataset.images[chosen]))
    tx = modem.modulate(np.packbits(mapper.to_bits(indices), axis=1))
    return ImageFrames(dataset.labels[chosen], codec, mapper, modem, tx)


def simulate_accuracy(config: dict, seed: int = 0) -> dict:
    """Accuracy of the core's symbol-level simulation for ``config``'s model, images and Es/N0."""
    from ..channel.awgn import awgn

    snr_db = float(config["channel"]["snr_db"])
    sent = image_frames(config)
    received, noise_var = awgn(sent.tx.symbols, snr_db, np.random.default_rng(seed))
    frames = sent.modem.demodulate(received, noise_var)
    delivered = [f for f, rx in enumerate(frames) if rx.deframe.payload is not None]
    correct = 0
    if delivered:
        payloads = np.stack([np.frombuffer(frames[f].deframe.payload, dtype=np.uint8) for f in delivered])
        rx_indices, _ = sent.mapper.from_bits(np.unpackbits(payloads, axis=1)[:, :sent.mapper.num_bits])
        logits, _ = sent.codec.decode(rx_indices, np.full(len(delivered), snr_db, dtype=np.float32))
        correct = int(np.sum(logits.argmax(axis=1) == sent.labels[delivered]))
    return {"images": int(sent.labels.size), "accuracy": correct / sent.labels.size,
            "payload_crc_failures": int(sum(not rx.deframe.payload_crc_ok for rx in frames)),
            "header_failures": int(sent.labels.size - len(delivered))}


def compare(config_path: str, snrs: list[float], out_dir: Path, overrides: dict | None = None) -> dict:
    points = []
    for snr in snrs:
        config = load_testbed_config(config_path, {**(overrides or {}), "channel.snr_db": snr,
                                                   "attacker.enabled": False})
        flowgraph = run_loopback(config, f"agreement {snr:g} dB", out_dir / f"snr{snr:g}")
        simulation = simulate_accuracy(config)
        points.append({"snr_db": snr, "images": simulation["images"], "flowgraph_accuracy": flowgraph["accuracy"],
                       "simulation_accuracy": simulation["accuracy"],
                       "difference_points": 100 * (flowgraph["accuracy"] - simulation["accuracy"]),
                       "flowgraph_payload_crc_failures": flowgraph["payload_crc_failures"],
                       "simulation_payload_crc_failures": simulation["payload_crc_failures"],
                       "flowgraph_frames_missed": flowgraph["frames_missed"],
                       "simulation_header_failures": simulation["header_failures"]})
        print(f"Es/N0 {snr:5.1f} dB: flowgraph {flowgraph['accuracy']:.1%}, simulation {simulation['accuracy']:.1%} "
              f"({points[-1]['difference_points']:+.1f} points)", flush=True)
    result = {"model": config["model"], "points": points, "tolerance_points": 2.0,
              "within_tolerance": all(abs(p["difference_points"]) <= 2.0 for p in points)}
    with open(out_dir / "agreement.json", "w") as handle:
        json.dump(result, handle, indent=2)
    return result
