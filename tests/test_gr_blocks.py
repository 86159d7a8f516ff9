"""GNU Radio PDU blocks index_to_bits / bits_to_index, run in real top blocks."""
import threading

import numpy as np
import pytest

gr = pytest.importorskip("gnuradio.gr", reason="GNU Radio (gnuradio.gr) cannot be imported")
pmt = pytest.importorskip("pmt", reason="GNU Radio's pmt cannot be imported")
from gnuradio import blocks, semcomm  # noqa: E402

from semcomm.phy.bits import IndexBitMapper  # noqa: E402

pytestmark = pytest.mark.gnuradio

PDUS = pmt.intern("pdus")
FLOWGRAPH_TIMEOUT_S = 20


def run_chain(chain, messages):
    """Post ``messages`` into the first block of a chain of PDU blocks, run the flowgraph until
    every block is done, and return the PDUs each block of the chain emitted."""
    top = gr.top_block()
    for upstream, downstream in zip(chain, chain[1:]):
        top.msg_connect(upstream, "pdus", downstream, "pdus")
    sinks = []
    for block in chain:
        sinks.append(blocks.message_debug())
        top.msg_connect(block, "pdus", sinks[-1], "store")
    for msg in messages:
        chain[0]._post(PDUS, msg)
    # "done" on the system port finishes the first block, which then tells its neighbours.
    chain[0]._post(pmt.intern("system"), pmt.cons(pmt.intern("done"), pmt.from_long(1)))
    top.start()
    waiter = threading.Thread(target=top.wait, daemon=True)
    waiter.start()
    waiter.join(FLOWGRAPH_TIMEOUT_S)
    if waiter.is_alive():
        top.stop()
        top.wait()
        pytest.fail(f"flowgraph did not finish within {FLOWGRAPH_TIMEOUT_S} s")
    return [[sink.get_message(i) for i in range(sink.num_messages())] for sink in sinks]


def index_pdu(indices, seq=None, vector=pmt.init_s32vector, dtype=np.int32):
    meta = pmt.make_dict() if seq is None else pmt.dict_add(pmt.make_dict(), pmt.intern("seq"), pmt.from_long(seq))
    values = np.asarray(indices, dtype=dtype)
    return pmt.cons(meta, vector(values.size, values))


def bit_pdu(bits):
    bits = np.asarray(bits, dtype=np.uint8)
    return pmt.cons(pmt.make_dict(), pmt.init_u8vector(bits.size, bits))


def meta_value(msg, key):
    return pmt.to_python(pmt.dict_ref(pmt.car(msg), pmt.intern(key), pmt.PMT_NIL))


@pytest.mark.parametrize("labelling", ["natural", "gray"])
def test_round_trip_is_exact_and_bits_are_one_per_byte(labelling):
    alphabet, count = 12, 10
    mapper = IndexBitMapper(alphabet, count, labelling)
    indices = np.random.default_rng(1).integers(0, alphabet, (5, count))
    tx = semcomm.index_to_bits(alphabet, count, labelling)
    rx = semcomm.bits_to_index(alphabet, count, labelling)
    bit_pdus, index_pdus = run_chain([tx, rx], [index_pdu(row, seq) for seq, row in enumerate(indices)])
    assert len(bit_pdus) == len(index_pdus) == len(indices)
    for seq, (bits_msg, out_msg) in enumerate(zip(bit_pdus, index_pdus)):
        assert pmt.is_u8vector(pmt.cdr(bits_msg))
        bits = np.array(pmt.u8vector_elements(pmt.cdr(bits_msg)))
        np.testing.assert_array_equal(bits, mapper.to_bits(indices[seq:seq + 1])[0])
        assert pmt.is_s32vector(pmt.cdr(out_msg))
        np.testing.assert_array_equal(pmt.s32vector_elements(pmt.cdr(out_msg)), indices[seq])
        assert meta_value(out_msg, "seq") == seq and meta_value(out_msg, "clamped") == 0
    assert (tx.processed, tx.dropped, rx.processed, rx.dropped) == (5, 0, 5, 0)


