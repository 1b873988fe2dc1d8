"""Long-horizon stability of a spatial code: maps and phases along long trajectories against
those of short ones.

A path integrator holds its code only as long as its phase does not drift. Ratemaps made late
in long trajectories then stop matching those of short trajectories, and a decoder that knows
the short-trajectory code reads a growing position error.

* :func:`window_edges`: time windows ``0–T, T–4T, 4T–16T, …`` up to a trajectory length.
* :func:`map_correlation`: per-unit Pearson correlation of two ratemap stacks.
* :func:`map_stability`: ratemaps of each time window, pooled over the trajectories that cover
  it, correlated with reference ratemaps.
* :func:`agent_gridness`: fraction of grid units in each trajectory's own ratemaps over a late
  stretch of it.
* :func:`phase_error`: windowed nearest-reference decoding: the error vector at every step.
* :func:`phase_drift`: from the error vectors, the systematic rate (mean error vector ∝ t,
  metres per step), the diffusive rate (spread about the mean ∝ √t, metres per √step), which
  of the two dominates, and how long trajectories stay within half a period.

Units: positions, errors and radii in metres, time in encoder steps; step ``t`` is the state
after ``t`` steps (index ``t - 1`` of a trajectory).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gridnav_agents.analysis.gridness import grid_fraction, grid_scores
from gridnav_agents.analysis.ratemaps import ratemaps, smooth_nan

__all__ = [
    "MapStability",
    "PhaseDrift",
    "window_edges",
    "map_correlation",
    "map_stability",
    "agent_gridness",
    "phase_error",
    "phase_drift",
]


def _positive_int(name: str, value: Any) -> int:
    try:
        ok = not isinstance(value, bool) and int(value) == value and value >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _positive_float(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number of metres, got {value!r}")
    return v


def window_edges(ref_steps: int, n_steps: int, factor: int = 4) -> np.ndarray:
    """Window edges ``[0, T, factor·T, factor²·T, …, n_steps]`` in steps (``T = ref_steps``,
    the reference trajectory length); the last window ends at ``n_steps``."""
    t, n, f = (
        _positive_int(k, v)
        for k, v in (("ref_steps", ref_steps), ("n_steps", n_steps), ("factor", factor))
    )
    if f < 2:
        raise ValueError(f"factor must be an integer of at least 2, got {factor!r}")
    edges = [0]
    while t < n:
        edges.append(t)
        t *= f
    return np.array([*edges, n])


def map_correlation(maps: np.ndarray, reference: np.ndarray, min_bins: int = 20) -> np.ndarray:
    """Pearson correlation of each unit's ratemap with its reference map, over the bins valid
    (finite) in both: ``(N, nx, ny)`` twice -> ``(N,)``, NaN where fewer than ``min_bins`` bins
    are shared or a map is constant on them."""
    a, b = np.asarray(maps, dtype=float), np.asarray(reference, dtype=float)
    if a.shape != b.shape or a.ndim != 3:
        raise ValueError(
            f"maps and reference must be equal (N, nx, ny) stacks, got {a.shape} and {b.shape}"
        )
    a, b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    ok = np.isfinite(a) & np.isfinite(b)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        da = np.where(ok, a - np.where(ok, a, 0).sum(1, keepdims=True) / n[:, None], 0.0)
        db = np.where(ok, b - np.where(ok, b, 0).sum(1, keepdims=True) / n[:, None], 0.0)
        r = (da * db).sum(1) / np.sqrt((da * da).sum(1) * (db * db).sum(1))
    return np.where(n >= min_bins, r, np.nan)


def _trajectories(activity: Any, positions: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(act (T_i, N), pos (T_i, 2))]`` from a ``(n, T, N)`` array or a sequence of
    trajectories of any lengths."""
    if len(activity) != len(positions) or len(activity) == 0:
        raise ValueError(
            f"activity and positions must hold the same, non-zero number of "
            f"trajectories, got {len(activity)} and {len(positions)}"
        )
    out = []
    for a, p in zip(activity, positions, strict=True):
        a, p = np.asarray(a, dtype=float), np.asarray(p, dtype=float)
        if a.ndim != 2 or p.shape != (len(a), 2):
            raise ValueError(
                f"each trajectory needs activity (T, N) and positions (T, 2), got "
                f"{a.shape} and {p.shape}"
            )
        out.append((a, p))
    return out


