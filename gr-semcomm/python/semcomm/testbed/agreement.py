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
from pathlib import Path

import numpy as np

from .config import load_testbed_config
from .run import run_loopback


def simulate_accuracy(config: dict, seed: int = 0) -> dict:
    """Accuracy of the core's symbol-level simulation for ``config``'s model, images and Es/N0."""
    from ..channel.awgn import awgn
    from ..data import load_dataset
    from ..data.dataset import to_unit_float
    from ..export.runtime import SemanticCodec
    from ..phy.modem import FrameModem, LinkConfig

    data, modem_cfg, snr_db = config["data"], config["modem"], float(config["channel"]["snr_db"])
    dataset = load_dataset(data["dataset"], data["split"], root=data["path"])
    chosen = np.arange(data["start"], data["start"] + data["num_images"])
    codec = SemanticCodec.from_prefix(config["model"])
    mapper = codec.index_bit_mapper()
    indices = codec.encode(to_unit_float(dataset.images[chosen]))
    modem = FrameModem(LinkConfig(modulation=modem_cfg["modulation"], code=modem_cfg["code"],
                                  decoder=modem_cfg["decoder"], max_iterations=modem_cfg["max_iterations"],
                                  model_id=bytes.fromhex(codec.model_id[:8])))
    tx = modem.modulate(np.packbits(mapper.to_bits(indices), axis=1))
    received, noise_var = awgn(tx.symbols, snr_db, np.random.default_rng(seed))
    frames = modem.demodulate(received, noise_var)
    delivered = [f for f, rx in enumerate(frames) if rx.deframe.payload is not None]
    correct = 0
    if delivered:
        payloads = np.stack([np.frombuffer(frames[f].deframe.payload, dtype=np.uint8) for f in delivered])
        rx_indices, _ = mapper.from_bits(np.unpackbits(payloads, axis=1)[:, :mapper.num_bits])
        logits, _ = codec.decode(rx_indices, np.full(len(delivered), snr_db, dtype=np.float32))
        correct = int(np.sum(logits.argmax(axis=1) == dataset.labels[chosen][delivered]))
    return {"images": int(chosen.size), "accuracy": correct / chosen.size,
            "payload_crc_failures": int(sum(not rx.deframe.payload_crc_ok for rx in frames)),
            "header_failures": int(chosen.size - len(delivered))}


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
