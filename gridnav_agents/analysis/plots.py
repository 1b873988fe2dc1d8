"""Matplotlib figures of the grid analyses; every function returns a ``Figure``.

Figures are built with the object-oriented API (``matplotlib.figure.Figure``, no pyplot), so they
render with the Agg canvas whatever the session's backend and leave pyplot's state alone.

Ratemaps are drawn as one mosaic image (fast for hundreds of units), each map scaled to its own
range; unvisited bins are white.
"""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "mosaic",
    "plot_ratemaps",
    "plot_autocorrelograms",
    "plot_module_histograms",
    "plot_distance",
    "plot_torus",
    "save",
]


def mosaic(maps: np.ndarray, n_cols: int, gap: int = 1, label_rows: int = 0) -> np.ndarray:
    """Tile ``(K, nx, ny)`` maps (each min-max scaled to [0, 1]) into one image with NaN gaps.

    Each tile has ``label_rows`` blank rows above it (room for a label). The image is
    ``(rows, cols)`` for ``imshow(origin="upper")``, each map's x to the right and y upwards.
    """
    maps = np.asarray(maps, dtype=float)
    k, nx, ny = maps.shape
    n_rows = max(1, int(np.ceil(k / n_cols)))
    th, tw = ny + gap + label_rows, nx + gap
    img = np.full((n_rows * th, n_cols * tw - gap), np.nan)
    with warnings.catch_warnings():  # all-NaN maps (dead units) are fine
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanmin(maps, axis=(1, 2), keepdims=True)
        hi = np.nanmax(maps, axis=(1, 2), keepdims=True)
        scaled = (maps - lo) / np.where(hi > lo, hi - lo, 1.0)
    for i in range(k):
        r, c = divmod(i, n_cols)
        top = r * th + label_rows
        img[top : top + ny, c * tw : c * tw + nx] = scaled[i].T[::-1]  # y up
    return img


def _mosaic_figure(
    maps: np.ndarray, labels: list[str], title: str, n_cols: int, cmap: str, colors=None
) -> Figure:
    k, nx, ny = maps.shape
    n_cols = max(1, min(n_cols, k))
    n_rows = max(1, int(np.ceil(k / n_cols)))
    label_rows = max(3, ny // 5)
    img = mosaic(maps, n_cols, label_rows=label_rows)
    width = 1.1 * n_cols
    height = width * img.shape[0] / img.shape[1] + 0.4
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 - 0.4 / height))
    cm = matplotlib.colormaps[cmap].with_extremes(bad="white")
    ax.imshow(img, cmap=cm, interpolation="nearest", vmin=0, vmax=1, aspect="auto")
    fontsize = min(7.0, 0.8 * 72 * (height - 0.4) / n_rows * label_rows / (ny + 1 + label_rows))
    for i, text in enumerate(labels):
        r, c = divmod(i, n_cols)
        color = "k" if colors is None else colors[i]
        y = r * (ny + 1 + label_rows) + label_rows - 0.5
        ax.text(c * (nx + 1), y, text, fontsize=fontsize, va="bottom", color=color)
    ax.set_axis_off()
    fig.suptitle(title, fontsize=9, y=1.0 - 0.05 / height, va="top")
    return fig


def plot_ratemaps(
    ratemaps: np.ndarray,
    labels: np.ndarray,
    gridness: np.ndarray,
    *,
    title: str = "ratemaps",
    n_cols: int = 16,
) -> Figure:
    """All units' ratemaps ``(N, nx, ny)``, ordered by module (``labels``, -1 last) then by
    decreasing gridness; each tile is annotated ``unit:module gridness``."""
    labels = np.asarray(labels)
    g = np.nan_to_num(np.asarray(gridness, dtype=float), nan=-np.inf)
    order = np.lexsort((-g, np.where(labels < 0, np.iinfo(np.int64).max, labels)))
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    texts = [
        f"{i}:{'-' if labels[i] < 0 else labels[i]} "
        + ("nan" if not np.isfinite(gridness[i]) else f"{gridness[i]:.2f}")
        for i in order
    ]
    colors = ["0.4" if labels[i] < 0 else cycle[labels[i] % len(cycle)] for i in order]
    return _mosaic_figure(ratemaps[order], texts, title, n_cols, "jet", colors)