@dataclass(frozen=True)
class MapStability:
    """Ratemaps of time windows against reference ratemaps.

    Attributes: ``start``, ``stop`` (steps, ``(W,)``: window ``w`` holds steps
    ``start[w] + 1 … stop[w]``), ``correlation (W,)`` (median over the units of
    :func:`map_correlation`; NaN where no unit has one), ``unit_correlation (W, N)``,
    ``n_traj (W,)`` (trajectories that cover the window) and ``n_samples (W,)``.
    """

    start: np.ndarray
    stop: np.ndarray
    correlation: np.ndarray
    unit_correlation: np.ndarray
    n_traj: np.ndarray
    n_samples: np.ndarray


def _median(values: np.ndarray) -> float:
    v = values[np.isfinite(values)]
    return float(np.median(v)) if v.size else float("nan")


def map_stability(
    activity: np.ndarray | Sequence[np.ndarray],
    positions: np.ndarray | Sequence[np.ndarray],
    reference: np.ndarray,
    arena: Any,
    edges: np.ndarray | Sequence[int],
    bin_size: float = 0.05,
    *,
    units: np.ndarray | None = None,
    min_bins: int = 20,
    smoothing_m: float = 0.0,
) -> MapStability:
    """Correlation of ratemaps made in time windows of trajectories with reference ratemaps.

    Args:
        activity, positions: trajectories, ``(n, T, N)`` and ``(n, T, 2)`` metres or sequences
            of ``(T_i, N)`` / ``(T_i, 2)`` arrays of any lengths ``T_i``.
        reference: ``(N, nx, ny)`` ratemaps of the same units (e.g. from short trajectories),
            made with the same ``arena`` and ``bin_size`` (metres).
        edges: increasing window edges in steps (:func:`window_edges`); each window pools every
            trajectory at least as long as its end.
        units: boolean ``(N,)`` mask of the units whose median is taken (default all).
        min_bins: see :func:`map_correlation`.
        smoothing_m: standard deviation of a NaN-aware Gaussian smoothing of the window maps
            and the reference before they are correlated, metres (0: none). A window with few
            samples per bin gives noisy maps whose correlation is biased towards 0; smoothing
            well below the grid spacing averages that noise and keeps the pattern.
    """
    trajs = _trajectories(activity, positions)
    e = np.asarray(edges, dtype=int)
    if e.ndim != 1 or len(e) < 2 or np.any(np.diff(e) <= 0) or e[0] < 0:
        raise ValueError(f"edges must be increasing non-negative steps, got {edges!r}")
    ref = np.asarray(reference, dtype=float)
    n_units = trajs[0][0].shape[1]
    if ref.ndim != 3 or len(ref) != n_units:
        raise ValueError(f"reference must be (N={n_units}, nx, ny) ratemaps, got {ref.shape}")
    sel = np.ones(n_units, bool) if units is None else np.asarray(units, bool)
    if not np.isfinite(smoothing_m) or smoothing_m < 0:
        raise ValueError(
            f"smoothing_m must be a non-negative number of metres, got {smoothing_m!r}"
        )
    if smoothing_m > 0:
        ref = smooth_nan(ref, smoothing_m / bin_size)
    corr = np.full((len(e) - 1, n_units), np.nan)
    n_traj, n_samples = np.zeros(len(e) - 1, int), np.zeros(len(e) - 1, int)
    for w, (a, b) in enumerate(zip(e[:-1], e[1:], strict=True)):
        pieces = [(act[a:b], pos[a:b]) for act, pos in trajs if len(act) >= b]
        if not pieces:
            continue
        act = np.concatenate([p[0] for p in pieces])
        pos = np.concatenate([p[1] for p in pieces])
        maps = ratemaps(act, pos, arena, bin_size, smoothing_m=smoothing_m)
        corr[w] = map_correlation(maps, ref, min_bins)
        n_traj[w], n_samples[w] = len(pieces), len(act)
    return MapStability(
        start=e[:-1],
        stop=e[1:],
        correlation=np.array([_median(c[sel]) for c in corr]),
        unit_correlation=corr,
        n_traj=n_traj,
        n_samples=n_samples,
    )


