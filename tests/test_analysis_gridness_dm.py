"""DeepMind's gridness convention (scores.py) on maps whose answers are known, and how it differs
from the package's own convention."""

import numpy as np
import pytest
from scipy import ndimage

from gridnav_agents.analysis.gridness import DEFAULT_INNER, DEFAULT_OUTER, grid_scores
from gridnav_agents.analysis.gridness_dm import grid_scores_dm
from gridnav_agents.analysis.synthetic import band_rate, grid_rate, square_rate

BIN = 0.05


def box_points(size: float) -> np.ndarray:
    c = np.arange(BIN / 2, size, BIN) - size / 2
    return np.stack(np.meshgrid(c, c, indexing="ij"), axis=-1)


def reference_dm(m: np.ndarray, min_max: bool = False) -> tuple[float, float]:
    """One map, one annulus and one angle at a time, written from the steps of scores.py: SAC by
    brute force (undefined lags 0), 2-D scipy rotation, boolean masks, plain means."""
    n = m.shape[0]
    sac = np.zeros((2 * n - 1, 2 * n - 1))
    for dx in range(-(n - 1), n):
        for dy in range(-(n - 1), n):
            a = m[max(dx, 0) : n + min(dx, 0), max(dy, 0) : n + min(dy, 0)]
            b = m[max(-dx, 0) : n + min(-dx, 0), max(-dy, 0) : n + min(-dy, 0)]
            ok = np.isfinite(a) & np.isfinite(b)
            if ok.sum() >= 2 and a[ok].std() > 0 and b[ok].std() > 0:
                sac[dx + n - 1, dy + n - 1] = np.corrcoef(a[ok], b[ok])[0, 1]
    ii, jj = np.mgrid[: 2 * n - 1, : 2 * n - 1] - (n - 1)
    r = np.hypot(ii, jj)
    rotated = {a: ndimage.rotate(sac, a, reshape=False) for a in (30, 45, 60, 90, 120, 135, 150)}
    s60, s90 = [], []
    for outer in DEFAULT_OUTER:
        ring = (r > DEFAULT_INNER * n) & (r <= outer * n)
        mu = sac[ring].mean()
        var = ((sac[ring] - mu) ** 2).mean() + 1e-5
        c = {a: ((sac[ring] - mu) * (rot[ring] - mu)).mean() / var for a, rot in rotated.items()}
        if min_max:
            s60.append(min(c[60], c[120]) - max(c[30], c[90], c[150]))
        else:
            s60.append((c[60] + c[120]) / 2 - (c[30] + c[90] + c[150]) / 3)
        s90.append(c[90] - (c[45] + c[135]) / 2)
    return max(s60), max(s90)


def test_vectorised_scores_match_the_step_by_step_reference():
    rng = np.random.default_rng(0)
    p = box_points(1.0)
    noise = 0.2 * rng.normal(size=(3, *p.shape[:2]))
    maps = np.stack(
        [
            grid_rate(p, 0.35, 12.0, (0.1, 0.05)),
            square_rate(p, 0.3, 20.0),
            rng.normal(size=p.shape[:2]),
        ]
    )
    maps = maps + noise
    maps[0, :4, :6] = np.nan  # unvisited corner
    for min_max in (False, True):
        ours = grid_scores_dm(maps, min_max=min_max)
        for k, m in enumerate(maps):
            ref60, ref90 = reference_dm(m, min_max)
            assert ours.score_60[k] == pytest.approx(ref60, abs=1e-9)
            assert ours.score_90[k] == pytest.approx(ref90, abs=1e-9)


def test_hexagonal_maps_score_high_under_both_conventions():
    rng = np.random.default_rng(1)
    p = box_points(2.0)
    maps = np.stack(
        [
            grid_rate(p, s, rng.uniform(0, 60), rng.uniform(-1, 1, 2))
            + 0.1 * rng.normal(size=p.shape[:2])
            for s in rng.uniform(0.35, 0.9, 8)
        ]
    )
    dm, ours = grid_scores_dm(maps), grid_scores(maps)
    assert np.all(dm.score_60 > 1.0) and np.all(ours.score_60 > 1.0)
    assert np.all(dm.score_90 < 0.5)


def test_band_maps_score_low_under_both_conventions():
    rng = np.random.default_rng(2)
    p = box_points(2.0)
    maps = np.stack(
        [
            band_rate(p, rng.uniform(0.3, 0.8), rng.uniform(0, 180), rng.uniform(0, 6))
            + 0.05 * rng.normal(size=p.shape[:2])
            for _ in range(8)
        ]
    )
    assert np.all(grid_scores_dm(maps).score_60 < 0.3)
    assert np.all(grid_scores(maps).score_60 < 0.3)


def test_square_lattice_scores_high_at_90_and_low_at_60():
    p = box_points(2.0)
    s = grid_scores_dm(square_rate(p, 0.5, 10.0, (0.1, 0.2)))
    assert isinstance(s.score_60, float)
    assert s.score_90 > 0.8 and s.score_60 < 0.3


def test_a_lattice_coarser_than_the_box_scores_higher_by_the_mean_than_by_min_max():
    # The documented difference: the mean over the 60°/120° and 30°/90°/150° correlations can
    # only score above min/max on the same correlations, and does where the six peaks are
    # unequally represented in the annulus, i.e. a lattice of about the box's side or more.
    rng = np.random.default_rng(3)

    def lattices(box: float, spacing: float, k: int = 12) -> np.ndarray:
        p = box_points(box)
        return np.stack(
            [grid_rate(p, spacing, rng.uniform(0, 60), rng.uniform(-1, 1, 2)) for _ in range(k)]
        )

    coarse = lattices(1.0, 1.3)  # 1.3 m lattice, 1 m box
    dm, dm_min_max, ours = (
        grid_scores_dm(coarse).score_60,
        grid_scores_dm(coarse, min_max=True).score_60,
        grid_scores(coarse).score_60,
    )
    assert np.all(dm >= dm_min_max)
    assert np.median(dm - ours) > 0.05 and np.all(dm - ours > -0.05)
    fits = lattices(2.0, 1.3)  # the same lattice in a 2 m box: its first ring fits in the SAC
    assert np.all(np.abs(grid_scores_dm(fits).score_60 - grid_scores(fits).score_60) < 0.05)


def test_dead_maps_are_nan_and_outer_radius_is_in_bins():
    p = box_points(1.0)
    maps = np.stack([np.zeros(p.shape[:2]), np.full(p.shape[:2], np.nan), grid_rate(p, 0.3)])
    s = grid_scores_dm(maps)
    assert np.isnan(s.score_60[:2]).all() and np.isnan(s.outer_60[:2]).all()
    n = p.shape[0]
    assert np.isclose(np.asarray(DEFAULT_OUTER) * n, s.outer_60[2]).any()


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"inner": -0.1}, "inner"), ({"outer": (0.1,)}, "outer"), ({"outer": ()}, "outer")],
)
def test_validation_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        grid_scores_dm(np.random.default_rng(0).normal(size=(10, 10)), **kwargs)
    with pytest.raises(ValueError, match="ratemap"):
        grid_scores_dm(np.zeros(5))
