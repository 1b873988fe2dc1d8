"""Grid modules: cluster grid units by spacing, then their phases within each module.

* :func:`detect_modules` keeps units whose 60° gridness exceeds a threshold and splits them where
  the sorted log-spacings jump by more than ``rel_gap`` (single-linkage clustering on
  ``log(spacing)``): the number of modules comes from the data. Clusters smaller than
  ``min_units`` are discarded (label -1). Modules are numbered by increasing spacing.
* :func:`grid_phases` evaluates each ratemap's Fourier transform at the module's three lattice
  wavevectors ``k_a`` (paper Fig. 6b): ``phi_a = arg sum_x exp(i k_a . x) r(x)``, with ``x``
  measured from the centre of the map and ``k_1 + k_2 + k_3 = 0``; the phases are then projected
  onto ``phi_1 + phi_2 + phi_3 = 0 mod 2π`` (exact for an ideal grid, broken slightly by noise).
* :func:`phase_uniformity` scores how evenly a module's units tile the phase torus.
* :func:`harmonic_of` flags a module whose lattice contains a coarser module's lattice (e.g.
  spacing / √3 rotated by 30°, or spacing / 2): its units are functions of the coarser module's
  phase, so the two are one module, not two independent ones (``Modules.n_independent``).
* :func:`module_locking` tests the same from activity rather than from two fitted lattices: how
  well each module's units are predicted (held-out R², k-NN regression) from another module's
  population activity. An independent module's phase is not a function of another's, so its
  R² stays low; units locked to a larger module (harmonics, bands along its axes, distorted
  copies whose spacing the autocorrelogram misreads) are predicted almost perfectly.
* :func:`module_coherence` asks the converse of a module's own units: does one half of them
  predict the other half? A real module's units share a phase and do; a cluster of noisy units
  with similar autocorrelogram spacings does not, and is not counted as a module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from gridnav_agents.analysis.gridness import (
    autocorrelogram,
    grid_scores,
    grid_spacing_orientation,
)

__all__ = [
    "Modules",
    "detect_modules",
    "grid_phases",
    "harmonic_of",
    "locked_to",
    "module_coherence",
    "module_locking",
    "phase_uniformity",
]

#: Median held-out R² above which a module counts as locked to a larger one (measured: units
#: locked to a trained module's lattice 0.89-0.94; independent synthetic modules < 0.3).
LOCK_R2 = 0.75

#: Median split-half R² below which a cluster of units is too incoherent to count as an
#: independent module (:func:`module_coherence`; measured in 2-4 m boxes: trained modules
#: 0.76-0.94, groups locked to them 0.01-0.32, a 3-unit cluster of noisy maps -0.01).
COHERENT_R2 = 0.3


@dataclass(frozen=True)
class Modules:
    """Result of :func:`detect_modules`.

    Attributes:
        labels: ``(N,)`` module of each unit (0 = smallest spacing), -1 for non-grid units.
        spacing_m: ``(K,)`` median spacing of each module, metres.
        orientation_deg: ``(K,)`` circular-mean orientation of each module, degrees in [0, 60).
        n_units: ``(K,)`` units per module.
        gridness: ``(N,)`` 60° gridness of every unit (NaN where undefined).
        unit_spacing_m, unit_orientation_deg: ``(N,)`` per-unit estimates (NaN where undefined).
        lock_r2: ``(K, K)`` :func:`module_locking` matrix, or None if not measured (it needs
            activity; ``gridnav analyze`` measures it).
        coherence_r2: ``(K,)`` :func:`module_coherence` of each module, or None if not
            measured.
    """

    labels: np.ndarray
    spacing_m: np.ndarray
    orientation_deg: np.ndarray
    n_units: np.ndarray
    gridness: np.ndarray
    unit_spacing_m: np.ndarray
    unit_orientation_deg: np.ndarray
    lock_r2: np.ndarray | None = None
    coherence_r2: np.ndarray | None = None

    @property
    def n_modules(self) -> int:
        return len(self.spacing_m)

    @cached_property
    def harmonic_of(self) -> np.ndarray:
        """``(K,)`` index of the coarser module each module is a harmonic of, else -1
        (:func:`harmonic_of`)."""
        return harmonic_of(self.spacing_m, self.orientation_deg)

    @cached_property
    def _locking(self) -> tuple[np.ndarray, np.ndarray]:
        """:func:`locked_to` of ``lock_r2`` (all -1 / NaN if it was not measured)."""
        if self.lock_r2 is None:
            return np.full(self.n_modules, -1, dtype=np.int64), np.full(self.n_modules, np.nan)
        return locked_to(self.lock_r2, self.n_units, self.spacing_m)

    @property
    def locked_to(self) -> np.ndarray:
        """``(K,)`` index of the larger module each module is locked to, else -1
        (:func:`locked_to`; all -1 if ``lock_r2`` was not measured)."""
        return self._locking[0]

    @property
    def coherent(self) -> np.ndarray:
        """``(K,)`` whether each module's ``coherence_r2`` reaches :data:`COHERENT_R2` (all True
        if it was not measured)."""
        if self.coherence_r2 is None:
            return np.ones(self.n_modules, dtype=bool)
        return np.asarray(self.coherence_r2) >= COHERENT_R2  # NaN (one unit): False

    @property
    def independent(self) -> np.ndarray:
        """``(K,)`` whether each module is coherent and neither a harmonic of a coarser one nor
        locked to a larger one."""
        return (self.harmonic_of < 0) & (self.locked_to < 0) & self.coherent

    @property
    def n_independent(self) -> int:
        """The number of :attr:`independent` modules."""
        return int(np.sum(self.independent))

    def as_dicts(self) -> list[dict[str, float | int | None]]:
        """``[{"n_units", "spacing_m", "orientation_deg", "harmonic_of", "locked_to", "lock_r2",
        "coherence_r2", "independent"}, ...]`` for JSON reports: ``harmonic_of`` is the coarser
        module whose lattice this one contains, ``locked_to`` the larger module whose activity
        predicts this one's (R² ``lock_r2``, the best against any larger module), else None;
        ``coherence_r2`` its :func:`module_coherence` (None if not measured)."""
        coh = np.full(self.n_modules, np.nan) if self.coherence_r2 is None else self.coherence_r2
        return [
            {
                "n_units": int(n),
                "spacing_m": float(s),
                "orientation_deg": float(o),
                "harmonic_of": None if h < 0 else int(h),
                "locked_to": None if lk < 0 else int(lk),
                "lock_r2": None if not np.isfinite(r) else float(r),
                "coherence_r2": None if not np.isfinite(c) else float(c),
                "independent": bool(i),
            }
            for n, s, o, h, lk, r, c, i in zip(
                self.n_units,
                self.spacing_m,
                self.orientation_deg,
                self.harmonic_of,
                *self._locking,
                coh,
                self.independent,
                strict=True,
            )
        ]


def _mean_orientation(deg: np.ndarray) -> float:
    """Circular mean of angles with period 60°, degrees in [0, 60)."""
    z = np.exp(1j * np.deg2rad(np.asarray(deg)) * 6).mean()
    return float(np.rad2deg(np.angle(z)) / 6 % 60.0)


def _split_gaps(values: np.ndarray, gap: float, period: float | None = None) -> np.ndarray:
    """Group labels for 1-D ``values``, splitting where sorted neighbours differ by > ``gap``
    (on a circle of ``period`` if given)."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    d = np.diff(v)
    cuts = d > gap
    groups = np.concatenate([[0], np.cumsum(cuts)])
    if period is not None and len(v) > 1 and (v[0] + period - v[-1]) <= gap and groups[-1] > 0:
        groups[groups == groups[-1]] = 0  # the last group wraps round onto the first
    labels = np.empty(len(v), dtype=np.int64)
    labels[order] = groups
    return labels