def agent_gridness(
    activity: np.ndarray | Sequence[np.ndarray],
    positions: np.ndarray | Sequence[np.ndarray],
    arena: Any,
    bin_size: float = 0.05,
    *,
    start: int = 1000,
    stop: int = 10000,
    units: np.ndarray | None = None,
) -> np.ndarray:
    """Fraction of ``units`` (default all) with 60° gridness above ``GRID_THRESHOLD`` (0.3,
    :func:`grid_scores`) in each trajectory's own ratemaps over steps ``start + 1 … stop``.

    Trajectories as in :func:`map_stability`; only those at least ``stop`` steps long count.
    Returns ``(n_long,)`` fractions (empty if no trajectory is that long).
    """
    trajs = _trajectories(activity, positions)
    if isinstance(start, bool) or int(start) != start or start < 0 or stop <= start:
        raise ValueError(
            f"start and stop must be steps with 0 <= start < stop, got {start!r}, {stop!r}"
        )
    n_units = trajs[0][0].shape[1]
    sel = np.ones(n_units, bool) if units is None else np.asarray(units, bool)
    fractions = []
    for act, pos in trajs:
        if len(act) < stop:
            continue
        maps = ratemaps(act[start:stop][:, sel], pos[start:stop], arena, bin_size)
        fractions.append(grid_fraction(grid_scores(maps).score_60, int(sel.sum())))
    return np.array(fractions, dtype=float)


