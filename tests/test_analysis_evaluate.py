"""Running encoders along smooth trajectories and the end-to-end report, on a known-answer encoder.

The stand-in encoder's units are ideal grid cells of the position it integrates from the
velocities (plus two ramp units carrying the position): analyze() must find its modules.
"""

import argparse
import hashlib
import json

import numpy as np
import pytest

from gridnav_agents.analysis.cli import add_analyze_arguments
from gridnav_agents.analysis.evaluate import (
    _analyze_box,
    _largest_module_states,
    analyze,
)
from gridnav_agents.analysis.runner import default_trajectory_size, run_encoder, step_subsample
from gridnav_agents.analysis.synthetic import SyntheticGridEncoder, population_rates
from gridnav_agents.analysis.topology import torus_betti
from gridnav_agents.provenance import gridnav_version, sha256
from gridnav_env.arena import Arena
from gridnav_env.motion import SmoothMotion

SPACINGS = [0.35, 0.5, 0.7]


class NoScale(SyntheticGridEncoder):
    """The same encoder without a ``step_scale`` attribute (e.g. an RL agent's LSTM)."""

    def __getattribute__(self, name):
        if name == "step_scale":
            raise AttributeError(name)
        return super().__getattribute__(name)


@pytest.fixture(scope="module")
def encoder():
    return SyntheticGridEncoder(SPACINGS, 12, np.random.default_rng(0), n_dead=3)


def test_step_subsample_matches_the_training_step_scale(encoder):
    motion = SmoothMotion()
    k = step_subsample(encoder, motion)
    # Mean |v| of Uniform²(-0.15, 0.15) is ~0.115 m; SmoothMotion moves ~0.005 m per step.
    assert k == round(0.1148 / (motion.mean_speed * motion.dt))
    assert step_subsample(NoScale(SPACINGS, 2, np.random.default_rng(0))) == 1


def test_run_encoder_gives_the_encoder_states_at_the_returned_positions(encoder):
    arena = Arena.box(2.0)
    act, pos = run_encoder(encoder, arena, 60, np.random.default_rng(1), n_traj=5)
    assert act.shape == (5, 60, encoder.n_units) and pos.shape == (5, 60, 2)
    assert np.all(arena.contains(pos))
    np.testing.assert_allclose(act[..., -2:], pos, atol=1e-5)  # the ramp units
    np.testing.assert_allclose(act[..., :-2], population_rates(encoder.params, pos), atol=1e-5)
    steps = np.linalg.norm(np.diff(pos, axis=1), axis=-1)
    assert 0.07 < steps.mean() < 0.16  # comparable with the 0.115 m training steps
    # The first state is one step away from the start at the centre.
    assert np.all(np.linalg.norm(pos[:, 0], axis=-1) < 0.2)


def test_run_encoder_is_seeded_unbatched_and_chunk_independent(encoder):
    arena = Arena.box(1.5)
    a1, p1 = run_encoder(encoder, arena, 30, np.random.default_rng(2), chunk_steps=7)
    a2, p2 = run_encoder(encoder, arena, 30, np.random.default_rng(2), chunk_steps=100)
    assert a1.shape == (30, encoder.n_units) and p1.shape == (30, 2)
    np.testing.assert_allclose(a1[:, :-2], population_rates(encoder.params, p1), atol=1e-5)
    np.testing.assert_array_equal(p1, p2)
    np.testing.assert_allclose(a1, a2, atol=1e-6)
    with pytest.raises(ValueError, match="n_steps"):
        run_encoder(encoder, arena, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="subsample"):
        run_encoder(encoder, arena, 5, np.random.default_rng(0), subsample=0)


def test_run_encoder_rolls_the_motion_out_one_trajectory_at_a_time(encoder):
    """SmoothMotion's sequential rollout draws one agent's numbers in rollout's order, so one
    trajectory comes out the same either way."""
    from gridnav_env.motion import UniformVelocity

    arena = Arena.box(2.0)
    a1, p1 = run_encoder(encoder, arena, 50, np.random.default_rng(4), n_traj=1)
    a2, p2 = run_encoder(encoder, arena, 50, np.random.default_rng(4), n_traj=1, sequential=True)
    np.testing.assert_allclose(p2, p1, atol=1e-9)
    np.testing.assert_allclose(a2, a1, atol=1e-5)
    with pytest.raises(ValueError, match="rollout_sequential"):
        run_encoder(
            encoder, arena, 5, np.random.default_rng(0), motion=UniformVelocity(), sequential=True
        )


