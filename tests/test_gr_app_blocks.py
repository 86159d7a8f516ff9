"""GNU Radio application blocks in real top blocks: image source, semantic encoder/decoder with the
shipped ONNX model, metrics sink / TX log sink, attacker source."""
import contextlib
import json
import struct
import time

import numpy as np
import pytest

gr = pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
pmt = pytest.importorskip("pmt", reason="GNU Radio's pmt cannot be imported")
from gnuradio import blocks  # noqa: E402
from gnuradio.semcomm import index_to_bits  # noqa: E402
from gnuradio.semcomm.attacker import attacker  # noqa: E402
from gnuradio.semcomm.image_source import image_source  # noqa: E402
from gnuradio.semcomm.metrics_sink import metrics_sink, tx_log_sink  # noqa: E402
from gnuradio.semcomm.pdus import make_pdu, meta_value, with_meta  # noqa: E402
from gnuradio.semcomm.semantic import semantic_decoder, semantic_encoder  # noqa: E402

from semcomm.channel.jammer import StreamJammer  # noqa: E402
from semcomm.phy.pulse import rrc_taps  # noqa: E402
from semcomm.data import ImageDataset  # noqa: E402
from semcomm.export.runtime import SemanticCodec  # noqa: E402

pytestmark = pytest.mark.gnuradio

MODEL = "models/masked_vqvae_fim_at"
TIMEOUT_S = 20
PDUS, TX, RX = pmt.intern("pdus"), pmt.intern("tx"), pmt.intern("rx")


@pytest.fixture(scope="module")
def codec():
    return SemanticCodec.from_prefix(MODEL)


def fixture_dataset(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return ImageDataset(rng.integers(0, 256, (n, 1, 28, 28), dtype=np.uint8), rng.integers(0, 10, n),
                        [f"class{k}" for k in range(10)], "fixture")


def write_idx_test_split(root, data):
    """The test split of ``data`` as Fashion-MNIST IDX files (t10k-*-ubyte) in ``root``."""
    images = data.images[:, 0]
    (root / "t10k-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", *images.shape)
                                                  + images.tobytes())
    (root / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", len(data))
                                                  + data.labels.astype(np.uint8).tobytes())


def wait_for(condition, what):
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {TIMEOUT_S} s waiting for {what}")
        time.sleep(0.01)


@contextlib.contextmanager
def running(top):
    top.start()
    try:
        yield top
    finally:
        top.stop()
        top.wait()


def connect_idle_upstream(top, block, port):
    """Give a lone message block an upstream neighbour that never sends (GNU Radio runs no handlers
    for a block without connections). The neighbour is a Python block: it stays referenced from ``block``
    for as long as the graph may run it (a collected Python block under a running graph is a segfault)."""
    block.idle_upstream = index_to_bits(16, 4)
    top.msg_connect(block.idle_upstream, "pdus", block, port)


def messages(sink):
    return [sink.get_message(i) for i in range(sink.num_messages())]


def vector(msg):
    return np.asarray(pmt.to_python(pmt.cdr(msg)))


def chain(top, *blocks_):
    """msg_connect consecutive blocks on their pdus ports and store each block's output in a message_debug."""
    for upstream, downstream in zip(blocks_, blocks_[1:]):
        top.msg_connect(upstream, "pdus", downstream, "pdus")
    debug = []
    for block in blocks_:
        debug.append(blocks.message_debug())
        top.msg_connect(block, "pdus", debug[-1], "store")
    return debug


def index_pdu(indices, **meta):
    return make_pdu(with_meta(pmt.make_dict(), **meta), np.asarray(indices, dtype=np.int32))


# ------------------------------------------------------------------------------- source and encoder
def test_image_source_reads_a_dataset_directory_and_the_encoder_matches_the_runtime(tmp_path, codec):
    data = fixture_dataset(6)
    write_idx_test_split(tmp_path, data)
    top = gr.top_block()
    source = image_source("fashion-mnist", str(tmp_path), "test", num_images=4, start=1)
    encoder = semantic_encoder(MODEL)
    images_out, indices_out = chain(top, source, encoder)
    with running(top):
        wait_for(lambda: indices_out.num_messages() == 4, "4 index PDUs")
    assert source.done.is_set() and source.sent == 4 and (encoder.processed, encoder.dropped) == (4, 0)
    images = data.images[1:5].astype(np.float32) / 255
    for seq, (image_msg, index_msg) in enumerate(zip(messages(images_out), messages(indices_out))):
        meta = pmt.car(image_msg)
        assert (meta_value(meta, "seq"), meta_value(meta, "index")) == (seq, seq + 1)
        assert meta_value(meta, "label") == data.labels[seq + 1] and meta_value(meta, "t_tx") <= time.time()
        assert pmt.is_f32vector(pmt.cdr(image_msg)) and pmt.is_s32vector(pmt.cdr(index_msg))
        np.testing.assert_array_equal(vector(image_msg), images[seq].ravel())
        assert meta_value(pmt.car(index_msg), "seq") == seq  # metadata passed on
    np.testing.assert_array_equal(np.stack([vector(m) for m in messages(indices_out)]), codec.encode(images))


