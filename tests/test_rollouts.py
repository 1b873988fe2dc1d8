import numpy as np
import pytest

from gridnav_env import SmoothMotion, independent_rollouts, permuted_rollouts


def test_permuted_rollouts_share_start_and_end():
    r = permuted_rollouts(130, 60, np.random.default_rng(0), start=[0.3, -0.2])
    assert r.velocities.shape == (60, 2) and r.perms.shape == (130, 60)
    assert r.positions.shape == (130, 60, 2)
    np.testing.assert_array_equal(np.sort(r.perms, axis=1), np.tile(np.arange(60), (130, 1)))
    # Known displacement: every trajectory ends at start + sum of all velocities.
    end = np.array([0.3, -0.2]) + r.velocities.sum(axis=0)
    np.testing.assert_allclose(r.positions[:, -1], np.broadcast_to(end, (130, 2)), atol=1e-12)
    # positions are the cumulative sums of the permuted velocities
    np.testing.assert_allclose(np.diff(r.positions, axis=1), r.batch_velocities[:, 1:], atol=1e-12)
    np.testing.assert_allclose(r.positions[:, 0], r.start + r.batch_velocities[:, 0])
    assert len({tuple(p) for p in r.perms}) > 100  # the permutations differ


def test_permuted_rollouts_with_smooth_source_and_seed():
    a = permuted_rollouts(4, 10, np.random.default_rng(3), motion=SmoothMotion())
    b = permuted_rollouts(4, 10, np.random.default_rng(3), motion=SmoothMotion())
    np.testing.assert_array_equal(a.perms, b.perms)
    np.testing.assert_array_equal(a.velocities, b.velocities)


def test_independent_rollouts():
    r = independent_rollouts(5, 12, np.random.default_rng(0))
    assert r.perms is None and r.velocities.shape == (5, 12, 2)
    np.testing.assert_allclose(r.positions[:, -1], r.velocities.sum(axis=1))
    assert not np.allclose(r.positions[0, -1], r.positions[1, -1])


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_perms"):
        permuted_rollouts(0, 10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="start"):
        permuted_rollouts(2, 10, np.random.default_rng(0), start=[np.inf, 0])