def test_run_encoder_drives_a_sic_encoder():
    torch = pytest.importorskip("torch")
    sic = pytest.importorskip("gridnav_agents.sic")
    enc = sic.SICEncoder(n_units=16, mlp_hidden=16, generator=torch.Generator().manual_seed(0))
    act, pos = run_encoder(enc, Arena.box(2.0), 12, np.random.default_rng(3), n_traj=3)
    assert act.shape == (3, 12, 16) and np.all(np.isfinite(act))
    np.testing.assert_allclose(np.linalg.norm(act, axis=-1), 1.0, atol=1e-4)  # NormReLU states


def test_default_trajectory_size_scales_with_the_box():
    n2, s2 = default_trajectory_size(2.0, 0.115)
    n4, s4 = default_trajectory_size(4.0, 0.115)
    assert s4 > s2 and n4 * s4 == pytest.approx(4 * n2 * s2, rel=0.1)


def test_analyze_end_to_end_finds_the_known_modules(encoder, tmp_path):
    report = analyze(
        encoder,
        [2.0],
        tmp_path,
        seed=0,
        n_traj=40,
        n_steps=80,
        topology=True,
        stability_steps=400,
        stability_traj=8,
    )
    box = report["boxes"]["2"]
    assert report["n_units"] == encoder.n_units == 41
    assert report["n_active"] == 38 and box["n_active"] == 38  # 3 dead units
    assert len(box["gridness"]) == 41 and box["gridness"][36] is None  # dead: null in JSON
    assert box["frac_grid"] == pytest.approx(36 / 38)
    assert box["n_modules"] == 3 and box["n_independent_modules"] == 3
    np.testing.assert_allclose([m["spacing_m"] for m in box["modules"]], SPACINGS, rtol=0.05)
    assert [m["n_units"] for m in box["modules"]] == [12, 12, 12]
    assert box["decoding_error_m"] < 0.05 < box["decoding_chance_m"]
    assert [m["id"] for m in box["modules"]] == [0, 1, 2]
    assert box["module_labels"][:36] == [0] * 12 + [1] * 12 + [2] * 12
    # ideal lattices well inside the box: both gridness conventions call them grid cells
    assert len(box["gridness_dm"]) == 41 and box["gridness_dm"][36] is None
    assert box["frac_grid_dm"] == pytest.approx(36 / 38)
    assert box["mean_step_m"] == pytest.approx(0.115, rel=0.15)  # the training step scale
    assert report["torus_betti"] == [1, 2, 1]
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["boxes"]["2"]["n_modules"] == 3
    for name in report["figures"]:
        assert (tmp_path / name).stat().st_size > 1000
    assert {"ratemaps_2m.png", "torus.png", "distance_2m.png"} <= set(report["figures"])
    # the exact integrator is stable: its maps match in every window, its phase does not drift
    stab = report["stability"]
    assert stab["box_size_m"] == 2.0 and stab["reference_steps"] == 80
    assert stab["windows"]["stop"] == [80, 320, 400] and stab["n_long_steps"] == 400
    assert min(stab["windows"]["map_correlation"]) > 0.9
    assert stab["phase_drift"]["kind"] == "none"
    assert stab["phase_drift"]["steps_within_half_period"] is None  # never leaves its period
    assert stab["phase_drift"]["radius_m"] == pytest.approx(0.35 / 2, rel=0.05)  # module 0
    late = stab["late_gridness"]  # each long trajectory's own maps, steps 201-400
    assert (late["start"], late["stop"], len(late["frac_grid"])) == (200, 400, 2)
    assert on_disk["stability"]["phase_drift"]["kind"] == "none"
    assert "stability_2m.png" in report["figures"]
    # the stability measure draws from its own stream: the rest of the report is unchanged
    without = analyze(
        encoder, [2.0], None, seed=0, n_traj=40, n_steps=80, topology=True, stability=False
    )
    assert without["stability"] is None
    assert without["boxes"]["2"]["gridness"] == box["gridness"]
    assert without["boxes"]["2"]["decoding_error_m"] == box["decoding_error_m"]
    assert without["torus_betti"] == report["torus_betti"]
    with pytest.raises(ValueError, match="stability_steps"):
        analyze(encoder, [2.0], stability_steps=0)


class NoisyGrid(SyntheticGridEncoder):
    """Grid rates plus i.i.d. Gaussian noise of ``noise`` (rates peak at 1) drawn from
    ``noise_rng`` at every state."""

    def __init__(self, *args, noise: float, noise_rng: np.random.Generator, **kwargs):
        super().__init__(*args, **kwargs)
        self.noise, self.noise_rng = noise, noise_rng

    def _state(self, positions):
        import torch

        s = super()._state(positions)
        n = self.noise * self.noise_rng.standard_normal((*s.shape[:-1], s.shape[-1] - 2))
        s[..., :-2] += torch.as_tensor(n, dtype=torch.float32)
        return s


