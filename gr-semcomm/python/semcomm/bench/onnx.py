"""ONNX Runtime vs PyTorch eager: end-to-end codec inference throughput on CPU, in one run.

The case timed is the whole semantic codec, encoder and decoder: images float32 ``[B, C, H, W]``
-> indices ``[B, T]`` -> logits ``[B, K]`` (the decoder gets ``snr_db [B]`` when the model uses it),

* **PyTorch eager**: ``model.encode`` then ``model.decode`` of the :class:`MaskedVQVAE` in eval mode
  under ``torch.inference_mode()``;
* **ONNX Runtime**: the encoder and decoder sessions of the exported pair (``session.run``), CPU
  execution provider.

Both run **the same network with the same weights** and the **same thread count**
(``torch.set_num_threads(threads)`` and ``intra_op_num_threads=threads``). ONNX Runtime is
configured with its usual CPU inference settings: graph optimisation ``ORT_ENABLE_ALL``, sequential
execution, one inter-op thread, and (``spinning=False``, the default) worker threads that sleep
instead of busy-waiting between parallel sections (``session.intra_op.allow_spinning=0``): in a
flowgraph the CPU is shared with other blocks, and on a loaded machine spinning workers steal the
cores they wait for (measured here with a training run in the background: with 2 threads ORT went
from ~1100 to ~450 images/s at batch 1 with spinning on). With one thread there are no workers and
the setting has no effect. Nothing is taken away from PyTorch (its default kernels and
intra-op threading, autograd off).

Where the model comes from
    * ``model_prefix`` given (``<dir>/<name>``, e.g. ``models/masked_vqvae_fim_at``): the network is
      rebuilt from the card's ``config``. The PyTorch weights come from ``checkpoint`` (a ``semcomm
      train`` checkpoint) when given, else they are recovered from the shipped ONNX files
      (:func:`semcomm.export.recover.recover_weights`, model id verified). When the model id equals
      the card's, the shipped ONNX files are timed, otherwise (another checkpoint) the weights are
      exported to a temporary directory: what matters for a fair comparison is the same weights on
      both sides.
    * no prefix: :data:`DEFAULT_MODEL` (the architecture of
      ``models/configs/masked_vqvae_fim_at.yaml``) or ``model_config``, seeded weights.

Timing
    Per batch size: one warm-up pass of each backend (plus ``warmup`` iterations), then ``repeats``
    rounds; in each round PyTorch and ONNX Runtime each run for at least ``min_iterations``
    iterations and ``seconds_per_case`` seconds, alternating backends so that background load hits
    both alike. The best round of each backend counts: ``images/s = iterations * B / seconds``.
    ``ratio = onnx_images_per_s / torch_images_per_s`` (> 1: ONNX Runtime faster).

    For information, the :class:`semcomm.export.SemanticCodec` wrapper (the session plus input
    validation and index clamping, as the GNU Radio blocks use it) is timed too
    (``onnx_wrapper_images_per_s``); the ratio is that of the bare models on both sides.

Why ONNX Runtime barely beats PyTorch at batch 64 (measured on the 2-core development CPU, one thread,
the shipped ``masked_vqvae_fim_at``; ORT 1.20, torch 2.13)
    At batch 1 ORT wins by its smaller per-operator overhead (about 2.6x). At batch 64 the per-call
    overhead is gone and both run the same MLAS/MKL-class kernels; ORT's own profile of one
    encoder+decoder pass (about 17 ms) is MatMul 5.5 ms and then small memory-bound kernels on
    64-wide rows: Add 1.8, Transpose 1.6, LayerNormalization 1.6, BiasGelu 1.6, Softmax 1.3,
    ScatterElements 0.9, ArgMax 0.4 ms. What was tried, each against the shipped files:
    ``onnxruntime.transformers`` fusions (SkipLayerNormalization; its attention fusion does not match a
    packed QKV projection) 1.03x; a graph rewrite to ORT's fused ``com.microsoft.Attention`` 1.04x (its
    CPU kernel takes as long as the nodes it replaces, 3.5 ms for the encoder's four blocks); dynamic
    int8 quantisation of every MatMul 1.00x (and the logits move by up to 0.8, the indices change);
    micro-batches of 16 or 32 images at most 6 %; two threads 0.70x (PyTorch scales 1.9x, ORT 1.3x).

The batch-64 ratio depends on the CPU, which the JSON records (``cpu``: vendor, model, instruction-set
flags; ``torch_backends``). The figures above (torch 3537, ORT 3907 images/s: 1.10x) come from a machine whose
CPU was not recorded then. On an AMD EPYC of family 26 (AVX-512 with VNNI and BF16), five runs of
``semcomm bench onnx --model models/masked_vqvae_fim_at --threads 1 --seconds 2 --repeats 5`` gave torch
3302-3501 and ORT 4819-5040 images/s at batch 64, ratios 1.42-1.46, and 2.53-2.68 at batch 1; ORT's profile
there has the same shape (MatMul 30 % of the kernel time, the rest the small kernels listed above).

On an AMD EPYC of family 25 exposing AVX2 only (its two vCPUs gain little from a second thread), ORT 1.20,
the same command gave 1.10-1.16x at batch 64 (torch 1718-1939, ORT 1994-2140 images/s) and 2.9-3.1x at
batch 1 with the scattering decoder graph, and 1.13-1.22x (torch 1774-2135, ORT 2161-2410) and 3.24-3.49x in
three runs with the scatter-free inference graph of :mod:`semcomm.nn.masked_vqvae` (ORT alone 4-5 % faster).
ORT's profile of one batch-64 pass there (28.5 ms): MatMul 12.2 ms (about 64 GFLOP/s, near one core's AVX2
peak), LayerNormalization 2.9, Softmax 2.2, Transpose 2.1, BiasGelu 2.1, Add 2.1, FusedMatMul 1.8,
ScatterElements 0.9-1.5 (now gone). Also tried there: ``com.microsoft.MultiHeadAttention`` fed from the
packed projection 1.01x; ``onnxruntime.transformers`` fusions on top of the new graph 1.00-1.02x; ORT 1.22,
1.23, 1.31 and 1.32 within the run-to-run scatter; two threads 1.00x (spinning off) and 0.49x (on). PyTorch
eager's own figure there swings between 1100 and 2000 images/s from one process to the next: in some, glibc
hands the large activation buffers back to the OS after each pass (about 2200 minor page faults per batch-64
pass, 6 ms of system time) and in others it keeps them. ``minor_page_faults_per_call`` in each row (counted
after the timed rounds, per backend) tells which happened.

A convolutional encoder changes the picture: for ``models/masked_vqvae_fim_at_conv`` (ResNet stem) the same
command on the same CPU gave torch 880 and ORT 1912 images/s at batch 64 (2.17x) and 515 / 1701 at batch 1
(3.30x), against 1.41x and 2.85x for ``masked_vqvae_fim_at`` in the same session: ORT's convolutions (with
the BatchNorm fused in at load time) run much faster than PyTorch eager's at one thread. Its absolute
throughput is lower than the ViT codec's (1912 vs 4700 images/s). On the AVX2 EPYC (scatter-free graph,
``--seconds 2 --repeats 3``): torch 452 and ORT 746 images/s at batch 64 (1.65x), 193 / 557 at batch 1 (2.89x),
with PyTorch eager faulting in 8391 pages per batch-64 pass.
"""
from __future__ import annotations

