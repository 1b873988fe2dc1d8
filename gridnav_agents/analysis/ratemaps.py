"""Spatial ratemaps: mean activity per position bin, with occupancy and NaN-aware smoothing.

Convention: a ratemap stack has shape ``(N, nx, ny)``; index ``[n, i, j]`` is unit ``n`` in the bin
whose centre is ``(xmin + (i + 0.5) * bin_size, ymin + (j + 0.5) * bin_size)`` metres. Bins that
were never visited are NaN. Plot a map with ``imshow(m.T, origin="lower")``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["arena_bounds", "bin_edges", "bin_centres", "occupancy", "ratemaps", "smooth_nan"]


def arena_bounds(arena: Any) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` in metres of an Arena (``.bounds``) or a 4-tuple."""
    bounds = getattr(arena, "bounds", arena)
    try:
        b = tuple(float(v) for v in bounds)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"arena must be an Arena or (xmin, ymin, xmax, ymax), got {arena!r}"
        ) from err
    if len(b) != 4 or not all(np.isfinite(b)) or b[2] <= b[0] or b[3] <= b[1]:
        raise ValueError(f"arena must be an Arena or (xmin, ymin, xmax, ymax), got {arena!r}")
    return b  # type: ignore[return-value]


def _check_bin_size(bin_size: float) -> float:
    try:
        b = float(bin_size)
    except (TypeError, ValueError) as err:
        raise ValueError(f"bin_size must be a positive number of metres, got {bin_size!r}") from err
    if not np.isfinite(b) or b <= 0:
        raise ValueError(f"bin_size must be a positive number of metres, got {bin_size!r}")
    return b


def _n_bins(lo: float, hi: float, bin_size: float) -> int:
    return max(1, int(np.ceil((hi - lo) / bin_size - 1e-9)))


