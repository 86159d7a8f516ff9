"""Transmission overhead (Hu et al. Table II): channel symbols per image of each scheme, through our frame chain.

One image is one frame of :class:`semcomm.phy.modem.FrameModem`:
``frame symbols = preamble (64) + header (468 BPSK) + payload symbols``, where the payload of ``L`` bytes
is followed by a CRC-32, spread over shortened LDPC codewords and QAM-mapped (``payload_layout``).

* digital semantic codecs: ``T`` indices of alphabet ``J`` -> ``B`` index bits
  (:class:`semcomm.phy.bits.IndexBitMapper`) -> ``L = ceil(B / 8)`` payload bytes;
* JPEG + LDPC: ``L`` = the JPEG size of each test image (:func:`semcomm.baselines.jpeg.compress`), reported
  as mean / min / max over the images;
* analog JSCC: ``S`` complex channel uses per image, no frame, no code.

Code rates: ``mother_code_rate`` is the LDPC code's ``k / n`` (1/2 for ``wifi1944_r12``);
``effective_code_rate`` = (payload + CRC bits) / coded bits after shortening, which is lower for
short payloads (the shortened codeword keeps all ``n - k`` parity bits).

Code choices (:func:`code_choices`): one codec's frame under each LDPC code of a list, the modulation
fixed. Per code: payload symbols, effective rate, the measured frame error rate vs Es/N0 (the real chain,
:class:`~semcomm.sim.error_profile.ErrorProfile`), the *threshold* Es/N0 from which every grid point
has FER <= ``fer_target``, and the payload energy per image over N0 at the threshold,
``Es/N0 + 10 log10(payload symbols)`` dB: fewer symbols per image need a higher SNR per symbol, and this
sum says which code spends less energy on one image.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..baselines.jpeg import JpegSettings, compress
from ..config.link import FADING_OF_CHANNEL
from ..phy.bits import IndexBitMapper
from ..phy.ldpc import get_code
from ..phy.modem import HEADER_SYMBOLS, PREAMBLE_LENGTH, FrameModem, LinkConfig
from ..sim.error_profile import ErrorProfile, ProfileSettings
from ..sim.link import ChainSettings, index_payload_bytes


def link_summary(link: LinkConfig) -> dict:
    """The link the symbol counts refer to."""
    modem = FrameModem(link)
    return {"modulation": link.modulation, "bits_per_symbol": modem.layout(1).qam.bits_per_symbol,
            "code": link.code, "mother_code_rate": None if link.code == "none" else get_code(link.code).rate,
            "preamble_symbols": PREAMBLE_LENGTH, "header_symbols": HEADER_SYMBOLS}


def frame_cost(payload_bytes: int, modem: FrameModem) -> dict:
    """Bits and symbols of one frame carrying ``payload_bytes`` bytes."""
    layout = modem.layout(payload_bytes)
    return {"payload_bytes": int(payload_bytes), "payload_crc_bits": layout.num_bits,
            "coded_bits": layout.num_coded_bits, "effective_code_rate": layout.num_bits / layout.num_coded_bits,
            "payload_symbols": layout.num_symbols, "frame_symbols": modem.frame_symbols(payload_bytes)}


def digital_overhead(alphabet, num_tokens: int, link: LinkConfig) -> dict:
    """Row of a codec sending ``num_tokens`` indices of ``alphabet`` (J, or ``[[count, J], ...]`` segments)."""
    bits = IndexBitMapper(alphabet, num_indices=num_tokens if isinstance(alphabet, int) else None).num_bits
    return {"kind": "digital", "indices": int(num_tokens), "index_bits": bits,
            **frame_cost(index_payload_bytes(bits), FrameModem(link))}


def analog_overhead(symbols: int) -> dict:
    """Row of an analog JSCC codec sending ``symbols`` complex channel uses per image (no frame)."""
    return {"kind": "analog", "payload_symbols": int(symbols), "frame_symbols": int(symbols)}


def _stats(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"mean": float(values.mean()), "min": float(values.min()), "max": float(values.max())}


def jpeg_overhead(images, settings: JpegSettings, link: LinkConfig) -> dict:
    """Row of JPEG + LDPC measured on ``images`` float32 ``[N, C, H, W]`` in ``[0, 1]`` (mean / min / max)."""
    modem = FrameModem(link)
    costs = [frame_cost(len(compress(image, settings)), modem) for image in np.asarray(images)]
    keys = ("payload_bytes", "coded_bits", "effective_code_rate", "payload_symbols", "frame_symbols")
    return {"kind": "jpeg", "jpeg": settings.to_dict(), "images": len(costs),
            **{key: _stats([c[key] for c in costs]) for key in keys}}


def _mean(value) -> float:
    return value["mean"] if isinstance(value, dict) else float(value)


def overhead_table(rows: dict, link: LinkConfig) -> dict:
    """``{"link", "rows"}`` with each row (name -> row) also given ``*_vs_jpeg``: its payload / frame symbols
    over the JPEG row's means (when a ``kind == "jpeg"`` row is present)."""
    jpeg = next((row for row in rows.values() if row["kind"] == "jpeg"), None)
    out = {}
    for name, row in rows.items():
        row = dict(row)
        if jpeg is not None:
            for key in ("payload_symbols", "frame_symbols"):
                row[f"{key}_vs_jpeg"] = _mean(row[key]) / _mean(jpeg[key])
        out[name] = row
    return {"link": link_summary(link), "rows": out}


def threshold_snr(table: list[dict], fer_target: float) -> float | None:
    """Lowest grid Es/N0 from which every point of an error-profile ``table`` has FER <= ``fer_target``
    (None: not reached on the grid)."""
    threshold = None
    for point in sorted(table, key=lambda p: p["snr_db"], reverse=True):
        if point["fer"] > fer_target:
            break
        threshold = point["snr_db"]
    return threshold


def code_choices(alphabet, num_tokens: int, link: LinkConfig, codes, fer_target: float = 0.01,
                 snr_range=(-3.0, 18.0, 0.5), channel: str = "awgn", max_frames: int = 2000, seed: int = 0) -> dict:
    """``{"fer_target", "channel", "snr_db", "rows"}``: the codec's frame (:func:`digital_overhead`) under each
    code of ``codes`` (the rest of ``link`` unchanged: modulation, decoder), with FER per grid point (``fer``,
    at most ``max_frames`` frames per point), ``threshold_esn0_db`` and ``threshold_image_energy_db`` (see
    module doc)."""
    low, high, step = snr_range
    base = ProfileSettings.for_codec(alphabet, num_tokens if isinstance(alphabet, int) else None, snr_min_db=low,
                                     snr_max_db=high, snr_step_db=step, max_frames=max_frames,
                                     min_frames=min(500, max_frames), seed=seed)
    rows = {}
    for code in codes:
        code_link = dataclasses.replace(link, code=code)
        row = digital_overhead(alphabet, num_tokens, code_link)
        chain = ChainSettings.from_link_config(code_link, FADING_OF_CHANNEL[channel])
        settings = dataclasses.replace(base, chain=chain)
        table = ErrorProfile.build(settings).table()
        threshold = threshold_snr(table, fer_target)
        rows[code] = {**row, "fer": [point["fer"] for point in table], "threshold_esn0_db": threshold,
                      "threshold_image_energy_db": None if threshold is None
                      else threshold + 10 * float(np.log10(row["payload_symbols"]))}
    return {"fer_target": fer_target, "channel": channel, "snr_db": base.snr_grid.tolist(), "rows": rows}
