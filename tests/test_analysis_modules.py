"""Module detection and phases on synthetic populations with known modules and phases."""

import dataclasses

import numpy as np
import pytest

from gridnav_agents.analysis.modules import (
    Modules,
    detect_modules,
    grid_phases,
    harmonic_of,
    locked_to,
    module_coherence,
    module_locking,
    phase_uniformity,
)
from gridnav_agents.analysis.synthetic import (
    band_rate,
    grid_population,
    grid_rate,
    lattice_wavevectors,
    place_rate,
    population_rates,
)

BIN = 0.05


def box_points(size: float) -> np.ndarray:
    c = np.arange(BIN / 2, size, BIN) - size / 2
    return np.stack(np.meshgrid(c, c, indexing="ij"), axis=-1)


def population_maps(
    spacings, per_module, rng, size=2.5, noise=0.1, n_dead=0, extra=0, orientations=None
):
    """Ratemaps (N, nx, ny) of grid modules, then dead units, then place/band units."""
    params = grid_population(
        spacings, per_module, rng, n_dead=n_dead, orientations_deg=orientations
    )
    p = box_points(size)
    maps = np.moveaxis(population_rates(params, p), -1, 0)
    others = []
    for i in range(extra):
        if i % 2:
            others.append(place_rate(p, rng.uniform(-0.8, 0.8, 2), 0.3))
        else:
            others.append(band_rate(p, rng.uniform(0.3, 0.8), rng.uniform(0, 180)))
    if others:
        maps = np.concatenate([maps, np.stack(others)])
    maps = maps + noise * rng.normal(size=maps.shape)
    if n_dead:
        maps[len(spacings) * per_module : len(spacings) * per_module + n_dead] = 0.0
    return maps, params


def test_three_modules_found_with_right_spacings_and_members():
    rng = np.random.default_rng(0)
    spacings = [0.38, 0.53, 0.75]
    maps, params = population_maps(spacings, 20, rng, n_dead=8, extra=6)
    mods = detect_modules(maps, BIN)
    assert mods.n_modules == 3
    np.testing.assert_allclose(mods.spacing_m, spacings, rtol=0.05)
    true = np.concatenate([params["module"], np.full(6, -1)])
    assert np.array_equal(mods.labels, true)  # modules are numbered by increasing spacing
    assert list(mods.n_units) == [20, 20, 20]
    orient = params["orientation_deg"][[0, 20, 40]]
    assert np.all(np.abs((mods.orientation_deg - orient + 30) % 60 - 30) < 3.0)
    dicts = mods.as_dicts()
    assert set(dicts[0]) == {
        "n_units",
        "spacing_m",
        "orientation_deg",
        "harmonic_of",
        "locked_to",
        "lock_r2",
        "coherence_r2",
        "independent",
    }
    assert dicts[0]["locked_to"] is None and dicts[0]["lock_r2"] is None  # not measured
    assert dicts[0]["coherence_r2"] is None
    # Spacing ratios of 1.4 are independent periods, whatever the orientations.
    assert mods.n_independent == 3 and all(d["harmonic_of"] is None for d in dicts)
    assert all(d["independent"] for d in dicts)


def test_harmonic_module_is_not_an_independent_one():
    # Units on a lattice of spacing 1.3/√3 rotated by 30° fire as a function of the 1.3 m
    # module's phase: detect_modules sees two spacings, but only one independent module.
    rng = np.random.default_rng(5)
    maps, _ = population_maps([1.3 / np.sqrt(3), 1.3], 12, rng, size=3.0, orientations=[45, 15])
    mods = detect_modules(maps, BIN)
    assert mods.n_modules == 2
    assert [d["harmonic_of"] for d in mods.as_dicts()] == [1, None]
    assert mods.n_independent == 1
    assert [d["independent"] for d in mods.as_dicts()] == [False, True]
    # The same spacings at the same orientation are two independent modules.
    maps, _ = population_maps([1.3 / np.sqrt(3), 1.3], 12, rng, size=3.0, orientations=[15, 15])
    assert detect_modules(maps, BIN).n_independent == 2


@pytest.mark.parametrize(
    ("ratio", "rotation_deg", "harmonic"),
    [
        (np.sqrt(3), 30.0, True),  # index-3 sublattice
        (np.sqrt(3), -30.0, True),  # the same, mirrored (orientation is defined mod 60°)
        (2.0, 0.0, True),  # index 4
        (np.sqrt(7), 19.107, True),  # index 7: (2, 1) in the fine basis
        (3.0, 0.0, True),  # index 9
        (np.sqrt(3), 0.0, False),  # right ratio, wrong rotation
        (2.0, 30.0, False),
        (1.4, 0.0, False),  # a typical ratio between real grid modules
        (1.5, 12.0, False),
    ],
)
def test_harmonic_of_known_lattices(ratio, rotation_deg, harmonic):
    fine, coarse = 0.4, 0.4 * ratio
    labels = harmonic_of(np.array([coarse, fine]), np.array([7.0, 7.0 - rotation_deg]))
    assert list(labels) == ([-1, 0] if harmonic else [-1, -1])


