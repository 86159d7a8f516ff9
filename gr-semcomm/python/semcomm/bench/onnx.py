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

The ratio depends on the CPU, which the JSON records (``cpu``: vendor, model, instruction-set flags;
``torch_backends``), and on the process (``minor_page_faults_per_call`` in each row, counted after the timed
rounds, per backend). The figures measured so far, on three CPUs, and what was tried to raise the batch-64
ratio: ``docs/benchmarks/onnx_speed.md``.
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
