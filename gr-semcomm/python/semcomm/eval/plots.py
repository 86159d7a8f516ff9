"""PNG plots of PHY and evaluation results (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import math
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
    return _save(fig, path)


def _save(fig, path: str, tight: bool = True) -> str:
    if tight:
        fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_panels(panels: dict[str, dict[str, tuple[list, list]]], path: str, xlabel: str, ylabel: str,
                title: str = "", ylim: tuple | None = None) -> str:
    """Side-by-side linear plots, one per panel title, each of named (x, y) curves; ``None`` values in ``y``
    are left out. Curves whose label ends in ``(clean)`` are dashed. Returns ``path``."""
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=(6.0 * max(1, len(panels)), 4.4), dpi=110, squeeze=False)
    for ax, (panel, curves) in zip(axes[0], panels.items()):
        for label, (x, y) in curves.items():
            points = [(a, b) for a, b in zip(x, y) if b is not None]
            if points:
                ax.plot(*zip(*points), "o--" if label.endswith("(clean)") else "o-", label=label, markersize=3)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(panel)
        if ylim:
            ax.set_ylim(*ylim)
        ax.grid(True, alpha=0.3)
        if any(ax.get_legend_handles_labels()[1]):
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_heatmaps(matrices: dict, path: str, title: str = "", vmin: float = -1.0, vmax: float = 1.0) -> str:
    """One heat map per named square matrix (e.g. codebook cosine similarities), shared colour scale."""
    count = max(1, len(matrices))
    columns = min(count, 3)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.0 * columns, 4.4 * rows), dpi=110, squeeze=False)
    image = None
    for ax, (name, matrix) in zip(axes.flat, matrices.items()):
        image = ax.imshow(matrix, vmin=vmin, vmax=vmax, cmap="viridis", interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("basis vector")
        ax.set_ylabel("basis vector")
    for ax in list(axes.flat)[len(matrices):]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8)
    if title:
        fig.suptitle(title)
    return _save(fig, path, tight=False)  # tight_layout does not handle the shared colour bar
