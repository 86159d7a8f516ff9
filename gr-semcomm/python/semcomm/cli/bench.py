"""``semcomm bench ldpc | qam | onnx | flowgraph | soak``: throughput benchmarks (figures printed, JSON written)."""
from __future__ import annotations

import argparse

from ..config.link import ES_N0_DB
from ..phy.ldpc import DECODER_ALGORITHMS
from ..phy.qam import BITS_PER_SYMBOL
from .arguments import add_overrides, integer, number, output_file, within
from .output import err, table, write_json


def cmd_bench_ldpc(args) -> int:
    from ..bench import ldpc

    result = ldpc.run(args.code, args.mod, tuple(args.iterations), args.target_bler, args.frames,
                      args.grfec_frames, args.repeats, args.seed, args.ebn0, args.decoder,
                      progress=None if args.json else err)
    write_json(result, args.out, args.json)
    if not args.json:
        print(f"{result['code']} (n={result['n']}, k={result['k']}), {result['modulation']}, one core")
        print(table(result["results"], [("max_iterations", "max iters", "d"), ("ebn0_db", "Eb/N0 dB", ".2f"),
                                         ("bler", "BLER", ".2e"),
                                         ("mean_iterations", "mean iters", ".2f"),
                                         ("coded_mbps", "semcomm Mbit/s", ".1f"),
                                         ("grfec_coded_mbps", "gr-fec Mbit/s", ".2f"), ("ratio", "ratio", ".1f"),
                                         ("pypi_ldpc_coded_mbps", "ldpc pkg Mbit/s", ".2f"),
                                         ("ratio_pypi_ldpc", "ratio", ".1f")]))
    return 0


def cmd_bench_qam(args) -> int:
    from ..bench import qam

    result = qam.run(args.symbols, args.repeats, args.seed)
    write_json(result, args.out, args.json)
    if not args.json:
        print(table(result["results"], [("modulation", "modulation", "s"), ("map_msym_per_s", "map Msym/s", ".1f"),
                                         ("demap_maxlog_msym_per_s", "max-log LLR Msym/s", ".1f"),
                                         ("demap_exact_msym_per_s", "exact LLR Msym/s", ".1f")]))
    return 0


def cmd_bench_onnx(args) -> int:
    from ..bench import onnx

    result = onnx.run(args.model, tuple(args.batch_sizes), args.repeats, args.seconds, args.threads, args.seed,
                      checkpoint=args.checkpoint, spinning=args.spin, progress=None if args.json else err)
    write_json(result, args.out, args.json)
    if not args.json:
        print(f"{result['model']}, weights {result['weights']}, ONNX: {result['onnx_files']}; "
              f"{result['threads']} thread(s) for both, providers {result['providers']}")
        cpu = result["cpu"]
        print(f"CPU: {cpu.get('vendor') or ''} {cpu['model_name']} (family {cpu.get('family')}, model "
              f"{cpu.get('model')}; {' '.join(cpu.get('isa', []))})")
        print(table(result["results"], [("batch", "batch", "d"), ("torch_images_per_s", "torch eager img/s", ".0f"),
                                         ("onnx_images_per_s", "onnxruntime img/s", ".0f"), ("ratio", "ratio", ".2f"),
                                         ("onnx_wrapper_images_per_s", "SemanticCodec img/s", ".0f")]))
        print(result["verdict"])
    return 0


def cmd_bench_flowgraph(args) -> int:
    from pathlib import Path

    from ..config import parse_overrides
    from ..testbed.bench import bench_flowgraph
    from ..testbed.config import load_testbed_config

    config = load_testbed_config(args.config, {**parse_overrides(args.set), "data.num_images": args.images})
    result = bench_flowgraph(config, Path(args.out).parent if args.out else Path("results/bench"))
    write_json(result, args.out, args.json)
    if not args.json:
        print(f"receiver:    {result['rx_samples_per_s'] / 1e6:.2f} Msps ({result['rx_images_per_s']:.0f} images/s, "
              f"accuracy {result['rx_accuracy']:.1%}); transmitter: {result['tx_samples_per_s'] / 1e6:.2f} Msps; "
              f"attacker sense+inject: {result['attacker_samples_per_s'] / 1e6:.2f} Msps "
              f"({result['attacker_detections']}/{result['attacker_frames_sent']} frames detected); "
              f"target {result['target_samples_per_s'] / 1e6:.0f} Msps; losses {result['losses']}")
        stages = result["rx_stages"]
        print(f"receiver stages (core, one thread: {stages['core_samples_per_s'] / 1e6:.2f} Msps; the flowgraph's "
              f"overhead {stages['flowgraph_overhead_seconds']:.2f} s):")
        for stage, seconds in sorted(stages["stage_seconds"].items(), key=lambda item: -item[1]):
            print(f"  {stage:32s} {seconds:7.3f} s  {seconds / stages['core_seconds']:6.1%}")
    return 0


