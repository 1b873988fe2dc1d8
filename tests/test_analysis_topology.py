"""Persistent-homology Betti numbers of point clouds with known topology."""

import numpy as np
import pytest

from gridnav_agents.analysis.topology import (
    betti_from_diagrams,
    embed_3d,
    pca_project,
    torus_betti,
)


def embed(points: np.ndarray, dim: int, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Rotate ``points`` into ``dim`` dimensions at random and add isotropic noise."""
    q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return points @ q[: points.shape[1]] + noise * rng.normal(size=(len(points), dim))


def test_torus_in_higher_dimensions_is_1_2_1():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 2 * np.pi, size=(2, 3000))
    torus = np.stack([np.cos(a), np.sin(a), np.cos(b), np.sin(b)], axis=1)
    res = torus_betti(embed(torus, 12, rng, 0.05), rng)
    assert res.betti == (1, 2, 1)
    assert res.is_torus


def test_circle_is_1_1_0():
    rng = np.random.default_rng(1)
    t = rng.uniform(0, 2 * np.pi, 3000)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)
    res = torus_betti(embed(circle, 12, rng, 0.05), rng, n_landmarks=150)
    assert res.betti == (1, 1, 0)
    assert not res.is_torus


def test_two_blobs_have_two_components_and_no_loops():
    rng = np.random.default_rng(2)
    blobs = np.concatenate([rng.normal(size=(400, 8)), rng.normal(size=(400, 8)) + 12.0])
    res = torus_betti(blobs, rng, n_landmarks=120, maxdim=1)
    assert res.betti == (2, 0)


def test_betti_from_handmade_diagrams():
    inf = np.inf
    h0 = np.array([[0, 0.1], [0, 0.12], [0, 0.11], [0, inf]])
    h1 = np.array([[0.2, 1.5], [0.3, 1.6], [0.2, 0.45], [0.1, 0.3]])
    h2 = np.array([[0.5, 1.4], [0.5, 0.6]])
    betti, lifetimes = betti_from_diagrams([h0, h1, h2])
    assert betti == (1, 2, 1)
    np.testing.assert_allclose(lifetimes[1], [1.3, 1.3, 0.25, 0.2])
    # Bars of gradually decreasing length: no clear gap, nothing counted.
    even = np.stack([np.zeros(6), np.linspace(1.0, 0.5, 6)], axis=1)
    assert betti_from_diagrams([h0, even])[0] == (1, 0)


def test_pca_and_embedding_shapes():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 10))
    assert pca_project(x, 6).shape == (300, 6)
    emb, idx = embed_3d(x, rng, n_points=100)
    assert emb.shape == (100, 3) and len(np.unique(idx)) == 100


@pytest.mark.parametrize(
    ("kwargs", "name"), [({"n_landmarks": 0}, "n_landmarks"), ({"n_components": 0}, "n_components")]
)
def test_validation_names_the_parameter(kwargs, name):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=name):
        torus_betti(rng.normal(size=(50, 5)), rng, **kwargs)
    with pytest.raises(ValueError, match="activity"):
        torus_betti(np.zeros(5), rng)


def test_whitening_recovers_a_squashed_grid_torus():
    # A hexagonal grid module whose 6 principal components have very unequal variances.
    rng = np.random.default_rng(4)
    ang = np.deg2rad(30.0 + 120.0 * np.arange(3))
    k = 4 * np.pi / (np.sqrt(3) * 0.5) * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    pos = rng.uniform(-1, 1, size=(3000, 2))
    phase = pos @ k.T
    states = np.concatenate([np.cos(phase), np.sin(phase)], axis=1) * [1, 1, 0.4, 1, 0.25, 0.4]
    states = embed(states, 10, rng, 0.01)
    assert torus_betti(states, rng, whiten=True).betti == (1, 2, 1)
    assert pca_project(states, 6, whiten=True).std(axis=0) == pytest.approx(np.ones(6))
