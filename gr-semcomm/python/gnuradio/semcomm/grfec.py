"""gr-fec LDPC interoperability and benchmark helpers (needs GNU Radio; written against 3.10.5).

Each function runs gr-fec's alist-based LDPC encoder (``fec.ldpc_encoder_make``) or decoder
(``fec.ldpc_decoder.make``, sum-product) in a real flowgraph,
``vector_source -> fec.encoder / fec.decoder -> vector_sink``, over a batch of frames; both
accept any alist file (``fec.ldpc_par_mtrx_encoder`` needs an H in approximate lower triangular
form with a known gap, ``fec.ldpc_bit_flip_decoder`` is hard-decision only).

gr-fec 3.10.5 soft-input convention (verified by running it, and in the disassembly of
``libgnuradio-fec.so.3.10.5.1``)
    ``ldpc_decoder`` negates each input value ``y``; ``awgn_bp`` then forms the
    *probability-domain* likelihood ratio ``LR = exp(y / (2 sigma^2)) = P(b=1) / P(b=0)`` and
    decides 1 when ``LR > 1``. So the decoder wants soft values that are **positive for bit 1**,
    scaled as ``y = -2 sigma^2 * LLR`` with semcomm's ``LLR = ln P(0)/P(1)``. With
    ``sigma = 1/sqrt(2)`` (:data:`GRFEC_SIGMA`) this is just ``y = -LLR``. Evidence: BPSK symbols
    ``1 - 2b`` fed as is decode no frame, ``-(1 - 2b)`` decode every frame; and at a fixed noise
    level ``sigma_n`` the block error rate over the ``sigma`` parameter is lowest near
    ``sigma = sigma_n / 2``, where ``y / (2 sigma^2) = 2 y / sigma_n^2`` is the true LLR of the
    (negated) symbol. Later releases rewrote ``awgn_bp`` in the LLR domain and changed these
    conventions; :func:`to_grfec_soft` is the one place that converts.
    Because it multiplies likelihood ratios, the decoder produces NaNs once ratios saturate:
    over-confident inputs (|LLR| of a few tens on erroneous bits) make it fail where an LLR-domain
    decoder does not. Inputs are therefore clipped to ``+-GRFEC_LLR_LIMIT`` (an LLR of 20 is an
    error probability of 2e-9, so the clip costs nothing on calibrated LLRs).

Systematic positions
    gr-fec's ``cldpc`` class (shared by ``ldpc_encoder_make`` and ``ldpc_decoder``) permutes the
    columns of H to reach ``G = [I P]`` form: the encoder writes information bit ``i`` at
    ``permute[rank + i]`` and the decoder outputs the hard decisions at those same positions.
    They differ from semcomm's ``code.info_positions`` (for ``n_1800_k_0902_gap_28`` they are the
    last ``k`` positions, for the 802.11n codes mostly the last ``k`` with a few exchanged), so
    an interoperability check must compare codewords, or use :func:`grfec_systematic_positions`.

Shapes: information bits ``[F, k]`` and codewords ``[F, n]`` uint8, LLRs ``[F, n]``.
"""
from __future__ import annotations

import os
import time

import numpy as np
from gnuradio import blocks, fec, gr

#: ``sigma`` given to ``fec.ldpc_decoder.make`` so that its input is an LLR (up to sign).
GRFEC_SIGMA = 2 ** -0.5
#: Largest |LLR| passed to gr-fec's probability-domain decoder (see module docstring).
GRFEC_LLR_LIMIT = 20.0


def to_grfec_soft(llrs) -> np.ndarray:
    """semcomm LLRs (``ln P(0)/P(1)``) -> gr-fec 3.10.5 ``ldpc_decoder`` input at :data:`GRFEC_SIGMA`."""
    return -np.clip(np.asarray(llrs, dtype=np.float32), -GRFEC_LLR_LIMIT, GRFEC_LLR_LIMIT)


def _check_alist(alist_path: str) -> str:
    if not os.path.isfile(alist_path):
        raise ValueError(f"alist file {alist_path!r} does not exist")
    return alist_path


