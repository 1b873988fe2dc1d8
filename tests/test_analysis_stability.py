"""Long-horizon stability with known answers: exact, gain-error, biased and noisy integrators.

The codes are ideal grid cells (``analysis.synthetic``) of a "believed" position: the true
position (an exact integrator), ``p0 + 0.98 (p - p0)`` (a 2 % gain error), the true position
plus a jump or plus a random walk (diffusion). Each case has an answer derived here from the
trajectories used, not taken from the code under test.
"""

import numpy as np
import pytest

from gridnav_agents.analysis.ratemaps import ratemaps
from gridnav_agents.analysis.stability import (
    agent_gridness,
    map_correlation,
    map_stability,
    phase_drift,
    phase_error,
    window_edges,
)
from gridnav_agents.analysis.synthetic import (
    SyntheticGridEncoder,
    grid_population,
    grid_rate,
    population_rates,
)
from gridnav_env import Arena, SmoothMotion

BIN = 0.05


def reference(params, x0, x1, y0, y1, b=BIN):
    """Population vectors ``(B, N)`` of a code at the centres ``(B, 2)`` of ``b``-metre bins."""
    xs, ys = np.arange(x0 + b / 2, x1, b), np.arange(y0 + b / 2, y1, b)
    xy = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1).reshape(-1, 2)
    return population_rates(params, xy), xy


@pytest.fixture(scope="module")
def smooth_paths():
    """Smooth trajectories in a 2 m box from its centre, 23 motion steps per encoder step (as
    the analysis runs them): 40 of 70 steps (the reference) and 3 of 3,000 steps."""
    arena, motion, k = Arena.box(2.0), SmoothMotion(), 23
    rng = np.random.default_rng(0)
    short = motion.rollout(40, 70 * k, rng, arena=arena, start=np.zeros(2)).positions[:, k::k]
    long = motion.rollout_sequential(3, 3000 * k, rng, arena=arena, start=np.zeros(2))
    return arena, short, long.positions[:, k::k]


# ------------------------------------------------------------------------------- windows, maps


def test_window_edges_grow_fourfold_from_the_reference_length():
    np.testing.assert_array_equal(window_edges(70, 10_000), [0, 70, 280, 1120, 4480, 10_000])
    np.testing.assert_array_equal(window_edges(50, 800, factor=2), [0, 50, 100, 200, 400, 800])
    np.testing.assert_array_equal(window_edges(100, 60), [0, 60])
    with pytest.raises(ValueError, match="ref_steps"):
        window_edges(0, 100)
    with pytest.raises(ValueError, match="factor"):
        window_edges(10, 100, factor=1)


def test_map_correlation_of_shifted_lattices():
    """Three cosines with wavevectors k_a: a map shifted by s correlates mean_a cos(k_a·s) with
    the original (the cosines are orthogonal over whole periods). Half the spacing along a
    lattice axis gives cos(π), cos(-π), cos(0): -1/3."""
    spacing = 0.5
    xs = np.arange(BIN / 2, 2.0, BIN)  # 2 m = 4 spacings along x
    xy = np.stack(np.meshgrid(xs, xs, indexing="ij"), -1)
    base = grid_rate(xy, spacing)[None]
    half = grid_rate(xy, spacing, offset=(spacing / 2, 0.0))[None]
    np.testing.assert_allclose(map_correlation(base, base), [1.0])
    np.testing.assert_allclose(map_correlation(-base, base), [-1.0])
    assert map_correlation(half, base)[0] == pytest.approx(-1 / 3, abs=0.03)
    # only bins valid in both count; too few shared bins give NaN
    holes = base.copy()
    holes[0, :20] = np.nan
    assert map_correlation(holes, base)[0] == pytest.approx(1.0)
    sparse = np.full_like(base, np.nan)
    sparse[0, 0, :10] = base[0, 0, :10]
    assert np.isnan(map_correlation(sparse, base, min_bins=20)[0])
    with pytest.raises(ValueError, match="reference"):
        map_correlation(base, base[:, :-1])


