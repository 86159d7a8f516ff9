"""JPEG + LDPC + QAM: the classical baseline ("JPEG+LDPC(+AT)", Hu et al. Sec. V) through the real chain.

Transmitter, per image: float ``[C, H, W]`` in ``[0, 1]`` -> 8-bit pixels ``round(255 x)`` -> baseline
JPEG by Pillow/libjpeg (grayscale for ``C = 1``, RGB otherwise) -> its bytes are the payload of one
frame of :class:`semcomm.phy.modem.FrameModem` (preamble, BPSK header, payload + CRC-32, LDPC, QAM),
exactly the chain the semantic codecs use, with the frame flagged *not* semantic.

Quality (:class:`JpegSettings`)
    Default: fixed quality 75 (libjpeg's and Pillow's default, the usual "good quality" setting)
    with optimised Huffman tables (``optimize=True``, a standard libjpeg option that only removes
    redundancy). A byte budget (``max_bytes``) instead picks, per image, the highest quality whose
    file fits. Matching the semantic codec's budget is impossible: its payload is 25 bytes per
    Fashion-MNIST image, while a 28x28 grayscale JPEG needs about 340..630 bytes at quality 75
    (about 200 bytes even at quality 10, mostly the JFIF headers and tables), so the baseline is
    run at a fixed, conventional quality and :mod:`semcomm.eval.overhead` reports what it costs.

Channel
    :meth:`ChainSettings.channel_output <semcomm.sim.link.ChainSettings.channel_output>` on the whole frame
    (preamble and header included): AWGN at ``Es/N0 = snr_db`` per symbol, or flat fading with
    perfect-CSI equalisation; then :meth:`FrameModem.demodulate`. Frames of different lengths travel
    zero-padded to the longest one in a batch; the receiver reads each frame's length from its header.

Receiver and scoring
    An image is *received* only when its header is accepted, its payload CRC-32 holds and Pillow
    decodes the payload to an image of the expected size and mode. Anything else is a *decoder
    failure* (a frame with a failed CRC cannot be decoded: JPEG has no robustness to residual bit
    errors); the evaluation (:mod:`semcomm.eval.jpeg`) scores a failed image as misclassified and
    reports the failure rate with the reasons (:class:`semcomm.phy.framing.Reject` values, and
    :data:`JPEG_DECODE_FAILED`).
"""
from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..phy.modem import FrameModem
from ..sim.link import ChainSettings

JPEG_DECODE_FAILED = "jpeg_decode"
MAX_QUALITY = 95  #: Pillow's advice: above 95 the file grows with hardly any gain
_MODES = {1: "L", 3: "RGB"}


@dataclass(frozen=True)
class JpegSettings:
    """Transmitter settings: fixed ``quality`` (1..95), or with ``max_bytes`` the highest quality that
    fits that many bytes per image (quality 1 when none does: the image goes over the budget)."""
    quality: int = 75
    max_bytes: int | None = None
    optimize: bool = True

    def __post_init__(self):
        if isinstance(self.quality, bool) or not 1 <= int(self.quality) <= MAX_QUALITY:
            raise ValueError(f"JPEG quality must be an int in [1, {MAX_QUALITY}], got {self.quality!r}")
        if self.max_bytes is not None and int(self.max_bytes) < 1:
            raise ValueError(f"max_bytes must be >= 1 or None, got {self.max_bytes!r}")

    def to_dict(self) -> dict:
        return {"quality": int(self.quality), "max_bytes": self.max_bytes, "optimize": bool(self.optimize)}


def _to_pil(image: np.ndarray) -> Image.Image:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[0] not in _MODES:
        raise ValueError(f"image must be float [C, H, W] with C in (1, 3), got shape {list(image.shape)}")
    pixels = np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
    return Image.fromarray(pixels[0] if image.shape[0] == 1 else pixels.transpose(1, 2, 0), _MODES[image.shape[0]])


def encode_jpeg(image, quality: int = 75, optimize: bool = True) -> bytes:
    """JPEG bytes of one image float ``[C, H, W]`` in ``[0, 1]`` (values outside are clipped)."""
    buffer = io.BytesIO()
    _to_pil(image).save(buffer, format="JPEG", quality=int(quality), optimize=optimize)
    return buffer.getvalue()


