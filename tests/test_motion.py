import numpy as np
import pytest

from gridnav_env import Arena, SmoothMotion, UniformVelocity
from tests.test_arena import box_with_wall, l_shape


def test_uniform_open_plane_invariants():
    rng = np.random.default_rng(1)
    tr = UniformVelocity(0.15).rollout(8, 500, rng)
    assert tr.positions.shape == (8, 501, 2) and tr.velocities.shape == (8, 500, 2)
    np.testing.assert_allclose(np.diff(tr.positions, axis=1), tr.velocities)
    assert np.abs(tr.velocities).max() <= 0.15
    # Uniform(-a, a) has variance a²/3 per axis.
    assert tr.velocities.var() == pytest.approx(0.15**2 / 3, rel=0.05)
    np.testing.assert_allclose(tr.positions[:, -1], tr.velocities.sum(axis=1), atol=1e-12)


def test_uniform_drift_gives_each_agent_a_mean_step_of_that_length():
    # 400 agents of 2,000 steps: the mean step of each is its drift vector plus noise of std
    # 0.15/sqrt(3)/sqrt(2000) = 0.002 m per axis.
    tr = UniformVelocity(0.15, drift=0.1).rollout(400, 2000, np.random.default_rng(3))
    mean_step = tr.velocities.mean(axis=1)
    np.testing.assert_allclose(np.linalg.norm(mean_step, axis=1), 0.1, atol=0.01)
    heading = np.arctan2(mean_step[:, 1], mean_step[:, 0])
    assert abs(np.exp(1j * heading).mean()) < 0.15  # directions spread over the circle
    # Around its drift each agent's steps are still Uniform(-0.15, 0.15) per axis.
    residual = (
        tr.velocities - 0.1 * mean_step[:, None] / np.linalg.norm(mean_step, axis=1)[:, None, None]
    )
    assert np.abs(residual).max() <= 0.15 + 0.01
    assert residual.var() == pytest.approx(0.15**2 / 3, rel=0.05)