def test_map_stability_sees_a_phase_jump_in_the_windows_after_it(smooth_paths):
    """Exact code: every window's maps match the reference. A jump of half the spacing at step
    280 leaves the windows before it at ~1 and puts those after at -1/3."""
    arena, short, long = smooth_paths
    params = grid_population([0.5], 16, np.random.default_rng(1), orientations_deg=[0.0])
    ref = ratemaps(population_rates(params, short).reshape(-1, 16), short.reshape(-1, 2), arena)
    edges = window_edges(70, 3000)  # 0, 70, 280, 1120, 3000
    exact = map_stability(population_rates(params, long), long, ref, arena, edges)
    assert np.all(exact.correlation > 0.9)
    np.testing.assert_array_equal(exact.n_traj, [3, 3, 3, 3])
    np.testing.assert_array_equal(exact.n_samples, 3 * np.diff(edges))
    jump = np.where(np.arange(3000)[:, None] >= 280, [0.25, 0.0], 0.0)
    jumped = map_stability(population_rates(params, long + jump), long, ref, arena, edges)
    assert np.all(jumped.correlation[:2] > 0.9)
    np.testing.assert_allclose(jumped.correlation[2:], -1 / 3, atol=0.06)
    # trajectories of several lengths: each window pools those that cover it
    mixed = map_stability(
        [*population_rates(params, short), *population_rates(params, long)],
        [*short, *long],
        ref,
        arena,
        edges,
    )
    np.testing.assert_array_equal(mixed.n_traj, [43, 3, 3, 3])
    assert mixed.unit_correlation.shape == (4, 16)
    # units outside the mask do not enter the median
    units = np.zeros(16, bool)
    units[:1] = True
    one = map_stability(population_rates(params, long), long, ref, arena, edges, units=units)
    np.testing.assert_allclose(one.correlation, exact.unit_correlation[:, 0])
    with pytest.raises(ValueError, match="edges"):
        map_stability(population_rates(params, long), long, ref, arena, [0, 100, 50])


def test_smoothing_keeps_the_lattice_and_averages_sampling_noise(smooth_paths):
    """A Gaussian blur scales the lattice's three cosines alike, so a shifted lattice still
    correlates -1/3; noise added to every sample lowers the correlation of the sparse window
    maps, less so once they are smoothed."""
    arena, short, long = smooth_paths
    params = grid_population([0.5], 16, np.random.default_rng(1), orientations_deg=[0.0])
    ref = ratemaps(population_rates(params, short).reshape(-1, 16), short.reshape(-1, 2), arena)
    edges = window_edges(70, 3000)
    jump = np.where(np.arange(3000)[:, None] >= 280, [0.25, 0.0], 0.0)
    rates = population_rates(params, long + jump)
    smoothed = map_stability(rates, long, ref, arena, edges, smoothing_m=0.05)
    assert np.all(smoothed.correlation[:2] > 0.9)
    np.testing.assert_allclose(smoothed.correlation[2:], -1 / 3, atol=0.06)
    noisy = population_rates(params, long) + np.random.default_rng(2).normal(0, 0.3, rates.shape)
    raw = map_stability(noisy, long, ref, arena, edges)
    blurred = map_stability(noisy, long, ref, arena, edges, smoothing_m=0.05)
    assert np.all(raw.correlation < 0.9) and np.all(blurred.correlation > raw.correlation + 0.1)
    with pytest.raises(ValueError, match="smoothing_m"):
        map_stability(rates, long, ref, arena, edges, smoothing_m=-1.0)


def test_agent_gridness_counts_grid_units_in_each_long_trajectory(smooth_paths):
    """Each long trajectory covers the box: its own late maps of an exact code are all grid
    cells; a code whose phase is redrawn at every step has none."""
    arena, short, long = smooth_paths
    params = grid_population([0.5], 16, np.random.default_rng(2), orientations_deg=[10.0])
    exact = agent_gridness(population_rates(params, long), long, arena, start=1000, stop=3000)
    np.testing.assert_array_equal(exact, [1.0, 1.0, 1.0])
    lost = long + np.random.default_rng(3).uniform(-1, 1, long.shape)
    random = agent_gridness(population_rates(params, lost), long, arena, start=1000, stop=3000)
    assert random.shape == (3,) and np.all(random <= 0.2)
    # short trajectories do not count; with a unit mask the fraction is over the masked units
    units = np.arange(16) < 4
    mixed = agent_gridness(
        [*population_rates(params, short), *population_rates(params, long)],
        [*short, *long],
        arena,
        start=1000,
        stop=3000,
        units=units,
    )
    np.testing.assert_array_equal(mixed, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="start"):
        agent_gridness(population_rates(params, long), long, arena, start=500, stop=400)


# ------------------------------------------------------------------------------- phase error


