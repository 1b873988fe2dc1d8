"""Topology of population activity: persistent homology (ripser) and a 3-D embedding for plots.

Following Gardner et al. (2022) and the paper's App. D: project the population states on their
first 6 principal components, subsample, and compute Vietoris-Rips persistent homology on
farthest-point landmarks. Betti numbers count, in each dimension, the bars clearly longer than
the rest: bars above the largest ratio gap between consecutive sorted lifetimes, provided that
gap is at least ``gap_ratio`` and the bars are long compared with the data (see
:func:`betti_from_diagrams`). A grid module's states lie on a torus: Betti ``(1, 2, 1)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import pdist

__all__ = ["TopologyResult", "pca_project", "betti_from_diagrams", "torus_betti", "embed_3d"]


@dataclass(frozen=True)
class TopologyResult:
    """``betti``: Betti numbers ``(b0, ..., b_maxdim)``; ``diagrams``: ripser's persistence
    diagrams (birth, death) per dimension; ``lifetimes``: finite bar lengths per dimension, sorted
    longest first (same units as the PCA-projected activity)."""

    betti: tuple[int, ...]
    diagrams: list[np.ndarray]
    lifetimes: list[np.ndarray]

    @property
    def is_torus(self) -> bool:
        return self.betti[:3] == (1, 2, 1)


def _check_points(activity: np.ndarray) -> np.ndarray:
    x = np.asarray(activity, dtype=float)
    if x.ndim != 2 or len(x) < 4:
        raise ValueError(f"activity must have shape (M >= 4, N), got {x.shape}")
    return x[np.all(np.isfinite(x), axis=1)]


def pca_project(activity: np.ndarray, n_components: int = 6, whiten: bool = False) -> np.ndarray:
    """Project ``(M, N)`` points on their first ``n_components`` principal components (scaled to
    unit variance each if ``whiten``)."""
    x = _check_points(activity)
    if isinstance(n_components, bool) or int(n_components) != n_components or n_components < 1:
        raise ValueError(f"n_components must be a positive integer, got {n_components!r}")
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    y = x @ vt[: min(int(n_components), len(vt))].T
    if whiten:
        std = y.std(axis=0)
        y = y / np.where(std > 1e-12 * max(std.max(), 1e-300), std, 1.0)
    return y


def betti_from_diagrams(
    diagrams: list[np.ndarray],
    *,
    gap_ratio: float = 2.0,
    min_fraction: float = 0.25,
    min_diameter_fraction: float = 0.05,
    diameter: float | None = None,
    max_betti: int = 4,
) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """Betti numbers from persistence diagrams by counting clearly long bars.

    In each dimension, finite lifetimes ``L`` are sorted longest first; the cut falls at the
    largest ratio ``L[i] / L[i+1]`` (``i < max_betti``, ``L[len] = 0``) among bars at least
    ``min_fraction`` times the longest bar of dimension >= 1 and ``min_diameter_fraction`` times
    the data diameter; it counts ``i + 1`` bars if that ratio is at least ``gap_ratio``, else none.
    Infinite bars (the connected component) always count.
    """
    lifetimes = []
    for d in diagrams:
        d = np.asarray(d, dtype=float).reshape(-1, 2)
        life = d[:, 1] - d[:, 0]
        lifetimes.append(np.sort(life[np.isfinite(life)])[::-1])
    higher = [lt[0] for lt in lifetimes[1:] if len(lt)]
    scale = max(higher) if higher else (lifetimes[0][0] if len(lifetimes[0]) else 0.0)
    floor = max(min_fraction * scale, min_diameter_fraction * (diameter or 0.0), 1e-12)
    betti = []
    for dim, (d, life) in enumerate(zip(diagrams, lifetimes, strict=True)):
        n_inf = int(np.sum(~np.isfinite(np.asarray(d, dtype=float).reshape(-1, 2)[:, 1])))
        count = 0
        padded = np.concatenate([life, [0.0]])
        cand = [i for i in range(min(max_betti, len(life))) if life[i] >= floor]
        if cand:
            with np.errstate(divide="ignore"):
                ratios = [padded[i] / padded[i + 1] for i in cand]
            best = int(np.argmax(ratios))
            if ratios[best] >= gap_ratio:
                count = cand[best] + 1
        betti.append(n_inf + count if dim == 0 else count)
    return tuple(betti), lifetimes


def torus_betti(
    activity: np.ndarray,
    rng: np.random.Generator,
    *,
    n_components: int = 6,
    n_points: int = 2000,
    n_landmarks: int = 200,
    maxdim: int = 2,
    gap_ratio: float = 2.0,
    whiten: bool = False,
) -> TopologyResult:
    """Persistent homology of population states ``(M, N)`` (time samples or spatial bins).

    PCA to ``n_components`` dimensions, a random subsample of ``n_points`` (drawn from ``rng``),
    then ripser on ``n_landmarks`` farthest-point landmarks up to dimension ``maxdim``. Cost grows
    steeply with ``n_landmarks`` (200 takes ~2 s for ``maxdim=2``). A torus gives ``(1, 2, 1)``,
    a circle ``(1, 1, 0)``.

    ``whiten`` scales the principal components to unit variance. A grid module's states span 6
    components (cos and sin of its three wavevectors) but, when its units' phases are uneven,
    with unequal variances: the torus is squashed and its loops shrink towards the noise.
    Whitening restores the flat torus; use it when a torus is the hypothesis (it also amplifies
    noise in components that carry none, so it can hide lower-dimensional structure).
    """
    from ripser import ripser  # imported lazily: only topology needs it

    x = pca_project(activity, n_components, whiten=whiten)
    for name, v in (("n_points", n_points), ("n_landmarks", n_landmarks), ("maxdim", maxdim)):
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if len(x) > n_points:
        x = x[rng.choice(len(x), size=n_points, replace=False)]
    n_perm = min(int(n_landmarks), len(x))
    res = ripser(x, maxdim=int(maxdim), n_perm=n_perm)
    landmarks = x[res["idx_perm"]] if "idx_perm" in res else x
    diameter = float(pdist(landmarks).max()) if len(landmarks) > 1 else 0.0
    betti, lifetimes = betti_from_diagrams(res["dgms"], gap_ratio=gap_ratio, diameter=diameter)
    return TopologyResult(betti=betti, diagrams=list(res["dgms"]), lifetimes=lifetimes)


def embed_3d(
    activity: np.ndarray,
    rng: np.random.Generator,
    *,
    n_components: int = 6,
    n_points: int = 1500,
    n_neighbors: int = 15,
    whiten: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """3-D spectral embedding of PCA-projected states for plotting (paper App. D).

    Returns ``(embedding (n, 3), index (n,))``: the rows of ``activity`` that were embedded.
    ``whiten`` as in :func:`torus_betti`.
    """
    from sklearn.manifold import SpectralEmbedding

    x = pca_project(activity, n_components, whiten=whiten)
    idx = np.arange(len(x))
    if len(x) > n_points:
        idx = np.sort(rng.choice(len(x), size=n_points, replace=False))
    emb = SpectralEmbedding(
        n_components=3,
        n_neighbors=min(n_neighbors, len(idx) - 1),
        random_state=int(rng.integers(2**31 - 1)),
    ).fit_transform(x[idx])
    return emb, idx