def test_image_source_rate_control_and_seeded_order():
    data = fixture_dataset(20)
    top = gr.top_block()
    paced, shuffled = image_source(num_images=6, images_per_s=100, data=data), image_source(
        num_images=20, seed=3, data=data)
    paced_out, = chain(top, paced)
    shuffled_out, = chain(top, shuffled)
    with running(top):
        wait_for(lambda: paced.done.is_set() and shuffled.done.is_set(), "both sources to finish")
    t_tx = [meta_value(pmt.car(m), "t_tx") for m in messages(paced_out)]
    assert t_tx[-1] - t_tx[0] >= 0.045  # 5 intervals of 10 ms
    order = [meta_value(pmt.car(m), "index") for m in messages(shuffled_out)]
    np.testing.assert_array_equal(order, np.random.default_rng(3).permutation(20))
    with pytest.raises(ValueError, match="the dataset split has 20"):
        image_source(num_images=5, start=16, data=data)


# ---------------------------------------------------------------------------------------- decoder
def test_encoder_decoder_round_trip_equals_the_runtime_and_feeds_the_metrics_sink(codec, tmp_path):
    data = fixture_dataset(24)
    top = gr.top_block()
    source, encoder, decoder = image_source(num_images=24, data=data), semantic_encoder(MODEL), \
        semantic_decoder(MODEL, snr_db=10.0)
    sink = metrics_sink(jsonl_path=str(tmp_path / "frames.jsonl"))
    *_, results = chain(top, source, encoder, decoder)
    top.msg_connect(source, "pdus", sink, "tx")
    top.msg_connect(decoder, "pdus", sink, "rx")
    with running(top):
        wait_for(lambda: sink.results_seen == 24, "24 results at the metrics sink")
    logits, _ = codec.decode(codec.encode(data.float_images()), 10.0)
    outputs = messages(results)
    assert [meta_value(pmt.car(m), "seq") for m in outputs] == list(range(24))  # order preserved
    np.testing.assert_allclose(np.stack([vector(m) for m in outputs]), logits, rtol=1e-5, atol=1e-5)
    preds = [meta_value(pmt.car(m), "pred") for m in outputs]
    assert preds == list(np.argmax(logits, axis=1))
    assert all(meta_value(pmt.car(m), "clamped") == 0 for m in outputs)
    summary = sink.summary("clean")
    assert summary["images"] == 24 and summary["frames_decoded"] == 24 and summary["frames_missed"] == 0
    assert summary["accuracy"] == pytest.approx(np.mean(np.array(preds) == data.labels))
    assert summary["latency_ms_mean"] > 0
    lines = [json.loads(line) for line in (tmp_path / "frames.jsonl").read_text().splitlines()]
    assert sorted(line["seq"] for line in lines) == list(range(24))


def test_decoder_takes_the_snr_from_metadata_and_counts_clamped_indices(codec):
    rng = np.random.default_rng(5)
    indices = rng.integers(0, 256, (3, codec.num_tokens))
    indices[1, :3] = [256, 999, -4]  # outside [0, J): clamped by the runtime
    snrs = [0.0, 7.5, 20.0]
    decoder = semantic_decoder(MODEL)
    for seq, (row, snr) in enumerate(zip(indices, snrs)):
        decoder._post(PDUS, index_pdu(row, seq=seq, snr_est_db=snr, clamped=2))
    top = gr.top_block()
    out, = chain(top, decoder)
    with running(top):
        wait_for(lambda: out.num_messages() == 3, "3 results")
    logits, clamped = codec.decode(indices, np.array(snrs, dtype=np.float32))
    np.testing.assert_allclose(np.stack([vector(m) for m in messages(out)]), logits, rtol=1e-5, atol=1e-5)
    assert [meta_value(pmt.car(m), "clamped") for m in messages(out)] == [2, 5, 2] == list(2 + clamped)


