"""``semcomm ber``, ``semcomm phy-loopback`` and ``semcomm codes``: the digital PHY on its own."""
from __future__ import annotations

import os
import sys

import numpy as np

from ..config.link import CHANNEL
from ..phy.framing import DEFAULT_MAX_PAYLOAD
from ..phy.ldpc import DECODER_ALGORITHMS, available_codes
from ..phy.qam import BITS_PER_SYMBOL
from .arguments import db_range, integer, output_directory, output_file, within
from .output import table, write_json


def cmd_ber(args) -> int:
    from tqdm import tqdm

    from ..channel import esn0_to_ebn0_db
    from ..phy.ldpc import get_code
    from ..phy.qam import QAM
    from ..sim.ber import FadingSpec, simulate_point, theoretical_ber, theoretical_ber_rayleigh

    qam = QAM(args.mod)
    channel = FadingSpec(args.channel, args.k_factor, args.fading_block, not args.no_csi)
    code = None if args.code == "none" else get_code(args.code)
    rate = code.rate if code else 1.0
    if (args.ebn0 is None) == (args.esn0 is None):
        raise ValueError("give exactly one of --ebn0 RANGE or --esn0 RANGE")
    ebn0_points = args.ebn0 if args.ebn0 is not None else esn0_to_ebn0_db(args.esn0, qam.bits_per_symbol, rate)
    rng = np.random.default_rng(args.seed)
    decoder = {"max_iterations": args.iterations, "algorithm": args.decoder} if code else {}
    points = []
    for ebn0 in tqdm(ebn0_points, desc=f"{qam.name} {args.code}", unit="pt", disable=args.quiet, file=sys.stderr):
        point = simulate_point(qam, code, float(ebn0), rng, args.max_errors, args.max_bits, channel=channel,
                               **decoder).as_dict()
        if code is None and channel.kind == "awgn":
            point["theory_ber"] = theoretical_ber(qam.name, float(ebn0))
        elif code is None and channel.kind == "rayleigh" and channel.csi and qam.name in ("bpsk", "qpsk"):
            point["theory_ber"] = theoretical_ber_rayleigh(qam.name, float(ebn0))
        points.append(point)
    if args.plot:
        from ..eval.plots import plot_error_rates

        ebn0 = [p["ebn0_db"] for p in points]
        curves = {"BER": (ebn0, [p["ber"] for p in points]), "BLER": (ebn0, [p["bler"] for p in points])}
        if "theory_ber" in points[0]:
            curves["theory BER"] = (ebn0, [p["theory_ber"] for p in points])
        plot_error_rates(curves, args.plot, "Eb/N0 (dB)", f"{qam.name}, {args.code}, {channel.kind}")
    write_json(points, args.out, args.json)
    if args.json:
        return 0
    columns = [("ebn0_db", "Eb/N0 dB", ".2f"), ("esn0_db", "Es/N0 dB", ".2f"), ("ber", "BER", ".3e"),
               ("bler", "BLER", ".3e"), ("errors", "errors", "d"), ("bits", "bits", "d")]
    if "theory_ber" in points[0]:
        columns.append(("theory_ber", "theory BER", ".3e"))
    else:
        columns.insert(2, ("pre_fec_ber", "pre-FEC BER", ".3e"))
    print(table(points, columns))
    return 0


def cmd_phy_loopback(args) -> int:
    from ..phy.modem import LinkConfig
    from ..sim import phy_loopback

    config = LinkConfig(modulation=args.mod, code=args.code, max_iterations=args.iterations)
    print(f"PHY loopback: {args.frames} frames x {args.payload} bytes per SNR, {config.modulation}, "
          f"LDPC {config.code}, AWGN (frame-aligned symbols, no pulse shaping or synchronisation)")
    rows = phy_loopback.run(config, args.esn0, args.frames, args.payload, args.seed)
    write_json({"demo": "phy_loopback", "config": {k: str(v) for k, v in vars(config).items()}, "points": rows},
               os.path.join(args.out, "phy_loopback.json"), False)
    from ..eval.plots import plot_error_rates

    esn0 = [row["esn0_db"] for row in rows]
    plot_error_rates({name: (esn0, [row[key] for row in rows]) for name, key in
                      (("pre-FEC BER", "ber_pre_fec"), ("post-FEC BER", "ber_post_fec"), ("FER", "frame_error_rate"))},
                     os.path.join(args.out, "phy_loopback.png"), "Es/N0 (dB)",
                     f"PHY loopback: {config.modulation}, {config.code}, AWGN")
    print(table(rows, [("esn0_db", "Es/N0 dB", ".1f"), ("ber_pre_fec", "pre-FEC BER", ".2e"),
                       ("ber_post_fec", "post-FEC BER", ".2e"), ("frame_error_rate", "FER", ".3f"),
                       ("header_failures", "hdr fail", "d"), ("payload_crc_failures", "CRC fail", "d"),
                       ("frames_per_s", "frames/s", ".0f")]))
    print(f"results: {os.path.join(args.out, 'phy_loopback.json')} and phy_loopback.png")
    return 0