def test_torus_of_a_noisy_module_stands_out_more_in_its_ratemap_bins():
    # One 0.6 m module of 16 units with noise 0.08 (rates peak at 1). The torus's two loops are
    # H1's two longest bars; the third is noise. Averaging the visits to each spatial bin (the
    # point cloud analyze() uses) lengthens the loops against the noise bar, compared with the
    # raw states along the trajectories (measured: 3.1-3.8 against 2.0-2.7 over 4 seeds).
    enc = NoisyGrid(
        [0.6], 16, np.random.default_rng(1), noise=0.08, noise_rng=np.random.default_rng(11)
    )
    box = _analyze_box(
        enc,
        2.0,
        np.random.default_rng(1),
        n_traj=None,
        n_steps=None,
        bin_size=0.05,
        motion=SmoothMotion(),
        subsample=None,
        samples_per_m2=2000.0,
    )["arrays"]
    assert box["mods"].n_modules == 1
    bins = torus_betti(_largest_module_states(box)[0], np.random.default_rng(1), whiten=True)
    samples = torus_betti(box["act"][:, :16], np.random.default_rng(1), whiten=True)
    assert bins.betti == (1, 2, 1)
    gap = [r.lifetimes[1][1] / r.lifetimes[1][2] for r in (bins, samples)]
    assert gap[0] > 1.2 * gap[1]


def test_cli_arguments_and_main(monkeypatch, encoder, tmp_path, capsys):
    import gridnav_agents.sic as sic
    from gridnav_agents.cli import main
    from gridnav_agents.sic.checkpoint import save_checkpoint
    from gridnav_agents.sic.model import SICEncoder

    parser = argparse.ArgumentParser()
    add_analyze_arguments(parser)
    defaults = parser.parse_args(["run"])
    assert defaults.boxes == [2.0, 3.0, 4.0] and defaults.out == "analysis"
    assert defaults.seed == 0 and not defaults.no_topology and defaults.steps is None
    assert not defaults.no_stability and defaults.stability_steps == 10_000
    assert defaults.stability_traj == 16
    # a real checkpoint file (its bytes and config go into the report); the analysed encoder is
    # the known-answer one
    ckpt = save_checkpoint(tmp_path / "enc.safetensors", SICEncoder(8, 8), config={"lr": 0.5})
    monkeypatch.setattr(sic, "load_encoder", lambda target: encoder)
    out = tmp_path / "out"
    argv = ["analyze", str(ckpt), "--boxes", "1.5", "--out", str(out), "--no-topology"]
    argv += ["--steps", "40", "--traj", "16", "--stability-steps", "300", "--stability-traj", "4"]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["torus_betti"] is None and report["boxes"]["1.5"]["n_steps"] == 40
    prov = report["provenance"]
    assert prov["command"] == "gridnav " + " ".join(argv)
    assert prov["encoder"]["sha256"] == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert prov["encoder"]["sha256_of"] == "checkpoint file"
    assert prov["encoder"]["config"] == {"lr": 0.5}
    assert prov["encoder"]["encoder_args"]["n_units"] == 8
    assert prov["wall_time_s"] >= report["analysis_time_s"] > 0
    printed = capsys.readouterr().out
    box = report["boxes"]["1.5"]
    chance = f"(chance {box['decoding_chance_m']:.2f} m)"
    assert f"1.5 m box: {100 * box['frac_grid']:.0f} % of" in printed
    assert f"decoding error {box['decoding_error_m']:.2f} m {chance}" in printed
    assert "3 independent modules: module 0 (0.35 m), module 1 (0.50 m), module 2 (0.70 m)" in (
        printed
    )
    stab = report["stability"]
    assert stab["n_traj"] == 4 and stab["n_long_steps"] == 300
    corr = " / ".join(f"{c:.2f}" for c in stab["windows"]["map_correlation"])
    assert f"stability (1.5 m box): maps correlate {corr} with the short-trajectory maps" in printed
    assert "over steps 0-40 / 40-160 / 160-300" in printed
    assert "no phase drift" in printed


def test_analyze_without_a_checkpoint_hashes_the_weights(encoder):
    import torch

    from gridnav_agents.sic.model import SICEncoder

    sic_encoder = SICEncoder(8, 8, generator=torch.Generator().manual_seed(0))
    report = analyze(
        sic_encoder, [1.0], None, topology=False, n_traj=4, n_steps=10, stability=False
    )
    prov = report["provenance"]["encoder"]
    assert prov["sha256_of"] == "weights" and prov["config"] is None
    assert prov["sha256"] == sha256(sic_encoder) and prov["encoder_args"]["n_units"] == 8
    assert report["provenance"]["command"] is None
    assert report["provenance"]["gridnav_version"] == gridnav_version()


