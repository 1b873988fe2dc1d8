"""Ratemaps: binning against scipy's reference, occupancy, NaN-aware smoothing, validation."""

import numpy as np
import pytest
from scipy.stats import binned_statistic_2d

from gridnav_agents.analysis.ratemaps import bin_centres, occupancy, ratemaps, smooth_nan

BOUNDS = (-1.0, -1.0, 1.0, 1.0)


def test_ratemaps_match_scipy_binned_statistic():
    rng = np.random.default_rng(0)
    pos = rng.uniform(-1, 1, size=(3000, 2))
    act = rng.normal(size=(3000, 3))
    maps, occ = ratemaps(act, pos, BOUNDS, bin_size=0.25, return_occupancy=True)
    assert maps.shape == (3, 8, 8) and occ.shape == (8, 8)
    edges = np.linspace(-1, 1, 9)
    for n in range(3):
        ref = binned_statistic_2d(pos[:, 0], pos[:, 1], act[:, n], "mean", bins=[edges, edges])
        np.testing.assert_allclose(maps[n], ref.statistic, rtol=1e-10, atol=1e-12)
    assert occ.sum() == 3000


def test_unvisited_bins_are_nan_and_bin_centres_index_x_then_y():
    pos = np.array([[-0.9, 0.9], [-0.9, 0.9], [0.6, -0.6]])
    act = np.array([[1.0], [3.0], [5.0]])
    maps = ratemaps(act, pos, BOUNDS, bin_size=0.5)
    cx, cy = bin_centres(BOUNDS, 0.5)
    assert maps.shape == (1, 4, 4)
    i, j = np.argmin(abs(cx + 0.9)), np.argmin(abs(cy - 0.9))
    assert maps[0, i, j] == 2.0  # mean of the two samples in that bin
    assert maps[0, np.argmin(abs(cx - 0.6)), np.argmin(abs(cy + 0.6))] == 5.0
    assert np.isnan(maps).sum() == 14


def test_min_occupancy_and_points_outside_are_ignored():
    pos = np.array([[0.1, 0.1], [0.1, 0.1], [-0.6, -0.6], [5.0, 0.0], [np.nan, 0.0]])
    act = np.ones((5, 1))
    maps = ratemaps(act, pos, BOUNDS, bin_size=0.5, min_occupancy=2)
    assert np.sum(np.isfinite(maps)) == 1
    assert occupancy(pos, BOUNDS, 0.5).sum() == 3


def test_accepts_an_arena():
    from gridnav_env.arena import Arena

    rng = np.random.default_rng(1)
    pos = rng.uniform(-1, 1, size=(500, 2))
    act = rng.normal(size=(500, 2))
    np.testing.assert_array_equal(
        ratemaps(act, pos, Arena.box(2.0), 0.1), ratemaps(act, pos, BOUNDS, 0.1)
    )


def test_smoothing_ignores_unvisited_bins():
    rng = np.random.default_rng(2)
    m = np.full((1, 20, 20), 3.0)
    holes = rng.random(m.shape) < 0.3
    m[holes] = np.nan
    s = smooth_nan(m, 2.0)
    # A constant map stays constant: NaNs must not be read as zeros, nor spread.
    np.testing.assert_allclose(s[~holes], 3.0)
    assert np.array_equal(np.isnan(s), holes)


def test_smoothing_preserves_a_linear_ramp_inside():
    x = np.arange(30, dtype=float)
    m = np.broadcast_to(x[:, None], (30, 30))[None].copy()
    s = smooth_nan(m, 1.5)
    np.testing.assert_allclose(s[0, 8:22, 8:22], m[0, 8:22, 8:22], atol=1e-6)


def test_ratemaps_smoothing_in_metres():
    rng = np.random.default_rng(3)
    pos = rng.uniform(-1, 1, size=(4000, 2))
    act = rng.normal(size=(4000, 1))
    raw = ratemaps(act, pos, BOUNDS, 0.1)
    smooth = ratemaps(act, pos, BOUNDS, 0.1, smoothing_m=0.2)
    np.testing.assert_allclose(smooth, smooth_nan(raw, 2.0))
    assert np.nanstd(smooth) < np.nanstd(raw)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"bin_size": 0.0}, "bin_size"),
        ({"bin_size": -1}, "bin_size"),
        ({"min_occupancy": 0}, "min_occupancy"),
        ({"smoothing_m": -0.1}, "smoothing_m"),
        ({"arena": (1, 1, 0, 0)}, "arena"),
        ({"positions": np.zeros((10, 3))}, "positions"),
        ({"activity": np.zeros(10)}, "activity"),
    ],
)
def test_validation_names_the_parameter(kwargs, name):
    args = {"activity": np.zeros((10, 2)), "positions": np.zeros((10, 2)), "arena": BOUNDS}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        ratemaps(**args)