def compress(image, settings: JpegSettings = JpegSettings()) -> bytes:
    """JPEG bytes of one image per ``settings`` (fixed quality, or the budget search of :class:`JpegSettings`).

    The budget search bisects the quality, assuming the size grows with it (libjpeg's behaviour)."""
    if settings.max_bytes is None:
        return encode_jpeg(image, settings.quality, settings.optimize)
    low, high, best = 1, MAX_QUALITY, None
    while low <= high:
        quality = (low + high) // 2
        data = encode_jpeg(image, quality, settings.optimize)
        if len(data) <= settings.max_bytes:
            best, low = data, quality + 1
        else:
            high = quality - 1
    return best if best is not None else encode_jpeg(image, 1, settings.optimize)


def decode_jpeg(data: bytes, image_shape) -> np.ndarray | None:
    """Float32 ``[C, H, W]`` in ``[0, 1]`` of JPEG ``data``, or None when Pillow cannot decode it or the
    image is not ``image_shape`` (``C, H, W``; grayscale for ``C = 1``, RGB for ``C = 3``)."""
    channels, height, width = (int(v) for v in image_shape)
    try:
        with Image.open(io.BytesIO(data)) as picture:
            picture.load()
            if picture.mode != _MODES.get(channels) or picture.size != (width, height):
                return None
            pixels = np.asarray(picture, dtype=np.uint8)
    except Exception:  # noqa: BLE001 - any Pillow failure on received bytes is a decoder failure
        return None
    pixels = pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
    return pixels.astype(np.float32) / 255.0


@dataclass
class JpegReception:
    """What the JPEG receiver got for a batch of ``N`` images."""
    images: np.ndarray         #: float32 ``[N, C, H, W]``: decoded images, zeros where ``ok`` is False
    ok: np.ndarray             #: bool ``[N]``: image received and decoded
    reasons: list              #: per image None or why it failed (Reject value or JPEG_DECODE_FAILED)
    payload_bytes: np.ndarray  #: int64 ``[N]`` JPEG bytes sent
    frame_symbols: np.ndarray  #: int64 ``[N]`` channel symbols of each frame (preamble + header + payload)

    def failures(self) -> dict:
        """``{reason: count}`` of the failed images."""
        return dict(Counter(r for r in self.reasons if r is not None))


class JpegLink:
    """JPEG bytes through the digital chain (module doc); ``model_id``: first 4 bytes of the receiver's
    classifier id, written to and checked in every header."""

    def __init__(self, settings: JpegSettings = JpegSettings(), chain: ChainSettings | None = None,
                 model_id: bytes = bytes(4)):
        self.settings = settings
        self.chain = chain or ChainSettings()
        self.modem = FrameModem(self.chain.link_config(model_id=model_id, semantic=False))

    def __repr__(self) -> str:
        c = self.chain
        return f"JpegLink({self.settings.to_dict()}, {c.modulation}, {c.code}, {c.fading})"

    def modulate(self, images) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Images ``[N, C, H, W]`` -> (frame symbols complex64 ``[N, S_max]`` zero-padded, JPEG bytes ``[N]``,
        symbols per frame ``[N]``). Frame ``i`` has sequence number ``i``."""
        payloads = [compress(image, self.settings) for image in np.asarray(images)]
        lengths = np.array([len(p) for p in payloads], dtype=np.int64)
        symbols = np.array([self.modem.frame_symbols(n) for n in lengths], dtype=np.int64)
        sent = np.zeros((len(payloads), int(symbols.max(initial=0))), dtype=np.complex64)
        for length in np.unique(lengths):
            frames = np.flatnonzero(lengths == length)
            batch = np.stack([np.frombuffer(payloads[f], dtype=np.uint8) for f in frames])
            sent[frames, :symbols[frames[0]]] = self.modem.modulate(batch, seqs=frames).symbols
        return sent, lengths, symbols

    def transmit(self, images, snr_db, rng: np.random.Generator) -> JpegReception:
        """Images float32 ``[N, C, H, W]`` in ``[0, 1]`` through JPEG, the chain at ``Es/N0 = snr_db`` dB
        (scalar or ``[N]``) and the JPEG decoder."""
        images = np.asarray(images, dtype=np.float32)
        sent, lengths, symbols = self.modulate(images)
        received, n0 = self.chain.channel_output(sent, snr_db, rng)
        frames = self.modem.demodulate(received, n0, expected_model_id=self.modem.config.model_id)
        decoded = np.zeros_like(images)
        reasons = []
        for i, frame in enumerate(frames):
            result = frame.deframe
            image = decode_jpeg(result.payload, images.shape[1:]) if result.ok else None
            if image is not None:
                decoded[i] = image
            reasons.append(result.reason if not result.ok else (None if image is not None else JPEG_DECODE_FAILED))
        ok = np.array([r is None for r in reasons], dtype=bool)
        return JpegReception(decoded, ok, reasons, lengths, symbols)