def test_analyze_validates_boxes(encoder):
    with pytest.raises(ValueError, match="boxes"):
        analyze(encoder, [0.0])


def test_example_runs(tmp_path):
    import runpy
    from pathlib import Path

    example = Path(__file__).resolve().parent.parent / "examples" / "analyze_synthetic.py"
    main = runpy.run_path(str(example))["main"]
    report = main(out=str(tmp_path), boxes=(1.5,), topology=False, stability_steps=300)
    assert report["n_units"] == 128 and report["boxes"]["1.5"]["n_modules"] == 3
    assert report["stability"]["phase_drift"]["kind"] == "none"  # an exact integrator
    assert (tmp_path / "report.json").exists()


def test_generalisation_counts_units_that_keep_gridness_and_spacing():
    from gridnav_agents.analysis.evaluate import generalisation

    ref = {"gridness": [1.0, 0.8, 0.5, 0.1, None], "spacing_m": [0.5, 0.4, 0.6, 0.3, None]}
    # unit 0 keeps both; unit 1 stretches by 20 %; unit 2 loses its gridness; 3 and 4 are not grid
    other = {"gridness": [0.9, 0.9, 0.2, 1.0, 1.0], "spacing_m": [0.52, 0.48, 0.6, 0.3, 0.3]}
    g = generalisation(ref, other)
    assert (g["n_grid"], g["n_kept"]) == (3, 1)
    assert g["frac_kept"] == pytest.approx(1 / 3)
    assert g["median_spacing_change"] == pytest.approx(0.04)
    assert generalisation(ref, other, tolerance=0.25)["n_kept"] == 2
    none = generalisation(
        {"gridness": [0.1], "spacing_m": [0.5]}, {"gridness": [1], "spacing_m": [1]}
    )
    assert none["n_grid"] == 0 and none["frac_kept"] is None
    with pytest.raises(ValueError, match="units"):
        generalisation(ref, {"gridness": [1.0], "spacing_m": [0.5]})


def test_ideal_grid_units_generalise_to_a_larger_box(encoder):
    report = analyze(encoder, [2.0, 3.0], None, topology=False, samples_per_m2=600, stability=False)
    g = report["generalisation"]["3"]
    assert g["n_grid"] >= 24 and g["frac_kept"] >= 0.9
    assert g["median_spacing_change"] < 0.05
    spacing = {
        name: {m["id"]: m["spacing_m"] for m in box["modules"]}
        for name, box in report["boxes"].items()
    }
    assert set(spacing["2"]) == set(spacing["3"]) == {0, 1, 2}
    for k in spacing["2"]:
        assert spacing["3"][k] == pytest.approx(spacing["2"][k], rel=0.05)


def test_number_modules_renumbers_modules_labels_and_references():
    # a box with local modules 0, 1, 2 (by spacing) that are modules 5, 0 and 3 of the
    # reference numbering; module 0 is a harmonic of local 2 and locked to local 1
    from gridnav_agents.analysis.evaluate import _number_modules
    from gridnav_agents.analysis.modules import Modules

    labels = np.array([0, 0, 1, -1, 2, 2, 1])
    spacing = np.array([0.4, 0.6, 0.69])
    mods = Modules(labels, spacing, np.zeros(3), np.array([2, 2, 2]), *np.zeros((3, 7)))
    modules = [
        {"n_units": 2, "spacing_m": 0.4, "harmonic_of": 2, "locked_to": 1, "lock_r2": 0.9},
        {"n_units": 2, "spacing_m": 0.6, "harmonic_of": None, "locked_to": None, "lock_r2": 0.1},
        {"n_units": 2, "spacing_m": 0.69, "harmonic_of": None, "locked_to": None, "lock_r2": 0.2},
    ]
    result = {"report": {"modules": modules, "module_labels": labels}, "arrays": {"mods": mods}}
    _number_modules(result, np.array([5, 0, 3]))
    rep = result["report"]
    assert [m["id"] for m in rep["modules"]] == [0, 3, 5]
    assert [m["spacing_m"] for m in rep["modules"]] == [0.6, 0.69, 0.4]
    assert (rep["modules"][2]["harmonic_of"], rep["modules"][2]["locked_to"]) == (3, 0)
    assert rep["module_labels"].tolist() == [5, 5, 0, -1, 3, 3, 0]
    assert result["arrays"]["labels"].tolist() == rep["module_labels"].tolist()