def bin_edges(arena: Any, bin_size: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges along x and y (metres); the last bin may extend past the arena."""
    xmin, ymin, xmax, ymax = arena_bounds(arena)
    b = _check_bin_size(bin_size)
    nx, ny = _n_bins(xmin, xmax, b), _n_bins(ymin, ymax, b)
    return xmin + b * np.arange(nx + 1), ymin + b * np.arange(ny + 1)


def bin_centres(arena: Any, bin_size: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres along x ``(nx,)`` and y ``(ny,)`` in metres."""
    ex, ey = bin_edges(arena, bin_size)
    return (ex[:-1] + ex[1:]) / 2, (ey[:-1] + ey[1:]) / 2


def bin_index(
    positions: np.ndarray, arena: Any, bin_size: float = 0.05
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Flat bin ``ix * ny + iy`` of each position ``(T, 2)`` metres (``-1`` outside the bounds or
    not finite), with the validity mask and the grid size: ``(flat, ok, nx, ny)``."""
    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 2:
        raise ValueError(f"positions must have shape (T, 2), got {pos.shape}")
    xmin, ymin, xmax, ymax = arena_bounds(arena)
    b = _check_bin_size(bin_size)
    nx, ny = _n_bins(xmin, xmax, b), _n_bins(ymin, ymax, b)
    with np.errstate(invalid="ignore"):
        ix = np.floor((pos[:, 0] - xmin) / b)
        iy = np.floor((pos[:, 1] - ymin) / b)
        # Points exactly on the far wall belong to the last bin.
        ix = np.where(np.isclose(pos[:, 0], xmax), nx - 1, ix)
        iy = np.where(np.isclose(pos[:, 1], ymax), ny - 1, iy)
        ok = np.isfinite(ix) & np.isfinite(iy) & (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    flat = np.full(len(pos), -1, dtype=np.int64)
    flat[ok] = ix[ok].astype(np.int64) * ny + iy[ok].astype(np.int64)
    return flat, ok, nx, ny


def occupancy(positions: np.ndarray, arena: Any, bin_size: float = 0.05) -> np.ndarray:
    """Number of samples per bin, ``(nx, ny)`` int; positions ``(T, 2)`` in metres."""
    flat, ok, nx, ny = bin_index(positions, arena, bin_size)
    return np.bincount(flat[ok], minlength=nx * ny).reshape(nx, ny)


def smooth_nan(maps: np.ndarray, sigma_bins: float) -> np.ndarray:
    """Gaussian smoothing over the last two axes that ignores NaN bins (normalised convolution).

    NaN bins stay NaN; a valid bin becomes the Gaussian-weighted mean of the valid bins around it,
    so unvisited bins neither pull values towards zero nor spread NaNs.
    """
    m = np.asarray(maps, dtype=float)
    if m.ndim < 2:
        raise ValueError(f"maps must have at least 2 dimensions, got shape {m.shape}")
    if not np.isfinite(sigma_bins) or sigma_bins < 0:
        raise ValueError(f"sigma_bins must be a non-negative number, got {sigma_bins!r}")
    if sigma_bins == 0:
        return m.copy()
    valid = np.isfinite(m)
    sig = (0,) * (m.ndim - 2) + (sigma_bins, sigma_bins)
    # scipy loads here, not at import: `gridnav --help` imports this module.
    from scipy.ndimage import gaussian_filter

    num = gaussian_filter(np.where(valid, m, 0.0), sig, mode="constant", cval=0.0)
    den = gaussian_filter(valid.astype(float), sig, mode="constant", cval=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    out[~valid] = np.nan
    return out


def ratemaps(
    activity: np.ndarray,
    positions: np.ndarray,
    arena: Any,
    bin_size: float = 0.05,
    *,
    smoothing_m: float = 0.0,
    min_occupancy: int = 1,
    return_occupancy: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Mean activity of each unit in each spatial bin.

    Args:
        activity: ``(T, N)`` activity of ``N`` units at ``T`` samples (any units).
        positions: ``(T, 2)`` positions in metres, aligned with ``activity``.
        arena: an ``Arena`` (its ``.bounds`` are used) or ``(xmin, ymin, xmax, ymax)`` in metres.
        bin_size: bin side, metres.
        smoothing_m: standard deviation of a NaN-aware Gaussian smoothing, metres (0: none).
        min_occupancy: bins with fewer samples are NaN.
        return_occupancy: also return the ``(nx, ny)`` sample counts.

    Returns:
        ``(N, nx, ny)`` ratemaps (NaN in unvisited bins), and the occupancy if asked.
        Samples outside the bounds or with non-finite positions are ignored.
    """
    act = np.asarray(activity, dtype=float)
    if act.ndim != 2:
        raise ValueError(f"activity must have shape (T, N), got {act.shape}")
    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 2 or len(pos) != len(act):
        raise ValueError(f"positions must have shape ({len(act)}, 2), got {pos.shape}")
    if isinstance(min_occupancy, bool) or int(min_occupancy) != min_occupancy or min_occupancy < 1:
        raise ValueError(f"min_occupancy must be a positive integer, got {min_occupancy!r}")
    smoothing_m = float(smoothing_m)
    if not np.isfinite(smoothing_m) or smoothing_m < 0:
        raise ValueError(f"smoothing_m must be a non-negative number of metres, got {smoothing_m}")
    flat, ok, nx, ny = bin_index(pos, arena, bin_size)
    ok &= np.all(np.isfinite(act), axis=1)
    idx = flat[ok]
    # Sparse (bins x samples) indicator matrix: one product sums every unit at once.
    import scipy.sparse

    onehot = scipy.sparse.csr_matrix(
        (np.ones(len(idx)), (idx, np.arange(len(idx)))), shape=(nx * ny, len(idx))
    )
    sums = np.asarray(onehot @ act[ok])  # (bins, N)
    counts = np.bincount(idx, minlength=nx * ny)
    with np.errstate(invalid="ignore", divide="ignore"):
        maps = sums / counts[:, None]
    maps[counts < min_occupancy] = np.nan
    maps = maps.T.reshape(act.shape[1], nx, ny)
    if smoothing_m > 0:
        maps = smooth_nan(maps, smoothing_m / _check_bin_size(bin_size))
    if return_occupancy:
        return maps, counts.reshape(nx, ny)
    return maps