def test_zero_drift_draws_the_same_stream_as_before():
    a = UniformVelocity(0.15).rollout(4, 50, np.random.default_rng(5))
    b = UniformVelocity(0.15, drift=0.0).rollout(4, 50, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    np.testing.assert_allclose(a.velocities, rng.uniform(-0.15, 0.15, size=(4, 50, 2)), atol=1e-12)
    np.testing.assert_array_equal(a.positions, b.positions)


@pytest.mark.parametrize("arena", [Arena.box(1.0), l_shape(), box_with_wall()])
@pytest.mark.parametrize("model", [UniformVelocity(0.15), SmoothMotion(speed_mean=0.4)])
def test_no_escape_long_rollouts(arena, model):
    tr = model.rollout(64, 2000, np.random.default_rng(2), arena=arena)
    assert arena.contains(tr.positions.reshape(-1, 2)).all()
    np.testing.assert_allclose(np.diff(tr.positions, axis=1), tr.velocities, atol=1e-12)


def test_smooth_never_crosses_internal_wall():
    """Agents starting above the internal wall stay above it while they are in its x-range."""
    arena = box_with_wall()
    tr = SmoothMotion(speed_mean=0.5).rollout(
        32, 1000, np.random.default_rng(3), arena=arena, start=[0.0, 0.3]
    )
    p = tr.positions
    seg_a, seg_b = p[:, :-1], p[:, 1:]
    # A crossing of y=0 with |x| < 0.5 between two consecutive positions would go through the wall.
    crosses = (np.sign(seg_a[..., 1]) != np.sign(seg_b[..., 1])) & (np.abs(seg_a[..., 0]) < 0.49)
    assert not crosses.any()


def test_smooth_speed_statistics_match_theory():
    m = SmoothMotion()
    tr = m.rollout(512, 2000, np.random.default_rng(4), arena=Arena.box(200.0), start=[0, 0])
    speed = np.linalg.norm(tr.velocities[:, 200:], axis=-1) / m.dt
    # Rayleigh(sigma = speed_mean): mean sigma*sqrt(pi/2), std sigma*sqrt((4-pi)/2).
    assert speed.mean() == pytest.approx(m.speed_mean * np.sqrt(np.pi / 2), rel=0.03)
    assert speed.std() == pytest.approx(m.speed_mean * np.sqrt((4 - np.pi) / 2), rel=0.05)
    # Rotational velocity: an Euler-discretised OU process x' = (1 - a) x + s sqrt(2a) N with
    # a = dt / tau has stationary std s sqrt(2a / (1 - (1 - a)^2)); the heading turns by x dt.
    ang = np.angle(tr.velocities[..., 0] + 1j * tr.velocities[..., 1])
    dtheta = np.angle(np.exp(1j * np.diff(ang, axis=1)))
    a = m.dt / m.rotational_velocity_coherence_time
    expected = m.rotational_velocity_std * np.sqrt(2 * a / (1 - (1 - a) ** 2)) * m.dt
    assert dtheta.std() == pytest.approx(expected, rel=0.1)


def test_walls_repel_and_thigmotaxis_hugs():
    """thigmotaxis=0: the spring repulsion halves time near walls; thigmotaxis=1: the conveyor
    drift keeps the heading into the wall, so the agent hugs it (RatInABox's semantics)."""
    arena = Arena.box(1.0)
    rng = np.random.default_rng(5)

    def near_wall(**kw):
        t = SmoothMotion(speed_mean=0.2, **kw).rollout(256, 1500, rng, arena=arena)
        return (arena.wall_distance(t.positions[:, 100:])[0] < 0.05).mean()

    free = near_wall(wall_repel_strength=0.0)
    assert near_wall(thigmotaxis=0.0) < 0.7 * free
    assert near_wall(thigmotaxis=1.0) > 1.3 * free


def test_seeded_rollouts_are_reproducible():
    arena = l_shape()
    a = SmoothMotion().rollout(4, 300, np.random.default_rng(7), arena=arena)
    b = SmoothMotion().rollout(4, 300, np.random.default_rng(7), arena=arena)
    c = SmoothMotion().rollout(4, 300, np.random.default_rng(8), arena=arena)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert not np.allclose(a.positions, c.positions)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"dt": 0}, "dt"),
        ({"speed_mean": -1}, "speed_mean"),
        ({"thigmotaxis": 1.5}, "thigmotaxis"),
        ({"rotational_velocity_std": np.nan}, "rotational_velocity_std"),
        ({"wall_repel_distance": 0}, "wall_repel_distance"),
    ],
)
def test_smooth_bad_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SmoothMotion(**kwargs)


def test_smooth_dt_is_bounded_where_the_ou_updates_stop_diverging():
    # rotational_velocity_coherence_time 0.08 s: the update multiplies by 1 - dt/0.08, whose
    # magnitude is < 1 (stable) for dt < 0.16 s and >= 1 from there on.
    tr = SmoothMotion(dt=0.159).rollout(8, 2000, np.random.default_rng(0))
    assert np.all(np.isfinite(tr.positions))
    for dt in (0.16, 1.0):
        with pytest.raises(ValueError, match="dt must be below twice the shorter coherence time"):
            SmoothMotion(dt=dt)
    SmoothMotion(dt=0.3, rotational_velocity_coherence_time=0.2)  # bound follows the times
    with pytest.raises(ValueError, match=r"dt must be below .*\(0\.4 s"):
        SmoothMotion(dt=0.5, rotational_velocity_coherence_time=0.2, speed_coherence_time=0.2)


def test_bad_rollout_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="max_step"):
        UniformVelocity(-0.1)
    with pytest.raises(ValueError, match="drift"):
        UniformVelocity(0.15, drift=-0.05)
    with pytest.raises(ValueError, match="n_agents"):
        UniformVelocity().rollout(0, 10, rng)
    with pytest.raises(ValueError, match="n_steps"):
        SmoothMotion().rollout(1, 2.5, rng)
    with pytest.raises(ValueError, match="start"):
        SmoothMotion().rollout(1, 5, rng, arena=Arena.box(1.0), start=[3.0, 0.0])