def _rows(array, length: int, what: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2 or array.shape[1] != length:
        raise ValueError(f"{what} must have shape [F, {length}], got {list(array.shape)}")
    return array


def _run(source, fec_block, sink) -> float:
    """Run ``source -> fec_block -> sink`` to completion; returns the wall time of the run."""
    top = gr.top_block("semcomm_grfec")
    top.connect(source, fec_block, sink)
    start = time.perf_counter()
    top.run()
    return time.perf_counter() - start


def grfec_code_size(alist_path: str) -> tuple[int, int]:
    """``(n, k)`` of the code as gr-fec sees it (``k = n - rank(H)``)."""
    encoder = fec.ldpc_encoder_make(_check_alist(alist_path))
    return encoder.get_output_size(), encoder.get_input_size()


def grfec_encode(alist_path: str, info_bits) -> np.ndarray:
    """Information bits ``[F, k]`` -> gr-fec codewords ``[F, n]`` (uint8), one flowgraph run."""
    encoder = fec.ldpc_encoder_make(_check_alist(alist_path))
    n, k = encoder.get_output_size(), encoder.get_input_size()
    info_bits = _rows(info_bits, k, "information bits").astype(np.uint8) & 1
    sink = blocks.vector_sink_b()
    _run(blocks.vector_source_b(info_bits.ravel().tolist(), False),
         fec.encoder(encoder, gr.sizeof_char, gr.sizeof_char), sink)
    return np.array(sink.data(), dtype=np.uint8).reshape(-1, n)


def _decode(alist_path: str, llrs, max_iterations: int) -> tuple[np.ndarray, float]:
    """gr-fec decoder on semcomm LLRs ``[F, n]`` -> (information bits ``[F, k]``, run seconds)."""
    if int(max_iterations) < 1:
        raise ValueError(f"max_iterations must be >= 1, got {max_iterations}")
    decoder = fec.ldpc_decoder.make(_check_alist(alist_path), GRFEC_SIGMA, int(max_iterations))
    n, k = decoder.get_input_size(), decoder.get_output_size()
    soft = to_grfec_soft(_rows(llrs, n, "LLRs"))
    source = blocks.vector_source_f(soft.ravel().tolist(), False)
    sink = blocks.vector_sink_b()
    seconds = _run(source, fec.decoder(decoder, gr.sizeof_float, gr.sizeof_char), sink)
    return np.array(sink.data(), dtype=np.uint8).reshape(-1, k), seconds


def grfec_decode(alist_path: str, llrs, max_iterations: int = 50) -> np.ndarray:
    """semcomm LLRs ``[F, n]`` -> gr-fec's decoded information bits ``[F, k]`` (uint8).

    The bits are those at :func:`grfec_systematic_positions`, not at ``code.info_positions``.
    """
    return _decode(alist_path, llrs, max_iterations)[0]


def grfec_systematic_positions(alist_path: str, frames: int = 64, seed: int = 0) -> np.ndarray:
    """Codeword positions ``[k]`` where gr-fec's encoder places information bits ``0..k-1``.

    Found by encoding ``frames`` random words: position ``p`` carries bit ``i`` when column ``p``
    of the codewords equals column ``i`` of the inputs in every frame (a chance match of a parity
    column has probability ``2^-frames``). Raises ``RuntimeError`` if a bit has no unique position.
    """
    _, k = grfec_code_size(alist_path)
    info = np.random.default_rng(seed).integers(0, 2, (frames, k), dtype=np.uint8)
    codewords = grfec_encode(alist_path, info)
    matches = np.all(codewords[:, None, :] == info[:, :, None], axis=0)  # [k, n]
    counts = matches.sum(axis=1)
    if np.any(counts != 1):
        raise RuntimeError(f"{alist_path}: information bit {int(np.argmax(counts != 1))} has "
                           f"{int(counts[counts != 1][0])} candidate positions; use more frames")
    return np.argmax(matches, axis=1).astype(np.int64)


def grfec_decode_throughput(alist_path: str, llrs, max_iterations: int = 20) -> dict:
    """Time gr-fec's LDPC decoder on semcomm LLRs ``[F, n]`` in one flowgraph run (one decoder
    thread). ``coded_mbps = F * n / seconds / 1e6``; ``seconds`` is the wall time of
    ``top_block.run()`` (flowgraph start and stop included, data conversion excluded)."""
    bits, seconds = _decode(alist_path, llrs, max_iterations)
    frames, n = np.shape(llrs)
    return {"coded_mbps": frames * n / seconds / 1e6, "seconds": seconds, "frames": int(frames),
            "n": int(n), "k": int(bits.shape[1]), "max_iterations": int(max_iterations),
            "decoder": "gr-fec ldpc_decoder (probability-domain sum-product)",
            "sigma": GRFEC_SIGMA, "llr_limit": GRFEC_LLR_LIMIT, "gnuradio_version": gr.version()}
