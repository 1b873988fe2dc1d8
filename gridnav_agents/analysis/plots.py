"""Matplotlib figures of the grid analyses; every function returns a ``Figure``.

Figures are built with the object-oriented API (``matplotlib.figure.Figure``, no pyplot), so they
render with the Agg canvas whatever the session's backend and leave pyplot's state alone.

Ratemaps and autocorrelograms are drawn as one mosaic image (fast for hundreds of units), each
map scaled to its own range (a colour bar says so), unvisited bins in grey, with a scale bar in
metres when the bin size is given. Module ``k`` has the colour :func:`module_colour` ``(k)`` in
every figure.
"""

from __future__ import annotations

import textwrap
import warnings
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

__all__ = [
    "UNVISITED_COLOUR",
    "module_colour",
    "mosaic",
    "plot_ratemaps",
    "plot_autocorrelograms",
    "plot_module_histograms",
    "plot_distance",
    "plot_torus",
    "plot_stability",
    "save",
]

#: Colour of unvisited bins (a neutral grey, outside every colour map used here).
UNVISITED_COLOUR = (0.6, 0.6, 0.6, 1.0)
_TILE_GAP_COLOUR = (1.0, 1.0, 1.0, 1.0)
_NO_MODULE_COLOUR = "0.4"


def module_colour(k: int) -> str:
    """Colour of module number ``k`` in every figure (matplotlib's default cycle); grey for
    units in no module (``k < 0``)."""
    if k < 0:
        return _NO_MODULE_COLOUR
    cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    return cycle[int(k) % len(cycle)]