def _lattice_basis(spacing: float, orientation_deg: float) -> np.ndarray:
    """``(2, 2)`` basis (columns, metres) of a triangular lattice."""
    a = np.deg2rad(orientation_deg + np.array([0.0, 60.0]))
    return spacing * np.stack([np.cos(a), np.sin(a)])


def harmonic_of(
    spacing_m: np.ndarray,
    orientation_deg: np.ndarray,
    *,
    tolerance: float = 0.1,
    max_coefficient: int = 3,
) -> np.ndarray:
    """For each module, the index of a coarser module whose lattice it contains, else -1.

    Module ``i`` is a harmonic of a coarser module ``j`` when both basis vectors of ``j``'s
    lattice are integer combinations (coefficients up to ``max_coefficient`` in magnitude) of
    ``i``'s basis vectors, to within ``tolerance`` × ``i``'s spacing (0.1: a tenth of the finer
    period, 36° of its phase). With the default 3 this catches spacing ratios √3 (rotated 30°),
    2, √7 (rotated ±19.1°) and 3. A unit whose fields sit on such a finer lattice fires as a
    function of the coarser module's phase: it adds resolution, not an independent period.

    Args:
        spacing_m: ``(K,)`` module spacings, metres.
        orientation_deg: ``(K,)`` module orientations, degrees.
        tolerance: allowed mismatch as a fraction of the finer spacing.
        max_coefficient: largest integer coefficient tried.
    """
    spacing = np.asarray(spacing_m, dtype=float)
    orientation = np.asarray(orientation_deg, dtype=float)
    if spacing.shape != orientation.shape or spacing.ndim != 1:
        raise ValueError(
            f"spacing_m and orientation_deg must be 1-D of equal length, got {spacing.shape} "
            f"and {orientation.shape}"
        )
    if not 0 < tolerance < 0.5:
        raise ValueError(f"tolerance must be in (0, 0.5), got {tolerance!r}")
    out = np.full(len(spacing), -1, dtype=np.int64)
    for i in range(len(spacing)):
        fine = _lattice_basis(spacing[i], orientation[i])
        for j in np.argsort(spacing):
            if spacing[j] <= spacing[i] * (1 + tolerance):
                continue
            coeff = np.linalg.solve(fine, _lattice_basis(spacing[j], orientation[j]))
            rounded = np.round(coeff)
            residual = np.linalg.norm(fine @ (coeff - rounded), axis=0)
            if np.all(np.abs(rounded) <= max_coefficient) and np.all(
                residual <= tolerance * spacing[i]
            ):
                out[i] = j
                break
    return out