def test_single_agent_fast_path_matches_vectorised_step():
    """The env's float fast path is the same dynamics as the vectorised step (walls included)."""
    arena = l_shape()
    m = SmoothMotion(speed_mean=0.3)
    rng = np.random.default_rng(11)
    pos, (vel, rot) = np.array([[0.05, 0.3]]), m.initial_state(1, rng)
    state = (pos[0, 0], pos[0, 1], vel[0, 0], vel[0, 1], rot[0])
    for _ in range(400):
        seed = int(rng.integers(1 << 30))
        pos, vel, rot = m.step(pos, vel, rot, np.random.default_rng(seed), arena)
        noise_rng = np.random.default_rng(seed)
        noise = (noise_rng.standard_normal(1)[0], noise_rng.standard_normal(1)[0])
        state = m.step_single(state, noise, arena)
        np.testing.assert_allclose(state, [*pos[0], *vel[0], rot[0]], rtol=1e-7, atol=1e-9)


def test_scale_spread_multiplies_each_step_by_a_log_uniform_factor():
    from scipy.stats import kstest

    plain = UniformVelocity(0.15).sample((4000,), np.random.default_rng(3))
    spread = UniformVelocity(0.15, scale_spread=8.0).sample((4000,), np.random.default_rng(3))
    factor = spread / plain  # same uniform draw first, then one factor per step
    assert np.allclose(factor[:, 0], factor[:, 1])
    log_f = np.log(factor[:, 0])
    assert log_f.min() >= -np.log(8) and log_f.max() <= np.log(8)
    assert kstest(log_f, "uniform", args=(-np.log(8), 2 * np.log(8))).pvalue > 0.01
    # lengths span the range: the longest steps are ~8× the paper's, the shortest ~1/8
    length = np.linalg.norm(spread, axis=1)
    assert length.max() > 4 * 0.15 * np.sqrt(2) / 2 and np.median(length) < 0.4


def test_no_spread_draws_the_same_stream_as_before():
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    UniformVelocity(0.15).sample((10,), a)
    UniformVelocity(0.15, scale_spread=1.0).sample((10,), b)
    assert a.bit_generator.state == b.bit_generator.state
    with pytest.raises(ValueError, match="scale_spread"):
        UniformVelocity(0.15, scale_spread=0.5)


def test_rollout_sequential_is_rollout_one_agent_at_a_time():
    """One agent: the float fast path draws the same numbers in the same order as rollout, so
    the trajectories agree; several agents stay inside the arena and are seeded."""
    arena, m = l_shape(), SmoothMotion(speed_mean=0.3)
    a = m.rollout(1, 600, np.random.default_rng(4), arena=arena)
    b = m.rollout_sequential(1, 600, np.random.default_rng(4), arena=arena)
    np.testing.assert_allclose(b.positions, a.positions, atol=1e-9)
    np.testing.assert_allclose(b.velocities, np.diff(b.positions, axis=1))
    starts = np.array([[0.05, 0.3], [0.3, 0.05], [0.1, 0.1]])
    c = m.rollout_sequential(3, 400, np.random.default_rng(5), arena=arena, start=starts)
    d = m.rollout_sequential(3, 400, np.random.default_rng(5), arena=arena, start=starts)
    assert c.positions.shape == (3, 401, 2) and c.dt == m.dt
    np.testing.assert_array_equal(c.positions[:, 0], starts)
    np.testing.assert_array_equal(c.positions, d.positions)
    assert np.all(arena.contains(c.positions.reshape(-1, 2)))
    with pytest.raises(ValueError, match="arena"):
        m.rollout_sequential(1, 5, np.random.default_rng(0), arena=None)
    with pytest.raises(ValueError, match="n_agents"):
        m.rollout_sequential(0, 5, np.random.default_rng(0), arena=arena)
