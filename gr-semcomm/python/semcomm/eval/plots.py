"""PNG plots of PHY and evaluation results (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import math
import os

import matplotlib
import numpy as np

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


def _axes_grid(count: int, columns: int | None, cell: tuple[float, float]):
    """``(figure, axes list)`` of ``count`` axes (at least one) in rows of ``columns`` (None: one row), each
    ``cell`` inches; the axes beyond ``count`` are hidden."""
    shown = max(1, count)
    columns = min(shown, columns or shown)
    rows = math.ceil(shown / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(cell[0] * columns, cell[1] * rows), dpi=110, squeeze=False)
    axes = list(axes.flat)
    for ax in axes[count:]:
        ax.axis("off")
    return fig, axes


def plot_panels(panels: dict[str, dict[str, tuple[list, list]]], path: str, xlabel: str, ylabel: str,
                title: str = "", ylim: tuple | None = None, columns: int | None = None, logy: bool = False) -> str:
    """Plots (a log y axis with ``logy``), one per panel title, each of named (x, y) curves, in rows of
    ``columns`` panels (default: all in one row); ``None`` values in ``y`` are left out. Curves whose label
    ends in ``(clean)`` are dashed. Returns ``path``."""
    fig, axes = _axes_grid(len(panels), columns, (6.0, 4.4))
    for ax, (panel, curves) in zip(axes, panels.items()):
        for label, (x, y) in curves.items():
            points = [(a, b) for a, b in zip(x, y) if b is not None]
            if points:
                ax.plot(*zip(*points), "o--" if label.endswith("(clean)") else "o-", label=label, markersize=3)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(panel)
        if logy:
            ax.set_yscale("log")
        if ylim:
            ax.set_ylim(*ylim)
        ax.grid(True, alpha=0.3)
        if any(ax.get_legend_handles_labels()[1]):
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def plot_heatmaps(matrices: dict, path: str, title: str = "", vmin: float = -1.0, vmax: float = 1.0,
                  axis_labels: tuple[str, str] = ("basis vector", "basis vector")) -> str:
    """One heat map per named matrix (e.g. codebook cosine similarities), shared colour scale;
    ``axis_labels``: (x, y)."""
    fig, axes = _axes_grid(len(matrices), 3, (5.0, 4.4))
    image = None
    for ax, (name, matrix) in zip(axes, matrices.items()):
        image = ax.imshow(matrix, vmin=vmin, vmax=vmax, cmap="viridis", interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(axis_labels[0])
        ax.set_ylabel(axis_labels[1])
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8)
    if title:
        fig.suptitle(title)
    return _save(fig, path, tight=False)  # tight_layout does not handle the shared colour bar


def plot_accuracy_table(table: dict[str, dict[str, float]], columns: list[str], path: str, title: str = "",
                        xlabel: str = "", ylabel: str = "") -> str:
    """Heat map of the accuracies ``table[row][column]`` in [0, 1], each cell labelled in percent (rows in
    the dict's order, columns in ``columns``' order). Returns ``path``."""
    rows = list(table)
    values = np.array([[table[row][column] for column in columns] for row in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(2.0 + 1.0 * len(columns), 1.6 + 0.45 * len(rows)), dpi=110)
    image = ax.imshow(values, vmin=0.0, vmax=1.0, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(columns)), columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, f"{100 * value:.1f}", ha="center", va="center", fontsize=7,
                color="black" if value > 0.6 else "white")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8, label="accuracy")
    return _save(fig, path)