def test_segment_alphabet_round_trip():
    alphabet = "[[3, 512], [5, 12]]"
    mapper = IndexBitMapper(alphabet)
    indices = np.array([511, 0, 300, 11, 0, 5, 7, 3])
    tx, rx = semcomm.index_to_bits(alphabet), semcomm.bits_to_index(alphabet, labelling="natural")
    bit_pdus, index_pdus = run_chain([tx, rx], [index_pdu(indices)])
    assert pmt.length(pmt.cdr(bit_pdus[0])) == mapper.num_bits == 3 * 9 + 5 * 4
    np.testing.assert_array_equal(pmt.s32vector_elements(pmt.cdr(index_pdus[0])), indices)


@pytest.mark.parametrize("vector, dtype", [(pmt.init_u8vector, np.uint8), (pmt.init_s16vector, np.int16),
                                           (pmt.init_s64vector, np.int64)])
def test_index_to_bits_accepts_other_integer_vectors(vector, dtype):
    indices = [0, 11, 5, 7]
    (outputs,) = run_chain([semcomm.index_to_bits(12, 4)],
                           [index_pdu(indices), index_pdu(indices, vector=vector, dtype=dtype)])
    reference, other = outputs
    assert pmt.equal(pmt.cdr(reference), pmt.cdr(other))


def test_clamping_is_counted_for_bit_errors_with_non_power_of_two_alphabet():
    alphabet, count = 12, 64  # 4 bits per index: received words 12..15 are clamped to 11
    rng = np.random.default_rng(7)
    clean = IndexBitMapper(alphabet, count).to_bits(rng.integers(0, alphabet, (1, count)))[0]
    noisy = clean ^ (rng.random(clean.size) < 0.1).astype(np.uint8)
    words = noisy.reshape(count, 4) @ np.array([8, 4, 2, 1])
    expected = np.minimum(words, alphabet - 1)
    assert (words >= alphabet).sum() > 0
    (outputs,) = run_chain([semcomm.bits_to_index(alphabet, count)], [bit_pdu(np.ones(4 * count)), bit_pdu(noisy)])
    all_ones, received = outputs
    assert meta_value(all_ones, "clamped") == count
    np.testing.assert_array_equal(pmt.s32vector_elements(pmt.cdr(all_ones)), [alphabet - 1] * count)
    assert meta_value(received, "clamped") == (words >= alphabet).sum()
    np.testing.assert_array_equal(pmt.s32vector_elements(pmt.cdr(received)), expected)


def test_malformed_pdus_are_dropped_and_counted_without_stopping_the_flowgraph():
    rx = semcomm.bits_to_index(12, 4)
    good = bit_pdu(np.zeros(16))
    bad = [bit_pdu(np.zeros(15)),                                                # wrong length
           pmt.cons(pmt.make_dict(), pmt.init_f32vector(16, [0.0] * 16)),         # wrong type
           pmt.intern("not a pdu"),                                               # not a pair
           pmt.cons(pmt.intern("meta"), pmt.init_u8vector(16, [0] * 16))]         # metadata not a dict
    (outputs,) = run_chain([rx], [bad[0], good, *bad[1:], good])
    assert len(outputs) == 2 and (rx.processed, rx.dropped) == (2, len(bad))


def test_index_to_bits_drops_out_of_range_and_malformed_index_pdus():
    tx = semcomm.index_to_bits(12, 4)
    bad = [index_pdu([0, 1, 2, 12]), index_pdu([0, -1, 2, 3]), index_pdu([0, 1, 2]),
           pmt.cons(pmt.make_dict(), pmt.init_f32vector(4, [0.0, 1.0, 2.0, 3.0])),
           pmt.cons(pmt.make_dict(), pmt.init_u64vector(4, [0, 1, 2, 2 ** 64 - 1]))]
    (outputs,) = run_chain([tx], [*bad, index_pdu([0, 1, 2, 11])])
    assert len(outputs) == 1 and (tx.processed, tx.dropped) == (1, len(bad))


@pytest.mark.parametrize("kwargs", [dict(alphabet=1, num_indices=4), dict(alphabet=12, num_indices=0),
                                    dict(alphabet=12, num_indices=4, labelling="grey"),
                                    dict(alphabet="[[3, 512]]", num_indices=4)])
def test_invalid_parameters_are_refused_at_construction(kwargs):
    for block in (semcomm.index_to_bits, semcomm.bits_to_index):
        with pytest.raises(ValueError):
            block(**kwargs)
