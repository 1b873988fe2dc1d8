"""Position decoding, path-integration drift, and neural versus spatial distance (paper Fig. 5a).

* :func:`decode_position` fits a scikit-learn k-nearest-neighbour regressor from population
  activity to position on training samples and scores it on held-out samples (metres); chance is
  the error of always predicting the mean training position.
* :func:`error_growth` bins per-step decoding errors along trajectories by time step: a growing
  error over long trajectories is path-integration drift.
* :func:`neural_vs_spatial_distance` averages the neural distance of random sample pairs in bins
  of spatial separation; the decorrelation length is where that curve first rises a fraction
  ``1 - 1/e`` of the way from its first bin to its plateau.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DecodingResult",
    "fit_decoder",
    "decode_position",
    "error_growth",
    "neural_vs_spatial_distance",
]


def _pair(activity: np.ndarray, positions: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    act = np.asarray(activity, dtype=float)
    pos = np.asarray(positions, dtype=float)
    if act.ndim != 2:
        raise ValueError(f"{name} activity must have shape (T, N), got {act.shape}")
    if pos.shape != (len(act), 2):
        raise ValueError(f"{name} positions must have shape ({len(act)}, 2), got {pos.shape}")
    ok = np.all(np.isfinite(act), axis=1) & np.all(np.isfinite(pos), axis=1)
    return act[ok], pos[ok]


def fit_decoder(
    activity: np.ndarray,
    positions: np.ndarray,
    *,
    n_neighbors: int = 10,
    max_train: int | None = 20000,
    rng: np.random.Generator | None = None,
):
    """Fit a distance-weighted k-NN regressor ``activity (T, N) -> positions (T, 2)`` (metres).

    ``max_train`` caps the training samples (a random subset drawn from ``rng``; the first ones if
    ``rng`` is None) to bound the cost of prediction.
    """
    from sklearn.neighbors import KNeighborsRegressor

    act, pos = _pair(activity, positions, "training")
    if isinstance(n_neighbors, bool) or int(n_neighbors) != n_neighbors or n_neighbors < 1:
        raise ValueError(f"n_neighbors must be a positive integer, got {n_neighbors!r}")
    if len(act) < n_neighbors:
        raise ValueError(
            f"need at least n_neighbors={n_neighbors} training samples, got {len(act)}"
        )
    if max_train is not None and len(act) > max_train:
        idx = (
            np.arange(max_train)
            if rng is None
            else np.sort(rng.choice(len(act), size=max_train, replace=False))
        )
        act, pos = act[idx], pos[idx]
    model = KNeighborsRegressor(n_neighbors=int(n_neighbors), weights="distance", algorithm="brute")
    return model.fit(act.astype(np.float32), pos)  # float32 halves the cost of the search


@dataclass(frozen=True)
class DecodingResult:
    """Held-out decoding errors (metres): ``errors (T,)`` per sample, their median and mean, and
    ``chance_m``, the mean error of always predicting the mean training position."""

    errors: np.ndarray
    median_m: float
    mean_m: float
    chance_m: float


def decode_position(
    train_activity: np.ndarray,
    train_positions: np.ndarray,
    test_activity: np.ndarray,
    test_positions: np.ndarray,
    *,
    n_neighbors: int = 10,
    max_train: int | None = 20000,
    rng: np.random.Generator | None = None,
) -> DecodingResult:
    """Fit a decoder on training samples and measure its position error on held-out samples.

    Activities are ``(T, N)``, positions ``(T, 2)`` metres; train on some trajectories and test on
    others. Rows with non-finite values are dropped from both sets.
    """
    model = fit_decoder(
        train_activity, train_positions, n_neighbors=n_neighbors, max_train=max_train, rng=rng
    )
    _, train_pos = _pair(train_activity, train_positions, "training")
    act, pos = np.asarray(test_activity, dtype=float), np.asarray(test_positions, dtype=float)
    if act.ndim != 2 or pos.shape != (len(act), 2):
        raise ValueError(
            f"test activity (T, N) and positions (T, 2) do not match: {act.shape}, {pos.shape}"
        )
    if act.shape[1] != model.n_features_in_:
        raise ValueError(
            f"test activity has {act.shape[1]} units, the decoder {model.n_features_in_}"
        )
    errors = np.full(len(act), np.nan)
    ok = np.all(np.isfinite(act), axis=1) & np.all(np.isfinite(pos), axis=1)
    if not np.any(ok):
        raise ValueError("test set has no finite samples")
    errors[ok] = np.linalg.norm(model.predict(act[ok].astype(np.float32)) - pos[ok], axis=1)
    chance = np.linalg.norm(pos[ok] - train_pos.mean(axis=0), axis=1).mean()
    return DecodingResult(
        errors=errors,
        median_m=float(np.nanmedian(errors)),
        mean_m=float(np.nanmean(errors)),
        chance_m=float(chance),
    )


def error_growth(errors: np.ndarray, n_bins: int = 10) -> tuple[np.ndarray, np.ndarray, float]:
    """Decoding error as a function of time along trajectories (path-integration drift).

    Args:
        errors: ``(n_traj, T)`` per-step decoding errors in metres (NaN ignored).
        n_bins: number of equal time bins.

    Returns:
        ``(step_centres (n_bins,), mean_error_m (n_bins,), slope_m_per_step)``: the slope is a
        least-squares line through the binned means (metres of extra error per step).
    """
    e = np.asarray(errors, dtype=float)
    if e.ndim == 1:
        e = e[None]
    if e.ndim != 2 or e.shape[1] < 2:
        raise ValueError(f"errors must have shape (n_traj, T >= 2), got {np.shape(errors)}")
    if isinstance(n_bins, bool) or int(n_bins) != n_bins or not 1 <= n_bins <= e.shape[1]:
        raise ValueError(f"n_bins must be an integer in [1, {e.shape[1]}], got {n_bins!r}")
    edges = np.linspace(0, e.shape[1], int(n_bins) + 1).round().astype(int)
    centres = (edges[:-1] + edges[1:] - 1) / 2
    with warnings.catch_warnings():  # empty bins give NaN silently
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.array(
            [np.nanmean(e[:, a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
        )
    ok = np.isfinite(means)
    slope = float(np.polyfit(centres[ok], means[ok], 1)[0]) if ok.sum() >= 2 else float("nan")
    return centres, means, slope


def neural_vs_spatial_distance(
    activity: np.ndarray,
    positions: np.ndarray,
    rng: np.random.Generator,
    *,
    n_pairs: int = 50000,
    max_separation_m: float | None = None,
    n_bins: int = 40,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean neural (Euclidean) distance between random sample pairs versus their separation.

    Args:
        activity: ``(T, N)``; positions: ``(T, 2)`` metres. Pairs are drawn from ``rng``.
        max_separation_m: largest separation binned (default: the 95th percentile of the drawn
            pairs' separations). n_bins: number of separation bins.

    Returns:
        ``(separation_m (n_bins,), mean_neural_distance (n_bins,), decorrelation_length_m)``:
        bin centres, mean neural distance per bin (NaN if empty), and the separation at which the
        curve first reaches ``d0 + (1 - 1/e)(plateau - d0)`` (linear interpolation), where ``d0``
        is the first bin and ``plateau`` the mean over the upper half of the bins.
    """
    act, pos = _pair(activity, positions, "")
    if len(act) < 2:
        raise ValueError("need at least two finite samples")
    if isinstance(n_pairs, bool) or int(n_pairs) != n_pairs or n_pairs < 1:
        raise ValueError(f"n_pairs must be a positive integer, got {n_pairs!r}")
    i = rng.integers(len(act), size=int(n_pairs))
    j = rng.integers(len(act), size=int(n_pairs))
    sep = np.linalg.norm(pos[i] - pos[j], axis=1)
    dist = np.linalg.norm(act[i] - act[j], axis=1)
    hi = float(np.quantile(sep, 0.95)) if max_separation_m is None else float(max_separation_m)
    if not np.isfinite(hi) or hi <= 0:
        raise ValueError(f"max_separation_m must be positive, got {max_separation_m!r}")
    edges = np.linspace(0.0, hi, int(n_bins) + 1)
    which = np.digitize(sep, edges) - 1
    keep = (which >= 0) & (which < n_bins)
    counts = np.bincount(which[keep], minlength=n_bins)
    sums = np.bincount(which[keep], weights=dist[keep], minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / counts, np.nan)
    centres = (edges[:-1] + edges[1:]) / 2
    return centres, mean, _decorrelation_length(centres, mean)


def _decorrelation_length(sep: np.ndarray, d: np.ndarray) -> float:
    ok = np.isfinite(d)
    s, d = sep[ok], d[ok]
    if len(d) < 3:
        return float("nan")
    plateau = d[len(d) // 2 :].mean()
    level = d[0] + (1 - np.exp(-1)) * (plateau - d[0])
    if plateau <= d[0]:
        return float("nan")
    k = int(np.argmax(d >= level))
    if k == 0:
        return float(s[0])
    f = (level - d[k - 1]) / (d[k] - d[k - 1])
    return float(s[k - 1] + f * (s[k] - s[k - 1]))
