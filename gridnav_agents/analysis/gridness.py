"""Spatial autocorrelograms, gridness scores, grid spacing and orientation.

The standard method (Sargolini et al. 2006, Langston et al. 2010, Banino et al. 2018, DeepMind's
``grid-cells/scores.py``): the NaN-aware Pearson autocorrelogram (SAC) of a ratemap is masked to
an annulus around its centre and correlated with rotated copies of itself;

* 60° (hexagonal) score: ``min(r60, r120) - max(r30, r90, r150)``;
* 90° (square) score: ``r90 - max(r45, r135)``.

As in DeepMind's code the annulus has inner radius ``0.2 n`` and outer radii
``linspace(0.4, 1.0, 10) n`` bins (``n`` bins per side of the ratemap), and the best score over
the outer radii is kept. Unlike DeepMind's code the correlation within the annulus is a true
Pearson correlation over the bins valid in both the SAC and its rotation (rotation is bilinear).

:func:`~gridnav_agents.analysis.gridness_dm.grid_scores_dm` follows DeepMind's code exactly (its
correlation and its mean-based 60° score).

Spacing and orientation come from the six SAC peaks nearest its centre (outside the central
peak): spacing is their mean distance (metres), orientation their circular mean angle modulo 60°
(degrees in ``[0, 60)``, measured from the +x axis towards +y).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.fft
from scipy import ndimage

__all__ = [
    "GRID_THRESHOLD",
    "GridScores",
    "autocorrelogram",
    "grid_fraction",
    "grid_scores",
    "gridness_score",
    "grid_spacing_orientation",
]

_ANGLES = (30, 45, 60, 90, 120, 135, 150)
#: Gridness above which a unit counts as a grid unit (the usual convention).
GRID_THRESHOLD = 0.3
DEFAULT_INNER = 0.2
DEFAULT_OUTER = tuple(np.linspace(0.4, 1.0, 10).tolist())


def _as_stack(maps: np.ndarray, name: str = "ratemap") -> tuple[np.ndarray, bool]:
    m = np.asarray(maps, dtype=float)
    if m.ndim == 2:
        return m[None], True
    if m.ndim == 3:
        return m, False
    raise ValueError(f"{name} must have shape (nx, ny) or (N, nx, ny), got {m.shape}")


def _unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a boolean ``(N, L)`` array and the index of each row's pattern."""
    keys = [r.tobytes() for r in np.packbits(rows, axis=1)]
    pattern_of: dict[bytes, int] = {}
    order: list[int] = []  # first row having each pattern
    for i, k in enumerate(keys):
        if k not in pattern_of:
            pattern_of[k] = len(order)
            order.append(i)
    which = np.array([pattern_of[k] for k in keys], dtype=np.int64)
    return rows[order], which


