"""Gridness as DeepMind's ``grid-cells/scores.py`` computes it (``GridScorer.get_scores``).

Banino et al. (2018), "Vector-based navigation using grid-like representations in artificial
agents", Nature 557; code at github.com/deepmind/grid-cells, file ``scores.py``. Per ratemap of
``n × n`` bins:

1. the spatial autocorrelogram (SAC): Pearson correlation over the bins valid in both the map
   and its shifted copy, ``(2n - 1) × (2n - 1)``, undefined lags set to 0
   (``GridScorer.calculate_sac``);
2. the SAC rotated by 30°, 45°, 60°, 90°, 120°, 135° and 150° about its centre
   (``scipy.ndimage.rotate``: cubic spline, zeros outside, same shape; sampled here with
   ``scipy.ndimage.map_coordinates`` at the annulus pixels only, the same values);
3. for each annulus ``inner·n < r <= outer·n`` bins (``inner`` 0.2, ``outer`` in
   ``linspace(0.4, 1.0, 10)``, the masks of DeepMind's ``train.py``) the correlation of the SAC
   with each rotation: ``mean((S - m)(R - m)) / (mean((S - m)²) + 1e-5)``, ``m`` the SAC's mean
   in the annulus, means over the annulus (not a Pearson correlation: both are centred and scaled
   by the unrotated SAC);
4. 60° score ``(r60 + r120)/2 - (r30 + r90 + r150)/3`` (``min_max=False``: the default of
   ``GridScorer``, which DeepMind's ``train.py`` keeps) or, with ``min_max``,
   ``min(r60, r120) - max(r30, r90, r150)``; 90° score ``r90 - (r45 + r135)/2``;
5. the largest score over the annuli.

How it differs from :func:`~gridnav_agents.analysis.gridness.grid_scores` (the ``gridness`` of
``gridnav analyze``). Both tie the annulus to the map size (inner 0.2·n, outer 0.4-1.0·n bins);
that one correlates by Pearson over the bins valid in the SAC and its bilinear rotation, and
scores ``min(r60, r120) - max(r30, r90, r150)``. The mean can only score higher than the
min/max on the same correlations, and does so where the six peaks of the lattice are unequally
represented in the annulus: a lattice whose spacing is about the box side or larger (at most
part of its first ring fits in the SAC) scores higher here, while lattices whose first ring fits
well inside the SAC score about the same under both (README, "Gridness: two conventions").
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, special

from gridnav_agents.analysis.gridness import (
    _ANGLES,
    DEFAULT_INNER,
    DEFAULT_OUTER,
    GridScores,
    _as_stack,
    _check_annulus,
    autocorrelogram,
)

__all__ = ["grid_scores_dm"]

#: Added to the annulus variance, as in ``scores.py``.
_VARIANCE_EPS = 1e-5


def grid_scores_dm(
    ratemap: np.ndarray,
    *,
    inner: float = DEFAULT_INNER,
    outer: tuple[float, ...] = DEFAULT_OUTER,
    min_max: bool = False,
) -> GridScores:
    """60° and 90° gridness of one ratemap ``(n, n)`` or a stack ``(N, n, n)``, DeepMind's way
    (see the module docstring for the steps and for how it differs from ``grid_scores``).

    Args:
        ratemap: the map(s), NaN for unvisited bins (any bin size: the annulus is in bins).
        inner: inner radius of the annulus, a fraction of ``n`` (bins per side; ``min(nx, ny)``
            for a rectangular map, which ``scores.py`` does not take).
        outer: outer radii swept, fractions of ``n``; the best score is kept.
        min_max: score hexagonal maps with ``min``/``max`` instead of means (``scores.py``'s
            ``min_max`` option).

    Returns:
        :class:`~gridnav_agents.analysis.gridness.GridScores`: floats for one map, ``(N,)``
        arrays for a stack; ``outer_60``/``outer_90`` are the outer radii (bins) of the best
        annuli. A map whose autocorrelogram is undefined (constant or never visited) scores NaN
        (``scores.py`` would give 0).
    """
    maps, single = _as_stack(ratemap)
    _, nx, ny = maps.shape
    outer_arr = _check_annulus(inner, outer)
    raw = autocorrelogram(maps, min_overlap=2)  # no minimum overlap, as calculate_sac
    defined = np.isfinite(raw[:, nx - 1, ny - 1])
    sac = np.nan_to_num(raw, nan=0.0)
    n_ref = min(nx, ny)
    ci, cj = nx - 1, ny - 1  # the SAC's centre (zero lag)
    ii, jj = np.nonzero(np.ones((2 * nx - 1, 2 * ny - 1), dtype=bool))
    radius = np.hypot(ii - ci, jj - cj)
    # only the pixels of the widest annulus are ever used
    keep = (radius > inner * n_ref) & (radius <= outer_arr.max() * n_ref)
    ii, jj, radius = ii[keep], jj[keep], radius[keep]
    # (pixels, masks): the annuli as columns, so each mean over an annulus is a matrix product
    masks = (radius[:, None] <= outer_arr * n_ref).astype(float)
    area = masks.sum(axis=0)
    flat = sac[:, ii, jj]  # (N, pixels)
    mean = flat @ masks / area  # (N, M)
    variance = (flat * flat) @ masks / area - mean**2 + _VARIANCE_EPS
    # scipy.ndimage.rotate(sac, angle, reshape=False) samples output pixel o of the SAC at
    # R (o - c) + c, R = [[cos, sin], [-sin, cos]]: the same cubic spline is sampled here only
    # at the annulus pixels, every angle in one call per map (one spline prefilter per map)
    coords = []
    for angle in _ANGLES:
        c, s = special.cosdg(angle), special.sindg(angle)
        coords.append([c * (ii - ci) + s * (jj - cj) + ci, -s * (ii - ci) + c * (jj - cj) + cj])
    coords = np.concatenate(coords, axis=1)  # (2, angles * pixels)
    corr_all = np.empty((len(_ANGLES), len(sac), len(outer_arr)))
    for k, m in enumerate(sac):
        rot = ndimage.map_coordinates(m, coords, order=3, mode="constant", cval=0.0)
        rot = rot.reshape(len(_ANGLES), -1)  # (angles, pixels)
        # mean((S - m)(R - m)) = mean(S R) - m mean(R) - m mean(S) + m²  and  mean(S) = m
        cross = (flat[k] * rot) @ masks / area - mean[k] * (rot @ masks / area)
        corr_all[:, k] = cross / variance[k]
    corr = dict(zip(_ANGLES, corr_all, strict=True))
    if min_max:
        s60 = np.minimum(corr[60], corr[120]) - np.maximum.reduce([corr[30], corr[90], corr[150]])
    else:
        s60 = (corr[60] + corr[120]) / 2 - (corr[30] + corr[90] + corr[150]) / 3
    s90 = corr[90] - (corr[45] + corr[135]) / 2
    out = []
    for s in (s60, s90):
        best = np.argmax(s, axis=1)
        score = np.where(defined, s[np.arange(len(s)), best], np.nan)
        out.append((score, np.where(defined, outer_arr[best] * n_ref, np.nan)))
    (a, ra), (b, rb) = out
    if single:
        return GridScores(float(a[0]), float(b[0]), float(ra[0]), float(rb[0]))
    return GridScores(a, b, ra, rb)
