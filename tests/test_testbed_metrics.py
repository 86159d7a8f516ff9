"""LinkMetrics: joining transmitter and receiver records, per-frame lines, rejects, missed frames,
the run summary, and the JSON-lines transmitter log."""
import json

import numpy as np
import pytest

from semcomm.testbed import LinkMetrics, TxLogReader, TxLogWriter, read_tx_log, write_tx_log
from semcomm.testbed.metrics import JsonLinesWriter, decode_record, encode_record


def bits(n, seed):
    return np.random.default_rng(seed).integers(0, 2, n).astype(np.uint8)


def flip(b, count):
    out = b.copy()
    out[:count] ^= 1
    return out


@pytest.fixture
def run():
    """Four images sent; seq 0 clean, 1 with bit errors and a wrong class, 2 rejected (model id), 3 missed."""
    metrics = LinkMetrics()
    sent = {seq: (bits(100, seq), bits(200, 10 + seq)) for seq in range(4)}
    for seq, (payload, coded) in sent.items():
        metrics.add_tx({"seq": seq, "label": seq % 2, "t_tx": 100.0 + seq})   # source
        metrics.add_tx({"seq": seq, "tx_payload_bits": payload})              # framer tx_log
        metrics.add_tx({"seq": seq, "tx_coded_bits": coded})                  # LDPC encoder tx_log
    metrics.add_rx({"seq": 0, "detected": True, "header_ok": True, "payload_crc_ok": True, "fec_ok": True,
                    "coded_hard": flip(sent[0][1], 4), "rx_payload_bits": sent[0][0], "pred": 0, "t_rx": 100.010,
                    "snr_est_db": 9.5, "clamped": 0})
    metrics.add_rx({"seq": 1, "detected": True, "header_ok": True, "payload_crc_ok": False, "fec_ok": False,
                    "coded_hard": flip(sent[1][1], 20), "rx_payload_bits": flip(sent[1][0], 6), "pred": 0,
                    "t_rx": 101.030, "snr_est_db": 2.0})
    metrics.add_rx({"seq": 2, "detected": True, "header_ok": True, "reject": "model_id_mismatch"})
    metrics.add_rx({"detected": True, "header_ok": False, "reject": "header_crc"})   # no seq
    metrics.add_rx({"detected": True})                                              # no seq, no reason
    metrics.add_rx({"seq": 77, "detected": True, "pred": 3, "t_rx": 1.0})          # never sent
    metrics.add_rx({"seq": 0, "detected": True, "pred": 1})                         # second copy of seq 0
    return metrics


def test_lines_join_by_seq_with_bit_error_rates_and_latency(run):
    lines = {line["seq"]: line for line in run.lines()}
    assert sorted(lines) == [0, 1, 2]  # seq 3 is pending until finalize, 77 was never sent
    first = lines[0]
    assert first["pre_fec_ber"] == 4 / 200 and first["post_fec_ber"] == 0.0
    assert first["correct"] and first["label"] == first["pred"] == 0 and first["payload_crc_ok"] is True
    assert first["latency_ms"] == pytest.approx(10.0) and first["snr_est_db"] == 9.5
    second = lines[1]
    assert second["pre_fec_ber"] == 20 / 200 and second["post_fec_ber"] == 6 / 100
    assert not second["correct"] and second["payload_crc_ok"] is False
    third = lines[2]
    assert third["reject"] == "model_id_mismatch" and third["pred"] is None and not third["correct"]
    assert third["pre_fec_ber"] is None and third["latency_ms"] is None
    assert set(first) == {"seq", "detected", "header_ok", "payload_crc_ok", "pre_fec_ber", "post_fec_ber", "label",
                          "pred", "correct", "latency_ms", "snr_est_db", "reject", "rx_sample"}


def test_finalize_marks_unreceived_frames_missed(run):
    assert run.summary("c", 1.0)["frames_pending"] == 1 and run.summary("c", 1.0)["frames_missed"] == 0
    run.finalize()
    missed = run.lines()[-1]
    assert missed["seq"] == 3 and missed["detected"] is False and missed["pred"] is None and not missed["correct"]
    summary = run.summary("c", 1.0)
    assert summary["frames_missed"] == 1 and summary["frames_pending"] == 0


def test_summary_counts_rejects_and_weights_ber_by_bits(run):
    run.finalize()
    summary = run.summary("clean", 2.0)
    json.dumps(summary)  # JSON-serialisable
    assert summary["condition"] == "clean" and summary["images"] == 4
    assert summary["frames_detected"] == 3 and summary["frames_decoded"] == 2
    assert summary["header_crc_failures"] == 1 and summary["payload_crc_failures"] == 1
    assert summary["rejects"] == {"duplicate": 1, "header_crc": 1, "model_id_mismatch": 1, "no_seq": 1,
                                  "unknown_seq": 1}
    assert summary["ber_pre_fec"] == pytest.approx((4 + 20) / 400)
    assert summary["ber_post_fec"] == pytest.approx(6 / 200)
    assert summary["accuracy"] == 0.25 and summary["accuracy_received"] == 0.5  # 1 correct of 4 sent / 2 decoded
    assert summary["images_per_s"] == 1.0
    assert summary["latency_ms_mean"] == pytest.approx(20.0)
    assert summary["latency_ms_p95"] == pytest.approx(np.percentile([10.0, 30.0], 95))


