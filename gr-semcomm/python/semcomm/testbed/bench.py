"""``semcomm bench flowgraph``: processing rate of the receiver and transmitter flowgraphs, unthrottled.

* **Receiver**: the ``rx`` flowgraph (ZMQ PULL -> matched filter -> frame receiver (sync, demapper,
  LDPC decoder, deframer, bits->index) -> ONNX semantic decoder -> metrics) is fed pre-computed IQ of
  ``images`` real test images (semantic encoder, frames, RRC, AWGN at the config's Es/N0, all by the
  core) through a ZMQ PUSH socket as fast as it accepts them. Sustained rate = the IQ samples of the
  last 90 % of the images / the time between the first 10 % and all of them being decoded (start-up
  excluded); ``rx_samples_per_s_total`` also counts the start.
* **Attacker**: the ``attacker`` flowgraph's sense+inject path (timed ZMQ PULL -> attacker radio: matched
  filter, preamble detection, scheduling and playing the config's perturbation file in its sync mode ->
  timed ZMQ PUSH), fed the same IQ as the receiver as fast as it takes it; rate = samples processed / (first
  sample sent to last received). Its detections and bursts are reported next to the frames sent.
* **Transmitter**: the ``tx`` flowgraph (image source -> ONNX encoder -> ... -> RRC -> ZMQ PUSH) with
  an unpaced source, drained by a ZMQ PULL socket; rate = samples / (first to last sample received).

Both report the loss counters (frames missed, PDUs dropped, frames rejected), which must be zero.

* **Receiver stages** (:func:`receiver_stages`): the same IQ through the receiver's stages run by the core in one
  thread, each timed (the matched filter as GNU Radio's FIR block runs it, the rest from a profile of the core
  receiver: preamble sync, demapping, LDPC decoding + deframing, the phase-refined retry of failed frames,
  bits -> indices, the ONNX decoder); what the flowgraph needs beyond their sum is its overhead (scheduler,
  Python blocks, ZMQ, message passing). The next bottleneck is the largest share.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from .run import build_graph, counters, graph_arguments


def receiver_iq(config: dict) -> tuple[np.ndarray, list[dict]]:
    """IQ of ``data.num_images`` test images through the core transmitter and AWGN channel, and the
    transmitter records (seq, label, reference bits) the metrics sink joins against."""
    from ..channel.stream import StreamChannel, StreamChannelConfig
    from ..phy.pulse import rrc_taps, shape
    from .agreement import image_frames

    modem_cfg = config["modem"]
    sent = image_frames(config)
    tx = sent.tx
    guard = np.zeros((tx.symbols.shape[0], modem_cfg["guard_symbols"]), dtype=np.complex64)
    symbols = np.concatenate([tx.symbols, guard], axis=1).ravel()
    taps = rrc_taps(modem_cfg["sps"], modem_cfg["rolloff"], modem_cfg["rrc_span"])
    channel = StreamChannel(StreamChannelConfig(snr_db=config["channel"]["snr_db"], sps=modem_cfg["sps"],
                                                seed=config["channel"]["seed"]))
    iq = channel.process(shape(symbols, taps, modem_cfg["sps"]))
    now = time.time()
    records = [{"seq": seq, "label": int(label), "t_tx": now, "tx_payload_bits": tx.payload_bits[seq],
                "tx_coded_bits": tx.coded_bits[seq]} for seq, label in enumerate(sent.labels)]
    return iq, records


def bench_receiver(config: dict, out_dir: Path, chunk: int = 1 << 16) -> dict:
    import zmq

    iq, records = receiver_iq(config)
    graph = build_graph("rx", {**graph_arguments(config, "rx", out_dir), "tx_log_path": ""})
    for record in records:
        graph.metrics.add_tx(record)
    socket = zmq.Context.instance().socket(zmq.PUSH)
    socket.bind(config["endpoints"]["channel_out"])
    graph.start()
    start = time.time()
    sender = threading.Thread(target=lambda: [socket.send(iq[first: first + chunk].tobytes())
                                              for first in range(0, iq.size, chunk)], daemon=True)
    sender.start()
    deadline, tenth, t_tenth = time.time() + 300, max(len(records) // 10, 1), None
    while graph.metrics.results_seen < len(records) and time.time() < deadline:
        if t_tenth is None and graph.metrics.results_seen >= tenth:
            t_tenth = time.time()
        time.sleep(0.002)
    elapsed = time.time() - start
    sustained = (len(records) - tenth) / len(records) * iq.size / (time.time() - (t_tenth or start))
    sender.join()
    graph.stop()
    graph.wait()
    socket.close(linger=0)
    summary = graph.metrics.summary("bench rx", elapsed)
    return {"rx_samples": int(iq.size), "rx_seconds": elapsed, "rx_samples_per_s": sustained,
            "rx_samples_per_s_total": iq.size / elapsed,
            "rx_images_per_s": summary["images"] / elapsed, "rx_accuracy": summary["accuracy"],
            "rx_frames_missed": summary["frames_missed"], "rx_ber_post_fec": summary["ber_post_fec"],
            "rx_counters": counters(graph)["counters"]}


def bench_attacker(config: dict, out_dir: Path, chunk: int = 1 << 16) -> dict:
    """The attacker's sense+inject rate (module doc); the config's attacker, switched on."""
    from .zmq_link import TimedIqReader, TimedIqWriter

    config = {**config, "attacker": {**config["attacker"], "enabled": True}}
    iq, records = receiver_iq(config)
    sense = TimedIqWriter(config["endpoints"]["sense_out"])
    injected = TimedIqReader(config["endpoints"]["attacker_out"])
    graph = build_graph("attacker", graph_arguments(config, "attacker", out_dir))
    graph.start()
    time.sleep(0.5)  # the injection reader connects to the attacker's sink (what it sends before is dropped)
    deadline = time.time() + 30
    while not sense.send(0, iq[:chunk]) and time.time() < deadline:
        time.sleep(0.01)  # until the attacker's source has connected
    start = last = time.time()
    for first in range(chunk, iq.size, chunk):
        sense.send(first, iq[first: first + chunk])
    received = 0
    while received + graph.out.dropped_samples < iq.size and time.time() < start + 300:
        timed = injected.receive(1000)
        if timed is None:
            break
        received, last = received + len(timed[1]), time.time()
    processed = received + graph.out.dropped_samples
    elapsed = last - start
    graph.stop()
    graph.wait()
    sense.close()
    injected.close()
    radio = graph.attacker_radio.radio.summary()
    return {"attacker_samples": processed, "attacker_seconds": elapsed,
            "attacker_samples_per_s": processed / elapsed if elapsed else None, "attacker_sync": radio.get("sync"),
            "attacker_frames_sent": len(records), "attacker_detections": radio.get("detections"),
            "attacker_bursts": radio.get("bursts"),
            "attacker_dropped_samples": sense.dropped_samples + graph.out.dropped_samples}


#: stage -> (the file and function whose cumulative time it is, in the core receiver's profile)
STAGES = {"sync": ("phy/sync.py", "push"), "demap": ("phy/modem.py", "demap_payload"),
          "ldpc+deframe": ("phy/modem.py", "decode_payload"), "phase retry": ("phy/sync.py", "refine_phase"),
          "bits->index": ("phy/bits.py", "from_bits"), "onnx decode": ("export/runtime.py", "decode")}


def receiver_stages(config: dict, iq: np.ndarray) -> dict:
    """Seconds per receiver stage on ``iq`` (module doc) and the core's rate without the flowgraph."""
    import cProfile
    import pstats

    from ..export.runtime import SemanticCodec
    from ..phy.bits import IndexBitMapper
    from ..phy.modem import FrameModem, LinkConfig
    from ..phy.pulse import rrc_taps
    from ..phy.receiver import BurstReceiver
    from .parameters import cfo_search_range

    modem = config["modem"]
    taps = rrc_taps(modem["sps"], modem["rolloff"], modem["rrc_span"])
    matched, fir_seconds = _gnuradio_fir(iq, taps)
    receiver = BurstReceiver(FrameModem(LinkConfig(decoder=modem["decoder"], max_iterations=modem["max_iterations"],
                                                   llr_method=modem["llr_method"])), modem["sps"],
                             modem["detect_threshold"], None, cfo_search_range(config, "rx"))
    receiver.warm_up()
    codec = SemanticCodec.from_prefix(config["model"])
    mapper = IndexBitMapper(codec.alphabet, num_indices=codec.num_tokens)
    profile = cProfile.Profile()
    profile.enable()
    frames = [f for f in receiver.push(matched) + receiver.flush() if f.reject is None]
    indices = np.concatenate([mapper.from_bits(f.payload_bits[None, :mapper.num_bits])[0] for f in frames])
    codec.decode(indices, np.array([f.sync.snr_db for f in frames], np.float32) if codec.uses_snr else None)
    profile.disable()
    stats = pstats.Stats(profile).stats
    seconds = {"matched filter (GNU Radio FIR)": fir_seconds}
    for stage, (path, function) in STAGES.items():
        seconds[stage] = sum(entry[3] for (file, _, name), entry in stats.items()
                             if file.endswith(path) and name == function)
    total = sum(seconds.values())
    return {"stage_seconds": seconds, "core_seconds": total, "core_samples_per_s": iq.size / total,
            "frames": len(frames)}


