import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from gridnav_env import Arena


def l_shape() -> Arena:
    return Arena([(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)])


def box_with_wall() -> Arena:
    """A 2 m box with a thin internal wall (a 0.02 m thick hole) from x=-0.5 to x=0.5 at y=0."""
    outer = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    hole = [(-0.5, -0.01), (0.5, -0.01), (0.5, 0.01), (-0.5, 0.01)]
    return Arena(Polygon(outer, [hole]))


def test_box_geometry():
    a = Arena.box(2.0)
    assert a.bounds == (-1.0, -1.0, 1.0, 1.0)
    assert a.area == pytest.approx(4.0)
    pts = np.array([[0, 0], [0.9, 0.5], [1.1, 0], [0, -1.5]])
    np.testing.assert_array_equal(a.contains(pts), [True, True, False, False])
    d, n = a.wall_distance(np.array([[0.0, 0.0], [0.9, 0.5], [-0.7, -0.95]]))
    np.testing.assert_allclose(d, [1.0, 0.1, 0.05])
    np.testing.assert_allclose(n[1], [-1, 0], atol=1e-12)  # right wall pushes left
    np.testing.assert_allclose(n[2], [0, 1], atol=1e-12)  # bottom wall pushes up


def test_rectangle_and_hole_normals_point_inside():
    a = box_with_wall()
    # Just above the internal wall the nearest wall's inward normal points up (+y).
    d, n = a.wall_distance(np.array([[0.0, 0.05], [0.0, -0.05]]))
    np.testing.assert_allclose(d, [0.04, 0.04])
    np.testing.assert_allclose(n, [[0, 1], [0, -1]], atol=1e-12)
    r = Arena.rectangle(3.0, 1.0)
    assert r.bounds == (-1.5, -0.5, 1.5, 0.5)


def test_sample_uniform_inside_l_shape():
    a = l_shape()
    pts = a.sample(20000, np.random.default_rng(0))
    assert pts.shape == (20000, 2) and a.contains(pts).all()
    # The L has three unit squares: each should get a third of the samples.
    upper = (pts[:, 1] > 1).mean()
    assert upper == pytest.approx(1 / 3, abs=0.02)


def test_reflect_known_bounce():
    a = Arena.box(2.0)
    end, heading = a.reflect(np.array([[0.8, 0.0]]), np.array([[0.4, 0.1]]))
    np.testing.assert_allclose(end, [[0.8, 0.1]], atol=1e-8)  # 0.2 to the wall, 0.2 back
    np.testing.assert_allclose(heading, [[-0.4, 0.1]])


def test_reflect_does_not_jump_thin_wall():
    a = box_with_wall()
    end, _ = a.reflect(np.array([[0.0, 0.1]]), np.array([[0.0, -0.3]]))
    assert end[0, 1] > 0.01  # bounced back above the wall, never through it


@pytest.mark.parametrize(
    "bad",
    [
        [(0, 0), (1, 1), (1, 0), (0, 1)],  # bow-tie: self-intersecting
        [(0, 0), (1, 0), (np.nan, 1)],
        [(0, 0), (1, 0)],
    ],
)
def test_invalid_polygons_raise(bad):
    with pytest.raises(ValueError, match="polygon"):
        Arena(bad)


@pytest.mark.parametrize("size", [0, -1.0, np.inf, np.nan])
def test_invalid_box_size_raises(size):
    with pytest.raises(ValueError, match="size"):
        Arena.box(size)


@settings(max_examples=40, deadline=None)
@given(
    start=st.tuples(st.floats(0.05, 1.95), st.floats(0.05, 0.95)),
    steps=st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3)), min_size=1, max_size=30),
)
def test_no_escape_from_non_convex_arena(start, steps):
    a = l_shape()
    p = np.array([start])
    for s in steps:
        p, _ = a.reflect(p, np.array([s]))
        assert a.contains(p).all()