import os
import platform
import tempfile
import time
from contextlib import contextmanager
from importlib import metadata as importlib_metadata

import numpy as np

from .machine import machine_record

#: CodecConfig overrides of the default benchmarked model: the shipped default architecture
#: (models/configs/masked_vqvae_fim_at.yaml: CodecConfig defaults with a FIM after both decoder blocks).
DEFAULT_MODEL = {"fim_layers": [0, 1]}
#: target of the issue: ONNX Runtime at least this much faster than PyTorch eager
TARGET_RATIO = 1.5
SNR_DB = 12.0


def _version(package: str) -> str:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return "not installed"


@contextmanager
def _torch_threads(threads: int):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _build_model(model_prefix, checkpoint, model_config, seed):
    """(model, card or None, how the weights were made)."""
    import torch

    from ..export.contract import codec_paths, load_card
    from ..nn.masked_vqvae import CodecConfig, MaskedVQVAE
    from ..train.ema import deployed_weights

    card = None
    if model_prefix is not None:
        card_path = codec_paths(model_prefix)["card"]
        if not os.path.isfile(card_path):
            raise ValueError(f"no model card {card_path}: --model takes a <dir>/<name> prefix of an export")
        card = load_card(card_path)
        if not isinstance(card.get("config"), dict):
            raise ValueError(f"{card_path} has no 'config' (only masked VQ-VAE codecs can be rebuilt in PyTorch)")
        fields = dict(card["config"])
    else:
        fields = dict(DEFAULT_MODEL if model_config is None else model_config)
    try:
        config = CodecConfig(**fields)
    except TypeError as err:  # e.g. a JSCC card: not a masked VQ-VAE config
        raise ValueError(f"{model_prefix}: the card's config is not a masked VQ-VAE CodecConfig ({err})") from None
    torch.manual_seed(seed)
    model = MaskedVQVAE(config)
    if checkpoint is not None:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(deployed_weights(state))
        except RuntimeError as err:
            raise ValueError(f"checkpoint {checkpoint} does not fit the model's config: {err}") from None
        weights = f"checkpoint {checkpoint}"
    elif card is not None:
        from ..export.recover import recover_weights

        recover_weights(model, card, model_prefix)
        weights = f"recovered from the ONNX files of {model_prefix} (model id verified)"
    else:
        weights = f"random (torch seed {seed})"
    return model.eval(), card, weights