def test_malformed_pdus_are_dropped_and_counted_without_stopping_the_flowgraph(codec):
    good_image = make_pdu(pmt.make_dict(), np.full(784, 0.5, dtype=np.float32))
    bad_images = [pmt.intern("not a pdu"),
                  pmt.cons(pmt.intern("meta"), pmt.init_f32vector(784, [0.5] * 784)),         # meta not a dict
                  make_pdu(pmt.make_dict(), np.full(784, 128, dtype=np.uint8)),               # uint8 pixels
                  make_pdu(pmt.make_dict(), np.full(783, 0.5, dtype=np.float32)),             # wrong length
                  make_pdu(pmt.make_dict(), np.full(784, 2.0, dtype=np.float32)),             # out of [0, 1]
                  make_pdu(pmt.make_dict(), np.full(784, np.nan, dtype=np.float32))]          # NaN
    good_indices = index_pdu(np.zeros(codec.num_tokens), snr_est_db=5.0)
    bad_indices = [pmt.intern("garbage"), index_pdu(np.zeros(codec.num_tokens - 1), snr_est_db=5.0),
                   make_pdu(with_meta(pmt.make_dict(), snr_est_db=5.0), np.zeros(codec.num_tokens, np.float32)),
                   index_pdu(np.zeros(codec.num_tokens)),                          # no SNR anywhere
                   index_pdu(np.zeros(codec.num_tokens), snr_est_db=float("nan")),
                   index_pdu(np.zeros(codec.num_tokens), snr_est_db=5.0, clamped=1.5)]
    encoder, decoder = semantic_encoder(MODEL), semantic_decoder(MODEL)
    for msg in [bad_images[0], good_image, *bad_images[1:], good_image]:
        encoder._post(PDUS, msg)
    for msg in [*bad_indices, good_indices]:
        decoder._post(PDUS, msg)
    top = gr.top_block()
    encoded, = chain(top, encoder)
    decoded, = chain(top, decoder)
    with running(top):
        wait_for(lambda: encoded.num_messages() == 2 and decoded.num_messages() == 1, "the good PDUs")
        time.sleep(0.1)
    assert (encoder.processed, encoder.dropped) == (2, len(bad_images))
    assert (decoder.processed, decoder.dropped) == (1, len(bad_indices))


# ------------------------------------------------------------------------------------ metrics sink
def tx_pdus():
    """Source and framer tx_log records of seqs 0..2 (payload bits of 64 per frame)."""
    msgs = []
    for seq in range(3):
        msgs.append(make_pdu(with_meta(pmt.make_dict(), seq=seq, label=seq, t_tx=100.0), np.zeros(4, np.float32)))
        msgs.append(with_meta(pmt.make_dict(), seq=seq, tx_payload_bits=np.zeros(64, np.uint8)))  # a bare dict
    return msgs


def rx_pdus():
    errors = np.zeros(64, np.uint8)
    errors[:8] = 1
    return [make_pdu(with_meta(pmt.make_dict(), seq=0, detected=True, header_ok=True, payload_crc_ok=True, pred=0,
                               t_rx=100.5, rx_payload_bits=np.zeros(64, np.uint8)), np.zeros(10, np.float32)),
            make_pdu(with_meta(pmt.make_dict(), seq=1, detected=True, header_ok=True, payload_crc_ok=False, pred=2,
                               t_rx=101.0, rx_payload_bits=errors), np.zeros(10, np.float32)),
            make_pdu(with_meta(pmt.make_dict(), detected=True, header_ok=False, reject="header_crc"),
                     np.zeros(1, np.uint8)),
            pmt.intern("garbage")]


def check_sink_results(sink, jsonl):
    summary = sink.summary("test", elapsed_s=1.0)
    assert summary["images"] == 3 and summary["frames_detected"] == 2 and summary["frames_missed"] == 1
    assert summary["header_crc_failures"] == 1 and summary["payload_crc_failures"] == 1
    assert summary["rejects"] == {"header_crc": 1}
    assert summary["ber_post_fec"] == pytest.approx(8 / 128)
    assert summary["accuracy"] == pytest.approx(1 / 3) and summary["accuracy_received"] == 0.5
    assert summary["latency_ms_mean"] == pytest.approx(750.0)
    lines = {line["seq"]: line for line in map(json.loads, jsonl.read_text().splitlines())}
    assert lines[0]["correct"] and lines[1]["post_fec_ber"] == 0.125 and lines[2]["detected"] is False
    assert sink.dropped == 1 and sink.frames_seen == 3 and sink.results_seen == 2


