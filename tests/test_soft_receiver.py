"""The differentiable receiver (semcomm.attacks.soft_receiver) against the real one: soft demapping, the unrolled
layered min-sum's hard decisions, index probabilities, and gradients that reach the received symbols."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from semcomm.attacks.soft_receiver import SoftDemapper, SoftReceiver, UnrolledMinSum, row_layers  # noqa: E402
from semcomm.phy.bits import IndexBitMapper  # noqa: E402
from semcomm.phy.ldpc import get_code  # noqa: E402
from semcomm.phy.modem import payload_layout  # noqa: E402
from test_jpeg_baseline import one_torch_thread  # noqa: E402,F401 - autouse fixture

LAYOUT = payload_layout(25, "16qam", "wifi1944_r12")  # the default codec's frame: 301 payload symbols
MAPPER = IndexBitMapper(256, 25)


def _received(snr_db: float, frames: int, seed: int):
    """Random payloads through the real transmitter and AWGN: (payload bits, symbols y, N0)."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (frames, LAYOUT.num_bits)).astype(np.uint8)
    x = LAYOUT.modulate(LAYOUT.encode(bits))
    n0 = 10.0 ** (-snr_db / 10.0)
    noise = np.sqrt(n0 / 2) * (rng.standard_normal(x.shape) + 1j * rng.standard_normal(x.shape))
    return bits, (x + noise).astype(np.complex64), n0


@pytest.mark.parametrize("method", ["maxlog", "exact"])
def test_demapper_matches_the_qam_demapper(method):
    _, y, n0 = _received(6.0, 8, 0)
    soft = SoftDemapper(LAYOUT.qam, method)(torch.from_numpy(y), torch.full((8,), n0)).numpy()
    assert np.allclose(soft, LAYOUT.qam.demodulate_llr(y, n0, method), atol=1e-3, rtol=1e-5)


def test_layers_partition_the_rows_into_runs_that_share_no_variable():
    code = get_code("wifi1944_r12")
    layers = row_layers(code)
    assert [len(rows) for rows in layers] == [81] * 12  # the 802.11n block rows
    assert np.array_equal(np.concatenate(layers), np.arange(code.m))
    for rows in layers:
        edges = np.concatenate([np.arange(code.check_ptr[r], code.check_ptr[r + 1]) for r in rows])
        assert len(np.unique(code.var_of_edge[edges])) == len(edges)


@pytest.mark.parametrize("snr_db", [3.0, 10.0])
def test_hard_decisions_agree_with_the_real_decoder_where_it_converges(snr_db):
    bits, y, n0 = _received(snr_db, 48, 1)
    real = LAYOUT.coder.decode(LAYOUT.qam.demodulate_llr(y, n0)[:, :LAYOUT.num_coded_bits], max_iterations=20,
                               algorithm="nms")
    receiver = SoftReceiver(LAYOUT, MAPPER, iterations=20)
    posterior = receiver.posterior_llrs(receiver.coded_llrs(torch.from_numpy(y), torch.full((48,), n0)))
    converged = real.syndrome_ok.all(axis=1)
    assert converged.sum() >= 24
    assert np.array_equal((posterior.numpy() < 0)[converged], real.bits[converged])


def test_more_unrolled_iterations_correct_more_channel_errors():
    bits, y, n0 = _received(3.0, 16, 2)
    llrs = torch.from_numpy(LAYOUT.qam.demodulate_llr(y, n0)[:, :LAYOUT.num_coded_bits])
    channel_errors = np.count_nonzero((llrs.numpy() < 0) != LAYOUT.encode(bits))
    errors = {}
    for iterations in (1, 10):
        receiver = SoftReceiver(LAYOUT, MAPPER, iterations=iterations)
        errors[iterations] = np.count_nonzero((receiver.posterior_llrs(llrs).numpy() < 0) != bits)
    assert channel_errors > 100 and errors[10] < errors[1]
    with pytest.raises(ValueError, match="iterations must be >= 1"):
        UnrolledMinSum(get_code("wifi1944_r12"), 0)


def test_index_probabilities_peak_at_the_sent_indices_and_fold_words_beyond_the_alphabet():
    indices = np.random.default_rng(3).integers(0, 256, (4, 25))
    bits = MAPPER.to_bits(indices).astype(np.float32)
    posterior = torch.from_numpy(np.concatenate([20.0 * (1 - 2 * bits), np.zeros((4, 32), np.float32)], axis=1))
    probabilities = SoftReceiver(LAYOUT, MAPPER).index_probabilities(posterior)
    assert probabilities.shape == (4, 25, 256)
    assert np.allclose(probabilities.sum(dim=2).numpy(), 1.0, atol=1e-5)
    assert np.array_equal(probabilities.argmax(dim=2).numpy(), indices)
    small = SoftReceiver(payload_layout(25, "16qam", "wifi1944_r12"), IndexBitMapper(200, 25))
    uncertain = small.index_probabilities(torch.zeros(1, LAYOUT.num_bits))  # every 8-bit word equally likely
    assert np.isclose(float(uncertain[0, 0, 199]), 57 / 256) and np.isclose(float(uncertain[0, 0, 0]), 1 / 256)


def test_gradients_reach_the_received_symbols():
    _, y, n0 = _received(8.0, 4, 4)
    received = torch.from_numpy(y).requires_grad_(True)
    receiver = SoftReceiver(LAYOUT, MAPPER, iterations=5, temperature=10.0)
    codebook = torch.nn.functional.normalize(torch.randn(256, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    vectors = receiver.index_probabilities(receiver.posterior_llrs(receiver.coded_llrs(received, torch.full((4,), n0))))
    (vectors @ codebook).sum().backward()
    assert torch.isfinite(received.grad).all() and received.grad.abs().sum() > 0
