"""Testbed support without GNU Radio: the ``hw_configs`` loader and the link metrics of a run
(overrides and :class:`~semcomm.config.ConfigError` come from :mod:`semcomm.config`).

    config = load_testbed_config("hw_configs/loopback.yaml", {"channel.snr_db": 5})
    metrics = LinkMetrics(); metrics.add_tx(record); metrics.add_rx(record); metrics.finalize()
    summary = metrics.summary("clean", elapsed_s)
"""
from .config import load_testbed_config
from .metrics import LinkMetrics, TxLogReader, TxLogWriter, read_tx_log, write_tx_log

__all__ = ["LinkMetrics", "TxLogReader", "TxLogWriter", "load_testbed_config", "read_tx_log", "write_tx_log"]