def plot_autocorrelograms(
    sacs: np.ndarray,
    gridness: np.ndarray,
    *,
    n_best: int = 16,
    title: str = "autocorrelograms",
    n_cols: int = 8,
) -> Figure:
    """Autocorrelograms of the ``n_best`` units with the highest gridness."""
    g = np.nan_to_num(np.asarray(gridness, dtype=float), nan=-np.inf)
    best = np.argsort(-g, kind="stable")[: min(n_best, len(g))]
    texts = [
        f"{i} " + ("nan" if not np.isfinite(gridness[i]) else f"{gridness[i]:.2f}") for i in best
    ]
    return _mosaic_figure(np.asarray(sacs)[best], texts, title, n_cols, "viridis")


def plot_module_histograms(
    spacing_m: np.ndarray,
    orientation_deg: np.ndarray,
    labels: np.ndarray,
    *,
    title: str = "grid modules",
) -> Figure:
    """Histograms of spacing (m) and orientation (degrees) of grid units, one colour per module."""
    labels = np.asarray(labels)
    fig = Figure(figsize=(8, 3))
    axes = fig.subplots(1, 2)
    mods = [k for k in np.unique(labels) if k >= 0]
    finite = np.isfinite(spacing_m) & (labels >= 0)
    s_hi = float(np.max(spacing_m[finite])) * 1.2 if finite.any() else 1.0
    for k in mods:
        sel = labels == k
        axes[0].hist(spacing_m[sel], bins=np.linspace(0, s_hi, 41), alpha=0.7, label=f"module {k}")
        axes[1].hist(orientation_deg[sel], bins=np.linspace(0, 60, 31), alpha=0.7)
    if not mods:
        for ax in axes:
            ax.text(0.5, 0.5, "no grid modules", ha="center", transform=ax.transAxes)
    else:
        axes[0].legend(fontsize=7)
    axes[0].set_xlabel("spacing (m)")
    axes[1].set_xlabel("orientation (deg)")
    axes[0].set_ylabel("units")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_distance(
    separation_m: np.ndarray,
    neural_distance: np.ndarray,
    decorrelation_m: float,
    *,
    title: str = "neural vs spatial distance",
) -> Figure:
    """Mean neural distance versus spatial separation, with the decorrelation length."""
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.plot(separation_m, neural_distance, "o-", ms=3)
    if np.isfinite(decorrelation_m):
        ax.axvline(decorrelation_m, color="r", ls="--", label=f"{decorrelation_m:.2f} m")
        ax.legend(fontsize=7)
    ax.set_xlabel("spatial separation (m)")
    ax.set_ylabel("mean neural distance")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_torus(
    embedding: np.ndarray,
    colour: np.ndarray | None = None,
    lifetimes: list[np.ndarray] | None = None,
    *,
    title: str = "population states",
) -> Figure:
    """3-D embedding of one module's population states (coloured by ``colour``, e.g. a phase),
    and the longest bar lifetimes per homology dimension."""
    fig = Figure(figsize=(8, 4))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    ax.scatter(*np.asarray(embedding).T[:3], c=colour, s=2, cmap="hsv")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_zticks([])
    ax2 = fig.add_subplot(1, 2, 2)
    if lifetimes is not None:
        for dim, life in enumerate(lifetimes):
            top = np.asarray(life)[:10]
            ax2.plot(np.arange(len(top)), top, "o-", label=f"H{dim}")
        ax2.set_xlabel("bar rank")
        ax2.set_ylabel("lifetime")
        ax2.legend(fontsize=7)
    else:
        ax2.set_axis_off()
    fig.tight_layout()
    return fig


def save(fig: Figure, path, dpi: int = 100) -> None:
    """Save a figure as PNG (Agg canvas)."""
    fig.savefig(path, dpi=dpi)