def mosaic(maps: np.ndarray, n_cols: int, gap: int = 1, label_rows: int = 0) -> np.ndarray:
    """Tile ``(K, nx, ny)`` maps (each min-max scaled to [0, 1]) into one image with NaN gaps.

    Each tile has ``label_rows`` blank rows above it (room for a label). The image is
    ``(rows, cols)`` for ``imshow(origin="upper")``, each map's x to the right and y upwards.
    Unvisited bins stay NaN; :func:`mosaic_rgba` tells them from the gaps.
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


def mosaic_rgba(maps: np.ndarray, n_cols: int, cmap: str, label_rows: int = 0) -> np.ndarray:
    """:func:`mosaic` coloured with ``cmap``: ``(rows, cols, 4)`` RGBA in [0, 1], unvisited bins
    :data:`UNVISITED_COLOUR`, gaps and label rows white."""
    maps = np.asarray(maps, dtype=float)
    img = mosaic(maps, n_cols, label_rows=label_rows)
    tile = np.isfinite(mosaic(np.zeros_like(maps), n_cols, label_rows=label_rows))
    rgba = matplotlib.colormaps[cmap](np.nan_to_num(img))
    rgba[~tile] = _TILE_GAP_COLOUR
    rgba[tile & np.isnan(img)] = UNVISITED_COLOUR
    return rgba


def _scale_bar_length(width_m: float) -> float:
    """A round length (metres) of at most half ``width_m``: 1, 2 or 5 times a power of ten."""
    target = width_m / 2
    power = 10.0 ** np.floor(np.log10(target))
    return float(max(m * power for m in (1, 2, 5) if m * power <= target))


def _mosaic_figure(
    maps: np.ndarray,
    labels: list[str],
    title: str,
    n_cols: int,
    cmap: str,
    colors: list[str] | None = None,
    *,
    bin_size: float | None = None,
    key: str = "",
    scale: str = "each map scaled to its own range",
    missing: str = "bin not visited",
) -> Figure:
    """Tiles with a label above each, a colour bar stating the scaling, a scale bar in metres
    (if ``bin_size``), what grey (NaN) means (``missing``) and ``key`` (what the labels and
    colours mean) under the mosaic."""
    maps = np.asarray(maps, dtype=float)
    k, nx, ny = maps.shape
    n_cols = max(1, min(n_cols, k))
    n_rows = max(1, int(np.ceil(k / n_cols)))
    label_rows = max(3, ny // 5)
    rgba = mosaic_rgba(maps, n_cols, cmap, label_rows=label_rows)
    h_img, w_img = rgba.shape[:2]
    width = max(1.1 * n_cols, 6.0)
    head, row = 0.45, 0.3  # inches: title; scale bar, colour bar and "not visited" under the tiles
    key_lines = key.count("\n") + 1 if key else 0
    foot = row + 0.2 + 0.15 * key_lines
    h_mosaic = width * h_img / w_img
    height = head + h_mosaic + foot
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.0, foot / height, 1.0, h_mosaic / height))
    ax.imshow(rgba, interpolation="nearest", aspect="auto")
    ax.set_axis_off()
    ax.autoscale(False)  # the scale bar below the image must not move its limits
    fontsize = min(7.0, 0.8 * 72 * h_mosaic / n_rows * label_rows / (ny + 1 + label_rows))
    for i, text in enumerate(labels):
        r, c = divmod(i, n_cols)
        color = "k" if colors is None else colors[i]
        y = r * (ny + 1 + label_rows) + label_rows - 0.5
        ax.text(c * (nx + 1), y, text, fontsize=fontsize, va="bottom", color=color)
    fig.suptitle(title, fontsize=9, y=1.0 - 0.08 / height, va="top")
    row_y = (foot - row / 2 - 0.05) / height  # centre of the row under the tiles, figure fraction
    if bin_size is not None:  # in the mosaic's pixel coordinates, so that it measures the maps
        length = _scale_bar_length(nx * bin_size)
        y_bar = h_img - 0.5 + (row / 2 + 0.05) * h_img / h_mosaic
        ax.plot([0, length / bin_size], [y_bar, y_bar], color="k", lw=2, clip_on=False)
        ax.text(length / bin_size + 1, y_bar, f"{length:g} m", fontsize=7, va="center")
    cax = fig.add_axes((0.4, row_y - 0.04 / height, 0.22, 0.08 / height))
    bar = fig.colorbar(
        matplotlib.cm.ScalarMappable(cmap=cmap), cax=cax, orientation="horizontal", ticks=[]
    )
    bar.outline.set_linewidth(0.5)
    fig.text(0.395, row_y, f"{scale}:  min", fontsize=7, ha="right", va="center")
    fig.text(0.625, row_y, "max", fontsize=7, va="center")
    grey = matplotlib.patches.Patch(color=UNVISITED_COLOUR, label=missing)
    fig.legend(handles=[grey], loc="center left", bbox_to_anchor=(0.7, row_y), fontsize=7,
               frameon=False, handlelength=1.2)  # fmt: skip
    if key:
        fig.text(0.01, (foot - row - 0.05) / height, key, fontsize=7, va="top", linespacing=1.5)
    return fig


def _gridness_text(g: float) -> str:
    return "nan" if not np.isfinite(g) else f"{g:.2f}"


def plot_ratemaps(
    ratemaps: np.ndarray,
    labels: np.ndarray,
    gridness: np.ndarray,
    *,
    title: str = "ratemaps",
    n_cols: int = 16,
    bin_size: float | None = None,
    caption: str = "",
) -> Figure:
    """All units' ratemaps ``(N, nx, ny)``, ordered by module (``labels``, -1 last) then by
    decreasing gridness; each tile is titled ``unit:module gridness`` in its module's colour.

    ``bin_size`` (metres) adds a scale bar; ``caption`` (e.g. the trajectories the maps were
    made from) is printed under the key.
    """
    labels = np.asarray(labels)
    g = np.nan_to_num(np.asarray(gridness, dtype=float), nan=-np.inf)
    order = np.lexsort((-g, np.where(labels < 0, np.iinfo(np.int64).max, labels)))
    texts = [
        f"{i}:{'-' if labels[i] < 0 else labels[i]} {_gridness_text(gridness[i])}" for i in order
    ]
    colors = [module_colour(labels[i]) for i in order]
    key = ""
    if len(order):
        i = order[0]
        module = "-" if labels[i] < 0 else str(labels[i])
        key = (
            f"tile title: unit:module gridness, e.g. {texts[0]}: unit {i}, module {module}, 60° "
            f"gridness {_gridness_text(gridness[i])} ('-': in no module; 'nan': silent or "
            "constant unit); title colour: module, as in the modules figure"
        )
    key = "\n".join(t for t in (key, caption) if t)
    return _mosaic_figure(
        ratemaps[order], texts, title, n_cols, "jet", colors, bin_size=bin_size, key=key,
        scale="rate, each map scaled to its own range",
    )  # fmt: skip


def plot_autocorrelograms(
    sacs: np.ndarray,
    gridness: np.ndarray,
    *,
    n_best: int = 16,
    title: str = "autocorrelograms",
    n_cols: int = 8,
    bin_size: float | None = None,
) -> Figure:
    """Autocorrelograms of the ``n_best`` units with the highest gridness, titled ``unit
    gridness``; ``bin_size`` (metres) adds a scale bar of spatial lag; grey: lags where the
    autocorrelogram is undefined."""
    g = np.nan_to_num(np.asarray(gridness, dtype=float), nan=-np.inf)
    best = np.argsort(-g, kind="stable")[: min(n_best, len(g))]
    texts = [f"{i} {_gridness_text(gridness[i])}" for i in best]
    return _mosaic_figure(
        np.asarray(sacs)[best], texts, title, n_cols, "viridis", bin_size=bin_size,
        key="tile title: unit number and 60° gridness; centre: zero lag; scale bar: spatial lag",
        scale="correlation, each scaled to its own range",
        missing="lag with too little overlap",
    )  # fmt: skip


def plot_module_histograms(
    spacing_m: np.ndarray,
    orientation_deg: np.ndarray,
    labels: np.ndarray,
    *,
    modules: list[dict[str, Any]] | None = None,
    title: str = "grid modules",
) -> Figure:
    """Histograms of spacing (m) and orientation (degrees) of each module's units, one colour
    per module (:func:`module_colour`).

    ``modules``: a report's module entries (``id``, ``n_units``, ``spacing_m``, ``harmonic_of``,
    ``locked_to``, ``lock_r2``, ``coherence_r2``); with them the legend names each module's
    spacing and size and marks harmonic, locked and incoherent groups
    (:func:`~gridnav_agents.analysis.summary.module_role`), whose bars are hatched.
    """
    from gridnav_agents.analysis.summary import module_role

    labels = np.asarray(labels)
    spacing_m = np.asarray(spacing_m, dtype=float)
    orientation_deg = np.asarray(orientation_deg, dtype=float)
    info = {int(m["id"]): m for m in modules or []}
    fig = Figure(figsize=(11, 3.6))
    axes = fig.subplots(1, 2)
    mods = [int(k) for k in np.unique(labels) if k >= 0]
    finite = np.isfinite(spacing_m) & (labels >= 0)
    s_hi = float(np.max(spacing_m[finite])) * 1.2 if finite.any() else 1.0
    for k in mods:
        sel = labels == k
        m = info.get(k)
        role = None if m is None else module_role(m)
        name = f"module {k}"
        if m is not None:
            name += f": {m['spacing_m']:.2f} m, {m['n_units']} units"
        name += "\n  " + ("independent" if role is None else role)
        style = {
            "color": module_colour(k),
            "alpha": 0.75,
            "hatch": None if role is None else "///",
            "edgecolor": "white" if role is None else "k",
            "linewidth": 0.3,
        }
        axes[0].hist(spacing_m[sel], bins=np.linspace(0, s_hi, 41), label=name, **style)
        axes[1].hist(orientation_deg[sel], bins=np.linspace(0, 60, 31), **style)
    if not mods:
        for ax in axes:
            ax.text(0.5, 0.5, "no grid modules", ha="center", transform=ax.transAxes)
    else:
        fig.legend(loc="center right", fontsize=7, title="solid: independent\nhatched: dependent",
                   title_fontsize=7, frameon=False)  # fmt: skip
    axes[0].set_xlabel("grid spacing (m)")
    axes[1].set_xlabel("grid orientation (degrees, modulo 60°)")
    axes[0].set_ylabel("units")
    axes[1].set_ylabel("units")
    axes[0].set_title("spacing", fontsize=8)
    axes[1].set_title("orientation", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.72, 1))
    return fig


def plot_distance(
    separation_m: np.ndarray,
    neural_distance: np.ndarray,
    decorrelation_m: float,
    *,
    title: str = "neural vs spatial distance",
) -> Figure:
    """Mean distance between population vectors versus spatial separation, with the
    decorrelation length (metres)."""
    fig = Figure(figsize=(4.5, 3.2))
    ax = fig.subplots()
    ax.plot(separation_m, neural_distance, "o-", ms=3)
    if np.isfinite(decorrelation_m):
        ax.axvline(
            decorrelation_m,
            color="r",
            ls="--",
            label=f"decorrelation length {decorrelation_m:.2f} m",
        )
        ax.legend(fontsize=7)
    ax.set_xlabel("spatial separation (m)")
    ax.set_ylabel("mean population-vector distance\n(activity units)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_torus(
    embedding: np.ndarray,
    colour: np.ndarray | None = None,
    lifetimes: list[np.ndarray] | None = None,
    *,
    title: str = "population states",
    colour_label: str = "phase (rad)",
    lifetime_label: str = "bar lifetime (distance between projected states)",
) -> Figure:
    """3-D embedding of one module's population states (coloured by ``colour``, e.g. a phase in
    radians, named ``colour_label``), and the longest bar lifetimes per homology dimension
    (axis named ``lifetime_label``)."""
    fig = Figure(figsize=(9, 4.2))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    points = ax.scatter(*np.asarray(embedding).T[:3], c=colour, s=2, cmap="hsv")
    ax.set_title("3-D spectral embedding of the states", fontsize=8)
    for axis, name in zip((ax.xaxis, ax.yaxis, ax.zaxis), ("1", "2", "3"), strict=True):
        axis.set_ticklabels([])
        axis.set_label_text(f"embedding {name} (a.u.)", fontsize=7)
    if colour is not None:
        bar = fig.colorbar(points, ax=ax, shrink=0.6, pad=0.16, orientation="horizontal")
        bar.set_label(colour_label, fontsize=7)
    ax2 = fig.add_subplot(1, 2, 2)
    if lifetimes is not None:
        for dim, life in enumerate(lifetimes):
            top = np.asarray(life)[:10]
            ax2.plot(np.arange(len(top)), top, "o-", label=f"H{dim}")
        ax2.set_xlabel("bar rank (longest first)")
        ax2.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax2.set_ylabel(lifetime_label)
        ax2.set_title("persistent homology: longest bars", fontsize=8)
        ax2.legend(fontsize=7, title="dimension", title_fontsize=7)
    else:
        ax2.set_axis_off()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_stability(
    start: np.ndarray,
    stop: np.ndarray,
    correlation: np.ndarray,
    drift: Any,
    *,
    radius_m: float | None = None,
    title: str = "stability of the code along long trajectories",
    caption: str = "",
) -> Figure:
    """Left: median map correlation with the reference (short-trajectory) maps in each time
    window ``start[w]–stop[w]`` (steps). Right: the phase error along the trajectories (a
    :class:`~gridnav_agents.analysis.stability.PhaseDrift`): median ``|e|``, length of the mean
    error vector and RMS spread about it (metres) per step, their systematic (``∝ t``) and
    diffusive (``∝ √t``) fits over the fitted steps, the half-period threshold, the median
    step at which trajectories cross it, and the search radius ``radius_m``. ``caption`` is
    wrapped under the panels."""
    lines = textwrap.wrap(caption, 170) if caption else []
    foot = 0.17 * len(lines) + (0.1 if lines else 0.0)  # inches
    fig = Figure(figsize=(10, 4.2 + foot))
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
    x = np.arange(len(correlation))
    ax1.plot(x, correlation, "o-", color="k")
    for xi, c in zip(x, correlation, strict=True):
        if np.isfinite(c):
            ax1.annotate(
                f"{c:.2f}",
                (xi, c),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=7,
            )
    ax1.axhline(0, color="0.6", lw=0.8)
    labels = [f"{a:,}–{b:,}" for a, b in zip(start, stop, strict=True)]
    ax1.set_xticks(x, labels, rotation=30, fontsize=7)
    ax1.set_ylim(-1.05, 1.1)
    ax1.set_xlabel("window of the trajectories (steps)")
    ax1.set_ylabel("median map correlation with\nthe short-trajectory maps")
    ax1.set_title("ratemaps by time window", fontsize=8)
    t = drift.step
    fit = t <= drift.fit_steps
    mean_len = np.linalg.norm(drift.mean_error_m, axis=1)
    ax2.plot(t, drift.median_error_m, color="k", lw=1, label="median |e|")
    ax2.plot(t, mean_len, color="C0", lw=0.8, alpha=0.7, label="|mean e| (common direction)")
    ax2.plot(t, drift.spread_m, color="C1", lw=0.8, alpha=0.7, label="RMS spread about the mean")
    sys_label = f"systematic fit |a + u·t|: {1000 * drift.systematic_m_per_step:.2f} mm/step"
    diff_label = f"diffusive fit √(q + D·t): {1000 * drift.diffusive_m_per_sqrt_step:.2f} mm/√step"
    ax2.plot(t[fit], drift.systematic_fit_m()[fit], "--", color="navy", lw=2, label=sys_label)
    ax2.plot(t[fit], drift.diffusive_fit_m()[fit], "--", color="darkred", lw=2, label=diff_label)
    ax2.axhline(
        drift.threshold_m,
        color="C3",
        ls=":",
        lw=1,
        label=f"half-period threshold {drift.threshold_m:.2f} m",
    )
    if radius_m is not None:
        ax2.axhline(radius_m, color="0.5", ls="-.", lw=0.8, label=f"search radius {radius_m:.2f} m")
    if np.isfinite(drift.steps_within):
        ax2.axvline(
            drift.steps_within,
            color="C3",
            lw=0.8,
            label=f"median first crossing: step {drift.steps_within:.0f}",
        )
    ax2.set_xlabel("steps along the trajectories")
    ax2.set_ylabel("phase error (m)")
    ax2.set_title(
        f"phase error: {drift.kind} drift (fits over steps 1–{drift.fit_steps})", fontsize=8
    )
    ax2.legend(fontsize=6.5, loc="lower right")
    fig.suptitle(title, fontsize=9)
    if lines:
        fig.text(0.01, 0.02, "\n".join(lines), fontsize=7, va="bottom")
    fig.tight_layout(rect=(0, foot / (4.2 + foot), 1, 1))
    return fig


def save(fig: Figure, path, dpi: int = 100) -> None:
    """Save a figure as PNG (Agg canvas)."""
    fig.savefig(path, dpi=dpi)
