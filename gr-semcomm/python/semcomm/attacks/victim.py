"""The victim link an attack is evaluated on: images -> frames of symbols -> (attacked) channel -> decisions.

:class:`Victim` runs a scheme of the zoo (:class:`semcomm.eval.schemes.Scheme`) through the exact digital
chain of the core, frame by frame and batched, at the receiver's symbol rate:

* **digital codecs**: encoder -> indices -> index bits (:class:`~semcomm.phy.bits.IndexBitMapper`) ->
  :class:`~semcomm.phy.modem.FrameModem` frame (preamble, BPSK header, payload + CRC-32, LDPC, QAM);
* **analog JSCC**: encoder -> ``S`` channel symbols, sent after the same preamble and header (a receiver
  has to find and identify the frame too; the header's LDPC-coded payload is not sent);
* **JPEG + LDPC**: :class:`~semcomm.baselines.jpeg.JpegLink` frames (one per image, variable length).

The receiver (:meth:`Victim.receive`) makes the burst receiver's decisions (:mod:`semcomm.phy.sync`) on
frame-aligned symbols:

1. **detection**: the normalised, 4-segment preamble correlation :func:`detection_metric` against the
   synchroniser's threshold (0.5); a frame below it is *lost to sync*;
2. **header**: BPSK header, equalised with the gain, phase and noise measured on the 64 preamble symbols (as
   in step 3 below) -> :meth:`FrameModem.decode_headers` (model id checked); a failure loses the frame;
3. **gain, phase and noise** from the 532 known preamble + header symbols (step 5 of the synchroniser,
   no CFO: ``z_k = r_k conj(s_k)``, ``g e^{j theta} = mean z``, ``N0 = mean |r_k - g e^{j theta} s_k|^2``),
   so an attack on the preamble or header also corrupts the payload's equalisation and LLR scale;
4. **payload**: equalised symbols -> soft demap -> LDPC -> CRC -> task decision. A semantic frame whose
   CRC fails is still decoded (clamped indices); a lost frame, a JPEG frame whose CRC fails or whose JPEG
   does not decode, scores as misclassified (prediction -1).

Timing is assumed exact once a frame is detected (the synchroniser's fractional timing is not modelled);
the sample-level receiver checks that assumption (:mod:`semcomm.phy.receiver`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..baselines.jpeg import JpegLink, JpegSettings, compress, decode_jpeg
from ..phy.bits import IndexBitMapper
from ..phy.modem import FrameModem, LinkConfig, preamble
from ..phy.sync import SEGMENTS
from .threat import PAYLOAD_START

DETECTION_THRESHOLD = 0.5  #: the synchroniser's default threshold on the preamble metric
LOST = -1                  #: prediction of an image whose frame was lost


def detection_metric(received: np.ndarray) -> np.ndarray:
    """The synchroniser's preamble metric at the true start of each frame ``[F]`` (:mod:`semcomm.phy.sync`)::

        m = sum_i |sum_{k in seg i} conj(p_k) y_k| / sqrt(64 sum_{k<64} |y_k|^2)
    """
    y = np.asarray(received)[:, :len(preamble())].astype(np.complex128)
    segments = (y * np.conj(preamble())).reshape(len(y), SEGMENTS, -1).sum(axis=2)
    energy = (np.abs(y) ** 2).sum(axis=1)
    return np.abs(segments).sum(axis=1) / np.sqrt(len(preamble()) * np.maximum(energy, 1e-30))


@dataclass
class FrameBatch:
    """A batch of transmitted frames and what an attacker (and the evaluation) may use of them."""
    images: torch.Tensor             #: ``[N, C, H, W]`` in ``[0, 1]``
    labels: torch.Tensor             #: ``[N]``
    symbols: np.ndarray              #: complex64 ``[N, S]``, frame-aligned, zero after each frame's end
    lengths: np.ndarray              #: symbols per frame ``[N]``
    known: np.ndarray                #: the 532 preamble + header symbols ``[N, 532]``
    coded_bits: list = field(default_factory=list)  #: payload coded bits per frame (digital, JPEG)
    payload_bits: list = field(default_factory=list)  #: payload + CRC bits per frame (digital, JPEG)
    payload_lengths: np.ndarray | None = None  #: payload bytes per frame (digital, JPEG)
    indices: np.ndarray | None = None  #: the encoder's indices ``[N, T]`` (digital)
    snr_db: float = 10.0

    @property
    def payload(self) -> np.ndarray:
        """The payload symbols ``[N, S - 532]`` (zero after a shorter frame's end)."""
        return self.symbols[:, PAYLOAD_START:]


@dataclass
class Reception:
    """Per-image outcome ``[N]`` of :meth:`Victim.receive`."""
    predicted: np.ndarray       #: label, or :data:`LOST`
    detected: np.ndarray        #: preamble found
    header_ok: np.ndarray       #: header decoded and accepted
    crc_ok: np.ndarray          #: payload CRC-32 holds (False when not decoded)
    pre_fec_errors: np.ndarray  #: hard-decision errors of the payload's coded bits (0 when not decoded)
    post_fec_errors: np.ndarray  #: wrong payload + CRC bits after decoding
    coded_bits: np.ndarray      #: coded payload bits per frame
    payload_bits: np.ndarray    #: payload + CRC bits per frame

    def correct(self, labels) -> np.ndarray:
        return self.predicted == np.asarray(labels)


class Victim:
    """One scheme of the zoo through the exact chain (module doc). ``chain``: a
    :class:`semcomm.sim.link.ChainSettings` (modulation, code, decoder; its fading is not used here)."""

    def __init__(self, scheme, chain, jpeg: JpegSettings | None = None):
        self.scheme, self.chain = scheme, chain
        self.family = scheme.family
        self.model = scheme.model()
        model_id = bytes.fromhex(scheme.card["model_id"])[:4]
        if self.family == "jpeg":
            self.jpeg = JpegLink(jpeg or JpegSettings(**scheme.card.get("jpeg", {})), chain, model_id)
            self.modem = self.jpeg.modem
        else:
            self.modem = FrameModem(chain.link_config(model_id=model_id, semantic=True))
        if self.family == "digital":
            alphabet = scheme.info.alphabet
            tokens = self.model.config.num_tokens
            self.mapper = IndexBitMapper(alphabet, tokens if isinstance(alphabet, int) else None)

    @property
    def link_config(self) -> LinkConfig:
        return self.modem.config

    # ------------------------------------------------------------------------------------ transmitter
    def transmit(self, images: torch.Tensor, labels: torch.Tensor, snr_db: float) -> FrameBatch:
        """Images ``[N, C, H, W]`` -> their frames (:class:`FrameBatch`)."""
        if self.family == "jpeg":
            return self._transmit_jpeg(images, labels, snr_db)
        with torch.no_grad():
            encoded = self.model.encode(images)
        if self.family == "analog":
            analog = encoded.numpy()
            payload = (analog[..., 0] + 1j * analog[..., 1]).astype(np.complex64)
            header = self.modem.modulate(np.zeros((len(images), 1), dtype=np.uint8)).symbols[:, :PAYLOAD_START]
            symbols = np.concatenate([header, payload], axis=1)
            return FrameBatch(images, labels, symbols, np.full(len(images), symbols.shape[1]), header, snr_db=snr_db)
        indices = encoded.numpy().astype(np.int64)
        payloads = np.packbits(self.mapper.to_bits(indices), axis=1)
        tx = self.modem.modulate(payloads)
        return FrameBatch(images, labels, tx.symbols, np.full(len(images), tx.symbols.shape[1]),
                          tx.symbols[:, :PAYLOAD_START].copy(), list(tx.coded_bits), list(tx.payload_bits),
                          np.full(len(images), payloads.shape[1]), indices, snr_db)

    def _transmit_jpeg(self, images: torch.Tensor, labels: torch.Tensor, snr_db: float) -> FrameBatch:
        """One frame per image carrying its JPEG bytes (frames of equal length modulated together)."""
        payloads = [compress(image, self.jpeg.settings) for image in images.numpy()]
        payload_lengths = np.array([len(p) for p in payloads], dtype=np.int64)
        lengths = np.array([self.modem.frame_symbols(n) for n in payload_lengths], dtype=np.int64)
        symbols = np.zeros((len(payloads), int(lengths.max(initial=0))), dtype=np.complex64)
        coded, bits = [None] * len(payloads), [None] * len(payloads)
        for length in np.unique(payload_lengths):
            frames = np.flatnonzero(payload_lengths == length)
            tx = self.modem.modulate(np.stack([np.frombuffer(payloads[f], dtype=np.uint8) for f in frames]), seqs=frames)
            symbols[frames, :tx.symbols.shape[1]] = tx.symbols
            for j, f in enumerate(frames):
                coded[f], bits[f] = tx.coded_bits[j], tx.payload_bits[j]
        return FrameBatch(images, labels, symbols, lengths, symbols[:, :PAYLOAD_START].copy(), coded, bits,
                          payload_lengths, snr_db=snr_db)

    # --------------------------------------------------------------------------------------- receiver
    def receive(self, batch: FrameBatch, received: np.ndarray, snr_db: float) -> Reception:
        """Received frame-aligned symbols ``[N, S]`` -> per-image decisions (module doc). ``snr_db`` is given
        to an SNR-aware decoder, as the receiver's SNR estimate would be."""
        n = len(received)
        detected = detection_metric(received) >= DETECTION_THRESHOLD
        known_rx = received[:, :PAYLOAD_START]
        pre = len(preamble())
        pre_gain, pre_phase, pre_n0 = _noise_estimate(known_rx[:, :pre], batch.known[:, :pre])
        header = known_rx[:, pre:] * (np.exp(-1j * pre_phase) / np.maximum(pre_gain, 1e-6))[:, None]
        header_n0 = np.maximum(pre_n0 / np.maximum(pre_gain, 1e-6) ** 2, 1e-6)
        parsed = self.modem.decode_headers(header, header_n0[:, None], self.link_config.model_id)
        header_ok = detected & np.array([reason is None for _, reason in parsed])
        gain, phase, n0 = _noise_estimate(known_rx, batch.known)
        equalised = received * (np.exp(-1j * phase) / np.maximum(gain, 1e-6))[:, None]
        noise = np.maximum(n0 / np.maximum(gain, 1e-6) ** 2, 1e-6)
        outcome = Reception(np.full(n, LOST), detected, header_ok, np.zeros(n, bool), np.zeros(n, np.int64),
                            np.zeros(n, np.int64), np.array([len(c) for c in batch.coded_bits] or [0] * n),
                            np.array([len(b) for b in batch.payload_bits] or [0] * n))
        ok = np.flatnonzero(header_ok)
        if ok.size:
            decide = {"digital": self._receive_digital, "analog": self._receive_analog,
                      "jpeg": self._receive_jpeg}[self.family]
            decide(batch, equalised, noise, ok, outcome, snr_db)
        return outcome

    def _decode_payloads(self, batch, equalised, noise, frames, outcome, layout):
        """Demap + LDPC decode ``frames`` of one layout; fills the BERs and CRC flags; returns payload bytes."""
        stop = PAYLOAD_START + layout.num_symbols
        llr = self.modem.demap_payload(layout, equalised[frames, PAYLOAD_START:stop],
                                       np.broadcast_to(noise[frames, None], (len(frames), layout.num_symbols)))
        payload_bytes, _, _ = self.modem.decode_payload(layout, llr)
        for j, f in enumerate(frames):
            bits = np.unpackbits(payload_bytes[j])
            outcome.pre_fec_errors[f] = np.count_nonzero((llr[j] < 0) != batch.coded_bits[f])
            outcome.post_fec_errors[f] = np.count_nonzero(bits != batch.payload_bits[f])
            outcome.crc_ok[f] = outcome.post_fec_errors[f] == 0 or _crc_ok(payload_bytes[j])
        return payload_bytes

    def _receive_digital(self, batch, equalised, noise, frames, outcome, snr_db):
        layout = self.modem.layout(int(batch.payload_lengths[0]))
        payload_bytes = self._decode_payloads(batch, equalised, noise, frames, outcome, layout)
        bits = np.unpackbits(payload_bytes, axis=1)[:, :self.mapper.num_bits]
        indices, _ = self.mapper.from_bits(bits)
        with torch.no_grad():
            logits = self.model.decode(torch.from_numpy(indices), torch.full((len(frames),), float(snr_db)))
        outcome.predicted[frames] = logits.argmax(dim=1).numpy()

    def _receive_analog(self, batch, equalised, noise, frames, outcome, snr_db):
        payload = equalised[frames, PAYLOAD_START:]
        symbols = torch.from_numpy(np.stack([payload.real, payload.imag], axis=-1).astype(np.float32))
        with torch.no_grad():
            logits = self.model.decode(symbols, torch.full((len(frames),), float(snr_db)))
        outcome.crc_ok[frames] = True  # no CRC: every found frame is delivered
        outcome.predicted[frames] = logits.argmax(dim=1).numpy()

    def _receive_jpeg(self, batch, equalised, noise, frames, outcome, snr_db):
        shape = tuple(batch.images.shape[1:])
        by_length: dict[int, list[int]] = {}
        for f in frames:
            by_length.setdefault(int(batch.payload_lengths[f]), []).append(int(f))
        for payload_len, group in by_length.items():
            payload_bytes = self._decode_payloads(batch, equalised, noise, np.array(group), outcome,
                                                  self.modem.layout(payload_len))
            for j, f in enumerate(group):
                image = decode_jpeg(payload_bytes[j][:payload_len].tobytes(), shape) if outcome.crc_ok[f] else None
                if image is not None:
                    with torch.no_grad():
                        logits = self.model.logits(torch.from_numpy(image[None].astype(np.float32)))
                    outcome.predicted[f] = int(logits.argmax(dim=1)[0])


def _crc_ok(payload_and_crc: np.ndarray) -> bool:
    from ..phy.framing import CRC32_SIZE, crc32

    data = payload_and_crc.tobytes()
    return crc32(data[:-CRC32_SIZE]) == int.from_bytes(data[-CRC32_SIZE:], "big")


def _noise_estimate(received_known: np.ndarray, sent_known: np.ndarray):
    """Gain ``g``, phase ``theta`` and noise ``N0`` per frame ``[N]`` from the known symbols (module doc)."""
    z = received_known.astype(np.complex128) * np.conj(sent_known.astype(np.complex128))
    mean = z.mean(axis=1)
    gain, phase = np.abs(mean), np.angle(mean)
    residual = received_known - (gain * np.exp(1j * phase))[:, None] * sent_known
    return gain, phase, (np.abs(residual) ** 2).mean(axis=1)