def test_harmonic_of_validation():
    with pytest.raises(ValueError, match="orientation_deg"):
        harmonic_of(np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="tolerance"):
        harmonic_of(np.ones(2), np.ones(2), tolerance=0.7)


def locking_population(rng):
    """Activity at positions ``(n, 2)`` in a 3 m box of: module 0, 16 units on a 1.3 m
    lattice (15°); module 1, 10 units on an independent 0.9 m lattice (22°); module 2, 10 units
    locked to module 0 without sharing its lattice: bands along its wavevectors and cells on
    its √3 harmonic, at random phases."""
    off = rng.uniform(-2, 2, size=(36, 2))
    band_phase = rng.uniform(0, 2 * np.pi, size=10)
    k = lattice_wavevectors(1.3, 15.0)

    def activity(n):
        pos = rng.uniform(-1.5, 1.5, size=(n, 2))
        cols = [grid_rate(pos, 1.3, 15.0, off[i]) for i in range(16)]
        cols += [grid_rate(pos, 0.9, 22.0, off[16 + i]) for i in range(10)]
        for i in range(10):
            if i % 2:
                cols.append(grid_rate(pos, 1.3 / np.sqrt(3), 45.0, off[26 + i]))
            else:
                ka = k[i % 3]
                angle = np.rad2deg(np.arctan2(ka[1], ka[0]))
                cols.append(band_rate(pos, 2 * np.pi / np.linalg.norm(ka), angle, band_phase[i]))
        return np.stack(cols, axis=1) + 0.05 * rng.normal(size=(n, 36))

    return activity


def test_module_locking_tells_independent_from_locked_modules():
    rng = np.random.default_rng(3)
    labels = np.repeat([0, 1, 2], [16, 10, 10])
    activity = locking_population(rng)
    train, test = activity(8000), activity(2000)
    r2 = module_locking(train, test, labels, rng=rng)
    assert r2.shape == (3, 3) and np.all(np.isnan(np.diag(r2)))
    assert r2[1, 0] < 0.3  # an independent lattice is not a function of module 0's phase
    assert r2[2, 0] > 0.85  # bands along its axes and its harmonic are
    assert r2[0, 1] < 0.3
    lock, best = locked_to(r2, np.array([16, 10, 10]), np.array([1.3, 0.9, 0.75]))
    assert list(lock) == [-1, -1, 0]
    assert np.isnan(best[0]) and best[2] == pytest.approx(r2[2, 0])


def test_locked_module_is_not_counted_as_independent():
    rng = np.random.default_rng(4)
    maps, _ = population_maps([0.9, 1.3], 10, rng, size=3.0, orientations=[22.0, 15.0])
    mods = detect_modules(maps, BIN)
    assert mods.n_modules == 2 and mods.n_independent == 2
    # The same populations, measured from activity: module 0 (0.9 m) is independent ...
    act = maps.reshape(len(maps), -1).T
    half = len(act) // 2
    order = rng.permutation(len(act))
    r2 = module_locking(act[order[:half]], act[order[half:]], mods.labels, rng=rng)
    assert dataclasses.replace(mods, lock_r2=r2).n_independent == 2
    # ... and a module made of cells locked to the 1.3 m lattice is not.
    locked = r2.copy()
    locked[0, 1] = 0.9
    flagged = dataclasses.replace(mods, lock_r2=locked)
    assert flagged.n_independent == 1
    assert [d["locked_to"] for d in flagged.as_dicts()] == [1, None]
    assert flagged.as_dicts()[0]["lock_r2"] == pytest.approx(0.9)


def test_module_coherence_tells_a_module_from_noisy_units_of_similar_spacing():
    rng = np.random.default_rng(5)
    off = rng.uniform(-2, 2, size=(12, 2))
    labels = np.array([0] * 12 + [1] * 4 + [2])

    def activity(n):
        pos = rng.uniform(-1.5, 1.5, size=(n, 2))
        cols = [grid_rate(pos, 0.9, 22.0, off[i]) for i in range(12)]
        return np.column_stack(cols + [rng.normal(size=(n, 5))])  # module, noise, one unit

    coherence = module_coherence(activity(6000), activity(2000), labels, rng=rng)
    assert coherence[0] > 0.8  # each half of a lattice's units encodes its phase
    assert coherence[1] < 0.1  # noise predicts noise no better than the mean
    assert np.isnan(coherence[2])  # one unit has no other half
    # Counted as independent modules: only the coherent one.
    nan = np.full(len(labels), np.nan)
    mods = Modules(
        labels=labels,
        spacing_m=np.array([0.9, 1.3, 1.6]),
        orientation_deg=np.array([22.0, 5.0, 40.0]),
        n_units=np.array([12, 4, 1]),
        gridness=nan,
        unit_spacing_m=nan,
        unit_orientation_deg=nan,
    )
    assert mods.n_independent == 3  # coherence not measured: every non-harmonic module counts
    measured = dataclasses.replace(mods, coherence_r2=coherence)
    assert list(measured.coherent) == [True, False, False]
    assert measured.n_independent == 1
    assert measured.as_dicts()[1]["coherence_r2"] == pytest.approx(coherence[1])
    assert measured.as_dicts()[2]["coherence_r2"] is None


