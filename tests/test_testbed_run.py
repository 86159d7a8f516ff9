"""The testbed flowgraphs run headless by `semcomm run`: loopback (clean, jammed and impaired), the
four ZMQ processes, the B210 graphs up to the missing radio, and a fuzz of the receiver blocks."""
import json
import os
import time

import numpy as np
import pytest

pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")

import pmt  # noqa: E402
from gnuradio import blocks, gr  # noqa: E402

from semcomm.testbed.config import load_testbed_config  # noqa: E402
from semcomm.testbed.run import (FLOWGRAPHS, ROLES, FlowgraphError, build_graph, graph_arguments,  # noqa: E402
                                  graph_parameters, run_loopback, run_role, run_zmq)

pytestmark = pytest.mark.gnuradio

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPBACK = os.path.join(ROOT, "hw_configs", "loopback.yaml")
B210 = os.path.join(ROOT, "hw_configs", "b210.yaml")
FIXTURE = {"data.num_images": 12, "data.start": 0}


def test_committed_flowgraphs_match_their_generator(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("flowgraphs_tool", os.path.join(ROOT, "tools", "flowgraphs.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.main(str(tmp_path))
    for generated in tmp_path.glob("*.grc"):
        assert generated.read_text() == (FLOWGRAPHS / generated.name).read_text(), \
            f"{generated.name} is stale: run tools/flowgraphs.py"


def test_each_graph_gets_exactly_its_parameters_from_the_config(tmp_path):
    config = load_testbed_config(B210)
    for role in ROLES:
        arguments = graph_arguments(config, role, tmp_path)
        assert set(arguments) <= graph_parameters(role)
        assert graph_parameters(role) == set(arguments), role
    radio = graph_arguments(config, "tx_b210")
    assert (radio["usrp_args"], radio["tx_gain"], radio["data_path"], radio["image_seed"]) \
        == ("type=b200,master_clock_rate=32000000", 60.0, "", -1)
    config = load_testbed_config(B210, {"endpoints.radios.attacker.serial": "31A", "endpoints.radios.attacker.rx_gain": 20})
    attacker, receiver = graph_arguments(config, "attacker_b210"), graph_arguments(config, "rx_b210")
    assert (attacker["usrp_args"], attacker["rx_gain"]) == ("type=b200,serial=31A,master_clock_rate=32000000", 20.0)
    assert (receiver["usrp_args"], receiver["rx_gain"]) == ("type=b200,master_clock_rate=32000000", 40.0)
    assert graph_arguments(config, "loopback")["attack"] == 0


def test_an_argument_a_graph_has_no_parameter_for_is_an_error():
    with pytest.raises(FlowgraphError, match="the tx flowgraph has no parameter psr_db, snr_db; its parameters: "):
        build_graph("tx", {"snr_db": 5.0, "psr_db": 0.0, "model": "models/masked_vqvae_fim_at"})


def test_loopback_clean_delivers_every_image(tmp_path):
    summary = run_loopback(load_testbed_config(LOOPBACK, FIXTURE), "clean", tmp_path, timeout_s=120)
    assert summary["images"] == 12 and summary["frames_detected"] == 12 and summary["frames_missed"] == 0
    assert summary["ended"] == "completed" and summary["ended_detail"] == {}
    assert summary["ber_post_fec"] == 0.0 and 0.02 < summary["ber_pre_fec"] < 0.12  # 16-QAM at 10 dB: 0.06
    assert summary["accuracy"] >= 0.6
    assert not [k for k in summary["counters"] if k.endswith((".dropped", ".rejected"))]
    lines = (tmp_path / "frames.jsonl").read_text().splitlines()
    assert len(lines) == 12 and (tmp_path / "summary.json").is_file()


def test_loopback_with_jammer_cfo_and_timing_offset(tmp_path):
    overrides = {**FIXTURE, "attacker.enabled": True, "attacker.kind": "gaussian", "attacker.psr_db": 3.0, "channel.cfo": 0.002,
                 "channel.timing_offset": 2.5}
    summary = run_loopback(load_testbed_config(LOOPBACK, overrides), "jammed", tmp_path, timeout_s=120)
    assert summary["images"] == 12 and summary["frames_detected"] + summary["frames_missed"] == 12
    assert summary["ber_pre_fec"] > 0.2  # PSR +3 dB in band: SINR about -2 dB
    assert summary["payload_crc_failures"] > 0


def test_zmq_processes_end_to_end(tmp_path):
    ports = {"endpoints.tx_out": "tcp://127.0.0.1:55611", "endpoints.attacker_out": "tcp://127.0.0.1:55612",
             "endpoints.channel_out": "tcp://127.0.0.1:55613", "endpoints.sense_out": "tcp://127.0.0.1:55614",
             "data.num_images": 8}
    summary = run_zmq(LOOPBACK, [f"{k}={v}" for k, v in ports.items()], tmp_path, timeout_s=300)
    assert summary["images"] == 8 and summary["frames_detected"] == 8 and summary["ber_post_fec"] == 0.0
    assert summary["ended"] == "completed"
    for role in ("tx", "rx", "channel", "attacker"):
        assert (tmp_path / f"{role}.log").is_file()


def test_loopback_semantic_attacker_hits_every_frame_at_the_requested_psr(tmp_path):
    overrides = {**FIXTURE, "attacker.enabled": True, "attacker.psr_db": 0.0, "attacker.sync": "reactive"}
    summary = run_loopback(load_testbed_config(LOOPBACK, overrides), "semantic", tmp_path, timeout_s=120)
    attack = summary["attack"]
    assert attack["frames_on_air"] == 12 and attack["hit_rate"] == 1.0 and attack["detections"] == 12
    assert abs(attack["psr_db_realised_mean"]) < 0.2
    assert summary["payload_crc_failures"] > 6  # simulated: every frame fails at PSR 0 dB
    frames = [json.loads(line) for line in (tmp_path / "frames.jsonl").read_text().splitlines()]
    assert all(frame["attacked"] and frame["attack_offset"] == 0 for frame in frames)


def test_a_perturbation_file_for_another_model_is_refused_at_start(tmp_path):
    overrides = {**FIXTURE, "attacker.enabled": True, "model": "models/masked_vqvae"}
    with pytest.raises(FlowgraphError, match="crafted for model id"):
        run_loopback(load_testbed_config(LOOPBACK, overrides), "wrong file", tmp_path, timeout_s=60)


def test_zmq_processes_with_the_semantic_attacker_sensing_the_air(tmp_path):
    settings = {"endpoints.tx_out": "tcp://127.0.0.1:55621", "endpoints.attacker_out": "tcp://127.0.0.1:55622",
                "endpoints.channel_out": "tcp://127.0.0.1:55623", "endpoints.sense_out": "tcp://127.0.0.1:55624",
                "data.num_images": 8, "attacker.enabled": "true", "attacker.psr_db": 0}
    summary = run_zmq(LOOPBACK, [f"{k}={v}" for k, v in settings.items()], tmp_path, timeout_s=300)
    assert summary["ended"] == "completed" and summary["images"] == 8
    assert summary["attack"]["detections"] == 8 and summary["attack"]["bursts"] == 8
    assert summary["payload_crc_failures"] > 4  # the perturbation reached the receiver over ZMQ
    assert summary["attack"]["link"]["used_samples"] > 0 and summary["attack"]["link"]["malformed"] == 0


def test_a_zmq_attacker_that_dies_mid_run_does_not_stop_the_link(tmp_path):
    """The attacker process is killed after the first frames: the channel goes on without it after one wait,
    every image still reaches the receiver, and the summary says the attacker died."""
    import signal
    import subprocess
    import threading

    settings = {"endpoints.tx_out": "tcp://127.0.0.1:55661", "endpoints.attacker_out": "tcp://127.0.0.1:55662",
                "endpoints.channel_out": "tcp://127.0.0.1:55663", "endpoints.sense_out": "tcp://127.0.0.1:55664",
                "data.num_images": 16, "data.images_per_s": 4, "attacker.enabled": "true", "attacker.psr_db": 0,
                "attacker.link_wait_ms": 300}

    def kill_the_attacker():
        deadline = time.monotonic() + 120
        while not (tmp_path / "tx.ready").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # a few frames attacked
        found = subprocess.run(["pgrep", "-f", f"run attacker .*{tmp_path}"], capture_output=True, text=True)
        for pid in found.stdout.split():
            os.kill(int(pid), signal.SIGKILL)

    killer = threading.Thread(target=kill_the_attacker)
    killer.start()
    summary = run_zmq(LOOPBACK, [f"{k}={v}" for k, v in settings.items()], tmp_path, timeout_s=300)
    killer.join()
    assert summary["ended"] == "completed" and summary["images"] == 16
    assert summary["frames_detected"] + summary["frames_missed"] == 16 and summary["frames_detected"] >= 14
    attack = summary["attack"]
    assert "killed" in attack["attacker_exit"] or "signal" in attack["attacker_exit"]
    assert attack["link"]["outages"] >= 1 and attack["link"]["used_samples"] > 0


def test_b210_graph_fails_clearly_without_a_radio(tmp_path):
    config = load_testbed_config(B210, {"data.num_images": 1})
    with pytest.raises(FlowgraphError, match="tx_b210"):
        run_role("tx_b210", config, tmp_path, timeout_s=30)
    with pytest.raises(FlowgraphError, match="attacker_b210"):
        run_role("attacker_b210", config, tmp_path, timeout_s=30)


def test_receiver_blocks_survive_random_input():
    """Fuzz: random bytes, vectors and metadata into every receiver PDU block and random / truncated
    IQ into the frame synchroniser; nothing may raise and every bad message must be counted."""
    from gnuradio import semcomm
    link = semcomm.model_link("models/masked_vqvae_fim_at")
    rng = np.random.default_rng(7)
    targets = [semcomm.soft_demapper(), semcomm.ldpc_decoder(), semcomm.deframer(link.model_id, link.num_bits),
               semcomm.bits_to_index(link.alphabet, link.num_tokens),
               semcomm.semantic_decoder("models/masked_vqvae_fim_at")]
    top = gr.top_block()
    sink = blocks.message_debug()
    for block in targets:
        top.msg_connect(block, "pdus", sink, "store")
    iq = (rng.standard_normal(200_000) + 1j * rng.standard_normal(200_000)).astype(np.complex64)
    source = blocks.vector_source_c(iq.tolist(), False)
    sync = semcomm.frame_sync(4, 0.5)
    top.connect(source, sync)
    top.start()
    makers = [lambda n: pmt.init_u8vector(n, rng.integers(0, 256, n).tolist()),
              lambda n: pmt.init_f32vector(n, rng.standard_normal(n).tolist()),
              lambda n: pmt.init_c32vector(n, (rng.standard_normal(n) + 0j).tolist()),
              lambda n: pmt.init_s32vector(n, rng.integers(-5, 5000, n).tolist())]
    metas = [pmt.PMT_NIL, pmt.make_dict(),
             pmt.dict_add(pmt.dict_add(pmt.make_dict(), pmt.intern("payload_len"), pmt.from_long(25)),
                          pmt.intern("modulation"), pmt.intern("16qam")),
             pmt.dict_add(pmt.make_dict(), pmt.intern("header"), pmt.init_u8vector(18, rng.integers(0, 256, 18).tolist()))]
    for i in range(150):
        msg = pmt.cons(metas[i % len(metas)], makers[i % len(makers)](int(rng.integers(0, 1300))))
        for block in targets:
            block.to_basic_block()._post(pmt.intern("pdus"), msg)
        for block in targets[:1]:
            block.to_basic_block()._post(pmt.intern("pdus"), pmt.intern("not a pdu"))
    time.sleep(2.0)
    top.stop()
    top.wait()
    for block in targets:
        handled = block.processed + block.dropped + getattr(block, "rejected", 0)
        assert handled >= 150, f"{block.name()}: {block.processed}/{block.dropped}"
    assert sync.samples == iq.size and sync.frames == 0


def test_bad_config_is_reported_by_path(tmp_path):
    from semcomm.cli import main
    assert main(["run", "loopback", "--config", LOOPBACK, "--set", "channel.snr_db=999", "--out", str(tmp_path)]) == 2


def test_flowgraph_accuracy_agrees_with_core_simulation(tmp_path):
    from semcomm.testbed.agreement import compare
    result = compare(LOOPBACK, [10.0], tmp_path, {"data.num_images": 20})
    point = result["points"][0]
    assert point["images"] == 20 and abs(point["difference_points"]) <= 5.0  # at most one image apart
    assert (tmp_path / "agreement.json").is_file()


def test_receiver_survives_a_zmq_peer_that_stops_and_restarts(tmp_path):
    """The rx graph keeps running when its IQ peer disappears mid-frame and comes back: frames on both
    sides of the gap are decoded, the cut one is counted (missed or rejected), nothing crashes."""
    import zmq
    from semcomm.testbed.bench import receiver_iq

    endpoint = "tcp://127.0.0.1:55621"
    config = load_testbed_config(LOOPBACK, {"data.num_images": 10, "endpoints.channel_out": endpoint})
    iq, records = receiver_iq(config)
    graph = build_graph("rx", {**graph_arguments(config, "rx", tmp_path), "tx_log_path": ""})
    for record in records:
        graph.metrics.add_tx(record)
    graph.start()
    try:
        cut = iq.size // 2 + 1000  # inside frame 5
        # the second peer starts 2000 samples later; wait for the frames before / after the gap
        for part, frames_expected in ((iq[:cut], 5), (iq[cut + 2000:], 9)):
            socket = zmq.Context.instance().socket(zmq.PUSH)
            socket.bind(endpoint)
            socket.send(part.tobytes())
            deadline = time.time() + 30
            while graph.metrics.frames_seen < frames_expected and time.time() < deadline:
                time.sleep(0.05)
            socket.close(linger=1000)
            time.sleep(0.5)
    finally:
        graph.stop()
        graph.wait()
    summary = graph.metrics.summary("restart", 1.0)
    assert summary["frames_detected"] >= 8 and summary["frames_detected"] + summary["frames_missed"] == 10


def test_the_b210_transmitters_bursts_are_whole_frames_in_samples():
    """tx_b210's chain from the PDU stream to the USRP sink: after the interpolating RRC the length tag is scaled
    to samples, so the sink's burst mode (tx_sob at the tag, tx_eob packet_len samples later) sends each frame
    with its guard as one burst."""
    import yaml

    from gnuradio import filter as gr_filter
    from semcomm.phy.pulse import rrc_taps

    with open(os.path.join(ROOT, "flowgraphs", "tx_b210.grc")) as handle:
        graph = yaml.safe_load(handle)
    blocks_by_name = {block["name"]: block for block in graph["blocks"]}
    assert blocks_by_name["out"]["parameters"]["len_tag_name"] == "'packet_len'"
    assert ["scale", "0", "burst_length", "0"] in graph["connections"]
    sps, symbols = 4, 897
    tags = []
    for k in range(3):
        tag = gr.tag_t()
        tag.offset, tag.key, tag.value = k * symbols, pmt.intern("packet_len"), pmt.from_long(symbols)
        tags.append(tag)
    top = gr.top_block()
    source = blocks.vector_source_c(np.ones(3 * symbols, np.complex64).tolist(), False, 1, tags)
    shaper = gr_filter.interp_fir_filter_ccf(sps, rrc_taps(sps, 0.35, 8))
    length = blocks.tagged_stream_multiply_length(gr.sizeof_gr_complex, "packet_len", sps)
    sink = blocks.vector_sink_c()
    top.connect(source, shaper, length, sink)
    top.run()
    found = [(tag.offset, pmt.to_long(tag.value)) for tag in sink.tags() if pmt.symbol_to_string(tag.key) == "packet_len"]
    assert found == [(k * symbols * sps, symbols * sps) for k in range(3)]
