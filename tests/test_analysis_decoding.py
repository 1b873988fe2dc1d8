"""Position decoding, drift and neural-versus-spatial distance with known answers."""

import numpy as np
import pytest

from gridnav_agents.analysis.decoding import (
    decode_position,
    error_growth,
    neural_vs_spatial_distance,
)
from gridnav_agents.analysis.synthetic import grid_population, population_rates


def grid_code(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    params = grid_population([0.4, 0.57, 0.8], 12, rng)
    pos = rng.uniform(-1, 1, size=(n, 2))
    return population_rates(params, pos), pos


def test_exact_function_of_position_decodes_to_near_zero_error():
    rng = np.random.default_rng(0)
    act, pos = grid_code(12000, rng)
    res = decode_position(act[:10000], pos[:10000], act[10000:], pos[10000:], rng=rng)
    assert res.median_m < 0.02
    assert res.mean_m < 0.03
    assert res.chance_m == pytest.approx(0.765, rel=0.1)  # mean distance to the centre
    assert res.errors.shape == (2000,)


def test_shuffled_activity_decodes_no_better_than_chance():
    rng = np.random.default_rng(1)
    act, pos = grid_code(8000, rng)
    act = act[rng.permutation(len(act))]
    res = decode_position(act[:6000], pos[:6000], act[6000:], pos[6000:], rng=rng)
    assert res.mean_m > 0.95 * res.chance_m


def test_error_growth_recovers_a_linear_drift():
    rng = np.random.default_rng(2)
    steps = np.arange(200)
    errors = 0.1 + 0.002 * steps + 0.01 * rng.normal(size=(20, 200))
    centres, means, slope = error_growth(errors, n_bins=10)
    assert slope == pytest.approx(0.002, rel=0.05)
    assert centres.shape == means.shape == (10,)
    np.testing.assert_allclose(means, 0.1 + 0.002 * centres, atol=0.01)


def test_linear_code_has_neural_distance_equal_to_separation():
    rng = np.random.default_rng(3)
    pos = rng.uniform(-1, 1, size=(5000, 2))
    act = np.concatenate([pos, np.zeros((5000, 3))], axis=1)  # identity code plus dead units
    sep, dist, decor = neural_vs_spatial_distance(act, pos, rng, n_pairs=20000, n_bins=20)
    ok = np.isfinite(dist)
    np.testing.assert_allclose(dist[ok], sep[ok], atol=0.05)
    # d(s) = s: the curve reaches d0 + (1 - 1/e)(plateau - d0) where s equals that level.
    plateau = sep[ok][ok.sum() // 2 :].mean()
    level = sep[0] + (1 - np.exp(-1)) * (plateau - sep[0])
    assert decor == pytest.approx(level, abs=0.05)


def test_grid_code_decorrelates_within_a_fraction_of_the_smallest_period():
    rng = np.random.default_rng(4)
    act, pos = grid_code(6000, rng)
    _, _, decor = neural_vs_spatial_distance(act, pos, rng, n_pairs=30000)
    assert 0.03 < decor < 0.4  # smallest period 0.4 m


def test_validation():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_neighbors"):
        decode_position(
            np.zeros((20, 2)), np.zeros((20, 2)), np.zeros((5, 2)), np.zeros((5, 2)), n_neighbors=0
        )
    with pytest.raises(ValueError, match="positions"):
        decode_position(np.zeros((20, 2)), np.zeros((19, 2)), np.zeros((5, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="n_bins"):
        error_growth(np.zeros((2, 5)), n_bins=10)
    with pytest.raises(ValueError, match="n_pairs"):
        neural_vs_spatial_distance(np.zeros((5, 2)), np.zeros((5, 2)), rng, n_pairs=0)
