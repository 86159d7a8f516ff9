"""The exact chain: a batch of indices through the real PHY of the frame modem (milliseconds per image).

Per image: index bits -> the frame modem's payload (zero pad to whole bytes, :func:`~semcomm.phy.framing.
payload_with_crc`) -> :meth:`PayloadLayout.encode <semcomm.phy.modem.PayloadLayout.encode>` (shortened
LDPC) -> QAM -> :meth:`ChainSettings.channel_output <semcomm.sim.link.ChainSettings.channel_output>` at
the image's Es/N0 -> :meth:`FrameModem.demap_payload <semcomm.phy.modem.FrameModem.demap_payload>` ->
:meth:`FrameModem.decode_payload <semcomm.phy.modem.FrameModem.decode_payload>` -> index bits -> indices.
Used by evaluation, to measure error profiles (:mod:`semcomm.sim.error_profile`) and to validate them.
"""
from __future__ import annotations

import numpy as np

from ..phy.bits import IndexBitMapper
from ..phy.framing import payload_with_crc
from ..phy.modem import FrameModem
from .link import ChainSettings, CorruptStats, IndexLink


class ExactChain(IndexLink):
    """The real chain on every image of the batch (module doc); the :meth:`corrupt` of every link.

    Any finite SNR is accepted. ``last_pre_fec_ber`` holds the pre-FEC BER of the latest batch.
    """

    def __init__(self, alphabet, num_indices: int | None = None, labelling: str = "natural",
                 chain: ChainSettings | None = None):
        super().__init__(IndexBitMapper(alphabet, num_indices, labelling), chain or ChainSettings())
        self.modem = FrameModem(self.chain.link_config())
        self.last_pre_fec_ber = float("nan")

    @classmethod
    def from_settings(cls, settings) -> "ExactChain":
        """The exact chain an error profile's :class:`~semcomm.sim.error_profile.ProfileSettings` describe
        (same codec layout and PHY)."""
        return cls([list(s) for s in settings.alphabet], labelling=settings.labelling, chain=settings.chain)

    def __repr__(self) -> str:
        c = self.chain
        return f"ExactChain({c.modulation}, {c.code}, {c.fading}, payload={self.payload_bits} bits, {self.mapper!r})"

    def corrupt(self, indices, snr_db, rng) -> tuple[np.ndarray, CorruptStats]:
        """Indices ``[N, T]`` through the real chain at per-image Es/N0 ``snr_db`` ``[N]``."""
        indices, snr, rng = self._check_inputs(indices, snr_db, rng)
        sent = self.mapper.to_bits(indices)
        payload = self.payload(sent)
        if indices.shape[0]:
            decoded, pre_fec = self.transmit(payload, snr, rng)
            self.last_pre_fec_ber = float(pre_fec.sum() / (len(pre_fec) * self.coded_bits))
        else:
            decoded = payload
        return self._finish(indices, sent, decoded[:, :self.index_bits], decoded != payload, snr)

    def payload(self, index_bits: np.ndarray) -> np.ndarray:
        """Index bits ``[N, B]`` -> the frame's payload + CRC-32 bits ``[N, P]``."""
        body = np.packbits(index_bits, axis=1)  # zero pad to whole bytes
        framed = b"".join(payload_with_crc(row.tobytes()) for row in body)
        return np.unpackbits(np.frombuffer(framed, dtype=np.uint8).reshape(len(body), self.payload_bits // 8), axis=1)

    def transmit(self, payload: np.ndarray, snr_db, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Payload + CRC bits ``[F, P]`` through the chain at Es/N0 ``snr_db`` (scalar or ``[F]``).

        Returns (decoded payload bits ``[F, P]``, pre-FEC hard-decision errors ``[F]``).
        """
        coded = self.layout.encode(payload)
        received, n0 = self.chain.channel_output(self.layout.modulate(coded), snr_db, rng)
        llr = self.modem.demap_payload(self.layout, received, n0)
        decoded, _, _ = self.modem.decode_payload(self.layout, llr)
        return np.unpackbits(decoded, axis=1), np.count_nonzero((llr < 0) != coded, axis=1)
