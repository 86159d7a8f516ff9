"""GNU Radio blocks of the semcomm testbed: thin adapters between PDUs/streams and the
``semcomm`` core library (the algorithms live there, not here). PDU formats and metadata keys:
:mod:`.pdus`.

Transmitter: :class:`image_source` -> :class:`semantic_encoder` -> :class:`index_to_bits` ->
:class:`framer` -> :class:`ldpc_encoder` -> :class:`qam_mapper` -> (PDU to tagged stream, RRC);
:class:`frame_acks` acknowledges the frames on the sample stream to the source's in-flight window.
Channel: :class:`channel_emulator`, :class:`clock_offset` (+ :class:`attacker`: sensing, sync, semantic noise or jamming).
ZMQ links: :class:`zmq_iq_source` (IQ in; malformed messages counted and dropped); the attacker's timed
links :class:`zmq_timed_sink`, :class:`zmq_timed_source`, :class:`zmq_aligned_source` (sample indices travel).
Receiver: (matched filter) -> :class:`frame_sync` -> :class:`soft_demapper` -> :class:`ldpc_decoder`
-> :class:`deframer` -> :class:`bits_to_index` -> :class:`semantic_decoder` -> :class:`metrics_sink`, or
:class:`frame_receiver` (the same receiver stages in one block, as the testbed flowgraphs use them).

Captures: :class:`sigmf_sink` (SigMF recording at a tap). Radios: :class:`uhd_rx_monitor`, :class:`uhd_tx_monitor`
(overflows, underflows, late bursts).

Flowgraph helpers (used in GRC variables): :func:`rrc_taps`, :func:`model_link`.
gr-fec interoperability and benchmark helpers: :mod:`gnuradio.semcomm.grfec` (imported on demand).
"""
from types import SimpleNamespace

from semcomm.export.contract import link_model_info
from semcomm.phy.bits import IndexBitMapper
from semcomm.phy.pulse import rrc_taps

from .attacker import attacker
from .channel_emulator import channel_emulator
from .clock_offset import clock_offset
from .frame_acks import frame_acks
from .frame_sync import frame_receiver, frame_sync
from .image_source import image_source
from .index_bits import bits_to_index, index_to_bits
from .metrics_sink import metrics_sink, tx_log_sink
from .modem_blocks import deframer, framer, ldpc_decoder, ldpc_encoder, qam_mapper, soft_demapper
from .semantic import semantic_decoder, semantic_encoder
from .sigmf_sink import sigmf_sink
from .uhd_monitor import uhd_rx_monitor, uhd_tx_monitor
from .zmq_source import zmq_iq_source
from .zmq_timed import zmq_aligned_source, zmq_timed_sink, zmq_timed_source


def model_link(prefix: str) -> SimpleNamespace:
    """What the link blocks need to know about a model ``prefix`` (``models/<name>``), from its card:
    ``model_id`` (hex), ``alphabet``, ``num_tokens``, ``num_bits`` (T * bits per index), ``classes`` (class
    names, None for a reconstruction model); a model without indices (analog, JPEG) is refused
    (:func:`semcomm.export.contract.link_model_info`)."""
    info = link_model_info(prefix)
    mapper = IndexBitMapper(info.alphabet, num_indices=info.num_tokens)
    return SimpleNamespace(model_id=info.model_id, alphabet=info.alphabet, num_tokens=info.num_tokens,
                           num_bits=mapper.num_bits, classes=info.classes)


__all__ = ["image_source", "frame_acks", "semantic_encoder", "index_to_bits", "framer", "ldpc_encoder",
           "qam_mapper", "channel_emulator", "clock_offset", "attacker", "frame_sync", "frame_receiver", "soft_demapper",
           "ldpc_decoder", "deframer",
           "bits_to_index", "semantic_decoder", "metrics_sink", "tx_log_sink", "zmq_iq_source", "zmq_timed_sink", "zmq_timed_source",
           "zmq_aligned_source", "sigmf_sink", "uhd_rx_monitor",
           "uhd_tx_monitor", "rrc_taps",
           "model_link"]