def test_phase_error_reads_offsets_within_the_radius_and_wraps_larger_ones():
    spacing = 0.6
    params = grid_population([spacing], 24, np.random.default_rng(4), orientations_deg=[0.0])
    ref, xy = reference(params, -1.5, 1.5, -1.5, 1.5)
    pos = np.random.default_rng(5).uniform(-0.8, 0.8, (200, 2))
    exact = phase_error(population_rates(params, pos), pos, ref, xy, spacing / 2)
    assert np.all(np.linalg.norm(exact, axis=1) <= BIN)
    offset = np.array([0.12, -0.07])
    shifted = phase_error(population_rates(params, pos + offset), pos, ref, xy, spacing / 2)
    assert np.all(np.linalg.norm(shifted - offset, axis=1) <= BIN)
    np.testing.assert_allclose(shifted.mean(axis=0), offset, atol=0.01)
    # one lattice vector (spacing along the orientation) is invisible: the error wraps to ~0
    wrapped = phase_error(population_rates(params, pos + [spacing, 0]), pos, ref, xy, spacing / 2)
    assert np.all(np.linalg.norm(wrapped, axis=1) <= BIN)
    # positions outside the reference, non-finite positions and zero states give NaN
    odd = phase_error(
        np.vstack([population_rates(params, pos[:2]), np.zeros((1, 24))]),
        np.array([[5.0, 5.0], [np.nan, 0.0], [0.0, 0.0]]),
        ref,
        xy,
        0.3,
    )
    assert np.all(np.isnan(odd))
    with pytest.raises(ValueError, match="radius_m"):
        phase_error(population_rates(params, pos), pos, ref, xy, 0.0)
    with pytest.raises(ValueError, match="ref_states"):
        phase_error(population_rates(params, pos), pos, ref[:, :3], xy, 0.3)


# ------------------------------------------------------------------------------- phase drift


def test_phase_drift_fits_recover_an_exact_systematic_and_diffusive_growth():
    """e_i(t) = a + u t + c_i √t with mean-zero c_i of unbiased variance s²: the mean error is
    a + u t and the spread² exactly s² t, so the fits return |u| and s exactly."""
    t = np.arange(1, 201)[None, :, None]
    c = np.array([[0.02, 0.0], [-0.02, 0.0], [0.0, 0.01], [0.0, -0.01]])
    u, a = np.array([0.001, -0.002]), np.array([0.01, 0.0])
    d = phase_drift(a + u * t + c[:, None] * np.sqrt(t), threshold_m=2.0)
    assert d.fit_steps == 200
    assert d.systematic_m_per_step == pytest.approx(np.linalg.norm(u), rel=1e-9)
    assert d.systematic_direction_deg == pytest.approx(np.rad2deg(np.arctan2(-2, 1)))
    np.testing.assert_allclose(d.systematic_intercept_m, a, atol=1e-12)
    s2 = np.sum(c**2) / (len(c) - 1)
    assert d.diffusive_m_per_sqrt_step == pytest.approx(np.sqrt(s2), rel=1e-9)
    assert d.diffusive_floor_m2 == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(d.spread_m, np.sqrt(s2 * t.ravel()), rtol=1e-9)
    np.testing.assert_allclose(d.systematic_fit_m(), np.linalg.norm(a + u * t[0], axis=1))
    # by step 200 the mean has moved |u|·200 = 0.45 m, the spread √(s²·200) = 0.26 m
    assert d.kind == "systematic"


def test_phase_drift_first_exit_and_fit_range():
    """Two trajectories with |e| = 0.01 √t in opposite directions leave a 0.1 m threshold at
    the first t with 0.01 √t > 0.1 (t = 101); the fit stops where the median first exceeds
    fit_max_m (0.05 m: t = 26)."""
    t = np.arange(1, 151)[None, :, None]
    e = np.array([[1.0, 0.0], [-1.0, 0.0]])[:, None] * 0.01 * np.sqrt(t)
    d = phase_drift(e, threshold_m=0.1)
    np.testing.assert_array_equal(d.first_exit_step, [101, 101])
    assert d.steps_within == 101 and d.fit_steps == 25
    assert d.systematic_m_per_step == pytest.approx(0.0, abs=1e-12)
    assert d.kind == "diffusive"
    never = phase_drift(e, threshold_m=1.0)
    assert np.all(np.isinf(never.first_exit_step)) and np.isinf(never.steps_within)
    assert phase_drift(e, threshold_m=1.0, resolution_m=0.5).kind == "none"
    with pytest.raises(ValueError, match="errors"):
        phase_drift(e[:1], threshold_m=0.1)
    with pytest.raises(ValueError, match="threshold_m"):
        phase_drift(e, threshold_m=-1.0)


