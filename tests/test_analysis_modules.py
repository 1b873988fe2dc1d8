"""Module detection and phases on synthetic populations with known modules and phases."""

import numpy as np
import pytest

from gridnav_agents.analysis.modules import (
    detect_modules,
    grid_phases,
    harmonic_of,
    phase_uniformity,
)
from gridnav_agents.analysis.synthetic import (
    band_rate,
    grid_population,
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
    assert set(dicts[0]) == {"n_units", "spacing_m", "orientation_deg", "harmonic_of"}
    # Spacing ratios of 1.4 are independent periods, whatever the orientations.
    assert mods.n_independent == 3 and all(d["harmonic_of"] is None for d in dicts)


def test_harmonic_module_is_not_an_independent_one():
    # Units on a lattice of spacing 1.3/√3 rotated by 30° fire as a function of the 1.3 m
    # module's phase: detect_modules sees two spacings, but only one independent module.
    rng = np.random.default_rng(5)
    maps, _ = population_maps([1.3 / np.sqrt(3), 1.3], 12, rng, size=3.0, orientations=[45, 15])
    mods = detect_modules(maps, BIN)
    assert mods.n_modules == 2
    assert [d["harmonic_of"] for d in mods.as_dicts()] == [1, None]
    assert mods.n_independent == 1
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
