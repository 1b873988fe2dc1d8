"""Gridness, autocorrelograms, spacing and orientation on maps whose answers are known."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from gridnav_agents.analysis.gridness import (
    DEFAULT_INNER,
    DEFAULT_OUTER,
    autocorrelogram,
    grid_scores,
    grid_spacing_orientation,
    gridness_score,
)
from gridnav_agents.analysis.synthetic import (
    band_rate,
    grid_rate,
    place_rate,
    square_rate,
)

BIN = 0.05


def box_points(size: float = 2.0) -> np.ndarray:
    c = np.arange(BIN / 2, size, BIN) - size / 2
    return np.stack(np.meshgrid(c, c, indexing="ij"), axis=-1)


def angle_diff_60(a, b):
    return np.abs((np.asarray(a) - np.asarray(b) + 30) % 60 - 30)


# ----------------------------------------------------------------------------- references
def brute_sac(m: np.ndarray, dx: int, dy: int) -> float:
    """Pearson correlation of a map with itself shifted by (dx, dy) bins, over valid overlap."""
    nx, ny = m.shape
    a = m[max(dx, 0) : nx + min(dx, 0), max(dy, 0) : ny + min(dy, 0)]
    b = m[max(-dx, 0) : nx + min(-dx, 0), max(-dy, 0) : ny + min(-dy, 0)]
    ok = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def reference_scores(m: np.ndarray) -> tuple[float, float]:
    """A direct, loop-per-angle implementation of the standard method (scipy rotate, order 1)."""
    sac = autocorrelogram(m, min_overlap=2)
    n = min(m.shape)
    h, w = sac.shape
    ii, jj = np.mgrid[:h, :w]
    r = np.hypot(ii - (h - 1) / 2, jj - (w - 1) / 2)
    valid = np.isfinite(sac)
    filled = np.where(valid, sac, 0.0)
    corr = {}
    for angle in (30, 45, 60, 90, 120, 135, 150):
        rot = ndimage.rotate(filled, angle, reshape=False, order=1)
        rvalid = ndimage.rotate(valid.astype(float), angle, reshape=False, order=1) > 1 - 1e-9
        corr[angle] = []
        for outer in DEFAULT_OUTER:
            mask = (r >= DEFAULT_INNER * n) & (r <= outer * n) & valid & rvalid
            corr[angle].append(np.corrcoef(sac[mask], rot[mask])[0, 1])
    c = {a: np.array(v) for a, v in corr.items()}
    s60 = np.minimum(c[60], c[120]) - np.maximum.reduce([c[30], c[90], c[150]])
    s90 = c[90] - np.maximum(c[45], c[135])
    return float(s60.max()), float(s90.max())


# ----------------------------------------------------------------------------- autocorrelogram
@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    shape=st.tuples(st.integers(5, 12), st.integers(5, 12)),
    frac_nan=st.floats(0.0, 0.4),
)
def test_autocorrelogram_matches_brute_force_pearson(seed, shape, frac_nan):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=shape) + 5.0  # an offset: the correlation must remove the mean
    m[rng.random(shape) < frac_nan] = np.nan
    sac = autocorrelogram(m, min_overlap=4)
    nx, ny = shape
    assert sac.shape == (2 * nx - 1, 2 * ny - 1)
    for dx, dy in [(0, 0), (1, 0), (0, 2), (-2, 1), (3, -3), (nx - 3, 1)]:
        a = m[max(dx, 0) : nx + min(dx, 0), max(dy, 0) : ny + min(dy, 0)]
        b = m[max(-dx, 0) : nx + min(-dx, 0), max(-dy, 0) : ny + min(-dy, 0)]
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() < 4 or np.std(a[ok]) < 1e-9 or np.std(b[ok]) < 1e-9:
            continue
        assert sac[nx - 1 + dx, ny - 1 + dy] == pytest.approx(brute_sac(m, dx, dy), abs=1e-8)


def test_autocorrelogram_stack_equals_single_and_is_point_symmetric():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(3, 15, 12))
    maps[1, :4, :4] = np.nan
    stack = autocorrelogram(maps)
    for k in range(3):
        np.testing.assert_allclose(stack[k], autocorrelogram(maps[k]), equal_nan=True)
    np.testing.assert_allclose(stack, stack[:, ::-1, ::-1], atol=1e-10, equal_nan=True)
    assert np.allclose(stack[:, 14, 11], 1.0)


def test_autocorrelogram_of_constant_map_is_nan():
    assert np.all(np.isnan(autocorrelogram(np.ones((8, 8)))))
    assert np.all(np.isnan(autocorrelogram(np.full((8, 8), np.nan))))


# ----------------------------------------------------------------------------- gridness
def test_vectorised_scores_match_the_reference_loop():
    rng = np.random.default_rng(1)
    p = box_points(1.5)
    maps = [
        grid_rate(p, 0.5, 12.0, (0.1, 0.3)) + 0.2 * rng.normal(size=p.shape[:2]),
        square_rate(p, 0.45, 20.0) + 0.2 * rng.normal(size=p.shape[:2]),
        rng.normal(size=p.shape[:2]),
    ]
    for m in maps:
        ours = grid_scores(m, min_overlap=2)
        ref60, ref90 = reference_scores(m)
        assert ours.score_60 == pytest.approx(ref60, abs=1e-9)
        assert ours.score_90 == pytest.approx(ref90, abs=1e-9)


def test_ideal_hexagonal_maps_with_noise():
    rng = np.random.default_rng(2)
    p = box_points(2.0)
    n = 24
    spacing = rng.uniform(0.4, 1.0, n)
    orientation = rng.uniform(0, 60, n)
    maps = np.stack(
        [
            grid_rate(p, s, o, rng.uniform(-1, 1, 2)) + 0.1 * rng.normal(size=p.shape[:2])
            for s, o in zip(spacing, orientation, strict=True)
        ]
    )
    scores = grid_scores(maps)
    est_s, est_o = grid_spacing_orientation(maps, BIN)
    assert np.all(scores.score_60 > 1.0)
    assert np.all(np.abs(est_s / spacing - 1) < 0.05)
    assert np.all(angle_diff_60(est_o, orientation) < 3.0)
    assert np.all((est_o >= 0) & (est_o < 60))


def test_noise_free_spacing_is_sub_bin_accurate():
    rng = np.random.default_rng(6)
    p = box_points(2.0)
    spacing = rng.uniform(0.3, 0.9, 12)
    maps = np.stack([grid_rate(p, s, rng.uniform(0, 60), rng.uniform(-1, 1, 2)) for s in spacing])
    est, _ = grid_spacing_orientation(maps, BIN)
    assert np.all(np.abs(est - spacing) < 0.1 * BIN)  # a tenth of a bin: peaks interpolated


def test_single_map_returns_floats():
    m = grid_rate(box_points(2.0), 0.6, 25.0)
    g = gridness_score(m)
    s, o = grid_spacing_orientation(m, BIN)
    assert isinstance(g, float) and g > 1.0
    assert isinstance(s, float) and s == pytest.approx(0.6, rel=0.02)
    assert o == pytest.approx(25.0, abs=1.0)


def test_unvisited_quadrant_is_ignored_not_zero_filled():
    rng = np.random.default_rng(3)
    p = box_points(2.0)
    spacing = rng.uniform(0.4, 0.8, 10)
    maps = np.stack([grid_rate(p, s, 17.0, rng.uniform(-1, 1, 2)) for s in spacing])
    maps[:, 20:, 20:] = np.nan  # an L-shaped arena
    s, o = grid_spacing_orientation(maps, BIN)
    assert np.all(gridness_score(maps) > 1.0)
    assert np.all(np.abs(s / spacing - 1) < 0.05)
    assert np.all(angle_diff_60(o, 17.0) < 3.0)


def test_non_grid_maps_score_below_threshold():
    rng = np.random.default_rng(4)
    p = box_points(2.0)
    maps = []
    for _ in range(4):
        maps.append(place_rate(p, rng.uniform(-0.7, 0.7, 2), rng.uniform(0.1, 0.4)))
        maps.append(band_rate(p, rng.uniform(0.3, 0.8), rng.uniform(0, 180), rng.uniform(0, 6)))
        maps.append(ndimage.gaussian_filter(rng.normal(size=p.shape[:2]), rng.uniform(0, 3)))
    maps = np.stack(maps) + 0.05 * rng.normal(size=(12,) + p.shape[:2])
    assert np.all(gridness_score(maps) < 0.3)


def test_square_lattice_scores_high_at_90_and_low_at_60():
    rng = np.random.default_rng(5)
    p = box_points(2.0)
    maps = np.stack(
        [
            square_rate(p, rng.uniform(0.4, 0.8), rng.uniform(0, 90), rng.uniform(-1, 1, 2))
            + 0.1 * rng.normal(size=p.shape[:2])
            for _ in range(6)
        ]
    )
    s = grid_scores(maps)
    assert np.all(s.score_90 > 0.8)
    assert np.all(s.score_60 < 0.3)
    hexagonal = grid_scores(grid_rate(p, 0.5, 0.0))
    assert hexagonal.score_90 < 0.5 < hexagonal.score_60


def test_dead_units_give_nan_not_errors():
    p = box_points(1.0)
    maps = np.stack([np.zeros(p.shape[:2]), np.full(p.shape[:2], np.nan), grid_rate(p, 0.3)])
    s = grid_scores(maps)
    sp, o = grid_spacing_orientation(maps, BIN)
    assert np.isnan(s.score_60[:2]).all() and np.isnan(sp[:2]).all() and np.isnan(o[:2]).all()
    assert np.isfinite(s.score_60[2])


def test_rectangular_maps():
    c1, c2 = np.arange(0.025, 2.0, BIN), np.arange(0.025, 1.5, BIN)
    p = np.stack(np.meshgrid(c1, c2, indexing="ij"), axis=-1)
    m = grid_rate(p, 0.45, 40.0, (0.3, 0.2))
    assert gridness_score(m) > 1.0
    s, o = grid_spacing_orientation(m, BIN)
    assert s == pytest.approx(0.45, rel=0.05)
    assert angle_diff_60(o, 40.0) < 3.0


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda m: grid_scores(m, inner=-0.1), "inner"),
        (lambda m: grid_scores(m, outer=(0.1,)), "outer"),
        (lambda m: gridness_score(m, symmetry=45), "symmetry"),
        (lambda m: grid_spacing_orientation(m, 0.0), "bin_size"),
        (lambda m: autocorrelogram(m, min_overlap=1), "min_overlap"),
        (lambda m: autocorrelogram(m[0, 0]), "ratemap"),
    ],
)
def test_validation_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call(np.random.default_rng(0).normal(size=(10, 10)))
