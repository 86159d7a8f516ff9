"""PNG plots of PHY results (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_error_rates(curves: dict[str, tuple[list[float], list[float]]], path: str, xlabel: str, title: str) -> str:
    """Semilog-y plot of named (x, y) curves; zero values are left out (log axis). Returns ``path``."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    for label, (x, y) in curves.items():
        points = [(a, b) for a, b in zip(x, y) if b > 0]
        if points:
            style = "--" if label.startswith("theory") else "o-"
            ax.semilogy(*zip(*points), style, label=label, markersize=4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("error rate")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