def _rank(n_units: np.ndarray, spacing_m: np.ndarray) -> np.ndarray:
    """Rank of each module, 0 = largest (most units; ties: larger spacing first)."""
    order = np.lexsort((-np.asarray(spacing_m, dtype=float), -np.asarray(n_units)))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _subset(n: int, size: int, rng: np.random.Generator | None) -> np.ndarray:
    """Indices of at most ``size`` of ``n`` samples: a sorted random subset, evenly spaced ones
    if ``rng`` is None."""
    if n <= size:
        return np.arange(n)
    if rng is None:
        return np.linspace(0, n - 1, size).round().astype(np.int64)
    return np.sort(rng.choice(n, size=size, replace=False))


def _knn_r2(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    n_neighbors: int,
) -> np.ndarray:
    """Held-out R² of each column of ``y`` under a k-NN regression from ``x`` (scikit-learn)."""
    from sklearn.neighbors import KNeighborsRegressor

    model = KNeighborsRegressor(n_neighbors=n_neighbors, algorithm="brute")
    model.fit(train_x.astype(np.float32), train_y)
    pred = model.predict(test_x.astype(np.float32))
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1 - ((pred - test_y) ** 2).sum(0) / ((test_y - test_y.mean(0)) ** 2).sum(0)


def _module_medians(unit_r2: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """``(k,)`` median of the finite ``unit_r2`` of each module's units (NaN if none)."""
    out = np.full(k, np.nan)
    for i in range(k):
        vals = unit_r2[labels == i]
        vals = vals[np.isfinite(vals)]
        out[i] = np.median(vals) if len(vals) else np.nan
    return out


def _activity_samples(
    train_activity: np.ndarray,
    test_activity: np.ndarray,
    labels: np.ndarray,
    n_neighbors: int,
    max_train: int,
    max_test: int,
    rng: np.random.Generator | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Checked, subsampled ``(train, test, labels, n_modules)`` for the k-NN module measures."""
    train = np.asarray(train_activity, dtype=float)
    test = np.asarray(test_activity, dtype=float)
    labels = np.asarray(labels)
    if train.ndim != 2 or test.ndim != 2 or train.shape[1] != test.shape[1]:
        raise ValueError(
            f"activities must be (T, N) with the same N, got {train.shape} and {test.shape}"
        )
    if labels.shape != (train.shape[1],):
        raise ValueError(f"labels must have shape ({train.shape[1]},), got {labels.shape}")
    if len(train) <= n_neighbors or len(test) < 2:
        raise ValueError(
            f"need more than n_neighbors={n_neighbors} training and 2 test samples, got "
            f"{len(train)} and {len(test)}"
        )
    train = train[_subset(len(train), max_train, rng)]
    test = test[_subset(len(test), max_test, rng)]
    return train, test, labels, int(labels.max()) + 1 if labels.size else 0


def module_locking(
    train_activity: np.ndarray,
    test_activity: np.ndarray,
    labels: np.ndarray,
    *,
    n_neighbors: int = 10,
    max_train: int = 10000,
    max_test: int = 4000,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """How well each module's activity is predicted by each other module's: ``(K, K)``.

    ``R[i, j]`` is the median over module ``i``'s units of the held-out R² of a k-NN regression
    (scikit-learn, ``n_neighbors``) from module ``j``'s population activity to unit ``i``'s
    activity, fitted on ``train_activity`` and scored on ``test_activity`` (both ``(T, N)``,
    samples of different trajectories; at most ``max_train`` / ``max_test`` samples, a random
    subset drawn from ``rng``, evenly spaced ones if None). The diagonal is NaN. A module whose
    phase is independent of module ``j``'s scores near 0 (in a box much larger than both
    periods); one whose units are functions of ``j``'s phase scores near 1.
    """
    train, test, labels, k = _activity_samples(
        train_activity, test_activity, labels, n_neighbors, max_train, max_test, rng
    )
    r2 = np.full((k, k), np.nan)
    grid = labels >= 0
    for j in range(k):
        src = labels == j
        unit_r2 = _knn_r2(train[:, src], train[:, grid], test[:, src], test[:, grid], n_neighbors)
        r2[:, j] = _module_medians(unit_r2, labels[grid], k)
        r2[j, j] = np.nan
    return r2


def module_coherence(
    train_activity: np.ndarray,
    test_activity: np.ndarray,
    labels: np.ndarray,
    *,
    n_neighbors: int = 10,
    max_train: int = 10000,
    max_test: int = 4000,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """How well each module's units are predicted by the rest of their module: ``(K,)``.

    The module's units are split into two interleaved halves; each half's units are predicted
    from the other half's population activity (k-NN regression, held-out R², data and subsets as
    in :func:`module_locking`); the result is the median over all of the module's units (NaN
    for a one-unit module). The units of a real module share one lattice phase, which either
    half encodes, so they score near 1, however much the phase drifts from the true position;
    a cluster of noisy units that only happen to have similar spacings scores near 0, and a low
    :func:`module_locking` R² of theirs says nothing about independence.
    """
    train, test, labels, k = _activity_samples(
        train_activity, test_activity, labels, n_neighbors, max_train, max_test, rng
    )
    unit_r2 = np.full(len(labels), np.nan)
    for i in range(k):
        units = np.nonzero(labels == i)[0]
        if len(units) < 2:
            continue
        a, b = units[0::2], units[1::2]
        unit_r2[a] = _knn_r2(train[:, b], train[:, a], test[:, b], test[:, a], n_neighbors)
        unit_r2[b] = _knn_r2(train[:, a], train[:, b], test[:, a], test[:, b], n_neighbors)
    return _module_medians(unit_r2, labels, k)


def locked_to(
    lock_r2: np.ndarray,
    n_units: np.ndarray,
    spacing_m: np.ndarray,
    *,
    threshold: float = LOCK_R2,
) -> tuple[np.ndarray, np.ndarray]:
    """For each module, the larger module (more units; ties: larger spacing) whose activity
    predicts its units with median R² ≥ ``threshold`` (the best one), else -1; and that best
    R² against any larger module (NaN for the largest module).

    ``lock_r2`` is :func:`module_locking`'s ``(K, K)`` matrix. The largest module is never
    locked: it is the reference the others are measured against.
    """
    r2 = np.asarray(lock_r2, dtype=float)
    k = len(np.asarray(n_units))
    if r2.shape != (k, k):
        raise ValueError(f"lock_r2 must have shape ({k}, {k}), got {r2.shape}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    rank = _rank(n_units, spacing_m)
    out = np.full(k, -1, dtype=np.int64)
    best = np.full(k, np.nan)
    for i in range(k):
        larger = np.nonzero((rank < rank[i]) & np.isfinite(r2[i]))[0]
        if len(larger):
            j = larger[np.argmax(r2[i, larger])]
            best[i] = r2[i, j]
            if r2[i, j] >= threshold:
                out[i] = j
    return out, best


def detect_modules(
    ratemaps: np.ndarray,
    bin_size: float,
    *,
    gridness_threshold: float = 0.3,
    rel_gap: float = 0.15,
    min_units: int = 3,
    orientation_gap_deg: float | None = None,
    gridness: np.ndarray | None = None,
    spacing_m: np.ndarray | None = None,
    orientation_deg: np.ndarray | None = None,
) -> Modules:
    """Find grid modules in a population of ratemaps ``(N, nx, ny)`` with bins of ``bin_size`` m.

    Args:
        gridness_threshold: units with a 60° gridness above this are grid units.
        rel_gap: a relative jump in sorted spacing larger than this starts a new module
            (0.15: spacings 15 % apart or more are different modules).
        min_units: smaller clusters are discarded (their units get label -1).
        orientation_gap_deg: if given, modules are further split where sorted orientations
            (period 60°) jump by more than this many degrees.
        gridness, spacing_m, orientation_deg: precomputed per-unit values (computed if None).
    """
    maps = np.asarray(ratemaps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"ratemaps must have shape (N, nx, ny), got {maps.shape}")
    if not np.isfinite(rel_gap) or rel_gap <= 0:
        raise ValueError(f"rel_gap must be a positive fraction, got {rel_gap!r}")
    if isinstance(min_units, bool) or int(min_units) != min_units or min_units < 1:
        raise ValueError(f"min_units must be a positive integer, got {min_units!r}")
    if orientation_gap_deg is not None and not (0 < orientation_gap_deg < 60):
        raise ValueError(f"orientation_gap_deg must be in (0, 60), got {orientation_gap_deg!r}")
    sac = None
    if gridness is None or spacing_m is None or orientation_deg is None:
        sac = autocorrelogram(maps)
    if gridness is None:
        gridness = grid_scores(maps, sac=sac).score_60
    if spacing_m is None or orientation_deg is None:
        spacing_m, orientation_deg = grid_spacing_orientation(maps, bin_size, sac=sac)
    gridness, spacing_m, orientation_deg = (
        np.asarray(a, dtype=float) for a in (gridness, spacing_m, orientation_deg)
    )
    for name, a in (
        ("gridness", gridness),
        ("spacing_m", spacing_m),
        ("orientation_deg", orientation_deg),
    ):
        if a.shape != (len(maps),):
            raise ValueError(f"{name} must have shape ({len(maps)},), got {a.shape}")
    with np.errstate(invalid="ignore"):
        grid = (gridness > gridness_threshold) & np.isfinite(spacing_m) & (spacing_m > 0)
    idx = np.nonzero(grid)[0]
    labels = np.full(len(maps), -1, dtype=np.int64)
    if len(idx):
        groups = _split_gaps(np.log(spacing_m[idx]), np.log1p(rel_gap))
        if orientation_gap_deg is not None:
            sub = np.zeros_like(groups)
            for g in np.unique(groups):
                members = groups == g
                sub[members] = _split_gaps(orientation_deg[idx][members], orientation_gap_deg, 60)
            groups = groups * (sub.max() + 1) + sub
        clusters = [idx[groups == g] for g in np.unique(groups)]
        clusters = [c for c in clusters if len(c) >= min_units]
        clusters.sort(key=lambda c: np.median(spacing_m[c]))
        for k, c in enumerate(clusters):
            labels[c] = k
    ks = range(int(labels.max()) + 1)
    return Modules(
        labels=labels,
        spacing_m=np.array([np.median(spacing_m[labels == k]) for k in ks]),
        orientation_deg=np.array([_mean_orientation(orientation_deg[labels == k]) for k in ks]),
        n_units=np.array([int(np.sum(labels == k)) for k in ks], dtype=np.int64),
        gridness=gridness,
        unit_spacing_m=spacing_m,
        unit_orientation_deg=orientation_deg,
    )


def _fourier_grid(
    values: np.ndarray, x: np.ndarray, y: np.ndarray, kx: np.ndarray, ky: np.ndarray
) -> np.ndarray:
    """``sum_ij exp(i (kx x_i + ky y_j)) values[n, i, j]`` for every ``(kx, ky)`` pair.

    ``values (n, nx, ny)``, bin centres ``x (nx,)`` and ``y (ny,)`` (m), wavenumbers ``kx (a,)``
    and ``ky (b,)`` (rad/m) -> ``(a, b, n)`` complex. Separable: ``O(a n nx ny)``.
    """
    ex, ey = np.exp(1j * np.outer(kx, x)), np.exp(1j * np.outer(ky, y))
    return np.einsum("anj,bj->abn", np.einsum("ai,nij->anj", ex, values), ey)


def _refine(values: np.ndarray, x: np.ndarray, y: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Move ``k (2,)`` to the local maximum of the summed Fourier power (coarse then fine grid,
    within ±8 % of ``|k|`` in each component)."""
    for span, steps in ((0.06, 7), (0.015, 7)):
        d = np.linspace(-span, span, steps) * np.linalg.norm(k)
        power = np.sum(np.abs(_fourier_grid(values, x, y, k[0] + d, k[1] + d)) ** 2, axis=-1)
        i, j = np.unravel_index(np.argmax(power), power.shape)
        k = k + np.array([d[i], d[j]])
    return k