def _load_average():
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # not available on this platform
        return None


def _time_case(function, batch, min_iterations, seconds) -> float:
    """images/s of ``function`` run at least ``min_iterations`` times and ``seconds`` long."""
    iterations = 0
    start = time.perf_counter()
    while True:
        function()
        iterations += 1
        elapsed = time.perf_counter() - start
        if iterations >= min_iterations and elapsed >= seconds:
            return iterations * batch / elapsed


def page_faults_per_call(function, calls: int = 5) -> float | None:
    """Minor page faults of this process per call of ``function`` (``getrusage``; None where unavailable)."""
    try:
        import resource
    except ImportError:  # not a Unix system
        return None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        function()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def run(model_prefix=None, batch_sizes=(1, 64), repeats=3, seconds_per_case=1.0, threads=None, seed=1,
        checkpoint=None, model_config=None, min_iterations=5, warmup=3, wrapper=True, spinning=False,
        progress=None) -> dict:
    """Images/s of PyTorch eager and ONNX Runtime for the same codec, per batch size (module docstring).

    ``threads``: intra-op threads of both (default: PyTorch's current setting, normally the number of
    physical cores). ``model_config``: CodecConfig fields of the model when no prefix is given.
    ``wrapper``: also time the SemanticCodec wrapper. ``spinning``: let ORT worker threads busy-wait.
    ``progress``: callable taking a status line.
    """
    import onnxruntime as ort
    import torch

    from ..export.contract import SNR_PORT, codec_paths
    from ..export.model_id import codec_model_id
    from ..export.onnx_export import export_codec
    from ..export.runtime import SemanticCodec, session_options

    if repeats < 1 or min_iterations < 1:
        raise ValueError("repeats and min_iterations must be >= 1")
    batch_sizes = [int(b) for b in batch_sizes]
    if not batch_sizes or min(batch_sizes) < 1:
        raise ValueError(f"batch sizes must be positive integers, got {batch_sizes}")
    threads = int(threads or torch.get_num_threads())
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    say = progress or (lambda line: None)

    load_before = _load_average()
    model, card, weights = _build_model(model_prefix, checkpoint, model_config, seed)
    cfg = model.config
    with tempfile.TemporaryDirectory(prefix="semcomm-bench-onnx-") as tmp:
        if card is not None and codec_model_id(model) == card.get("model_id"):
            prefix, onnx_files = str(model_prefix), "shipped"
        else:
            classes = (card or {}).get("classes") or [str(i) for i in range(cfg.num_classes)]
            name = (card or {}).get("name", "bench")
            say(f"exporting {name} ({weights}) to a temporary directory")
            export_codec(model, tmp, name, dataset=(card or {}).get("dataset", "bench"),
                         scheme=(card or {}).get("scheme", "masked_vqvae_fim_at" if cfg.uses_snr else "masked_vqvae"),
                         classes=classes if cfg.task == "classification" else None)
            prefix = os.path.join(tmp, name)
            onnx_files = "temporary export of the same weights"
        options = session_options(threads, spinning)
        paths = codec_paths(prefix)
        providers = ["CPUExecutionProvider"]
        encoder = ort.InferenceSession(paths["encoder"], sess_options=options, providers=providers)
        decoder = ort.InferenceSession(paths["decoder"], sess_options=options, providers=providers)
        codec = SemanticCodec.from_prefix(prefix, providers=providers, card=False,
                                          session_options=session_options(threads, spinning)) if wrapper else None
        enc_in, enc_out = encoder.get_inputs()[0].name, encoder.get_outputs()[0].name
        dec_inputs = [a.name for a in decoder.get_inputs()]
        dec_token = next(n for n in dec_inputs if n != SNR_PORT)
        dec_out = decoder.get_outputs()[0].name

        rng = np.random.default_rng(seed)
        rows = []
        with _torch_threads(threads), torch.inference_mode():
            for batch in batch_sizes:
                images = rng.random((batch, *cfg.image_shape), dtype=np.float32)
                snr = np.full(batch, SNR_DB, dtype=np.float32)
                images_t, snr_t = torch.from_numpy(images), torch.from_numpy(snr)

                def torch_case():
                    return model.decode(model.encode(images_t), snr_t)

                def onnx_case():
                    indices = encoder.run([enc_out], {enc_in: images})[0]
                    feeds = {dec_token: indices}
                    if SNR_PORT in dec_inputs:
                        feeds[SNR_PORT] = snr
                    return decoder.run([dec_out], feeds)[0]

                def wrapper_case():
                    return codec.decode(codec.encode(images), snr)[0]

                cases = {"torch": torch_case, "onnx": onnx_case}
                if wrapper:
                    cases["onnx_wrapper"] = wrapper_case
                reference = torch_case().numpy()
                max_diff = float(np.abs(onnx_case() - reference).max())
                for function in cases.values():
                    for _ in range(warmup):
                        function()
                best = {key: 0.0 for key in cases}
                for _ in range(repeats):
                    for key, function in cases.items():
                        best[key] = max(best[key], _time_case(function, batch, min_iterations, seconds_per_case))
                row = {"batch": batch, "torch_images_per_s": best["torch"], "onnx_images_per_s": best["onnx"],
                       "ratio": best["onnx"] / best["torch"]}
                if wrapper:
                    row["onnx_wrapper_images_per_s"] = best["onnx_wrapper"]
                    row["ratio_wrapper"] = best["onnx_wrapper"] / best["torch"]
                row["max_abs_output_diff"] = max_diff
                row["minor_page_faults_per_call"] = {key: page_faults_per_call(cases[key]) for key in ("torch", "onnx")}
                rows.append(row)
                say(f"batch {batch}: torch {row['torch_images_per_s']:.0f} images/s, onnxruntime "
                    f"{row['onnx_images_per_s']:.0f} images/s, ratio {row['ratio']:.2f}")
        used_providers = encoder.get_providers()

    result = {
        "benchmark": "onnx",
        "model": str(model_prefix) if model_prefix is not None else "default (CodecConfig + DEFAULT_MODEL)",
        "weights": weights,
        "onnx_files": onnx_files,
        "config": cfg.to_dict(),
        "num_tokens": cfg.num_tokens,
        "uses_snr": cfg.uses_snr,
        "snr_db": SNR_DB,
        "case": "encoder + decoder end to end: images -> indices -> " + ("logits" if cfg.task == "classification"
                                                                          else "images"),
        "threads": threads,
        "cpu_count": os.cpu_count(),
        # 1-minute load average before and after: other processes running meanwhile disturb the figures
        # (above cpu_count - threads, both backends compete with them for cores)
        "load_average_1min": [load_before, _load_average()],
        "torch_settings": {"mode": "eager, eval(), torch.inference_mode()", "num_threads": threads},
        "onnx_settings": {"graph_optimization_level": "ORT_ENABLE_ALL", "execution_mode": "ORT_SEQUENTIAL",
                          "intra_op_num_threads": threads, "inter_op_num_threads": 1,
                          "allow_spinning": spinning},
        "providers": used_providers,
        "timing": {"repeats": repeats, "seconds_per_case": seconds_per_case, "min_iterations": min_iterations,
                   "warmup": warmup, "statistic": "best round, backends alternated"},
        "results": rows,
        "target_ratio": TARGET_RATIO,
    }
    for row in rows:
        b = row["batch"]
        result[f"torch_images_per_s_b{b}"] = row["torch_images_per_s"]
        result[f"onnx_images_per_s_b{b}"] = row["onnx_images_per_s"]
        result[f"ratio_b{b}"] = row["ratio"]
    result["meets_target"] = all(row["ratio"] >= TARGET_RATIO for row in rows)
    slower = [row["batch"] for row in rows if row["ratio"] < 1.0]
    short = [row["batch"] for row in rows if row["ratio"] < TARGET_RATIO]
    if slower:
        result["verdict"] = f"ONNX Runtime is SLOWER than PyTorch eager at batch {slower}"
    elif short:
        result["verdict"] = f"ONNX Runtime is faster, but below {TARGET_RATIO}x at batch {short}"
    else:
        result["verdict"] = f"ONNX Runtime is at least {TARGET_RATIO}x faster at every batch size"
    result["versions"] = {"torch": torch.__version__, "onnxruntime": ort.__version__, "numpy": np.__version__,
                          "python": platform.python_version(), "semcomm": _version("semcomm")}
    result.update(machine_record())
    result["torch_backends"] = {"mkl": torch.backends.mkl.is_available(),
                                "mkldnn": torch.backends.mkldnn.is_available()}
    return result