def autocorrelogram(ratemap: np.ndarray, *, min_overlap: int = 20) -> np.ndarray:
    """NaN-aware Pearson spatial autocorrelogram.

    Entry ``[nx - 1 + dx, ny - 1 + dy]`` is the Pearson correlation between the map and the map
    shifted by ``(dx, dy)`` bins, over the bins valid in both. Computed with FFTs for a whole stack.

    Args:
        ratemap: ``(nx, ny)`` or ``(N, nx, ny)``, NaN for unvisited bins.
        min_overlap: lags with fewer overlapping valid bins are NaN.

    Returns:
        ``(2nx - 1, 2ny - 1)`` (or ``(N, 2nx - 1, 2ny - 1)``) correlations in ``[-1, 1]``; the
        centre is 1 for any non-constant map; NaN where undefined.
    """
    maps, single = _as_stack(ratemap)
    if isinstance(min_overlap, bool) or int(min_overlap) != min_overlap or min_overlap < 2:
        raise ValueError(f"min_overlap must be an integer >= 2, got {min_overlap!r}")
    _, nx, ny = maps.shape
    valid = np.isfinite(maps)
    x = np.where(valid, maps, 0.0)
    # Centre each map first: Pearson is shift invariant and this limits FFT round-off.
    cnt = np.maximum(valid.sum(axis=(1, 2), keepdims=True), 1)
    x = np.where(valid, x - x.sum(axis=(1, 2), keepdims=True) / cnt, 0.0)
    shape = (scipy.fft.next_fast_len(2 * nx - 1), scipy.fft.next_fast_len(2 * ny - 1))

    def fft(a: np.ndarray) -> np.ndarray:
        return scipy.fft.rfft2(a, s=shape, axes=(-2, -1), workers=-1)

    def xcorr(fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
        """sum_u a(u + lag) b(u), lags centred."""
        c = scipy.fft.irfft2(fa * np.conj(fb), s=shape, axes=(-2, -1), workers=-1)
        c = np.roll(c, (nx - 1, ny - 1), axis=(-2, -1))
        return c[:, : 2 * nx - 1, : 2 * ny - 1]

    def flip(a: np.ndarray) -> np.ndarray:  # value at lag -> value at -lag
        return a[:, ::-1, ::-1]

    # Units usually share one visited-bin pattern: transform each distinct pattern once.
    patterns, which = _unique_rows(valid.reshape(len(maps), -1))
    fm = fft(patterns.reshape(-1, nx, ny).astype(float))
    n = np.round(xcorr(fm, fm))[which]
    fx, fm = fft(x), fm[which]
    sum_xm = xcorr(fx, fm)  # sum of x over the overlap, at each lag
    sum_x2m = xcorr(fft(x * x), fm)
    with np.errstate(invalid="ignore", divide="ignore"):
        sx, sy = sum_xm / n, flip(sum_xm) / n
        var_x = sum_x2m / n - sx**2
        var_y = flip(sum_x2m) / n - sy**2
        cov = xcorr(fx, fx) / n - sx * sy
        scale = np.max(np.abs(x), axis=(1, 2), keepdims=True) ** 2
        tiny = 1e-10 * np.maximum(scale, np.finfo(float).tiny)
        ok = (n >= min_overlap) & (var_x > tiny) & (var_y > tiny)
        r = np.where(ok, cov / np.sqrt(np.where(ok, var_x * var_y, 1.0)), np.nan)
    r = np.clip(r, -1.0, 1.0)
    return r[0] if single else r


def _rotated(
    flat_t: np.ndarray,
    vflat_t: np.ndarray,
    shape: tuple[int, int],
    di: np.ndarray,
    dj: np.ndarray,
    angle_deg: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear samples of SACs rotated by ``angle_deg`` about their centre.

    ``flat_t (H*W, N)`` values and ``vflat_t (H*W, K)`` validity patterns (pixels first), sampled
    at offsets ``(di, dj)`` (bins) from the centre; returns ``(P, N)`` values and ``(P, K)``
    validity. A sample is valid only if every bin it interpolates from is valid and in the SAC.
    """
    h, w = shape
    t = np.deg2rad(angle_deg)
    si = np.cos(t) * di - np.sin(t) * dj + (h - 1) // 2
    sj = np.sin(t) * di + np.cos(t) * dj + (w - 1) // 2
    i0, j0 = np.floor(si).astype(np.int64), np.floor(sj).astype(np.int64)
    fi, fj = si - i0, sj - j0
    val = np.zeros((len(di), flat_t.shape[1]))
    wvalid = np.zeros((len(di), vflat_t.shape[1]))
    for ci, cj, wt in (
        (i0, j0, (1 - fi) * (1 - fj)),
        (i0 + 1, j0, fi * (1 - fj)),
        (i0, j0 + 1, (1 - fi) * fj),
        (i0 + 1, j0 + 1, fi * fj),
    ):
        inside = (ci >= 0) & (ci < h) & (cj >= 0) & (cj < w)
        idx = np.where(inside, ci * w + cj, 0)
        wt = np.where(inside, wt, 0.0)[:, None]
        val += wt * flat_t[idx]
        wvalid += wt * vflat_t[idx]
    return val, wvalid > 1 - 1e-9


def _check_annulus(inner: float, outer: tuple[float, ...]) -> np.ndarray:
    """The outer radii as an array, after checking both annulus parameters (fractions of n)."""
    outer_arr = np.atleast_1d(np.asarray(outer, dtype=float))
    if not (np.isfinite(inner) and inner >= 0):
        raise ValueError(f"inner must be a non-negative fraction, got {inner!r}")
    if outer_arr.size == 0 or not np.all(np.isfinite(outer_arr)) or np.any(outer_arr <= inner):
        raise ValueError(f"outer must be fractions larger than inner={inner}, got {outer!r}")
    return outer_arr


class GridScores(NamedTuple):
    """Gridness of each map (floats for one map, ``(N,)`` arrays for a stack; NaN if undefined).

    ``score_60``/``score_90``: best hexagonal / square score over the annuli;
    ``outer_60``/``outer_90``: outer radius (bins of the SAC) of the annulus that gave it.
    """

    score_60: np.ndarray
    score_90: np.ndarray
    outer_60: np.ndarray
    outer_90: np.ndarray


def grid_scores(
    ratemap: np.ndarray,
    *,
    inner: float = DEFAULT_INNER,
    outer: tuple[float, ...] = DEFAULT_OUTER,
    min_overlap: int = 20,
    sac: np.ndarray | None = None,
) -> GridScores:
    """60° and 90° gridness of one ratemap ``(nx, ny)`` or a stack ``(N, nx, ny)``.

    Args:
        ratemap: the map(s), NaN for unvisited bins.
        inner: inner radius of the annulus as a fraction of ``n = min(nx, ny)`` bins.
        outer: outer radii swept, fractions of ``n`` (the best score is kept).
        min_overlap: passed to :func:`autocorrelogram`.
        sac: precomputed autocorrelogram(s) of the same shape as ``autocorrelogram`` returns.
    """
    maps, single = _as_stack(ratemap)
    _, nx, ny = maps.shape
    outer_arr = _check_annulus(inner, outer)
    if sac is None:
        sacs = autocorrelogram(maps, min_overlap=min_overlap)
    else:
        sacs, _ = _as_stack(sac, "sac")
        if sacs.shape != (len(maps), 2 * nx - 1, 2 * ny - 1):
            raise ValueError(f"sac must have shape {(len(maps), 2 * nx - 1, 2 * ny - 1)}")
    n_ref = min(nx, ny)
    ii, jj = np.meshgrid(np.arange(2 * nx - 1) - (nx - 1), np.arange(2 * ny - 1) - (ny - 1))
    radius = np.hypot(ii, jj).T  # (2nx-1, 2ny-1), bins
    r_in, r_out = inner * n_ref, outer_arr * n_ref
    sel = (radius >= r_in) & (radius <= r_out.max())
    # (P, M); products are taken as (N, P) @ (P, M), much faster in OpenBLAS than (M, P) @ (P, N).
    masks = (radius[sel][None, :] <= r_out[:, None]).astype(float).T
    valid = np.isfinite(sacs)
    n_units = len(sacs)
    # Pixels-first layout (fast row gathers); distinct validity patterns handled once.
    flat_t = np.where(valid, sacs, 0.0).reshape(n_units, -1).T
    patterns, which = _unique_rows(valid.reshape(n_units, -1))
    pix = sel.ravel()
    x, vx = flat_t[pix], patterns.T[pix][:, which]  # (P, N)
    di, dj = np.nonzero(sel)
    di, dj = di - (nx - 1), dj - (ny - 1)
    corr = {}
    for angle in _ANGLES:
        rot, rvalid = _rotated(
            flat_t, patterns.T.astype(float), (2 * nx - 1, 2 * ny - 1), di, dj, angle
        )
        w = (vx & rvalid[:, which]).astype(float)
        n = w.T @ masks  # (N, M)
        with np.errstate(invalid="ignore", divide="ignore"):
            mx, my = (w * x).T @ masks / n, (w * rot).T @ masks / n
            cov = (w * x * rot).T @ masks / n - mx * my
            vx_ = (w * x * x).T @ masks / n - mx**2
            vy_ = (w * rot * rot).T @ masks / n - my**2
            ok = (n >= 3) & (vx_ > 1e-12) & (vy_ > 1e-12)
            corr[angle] = np.where(ok, cov / np.sqrt(np.where(ok, vx_ * vy_, 1.0)), np.nan)
    s60 = np.minimum(corr[60], corr[120]) - np.maximum(np.maximum(corr[30], corr[90]), corr[150])
    s90 = corr[90] - np.maximum(corr[45], corr[135])
    out = []
    for s in (s60, s90):
        finite = np.isfinite(s).any(axis=1)
        best = np.argmax(np.where(np.isfinite(s), s, -np.inf), axis=1)
        score = np.where(finite, s[np.arange(len(s)), best], np.nan)
        rad = np.where(finite, r_out[best], np.nan)
        out.append((score, rad))
    (a, ra), (b, rb) = out
    if single:
        return GridScores(float(a[0]), float(b[0]), float(ra[0]), float(rb[0]))
    return GridScores(a, b, ra, rb)


def grid_fraction(gridness: np.ndarray, n_units: int) -> float:
    """Fraction of ``n_units`` units whose gridness exceeds :data:`GRID_THRESHOLD` (NaN: not a
    grid unit); 0 when ``n_units`` is 0."""
    with np.errstate(invalid="ignore"):
        return int(np.sum(np.asarray(gridness) > GRID_THRESHOLD)) / n_units if n_units else 0.0


def gridness_score(ratemap: np.ndarray, symmetry: int = 60, **kwargs) -> float | np.ndarray:
    """Gridness of a ratemap ``(nx, ny)`` (float) or a stack ``(N, nx, ny)`` (``(N,)`` array).

    ``symmetry=60`` gives the hexagonal score ``min(r60, r120) - max(r30, r90, r150)``,
    ``symmetry=90`` the square score ``r90 - max(r45, r135)``; keyword arguments go to
    :func:`grid_scores`. Grid cells conventionally score above 0.3.
    """
    if symmetry not in (60, 90):
        raise ValueError(f"symmetry must be 60 or 90, got {symmetry!r}")
    s = grid_scores(ratemap, **kwargs)
    return s.score_60 if symmetry == 60 else s.score_90


def _peaks(sac: np.ndarray, threshold: float) -> np.ndarray:
    """Sub-bin SAC peaks outside the central peak as ``(K, 2)`` offsets from the centre (bins)."""
    h, w = sac.shape
    cx, cy = (h - 1) // 2, (w - 1) // 2
    s = np.where(np.isfinite(sac), sac, -np.inf)
    is_max = (s == ndimage.maximum_filter(s, size=3, mode="constant", cval=-np.inf)) & (
        s > threshold
    )
    # Exclude the central peak: the positive region connected to the centre.
    labels, _ = ndimage.label(s > max(threshold, 0.0))
    if labels[cx, cy] > 0:
        is_max &= labels != labels[cx, cy]
    ii, jj = np.nonzero(is_max)
    keep = (ii > 0) & (ii < h - 1) & (jj > 0) & (jj < w - 1)
    ii, jj = ii[keep], jj[keep]
    # Parabolic interpolation along each axis for sub-bin peak positions.
    c, xm, xp, ym, yp = s[ii, jj], s[ii - 1, jj], s[ii + 1, jj], s[ii, jj - 1], s[ii, jj + 1]

    def vertex(lo: np.ndarray, mid: np.ndarray, hi: np.ndarray) -> np.ndarray:
        den = lo - 2 * mid + hi
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(np.isfinite(den) & (den < 0), 0.5 * (lo - hi) / den, 0.0)
        return np.clip(d, -0.5, 0.5)

    return np.stack([ii + vertex(xm, c, xp) - cx, jj + vertex(ym, c, yp) - cy], axis=-1)


def grid_spacing_orientation(
    ratemap: np.ndarray,
    bin_size: float,
    *,
    sac: np.ndarray | None = None,
    peak_threshold: float = 0.0,
    min_overlap: int = 20,
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Grid spacing (metres) and orientation (degrees in ``[0, 60)``) from the SAC's six peaks
    nearest its centre.

    Args:
        ratemap: ``(nx, ny)`` or ``(N, nx, ny)``; ``bin_size``: bin side in metres.
        sac: precomputed autocorrelogram(s) (optional).
        peak_threshold: SAC peaks must exceed this correlation.

    Returns:
        ``(spacing_m, orientation_deg)``: floats, or ``(N,)`` arrays for a stack; NaN where fewer
        than six peaks are found.
    """
    maps, single = _as_stack(ratemap)
    bin_size = float(bin_size)
    if not np.isfinite(bin_size) or bin_size <= 0:
        raise ValueError(f"bin_size must be a positive number of metres, got {bin_size!r}")
    sacs = autocorrelogram(maps, min_overlap=min_overlap) if sac is None else _as_stack(sac)[0]
    spacing = np.full(len(sacs), np.nan)
    orientation = np.full(len(sacs), np.nan)
    for k, s in enumerate(sacs):
        p = _peaks(s, peak_threshold)
        if len(p) < 6:
            continue
        d = np.hypot(p[:, 0], p[:, 1])
        near = np.argsort(d, kind="stable")[:6]
        theta = np.arctan2(p[near, 1], p[near, 0])
        spacing[k] = d[near].mean() * bin_size
        mean6 = np.angle(np.exp(6j * theta).sum()) / 6  # circular mean modulo 60°
        orientation[k] = np.rad2deg(mean6) % 60.0
    if single:
        return float(spacing[0]), float(orientation[0])
    return spacing, orientation