def test_a_decoded_result_replaces_an_earlier_record_without_prediction():
    metrics = LinkMetrics()
    metrics.add_tx({"seq": 0, "label": 4})
    metrics.add_rx({"seq": 0, "detected": True, "reject": "decode_error"})
    metrics.add_rx({"seq": 0, "detected": True, "pred": 4})
    assert metrics.lines()[0]["correct"] and metrics.summary("x", 1.0)["rejects"] == {"decode_error": 1}


def test_bits_of_different_length_give_no_ber_and_are_counted():
    metrics = LinkMetrics()
    metrics.add_tx({"seq": 0, "label": 1, "tx_payload_bits": bits(96, 0), "tx_coded_bits": bits(200, 1)})
    metrics.add_rx({"seq": 0, "pred": 1, "rx_payload_bits": bits(128, 0), "coded_hard": bits(200, 1)})
    line = metrics.lines()[0]
    assert line["post_fec_ber"] is None and line["pre_fec_ber"] == 0.0
    summary = metrics.summary("x", 1.0)
    assert summary["ber_length_mismatches"] == 1 and summary["ber_post_fec"] is None


def test_new_lines_return_each_frame_once(run):
    assert [line["seq"] for line in run.new_lines()] == [0, 1, 2]
    assert run.new_lines() == []
    run.finalize()
    assert [line["seq"] for line in run.new_lines()] == [3]


def test_a_frame_is_decided_when_both_records_are_in_whichever_comes_first():
    metrics = LinkMetrics()
    metrics.add_rx({"seq": 0, "pred": 1})  # a receiver process may see a result before the TX log line
    assert metrics.new_lines() == []
    metrics.add_tx({"seq": 0, "label": 1})
    metrics.add_tx({"seq": 1, "label": 2})
    assert [(line["seq"], line["correct"]) for line in metrics.new_lines()] == [(0, True)]
    metrics.add_rx({"seq": 1, "pred": 2})
    metrics.add_rx({"seq": 1, "pred": 0})  # a duplicate: no second line
    assert [line["seq"] for line in metrics.new_lines()] == [1] and metrics.new_lines() == []


def test_empty_run_summary_has_nulls_not_errors():
    summary = LinkMetrics().summary("idle", 0.0)
    assert summary["images"] == 0 and summary["accuracy"] is None and summary["latency_ms_mean"] is None


def test_tx_log_round_trip_keeps_bits_exact(tmp_path):
    records = [{"seq": 0, "label": 3, "t_tx": 12.5}, {"seq": 0, "tx_payload_bits": bits(37, 1)},
               {"seq": 1, "tx_coded_bits": bits(1944, 2), "label": np.int64(7)}]
    path = tmp_path / "tx.jsonl"
    write_tx_log(path, records)
    line = json.loads(path.read_text().splitlines()[1])
    assert line["tx_payload_bits"]["nbits"] == 37 and len(line["tx_payload_bits"]["hex"]) == 2 * 5
    back = read_tx_log(path)
    assert back[0] == records[0] and back[2]["label"] == 7
    np.testing.assert_array_equal(back[1]["tx_payload_bits"], records[1]["tx_payload_bits"])
    np.testing.assert_array_equal(back[2]["tx_coded_bits"], records[2]["tx_coded_bits"])
    assert decode_record(encode_record({"seq": 5})) == {"seq": 5}


def test_tx_log_reader_follows_a_growing_file(tmp_path):
    path = tmp_path / "tx.jsonl"
    reader = TxLogReader(path)
    assert reader.read_new() == []  # not created yet
    writer = TxLogWriter(path)
    writer.write({"seq": 0, "label": 1})
    assert [r["seq"] for r in reader.read_new()] == [0]
    with open(path, "a") as handle:  # a line being written: only complete lines are read
        handle.write('{"seq": 1, "lab')
    assert reader.read_new() == []
    with open(path, "a") as handle:
        handle.write('el": 2}\n')
    writer.write({"seq": 2})
    writer.close()
    assert [r["seq"] for r in reader.read_new()] == [1, 2]
    with open(path, "a") as handle:  # corrupt lines (a crashed writer, a stray edit) are skipped and counted
        handle.write('{"seq": 3, "tx_payload_bits": {"hex": "zz"}}\n[1, 2]\n\n{"seq": 4}\n')
    assert [r["seq"] for r in reader.read_new()] == [4] and reader.bad_lines == 2


def test_lines_writer_flushes_each_line_and_keeps_a_write_error_instead_of_raising(tmp_path):
    path = tmp_path / "frames.jsonl"
    writer = JsonLinesWriter(path)
    writer.write({"seq": 0})
    assert path.read_text() == '{"seq": 0}\n' and writer.error is None  # on disk before close
    full = JsonLinesWriter("/dev/full")  # every write: ENOSPC, as on a full disk
    for seq in range(3):
        full.write({"seq": seq})
    full.close()
    assert full.error == "cannot write /dev/full: No space left on device"
    assert (full.written, full.lost) == (0, 3)
    with pytest.raises(OSError, match="cannot write /dev/full: No space left"):
        write_tx_log("/dev/full", [{"seq": 0}])