def cmd_bench_soak(args) -> int:
    from pathlib import Path

    from ..config import parse_overrides
    from ..testbed.config import load_testbed_config
    from ..testbed.soak import format_soak, run_soak

    config = load_testbed_config(args.config, {**parse_overrides(args.set), "data.num_images": args.images})
    result = run_soak(config, (Path(args.out).parent if args.out else Path("results/bench")) / "soak", args.timeout)
    write_json(result, args.out, args.json)
    if not args.json:
        print(format_soak(result))
    return 0


def _add_bench_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=integer(1), default=3, help="timed runs; the best counts")
    parser.add_argument("--seed", type=integer(0), default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--out", type=output_file, help="also write the JSON object to this file")


def add_commands(sub) -> None:
    """``semcomm bench`` and its benchmarks."""
    bench = sub.add_parser("bench", help="throughput benchmarks (print figures, write JSON)")
    bench_sub = bench.add_subparsers(dest="bench", required=True, metavar="WHAT")
    bl = bench_sub.add_parser("ldpc", help="LDPC decoding throughput vs gr-fec on the same code and LLRs")
    bl.add_argument("--code", default="wifi1944_r12")
    bl.add_argument("--mod", default="16qam", choices=list(BITS_PER_SYMBOL))
    bl.add_argument("--iterations", type=integer(1), nargs="+", default=[10, 20], help="maximum iterations to time")
    bl.add_argument("--target-bler", type=number(0, 1, exclusive=True), default=1e-2,
                    help="calibrate Eb/N0 to this BLER")
    bl.add_argument("--ebn0", type=within(ES_N0_DB), help="use this Eb/N0 instead of calibrating")
    bl.add_argument("--decoder", default="nms", choices=list(DECODER_ALGORITHMS))
    bl.add_argument("--frames", type=integer(1), default=4096, help="codewords timed for semcomm")
    bl.add_argument("--grfec-frames", type=integer(1), default=128, help="codewords timed for gr-fec (slow)")
    _add_bench_options(bl)
    bl.set_defaults(func=cmd_bench_ldpc)
    bq = bench_sub.add_parser("qam", help="QAM map / soft-demap throughput")
    bq.add_argument("--symbols", type=integer(1), default=1_000_000)
    _add_bench_options(bq)
    bq.set_defaults(func=cmd_bench_qam)
    bo = bench_sub.add_parser("onnx", help="ONNX Runtime vs PyTorch eager, same codec and weights, on CPU")
    bo.add_argument("--model", metavar="PREFIX", help="<dir>/<name> of an export (default: the default architecture)")
    bo.add_argument("--checkpoint", help="PyTorch weights of that model (semcomm train checkpoint); default: recovered from its ONNX files")
    bo.add_argument("--batch-sizes", type=integer(1), nargs="+", default=[1, 64])
    bo.add_argument("--threads", type=integer(1), help="intra-op threads of both (default: torch's default)")
    bo.add_argument("--seconds", type=number(0), default=1.0,
                    help="minimum seconds per timed round (0: only the minimum iterations)")
    bo.add_argument("--spin", action="store_true", help="let ONNX Runtime worker threads busy-wait")
    _add_bench_options(bo)
    bo.set_defaults(func=cmd_bench_onnx)
    bf = bench_sub.add_parser("flowgraph", help="receiver and transmitter flowgraph rates (samples/s), unthrottled")
    bf.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (YAML)")
    add_overrides(bf)
    bf.add_argument("--images", type=integer(1), default=1000, help="images (frames) per benchmark")
    bf.add_argument("--json", action="store_true", help="print one JSON object")
    bf.add_argument("--out", type=output_file, help="also write the JSON object to this file")
    bf.set_defaults(func=cmd_bench_flowgraph)
    bs = bench_sub.add_parser("soak", help="a long loopback run with an unpaced source: frames missed, memory (RSS), "
                              "latency percentiles, images/s")
    bs.add_argument("--config", default="hw_configs/loopback.yaml", help="testbed config (YAML)")
    add_overrides(bs)
    bs.add_argument("--images", type=integer(1), default=10000, help="images (frames) sent")
    bs.add_argument("--timeout", type=number(0, exclusive=True), default=3600.0,
                    help="seconds before the run is cut short")
    bs.add_argument("--json", action="store_true", help="print one JSON object")
    bs.add_argument("--out", type=output_file, help="also write the JSON object to this file (the run's files go to "
                    "soak/ beside it; default results/bench/soak/)")
    bs.set_defaults(func=cmd_bench_soak)