def test_metrics_sink_joins_the_tx_and_rx_ports(tmp_path):
    sink = metrics_sink(jsonl_path=str(tmp_path / "frames.jsonl"), summary_every=0.05)
    for msg in tx_pdus():
        sink._post(TX, msg)
    for msg in rx_pdus():
        sink._post(RX, msg)
    top = gr.top_block()
    connect_idle_upstream(top, sink, "tx")
    with running(top):
        wait_for(lambda: sink.frames_seen == 3 and sink.tx_seen == 6, "all records")
        time.sleep(0.1)  # at least one periodic summary
    check_sink_results(sink, tmp_path / "frames.jsonl")  # stop() finalized the run


def test_metrics_sink_writes_each_line_as_the_frame_is_decided_and_keeps_a_write_error(tmp_path):
    jsonl = tmp_path / "frames.jsonl"
    sink, full = metrics_sink(jsonl_path=str(jsonl)), metrics_sink(jsonl_path="/dev/full")  # /dev/full: ENOSPC
    top = gr.top_block()
    for block in (sink, full):
        connect_idle_upstream(top, block, "tx")
    with running(top):
        for block in (sink, full):
            for port, msg in [(TX, msg) for msg in tx_pdus()] + [(RX, msg) for msg in rx_pdus()]:
                block._post(port, msg)
        wait_for(lambda: sink.results_seen == 2 and full.results_seen == 2, "2 joined results")
        assert sorted(json.loads(line)["seq"] for line in jsonl.read_text().splitlines()) == [0, 1]  # before stop
        assert sink.write_error is None
    assert full.write_error == "cannot write /dev/full: No space left on device"  # the block kept running
    assert full.summary("x")["frames_missed"] == 1 and len(jsonl.read_text().splitlines()) == 3


def test_metrics_sink_reads_the_tx_log_of_another_process(tmp_path):
    log = tmp_path / "tx_log.jsonl"
    writer = tx_log_sink(str(log))
    for msg in [*tx_pdus(), with_meta(pmt.make_dict(), label=1)]:  # the last one has no seq
        writer._post(TX, msg)
    top = gr.top_block()
    connect_idle_upstream(top, writer, "tx")
    with running(top):
        wait_for(lambda: writer.written == 6 and writer.dropped == 1, "the TX log")
    sink = metrics_sink(jsonl_path=str(tmp_path / "frames.jsonl"), tx_log_path=str(log))
    sink._post(TX, tx_pdus()[0])  # ignored: records come from the log file
    for msg in rx_pdus():
        sink._post(RX, msg)
    top = gr.top_block()
    connect_idle_upstream(top, sink, "rx")
    with running(top):
        wait_for(lambda: sink.results_seen == 2, "2 joined results")
    check_sink_results(sink, tmp_path / "frames.jsonl")


# --------------------------------------------------------------------------------------- attacker
@pytest.mark.parametrize("kind, mode", [("gaussian", "free_running"), ("tone", "frame_aligned"),
                                        ("gaussian", "frame_aligned")])
def test_attacker_jamming_equals_the_core_jammer_shaped_with_the_link_pulse(kind, mode):
    rng = np.random.default_rng(8)
    sensed = np.zeros(50_000, np.complex64)
    sensed[10_000:30_000] = 0.5 * np.exp(2j * np.pi * rng.random(20_000))  # power 0.25 = 1/sps at sps 4
    top = gr.top_block()
    source, sink = blocks.vector_source_c(sensed.tolist()), blocks.vector_sink_c()
    block = attacker(kind, mode, tone_freq=0.05, seed=4, sense_window=32, sense_threshold=0.125)
    top.connect(source, block, sink)
    top.run()
    jamming = StreamJammer(kind, mode, tone_freq=0.05, seed=4, sense_window=32, sense_threshold=0.125).process(sensed)
    expected = np.convolve(jamming, rrc_taps(4, 0.35, 8))[:sensed.size]
    np.testing.assert_allclose(np.array(sink.data(), dtype=np.complex64), expected, atol=2e-5)
    if mode == "frame_aligned":
        assert not expected[:10_000].any() and np.abs(expected[10_200:30_000]).min() > 0