def test_module_locking_validation():
    act = np.zeros((50, 4))
    with pytest.raises(ValueError, match="labels"):
        module_locking(act, act, np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="same N"):
        module_locking(act, np.zeros((50, 5)), np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="labels"):
        module_coherence(act, act, np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match="n_neighbors=10"):
        module_coherence(act[:5], act, np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="lock_r2"):
        locked_to(np.zeros((2, 3)), np.array([3, 3]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="threshold"):
        locked_to(np.zeros((2, 2)), np.array([3, 3]), np.array([1.0, 2.0]), threshold=1.5)


def test_one_module_gives_one():
    rng = np.random.default_rng(1)
    maps, _ = population_maps([0.5], 25, rng, n_dead=3)
    mods = detect_modules(maps, BIN)
    assert mods.n_modules == 1
    assert mods.spacing_m[0] == pytest.approx(0.5, rel=0.05)
    assert np.all(mods.labels[:25] == 0) and np.all(mods.labels[25:] == -1)


def test_no_grid_units_gives_no_module():
    rng = np.random.default_rng(2)
    p = box_points(2.0)
    maps = np.stack([place_rate(p, rng.uniform(-0.5, 0.5, 2), 0.3) for _ in range(6)])
    mods = detect_modules(maps, BIN)
    assert mods.n_modules == 0 and np.all(mods.labels == -1)


def test_small_clusters_and_orientation_split():
    rng = np.random.default_rng(3)
    g = np.full(8, 1.0)
    s = np.array([0.5, 0.5, 0.51, 0.49, 0.5, 0.5, 0.9, 0.91])
    o = np.array([1.0, 2.0, 59.5, 0.5, 30.0, 31.0, 10.0, 10.0])
    maps = rng.normal(size=(8, 4, 4))
    kw = {"gridness": g, "spacing_m": s, "orientation_deg": o}
    mods = detect_modules(maps, BIN, min_units=3, **kw)
    assert mods.n_modules == 1 and list(mods.labels) == [0] * 6 + [-1, -1]
    split = detect_modules(maps, BIN, min_units=2, orientation_gap_deg=10, **kw)
    # Orientation wraps at 60°: 59.5° belongs with 0.5-2°.
    assert split.n_modules == 3
    assert len(set(split.labels[[0, 1, 2, 3]])) == 1 and split.labels[4] == split.labels[5]
    assert split.labels[0] != split.labels[4]


def test_phases_recover_known_offsets_and_sum_to_zero():
    rng = np.random.default_rng(4)
    spacing, orient = 0.6, 22.0
    maps, params = population_maps([spacing], 30, rng, size=2.0, orientations=[orient])
    phases, k = grid_phases(maps, BIN, spacing * 1.02, orient + 1.0)  # slightly wrong lattice
    assert phases.shape == (30, 3)
    np.testing.assert_allclose(
        np.linalg.norm(k, axis=1), 4 * np.pi / (np.sqrt(3) * spacing), rtol=0.01
    )
    true = params["offset"] @ k.T
    err = np.angle(np.exp(1j * (phases - true)))
    assert np.abs(err).max() < 0.25
    total = np.angle(np.exp(1j * phases.sum(axis=1)))
    assert np.abs(total).max() < 1e-6


def test_phase_uniformity_separates_uniform_from_clustered():
    rng = np.random.default_rng(5)
    uniform = rng.uniform(0, 2 * np.pi, size=(60, 3))
    clustered = np.angle(np.exp(1j * rng.normal(1.0, 0.4, size=(60, 3)))) % (2 * np.pi)
    su, pu = phase_uniformity(uniform)
    sc, pc = phase_uniformity(clustered)
    assert su > 0.7 and pu > 0.01
    assert sc < 0.3 and pc < 1e-6
    # Clustered along one lattice direction only (phi_1 fixed, phi_2 uniform): not uniform.
    phi1 = rng.normal(0.5, 0.3, 60)
    phi2 = rng.uniform(0, 2 * np.pi, 60)
    half = np.stack([phi1, phi2, -(phi1 + phi2)], axis=1) % (2 * np.pi)
    sh, ph = phase_uniformity(half)
    assert sh < 0.3 and ph < 1e-6


def test_phase_uniformity_of_a_synthetic_module():
    rng = np.random.default_rng(6)
    maps, _ = population_maps([0.5], 40, rng, size=2.0, orientations=[7.0])
    phases, _ = grid_phases(maps, BIN, 0.5, 7.0)
    assert phase_uniformity(phases)[1] > 0.01


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"rel_gap": 0.0}, "rel_gap"),
        ({"min_units": 0}, "min_units"),
        ({"orientation_gap_deg": 90.0}, "orientation_gap_deg"),
        ({"gridness": np.ones(3)}, "gridness"),
    ],
)
def test_validation_names_the_parameter(kwargs, name):
    maps = np.random.default_rng(0).normal(size=(4, 10, 10))
    with pytest.raises(ValueError, match=name):
        detect_modules(maps, BIN, **kwargs)