def _gnuradio_fir(iq: np.ndarray, taps: np.ndarray) -> tuple[np.ndarray, float]:
    """The matched filter as the receiver graph runs it (``fir_filter_ccf``): its output and its seconds."""
    from gnuradio import blocks, filter as gr_filter, gr

    top = gr.top_block()
    source, fir, sink = blocks.vector_source_c(iq.tolist()), gr_filter.fir_filter_ccf(1, taps), blocks.vector_sink_c()
    top.connect(source, fir, sink)
    started = time.perf_counter()
    top.run()
    return np.array(sink.data(), np.complex64), time.perf_counter() - started


def bench_transmitter(config: dict, out_dir: Path) -> dict:
    import zmq

    config = {**config, "data": {**config["data"], "images_per_s": 0}}
    socket = zmq.Context.instance().socket(zmq.PULL)
    socket.connect(config["endpoints"]["tx_out"])
    received = {"bytes": 0, "first": None, "last": None}
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            if socket.poll(50):
                message = socket.recv()
                now = time.time()
                received["first"] = received["first"] or now
                received["bytes"] += len(message)
                received["last"] = now

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    graph = build_graph("tx", graph_arguments(config, "tx", out_dir))
    graph.start()
    graph.source.done.wait(300)
    quiet_since = time.time()
    last_bytes = -1
    while time.time() - quiet_since < 1.0:  # until nothing arrived for a second
        time.sleep(0.05)
        if received["bytes"] != last_bytes:
            last_bytes, quiet_since = received["bytes"], time.time()
    graph.stop()
    graph.wait()
    stop.set()
    thread.join()
    socket.close(linger=0)
    samples = received["bytes"] // 8
    seconds = (received["last"] or 0) - (received["first"] or 0)
    return {"tx_samples": samples, "tx_seconds": seconds, "tx_samples_per_s": samples / seconds if seconds else None,
            "tx_images": int(graph.source.sent), "tx_counters": counters(graph)["counters"]}


def bench_flowgraph(config: dict, out_dir: Path) -> dict:
    """The three benchmarks; ``target_samples_per_s`` is 2 Msps (2x real time for a 1 Msps B210 link)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {"images": config["data"]["num_images"], "sps": config["modem"]["sps"],
              "modulation": config["modem"]["modulation"], "code": config["modem"]["code"],
              "snr_db": config["channel"]["snr_db"]}
    result.update(bench_receiver(config, out_dir))
    stages = receiver_stages(config, receiver_iq(config)[0])
    result["rx_stages"] = {**stages, "flowgraph_overhead_seconds": max(0.0, result["rx_seconds"] - stages["core_seconds"])}
    result.update(bench_attacker(config, out_dir))
    result.update(bench_transmitter(config, out_dir))
    result["target_samples_per_s"] = 2e6
    losses = result["rx_frames_missed"] + sum(result["rx_counters"].get(k, 0) for k in result["rx_counters"]
                                              if k.endswith((".dropped", ".rejected")))
    result["losses"] = int(losses)
    return result