def cmd_codes(args) -> int:
    from ..phy.ldpc import get_code

    for name in available_codes():
        code = get_code(name)
        print(f"{name:32s} n={code.n:5d} k={code.k:5d} rate={code.rate:.3f}")
    return 0


def add_ber(sub) -> None:
    """``semcomm ber``."""
    ber = sub.add_parser("ber", help="BER/BLER sweep of a modulation, optionally LDPC-coded",
                         description="Monte-Carlo BER/BLER sweep over AWGN or block fading. "
                         "Ranges are START:STOP[:STEP] in dB, inclusive.")
    ber.add_argument("--mod", default="qpsk", choices=list(BITS_PER_SYMBOL), help="modulation (default qpsk)")
    ber.add_argument("--code", default="none", help="LDPC code name or .alist path, or 'none' (default); see `semcomm codes`")
    ber.add_argument("--ebn0", type=db_range, help="Eb/N0 range in dB, e.g. 0:10 or 0:10:0.5")
    ber.add_argument("--esn0", type=db_range, help="Es/N0 range in dB (instead of --ebn0)")
    ber.add_argument("--max-errors", type=integer(1), default=1000, help="stop a point after this many bit errors")
    ber.add_argument("--max-bits", type=integer(1), default=2_000_000,
                     help="stop a point after this many information bits")
    ber.add_argument("--channel", default="awgn", choices=["awgn", "rayleigh", "rician"], help="channel model")
    ber.add_argument("--k-factor", type=within(CHANNEL["k_factor_db"]), default=0.0, help="Rician K-factor in dB")
    ber.add_argument("--fading-block", type=integer(1), default=1, help="symbols per fading block (1: fast fading)")
    ber.add_argument("--no-csi", action="store_true", help="demap without equalising (receiver does not know h)")
    ber.add_argument("--decoder", default="nms", choices=list(DECODER_ALGORITHMS), help="LDPC decoder")
    ber.add_argument("--iterations", type=integer(1), default=20, help="maximum LDPC iterations")
    ber.add_argument("--seed", type=integer(0), default=1)
    ber.add_argument("--json", action="store_true", help="print the points as a JSON list")
    ber.add_argument("--out", type=output_file, help="also write the points to this JSON file")
    ber.add_argument("--plot", type=output_file, help="also draw BER/BLER vs Eb/N0 into this PNG file")
    ber.add_argument("--quiet", action="store_true", help="no progress bar")
    ber.set_defaults(func=cmd_ber)


def add_phy_loopback(sub) -> None:
    """``semcomm phy-loopback``."""
    phy = sub.add_parser("phy-loopback", help="symbol-level PHY loopback sweep of the digital chain (table + JSON)")
    phy.add_argument("--mod", default="16qam", choices=list(BITS_PER_SYMBOL))
    phy.add_argument("--code", default="wifi1944_r12")
    phy.add_argument("--iterations", type=integer(1), default=20)
    phy.add_argument("--esn0", type=db_range, default="4:12:2", help="Es/N0 range in dB (default 4:12:2)")
    phy.add_argument("--frames", type=integer(1), default=200, help="frames per SNR")
    phy.add_argument("--payload", type=integer(1, DEFAULT_MAX_PAYLOAD), default=784, help="payload bytes per frame")
    phy.add_argument("--seed", type=integer(0), default=1)
    phy.add_argument("--out", type=output_directory, default="results/phy_loopback", help="output directory")
    phy.set_defaults(func=cmd_phy_loopback)


def add_codes(sub) -> None:
    """``semcomm codes``."""
    codes = sub.add_parser("codes", help="list the LDPC codes by name")
    codes.set_defaults(func=cmd_codes)