def _decoded_drift(params, believed, true, spacing, bounds):
    ref, xy = reference(params, *bounds)
    radius = spacing / 2
    errors = phase_error(population_rates(params, believed), true, ref, xy, radius)
    return errors, phase_drift(errors, 0.9 * radius, resolution_m=BIN)


def test_exact_integrator_shows_no_drift(smooth_paths):
    arena, short, long = smooth_paths
    params = grid_population([0.8], 24, np.random.default_rng(6), orientations_deg=[20.0])
    paths = np.concatenate([short, long[:, :70]])
    errors, d = _decoded_drift(params, paths, paths, 0.8, (-1, 1, -1, 1))
    assert np.nanmax(np.linalg.norm(errors, axis=-1)) <= BIN
    assert d.kind == "none" and np.isinf(d.steps_within)
    assert d.systematic_m_per_step < 1e-4 and d.diffusive_m_per_sqrt_step < 2e-3


def test_a_two_percent_gain_error_drifts_at_two_percent_of_the_displacement():
    """Straight runs from x = 0.5 m at 0.12-0.15 m/step, headings within ±20° of +x. An
    integrator of 0.98·v believes p0 + 0.98 (p - p0): its error is -0.02 (p - p0), the mean
    error -0.02 × the mean displacement = -0.02 t × mean velocity (systematic rate
    0.02 |mean v|, pointing back), and trajectory i leaves a threshold θ at the first t with
    0.02 |v_i| t > θ."""
    spacing, n, n_steps = 0.6, 24, 120
    rng = np.random.default_rng(7)
    params = grid_population([spacing], 24, rng, orientations_deg=[7.0])
    heading, speed = np.deg2rad(rng.uniform(-20, 20, n)), rng.uniform(0.12, 0.15, n)
    v = speed[:, None] * np.stack([np.cos(heading), np.sin(heading)], axis=-1)
    p0 = np.stack([np.full(n, 0.5), rng.uniform(-1, 1, n)], axis=-1)
    t = np.arange(1, n_steps + 1)[None, :, None]
    true = p0[:, None] + t * v[:, None]
    believed = p0[:, None] + 0.98 * (true - p0[:, None])
    errors, d = _decoded_drift(params, believed, true, spacing, (0, 20, -8, 8))
    predicted_rate = 0.02 * np.linalg.norm(v.mean(axis=0))
    assert d.kind == "systematic"
    assert d.systematic_m_per_step == pytest.approx(predicted_rate, rel=0.05)
    back = np.rad2deg(np.arctan2(-v.mean(0)[1], -v.mean(0)[0]))
    assert abs((d.systematic_direction_deg - back + 180) % 360 - 180) < 3
    fit = slice(0, d.fit_steps)
    predicted_mean = -0.02 * (true - p0[:, None]).mean(axis=0)
    np.testing.assert_allclose(d.mean_error_m[fit], predicted_mean[fit], atol=0.01)
    exits = np.ceil(d.threshold_m / (0.02 * speed))
    assert d.steps_within == pytest.approx(np.median(exits), rel=0.1)


def test_a_diffusive_integrator_spreads_as_sqrt_t_with_zero_mean():
    """Independent N(0, σ²) noise per axis and step: e(t) is a random walk, E|e - mean|² =
    2σ² t, so the diffusive rate is σ√2 m/√step and the mean stays ~0 (its RMS σ√(2t/n))."""
    spacing, n, n_steps, sigma = 0.6, 400, 150, 0.01
    rng = np.random.default_rng(8)
    params = grid_population([spacing], 24, rng, orientations_deg=[7.0])
    true = np.broadcast_to(rng.uniform(-1, 1, (n, 1, 2)), (n, n_steps, 2))
    believed = true + np.cumsum(sigma * rng.standard_normal((n, n_steps, 2)), axis=1)
    errors, d = _decoded_drift(params, believed, true, spacing, (-2, 2, -2, 2))
    assert d.kind == "diffusive"
    assert d.diffusive_m_per_sqrt_step == pytest.approx(sigma * np.sqrt(2), rel=0.12)
    mean_rms = sigma * np.sqrt(2 * d.fit_steps / n)  # ~0.009 m at the end of the fit
    assert np.all(np.linalg.norm(d.mean_error_m[: d.fit_steps], axis=1) < 4 * mean_rms)
    assert d.systematic_m_per_step * d.fit_steps < 0.25 * np.sqrt(2 * sigma**2 * d.fit_steps)