def phase_error(
    states: np.ndarray,
    positions: np.ndarray,
    ref_states: np.ndarray,
    ref_xy: np.ndarray,
    radius_m: float,
    *,
    chunk: int = 256,
) -> np.ndarray:
    """Error vectors of a windowed nearest-reference decoding, metres.

    Each state is decoded as the reference point within ``radius_m`` of the true position whose
    reference state is the most similar (cosine); the error is that point minus the true
    position. Restricting the search to the radius keeps the aliases of a periodic code out: a
    radius of at most half the (largest) module spacing holds one copy of each phase, so errors
    up to the radius are read unambiguously and larger phase errors come back wrapped. An error
    that points out of the reference area (near a wall) cannot be read: the decoder then
    returns the best reference point within the radius instead.

    Args:
        states: ``(..., N)`` encoder states; positions: ``(..., 2)`` true positions, metres.
        ref_states: ``(B, N)`` reference states (e.g. the population vector of each ratemap
            bin); rows with non-finite entries are ignored. ref_xy: ``(B, 2)`` their positions.
        radius_m: search radius, metres. chunk: most states decoded in one block.

    Returns:
        ``(..., 2)`` errors, metres; NaN where a state or position is not finite, a state is
        zero, or no reference point lies within the radius.
    """
    s, p = np.asarray(states, dtype=float), np.asarray(positions, dtype=float)
    if s.shape[:-1] != p.shape[:-1] or p.shape[-1] != 2:
        raise ValueError(
            f"states (..., N) and positions (..., 2) do not match: {s.shape}, {p.shape}"
        )
    ref, xy = np.asarray(ref_states, dtype=float), np.asarray(ref_xy, dtype=float)
    if ref.ndim != 2 or ref.shape[1] != s.shape[-1] or xy.shape != (len(ref), 2):
        raise ValueError(
            f"ref_states must be (B, {s.shape[-1]}) and ref_xy (B, 2), got "
            f"{ref.shape} and {xy.shape}"
        )
    r = _positive_float("radius_m", radius_m)
    keep = np.all(np.isfinite(ref), axis=1) & np.all(np.isfinite(xy), axis=1)
    norm = np.linalg.norm(ref[keep], axis=1)
    ref, xy = ref[keep][norm > 0] / norm[norm > 0, None], xy[keep][norm > 0]
    flat_s, flat_p = s.reshape(-1, s.shape[-1]), p.reshape(-1, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        flat_s = flat_s / np.linalg.norm(flat_s, axis=1, keepdims=True)
    good = np.flatnonzero(np.all(np.isfinite(flat_s), axis=1) & np.all(np.isfinite(flat_p), axis=1))
    out = np.full(flat_p.shape, np.nan)
    # Squares of side r: the reference points within r of a sample lie in its 3 x 3 squares.
    ref_cells: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(map(tuple, np.floor(xy / r).astype(np.int64).tolist())):
        ref_cells.setdefault(key, []).append(i)
    cells, which = np.unique(
        np.floor(flat_p[good] / r).astype(np.int64), axis=0, return_inverse=True
    )
    order = np.argsort(which.ravel(), kind="stable")
    bounds = np.searchsorted(which.ravel()[order], np.arange(len(cells) + 1))
    chunk = _positive_int("chunk", chunk)
    for (cx, cy), lo, hi in zip(cells.tolist(), bounds[:-1], bounds[1:], strict=True):
        cand = [
            j
            for dx in (-1, 0, 1)
            for dy in (-1, 0, 1)
            for j in ref_cells.get((cx + dx, cy + dy), ())
        ]
        if not cand:
            continue
        cand_xy, cand_ref = xy[cand], ref[cand]
        for c in range(lo, hi, chunk):
            idx = good[order[c : min(c + chunk, hi)]]
            pts = flat_p[idx]
            sim = flat_s[idx] @ cand_ref.T
            sim[((pts[:, None, :] - cand_xy[None]) ** 2).sum(-1) > r * r] = -np.inf
            best = np.argmax(sim, axis=1)
            found = np.isfinite(sim[np.arange(len(idx)), best])
            out[idx[found]] = cand_xy[best[found]] - pts[found]
    return out.reshape(p.shape)


@dataclass(frozen=True)
class PhaseDrift:
    """Growth of the phase error along trajectories (:func:`phase_drift`); metres and steps.

    Per step ``t = 1 … T`` (``step``): ``median_error_m`` (median ``|e|`` over trajectories),
    ``mean_error_m (T, 2)`` (mean error vector) and ``spread_m`` (RMS distance of the error
    vectors from their mean). Fits over steps ``1 … fit_steps``: ``mean_error_m ≈ a + u·t``
    gives ``systematic_m_per_step = |u|`` (and ``systematic_direction_deg``, the direction of
    ``u``); ``spread_m² ≈ q + D·t`` gives ``diffusive_m_per_sqrt_step = √D``. ``kind`` says
    which moves the error further by ``fit_steps`` (``|u|·fit_steps`` against
    ``√(D·fit_steps)``): ``"systematic"``, ``"diffusive"``, or ``"none"`` when both stay below
    ``resolution_m``. ``first_exit_step (n,)``: the first step at which ``|e|`` exceeds
    ``threshold_m`` (inf if never); ``steps_within`` is their median (inf if most never do).
    """

    step: np.ndarray
    median_error_m: np.ndarray
    mean_error_m: np.ndarray
    spread_m: np.ndarray
    fit_steps: int
    systematic_m_per_step: float
    systematic_direction_deg: float
    systematic_intercept_m: np.ndarray
    diffusive_m_per_sqrt_step: float
    diffusive_floor_m2: float
    kind: str
    resolution_m: float
    threshold_m: float
    first_exit_step: np.ndarray
    steps_within: float

    def systematic_fit_m(self) -> np.ndarray:
        """``|a + u·t|`` at every step, metres (the systematic fit of the mean error)."""
        u = self.systematic_m_per_step * np.array(
            [
                np.cos(np.deg2rad(self.systematic_direction_deg)),
                np.sin(np.deg2rad(self.systematic_direction_deg)),
            ]
        )
        return np.linalg.norm(self.systematic_intercept_m + self.step[:, None] * u, axis=1)

    def diffusive_fit_m(self) -> np.ndarray:
        """``√(q + D·t)`` at every step, metres (the diffusive fit of the spread)."""
        d = self.diffusive_m_per_sqrt_step**2
        return np.sqrt(np.maximum(self.diffusive_floor_m2 + d * self.step, 0.0))


def phase_drift(
    errors: np.ndarray,
    threshold_m: float,
    *,
    fit_max_m: float | None = None,
    resolution_m: float = 0.0,
    min_fit_steps: int = 5,
) -> PhaseDrift:
    """Systematic and diffusive growth of phase errors along trajectories.

    A bias shared by all trajectories (a drift velocity, or a gain error along a common mean
    displacement) moves every error the same way: the mean error vector grows ∝ t (metres per
    step). Independent noise per step spreads the errors
    about their mean: its RMS grows ∝ √t (metres per √step). Both are fitted by least squares
    over the steps before the median ``|e|`` first exceeds ``fit_max_m`` (default half of
    ``threshold_m``), where a windowed decoder (:func:`phase_error`) still reads the error
    unwrapped; the spread is corrected for the estimated mean (``n / (n - 1)``).

    Args:
        errors: ``(n, T, 2)`` error vectors (decoded minus true position), metres; ``n >= 2``.
        threshold_m: ``|e|`` beyond which a trajectory has left its period (e.g. 90 % of half
            the module spacing, when the decoder's radius is half the spacing).
        fit_max_m: see above. resolution_m: drift below this by the end of the fit is "none"
            (e.g. the reference bin size). min_fit_steps: fewest steps fitted (else NaN rates).
    """
    e = np.asarray(errors, dtype=float)
    if e.ndim != 3 or e.shape[2] != 2 or e.shape[0] < 2 or e.shape[1] < 1:
        raise ValueError(f"errors must have shape (n >= 2, T, 2), got {e.shape}")
    thr = _positive_float("threshold_m", threshold_m)
    if not np.isfinite(resolution_m) or resolution_m < 0:
        raise ValueError(
            f"resolution_m must be a non-negative number of metres, got {resolution_m!r}"
        )
    fit_max = thr / 2 if fit_max_m is None else _positive_float("fit_max_m", fit_max_m)
    n_traj, n_steps = e.shape[:2]
    step = np.arange(1, n_steps + 1)
    length = np.linalg.norm(e, axis=-1)
    with warnings.catch_warnings():  # steps with no finite error give NaN silently
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(length, axis=0)
        mean = np.nanmean(e, axis=0)
        count = np.isfinite(length).sum(axis=0)
        sq = np.nansum(((e - mean) ** 2).sum(-1), axis=0)
        spread2 = np.where(count > 1, sq / np.maximum(count - 1, 1), np.nan)
    over = np.flatnonzero(np.nan_to_num(median, nan=np.inf) > fit_max)
    fit_steps = int(over[0]) if over.size else n_steps
    t = step[:fit_steps]
    ok = np.all(np.isfinite(mean[:fit_steps]), axis=1) & np.isfinite(spread2[:fit_steps])
    u, a = np.full(2, np.nan), np.full(2, np.nan)
    dq = np.full(2, np.nan)
    if ok.sum() >= max(2, min_fit_steps):
        design = np.stack([np.ones(ok.sum()), t[ok]], axis=1)
        (a, u), *_ = np.linalg.lstsq(design, mean[:fit_steps][ok], rcond=None)
        dq, *_ = np.linalg.lstsq(design, spread2[:fit_steps][ok], rcond=None)
    rate, diff_d = float(np.linalg.norm(u)), float(max(dq[1], 0.0))
    if np.isnan(dq[1]):
        diff_d = float("nan")
    moved_sys, moved_diff = rate * fit_steps, np.sqrt(diff_d * fit_steps)
    if not np.isfinite(moved_sys + moved_diff):
        kind = "unknown"
    elif max(moved_sys, moved_diff) < resolution_m:
        kind = "none"
    else:
        kind = "systematic" if moved_sys >= moved_diff else "diffusive"
    exceeded = np.nan_to_num(length, nan=0.0) > thr
    first = np.where(exceeded.any(axis=1), exceeded.argmax(axis=1) + 1.0, np.inf)
    return PhaseDrift(
        step=step,
        median_error_m=median,
        mean_error_m=mean,
        spread_m=np.sqrt(spread2),
        fit_steps=fit_steps,
        systematic_m_per_step=rate,
        systematic_direction_deg=float(np.rad2deg(np.arctan2(u[1], u[0]))),
        systematic_intercept_m=np.asarray(a, dtype=float),
        diffusive_m_per_sqrt_step=float(np.sqrt(diff_d)),
        diffusive_floor_m2=float(dq[0]),
        kind=kind,
        resolution_m=float(resolution_m),
        threshold_m=thr,
        first_exit_step=first,
        steps_within=float(np.median(first)),
    )
