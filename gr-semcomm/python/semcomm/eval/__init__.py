"""Evaluation helpers: metrics, reports and plots."""