# ------------------------------------------------------------------------------- encoders


def test_synthetic_encoder_integrates_with_gain_drift_and_noise():
    import torch

    v = np.random.default_rng(9).uniform(-0.1, 0.1, (3, 40, 2))
    cum = np.cumsum(v, axis=1)

    def believed(**kwargs):
        enc = SyntheticGridEncoder([0.5], 4, np.random.default_rng(0), **kwargs)
        return enc.forward(torch.as_tensor(v)).numpy()[..., -2:]

    np.testing.assert_allclose(believed(), cum, atol=1e-5)
    np.testing.assert_allclose(believed(gain=0.98), 0.98 * cum, atol=1e-5)
    t = np.arange(1, 41)[None, :, None]
    np.testing.assert_allclose(believed(drift_m=(0.01, -0.02)), cum + t * [0.01, -0.02], atol=1e-5)
    noise = 0.05 * np.cumsum(np.random.default_rng(3).standard_normal(v.shape), axis=1)
    noisy = believed(noise_m=0.05, noise_rng=np.random.default_rng(3))
    np.testing.assert_allclose(noisy, cum + noise, atol=1e-5)
    with pytest.raises(ValueError, match="noise_rng"):
        SyntheticGridEncoder([0.5], 4, np.random.default_rng(0), noise_m=0.1)
    with pytest.raises(ValueError, match="drift_m"):
        SyntheticGridEncoder([0.5], 4, np.random.default_rng(0), drift_m=(0.1,))


def test_measure_stability_of_an_exact_and_a_biased_integrator():
    """End to end through run_encoder: an exact integrator keeps its maps and phase; one that
    adds 2 mm per step along +x drifts systematically at 2 mm/step, towards +x, and leaves 90 %
    of half its 0.8 m spacing (0.36 m) after 0.36 / 0.002 = 180 steps; its late maps no longer
    match the reference. Near the walls the believed position can lie outside the box, where
    the reference has no bins: the decoder then reads another point within the radius, so the
    measured rate may fall short and trajectories may leave their period early (here by up to
    a quarter)."""
    from gridnav_agents.analysis.runner import run_encoder
    from gridnav_agents.analysis.stability_run import measure_stability

    arena = Arena.box(2.0)

    def measure(**kwargs):
        enc = SyntheticGridEncoder([0.8], 20, np.random.default_rng(10), **kwargs)
        exact = SyntheticGridEncoder([0.8], 20, np.random.default_rng(10))
        act, pos = run_encoder(exact, arena, 40, np.random.default_rng(11), n_traj=60)
        ref = ratemaps(act.reshape(-1, 22)[:, :20], pos.reshape(-1, 2), arena)
        units = np.arange(22) < 20
        ref = np.concatenate([ref, np.zeros((2, *ref.shape[1:]))])  # the ramp units: masked out
        return measure_stability(
            enc,
            arena,
            ref,
            np.random.default_rng(12),
            reference_steps=40,
            subsample=23,
            units=units,
            module_spacing_m=0.8,
            n_traj=12,
            n_long_traj=2,
            n_long_steps=640,
        )

    exact = measure()
    assert exact.n_steps == 640 and exact.maps.stop.tolist() == [40, 160, 640]
    assert np.all(exact.maps.correlation > 0.9)
    assert exact.drift.kind == "none" and np.isinf(exact.drift.steps_within)
    assert exact.radius_m == 0.4 and exact.late_start == 320
    biased = measure(drift_m=(0.002, 0.0))
    d = biased.drift
    assert d.kind == "systematic"
    assert 0.85 * 0.002 < d.systematic_m_per_step < 1.05 * 0.002
    assert abs(d.systematic_direction_deg) < 5
    assert 0.75 * 180 < d.steps_within < 1.05 * 180
    assert biased.maps.correlation[0] > 0.9 and biased.maps.correlation[-1] < 0.5
    entry = biased.as_dict()
    assert entry["phase_drift"]["kind"] == "systematic"
    assert entry["windows"]["stop"].tolist() == [40, 160, 640]
    assert len(entry["phase_drift"]["first_exit_step"]) == 14
    enc = SyntheticGridEncoder([0.8], 1, np.random.default_rng(0))  # 3 units
    for bad in ({"n_long_steps": 0}, {"units": np.zeros(3, bool)}, {"module_spacing_m": -1.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            measure_stability(
                enc,
                arena,
                np.zeros((3, 40, 40)),
                np.random.default_rng(0),
                reference_steps=40,
                subsample=23,
                **bad,
            )
