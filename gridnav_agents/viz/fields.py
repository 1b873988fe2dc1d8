"""Online firing fields: ratemaps that fill in as the arena is covered, and colour lookup tables.

Convention (the same as :mod:`gridnav_agents.analysis.ratemaps`): a ratemap stack has shape
``(N, nx, ny)``; index ``[n, i, j]`` is unit ``n`` in the bin whose centre is
``(xmin + (i + 0.5) * bin_size, ymin + (j + 0.5) * bin_size)`` metres. Unvisited bins are NaN.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable

import numpy as np

from gridnav_agents.analysis.ratemaps import arena_bounds, bin_edges, bin_index

__all__ = [
    "OnlineRatemaps",
    "apply_colormap",
    "colormap_lut",
    "load_gridness",
    "normalise_maps",
]


class OnlineRatemaps:
    """Running sums of activity and visit counts per spatial bin, for all units at once.

    Args:
        n_units: number of units ``N``.
        bounds: ``(xmin, ymin, xmax, ymax)`` in metres (an arena's ``bounds``).
        bin_size: bin side in metres.

    Attributes:
        nx, ny: bins along x and y (the last bin may extend past ``xmax``/``ymax``).
        extent: ``(xmin, ymin, xmin + nx * bin_size, ymin + ny * bin_size)``, metres: the area
            the maps cover.
        n_samples: samples accumulated since the last :meth:`reset`.
    """

    def __init__(
        self, n_units: int, bounds: tuple[float, float, float, float], bin_size: float = 0.05
    ):
        if isinstance(n_units, bool) or int(n_units) != n_units or n_units < 1:
            raise ValueError(f"n_units must be a positive integer, got {n_units!r}")
        self.bounds = arena_bounds(bounds)
        edges_x, edges_y = bin_edges(self.bounds, bin_size)  # validates bin_size
        self.n_units, self.bin_size = int(n_units), float(bin_size)
        self.nx, self.ny = len(edges_x) - 1, len(edges_y) - 1
        self.extent = (edges_x[0], edges_y[0], edges_x[-1], edges_y[-1])
        # Bins first: adding one sample touches one contiguous row.
        self._sums = np.zeros((self.nx * self.ny, self.n_units))
        self._counts = np.zeros(self.nx * self.ny, dtype=np.int64)
        self.n_samples = 0

    def reset(self) -> None:
        """Forget every sample."""
        self._sums[:] = 0.0
        self._counts[:] = 0
        self.n_samples = 0

    def bin_index(self, positions: np.ndarray) -> np.ndarray:
        """Flat bin ``i * ny + j`` of each position ``(T, 2)`` metres; -1 outside or non-finite
        (``gridnav_agents.analysis.ratemaps.bin_index``, so both bin identically)."""
        pos = np.asarray(positions, dtype=float).reshape(-1, 2)
        return bin_index(pos, self.bounds, self.bin_size)[0]

    def add(self, positions: np.ndarray, activity: np.ndarray) -> None:
        """Accumulate samples: positions ``(2,)`` or ``(T, 2)`` m, activity ``(N,)`` or ``(T, N)``.

        Samples outside the bounds or with non-finite values are ignored.
        """
        act = np.asarray(activity, dtype=float).reshape(-1, self.n_units)
        flat = self.bin_index(positions)
        if len(flat) != len(act):
            raise ValueError(f"{len(flat)} positions but {len(act)} activity vectors")
        ok = (flat >= 0) & np.all(np.isfinite(act), axis=1)
        if len(flat) == 1:  # the per-frame fast path
            if ok[0]:
                self._sums[flat[0]] += act[0]
                self._counts[flat[0]] += 1
                self.n_samples += 1
            return
        idx = flat[ok]
        np.add.at(self._sums, idx, act[ok])
        self._counts += np.bincount(idx, minlength=len(self._counts))
        self.n_samples += len(idx)

    @property
    def occupancy(self) -> np.ndarray:
        """Samples per bin, ``(nx, ny)`` int."""
        return self._counts.reshape(self.nx, self.ny).copy()

    def maps(self, units: np.ndarray | None = None, min_occupancy: int = 1) -> np.ndarray:
        """Mean activity per bin, ``(n, nx, ny)`` for the selected ``units`` (default all).

        Bins with fewer than ``min_occupancy`` samples are NaN.
        """
        sums = self._sums if units is None else self._sums[:, np.asarray(units, dtype=np.int64)]
        counts = self._counts
        with np.errstate(invalid="ignore", divide="ignore"):
            m = sums / counts[:, None]
        m[counts < min_occupancy] = np.nan
        return m.T.reshape(-1, self.nx, self.ny)


def normalise_maps(maps: np.ndarray) -> np.ndarray:
    """Scale each map ``(n, nx, ny)`` to ``[0, 1]`` by its own min and max (NaN kept).

    A flat map (max == min) becomes 0 everywhere it is defined.
    """
    m = np.asarray(maps, dtype=float)
    flat = m.reshape(len(m), -1)
    valid = np.isfinite(flat)
    lo = np.min(np.where(valid, flat, np.inf), axis=1)
    hi = np.max(np.where(valid, flat, -np.inf), axis=1)
    span = hi - lo
    good = np.isfinite(span) & (span > 1e-12)
    scale = np.where(good, 1.0 / np.where(good, span, 1.0), 0.0)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    return ((flat - lo[:, None]) * scale[:, None]).reshape(m.shape)


@functools.lru_cache(maxsize=8)
def colormap_lut(name: str = "inferno") -> np.ndarray:
    """A 256-entry RGB lookup table ``(256, 3)`` uint8 sampled once from a matplotlib colormap."""
    try:
        from matplotlib import colormaps
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        ramp = np.linspace(0, 255, 256).round().astype(np.uint8)
        return np.stack([ramp] * 3, axis=1)
    if name not in colormaps:
        raise ValueError(f"cmap must be a matplotlib colormap name, got {name!r}")
    rgba = colormaps[name](np.linspace(0.0, 1.0, 256))
    lut = (rgba[:, :3] * 255).round().astype(np.uint8)
    lut.setflags(write=False)
    return lut


def apply_colormap(
    values: np.ndarray, lut: np.ndarray, nan_color: tuple[int, int, int] = (225, 225, 225)
) -> np.ndarray:
    """Colour values in ``[0, 1]`` (any shape ``S``) through ``lut``: ``S + (3,)`` uint8.

    Values are clipped to ``[0, 1]``; NaN gets ``nan_color``.
    """
    v = np.asarray(values, dtype=float)
    nan = ~np.isfinite(v)
    idx = (np.clip(np.where(nan, 0.0, v), 0.0, 1.0) * (len(lut) - 1) + 0.5).astype(np.intp)
    rgb = lut[idx]
    rgb[nan] = nan_color
    return rgb


def load_gridness() -> Callable[[np.ndarray], np.ndarray] | None:
    """``gridnav_agents.analysis.gridness_score`` if that module is available, else ``None``.

    The returned function maps a stack ``(n, nx, ny)`` to ``(n,)`` scores (NaN where undefined).
    """
    fn = None
    for module in ("gridnav_agents.analysis", "gridnav_agents.analysis.gridness"):
        try:
            fn = getattr(importlib.import_module(module), "gridness_score", None)
        except ImportError:
            continue
        if callable(fn):
            break
    if not callable(fn):
        return None

    def scores(maps: np.ndarray) -> np.ndarray:
        try:
            out = np.asarray(fn(maps), dtype=float).reshape(-1)
        except (ValueError, FloatingPointError):  # e.g. too few valid bins yet
            out = np.full(len(maps), np.nan)
        return out if len(out) == len(maps) else np.full(len(maps), np.nan)

    return scores