def grid_phases(
    ratemaps: np.ndarray,
    bin_size: float,
    spacing_m: float,
    orientation_deg: float,
    *,
    refine: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Phases of one module's units along its three lattice wavevectors.

    Args:
        ratemaps: ``(n, nx, ny)`` ratemaps of the module's units (NaN bins are ignored).
        bin_size: bin side, metres. spacing_m, orientation_deg: the module's lattice.
        refine: move the wavevectors to the peaks of the module's mean Fourier power.

    Returns:
        ``phases (n, 3)`` in radians ``[0, 2π)`` (they sum to 0 mod 2π) and the wavevectors
        ``k (3, 2)`` in rad/m. Positions are measured from the centre of the map.
    """
    maps = np.asarray(ratemaps, dtype=float)
    if maps.ndim != 3:
        raise ValueError(f"ratemaps must have shape (n, nx, ny), got {maps.shape}")
    if not np.isfinite(spacing_m) or spacing_m <= 0:
        raise ValueError(f"spacing_m must be a positive number of metres, got {spacing_m!r}")
    n, nx, ny = maps.shape
    x = (np.arange(nx) - (nx - 1) / 2) * bin_size
    y = (np.arange(ny) - (ny - 1) / 2) * bin_size
    valid = np.all(np.isfinite(maps), axis=0)
    mean = np.where(valid, maps, 0.0).sum(axis=(1, 2), keepdims=True) / max(valid.sum(), 1)
    vals = np.where(valid, maps - mean, 0.0)  # unvisited bins contribute nothing
    ang = np.deg2rad(orientation_deg + 30.0 + 120.0 * np.arange(3))
    k = 4 * np.pi / (np.sqrt(3) * spacing_m) * np.stack([np.cos(ang), np.sin(ang)], axis=-1)
    if refine:
        k[0], k[1] = _refine(vals, x, y, k[0]), _refine(vals, x, y, k[1])
        k[2] = -(k[0] + k[1])
    coeffs = np.stack([_fourier_grid(vals, x, y, ka[:1], ka[1:])[0, 0] for ka in k], axis=1)
    phases = np.angle(coeffs)
    # Noise breaks sum(phases) = 0 slightly: remove a third of the residual from each phase
    # (the least-squares projection onto the constraint).
    residual = np.angle(np.exp(1j * phases.sum(axis=1, keepdims=True)))
    return (phases - residual / 3) % (2 * np.pi), k


def phase_uniformity(phases: np.ndarray) -> tuple[float, float]:
    """How uniformly units tile the phase torus.

    Args:
        phases: ``(n, d)`` phases in radians (e.g. from :func:`grid_phases`).

    Returns:
        ``(score, p_value)``: ``score = 1 - max_a R_a`` where ``R_a`` is the mean resultant length
        of phase ``a`` (1: uniform, 0: all units share one phase); ``p_value`` is the Rayleigh
        test's p-value of the least uniform axis, Bonferroni-corrected over the ``d`` axes
        (small values reject uniformity).
    """
    ph = np.asarray(phases, dtype=float)
    if ph.ndim != 2 or len(ph) < 2:
        raise ValueError(f"phases must have shape (n >= 2, d), got {ph.shape}")
    n = len(ph)
    r = np.abs(np.exp(1j * ph).mean(axis=0))
    z = n * r**2
    # Rayleigh test with Zar's (1999) small-sample correction.
    p = np.exp(-z) * (
        1 + (2 * z - z**2) / (4 * n) - (24 * z - 132 * z**2 + 76 * z**3 - 9 * z**4) / (288 * n**2)
    )
    p = np.clip(p, 0.0, 1.0)
    return float(1 - r.max()), float(min(1.0, ph.shape[1] * p.min()))
