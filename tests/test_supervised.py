"""Supervised path integration (Sorscher et al.): place-cell targets, the loss on a toy problem,
the encoder interface the analyses use, checkpoints, configuration and the CLI."""

import json
import math

import numpy as np
import pytest
import torch

from gridnav_agents.cli import main as gridnav
from gridnav_agents.sic import CheckpointError, load_encoder
from gridnav_agents.sic.checkpoint import load_checkpoint
from gridnav_agents.sic.config import SICConfig
from gridnav_agents.sic.rundir import config_from_dict, stored_config
from gridnav_agents.sic.train import train
from gridnav_agents.supervised import (
    SUPERVISED_PRESETS,
    SupervisedConfig,
    SupervisedEncoder,
    place_cell_activity,
    place_cell_centres,
)
from gridnav_agents.supervised.train import (
    build_supervised_encoder,
    sample_trajectories,
    supervised_losses,
)

TINY = SupervisedConfig(
    n_units=16,
    n_place=8,
    box_size=1.0,
    batch_size=8,
    seq_len=4,
    n_steps=4,
    log_every=1,
    checkpoint_every=2,
    device="cpu",
)


def test_place_cells_match_a_hand_computed_difference_of_gaussians():
    centres = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    sigma, s = 1.0, 2.0
    d2 = [0.0, 1.0, 4.0]  # squared distances from the origin
    centre = [math.exp(-d / 2) for d in d2]  # exp(-d²/(2σ²))
    surround = [math.exp(-d / 4) for d in d2]  # exp(-d²/(2sσ²))
    dog = [c / sum(centre) - u / sum(surround) for c, u in zip(centre, surround, strict=True)]
    shifted = [x - min(dog) for x in dog]
    expected = [x / sum(shifted) for x in shifted]
    got = place_cell_activity(torch.zeros(1, 2, dtype=torch.float64), centres, sigma, s)
    np.testing.assert_allclose(got[0].numpy(), expected, rtol=1e-12)
    assert expected[0] > expected[1] > expected[2] == 0.0  # the farthest cell is the minimum
    plain = place_cell_activity(torch.zeros(2, dtype=torch.float64), centres, sigma, dog=False)
    np.testing.assert_allclose(plain.numpy(), np.array(centre) / sum(centre), rtol=1e-12)


def test_place_cell_activity_is_a_distribution_peaked_at_the_nearest_centre():
    gen = torch.Generator().manual_seed(3)
    centres = place_cell_centres(64, 2.2, gen)
    assert centres.shape == (64, 2) and float(centres.abs().max()) <= 1.1
    again = place_cell_centres(64, 2.2, torch.Generator().manual_seed(3))
    assert torch.equal(centres, again)
    pos = centres[:5] + 1e-4
    act = place_cell_activity(pos, centres, 0.12)
    np.testing.assert_allclose(act.sum(-1).numpy(), 1.0, rtol=1e-12)
    assert float(act.min()) >= 0
    assert act.argmax(-1).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="at least 2 place cells"):
        place_cell_activity(pos, centres[:1], 0.12)


def test_trajectories_start_uniformly_in_the_box_and_stay_in_it():
    config = TINY.with_overrides(["batch_size=400", "seq_len=10"])
    start, vel, pos = sample_trajectories(config, np.random.default_rng(0))
    assert start.shape == (400, 2) and vel.shape == pos.shape == (400, 10, 2)
    np.testing.assert_allclose(start[:, None] + np.cumsum(vel, axis=1), pos, atol=1e-12)
    assert np.abs(pos).max() <= 0.5 and np.abs(start).max() <= 0.5
    assert abs(start.mean()) < 0.05 and 0.25 < start.std() < 0.33  # uniform: std 1/sqrt(12)
    # substeps SmoothMotion steps per encoder step: mean path of substeps · speed · dt
    steps = np.linalg.norm(vel, axis=-1).mean()
    assert 0.6 * config.mean_step < steps <= config.mean_step


def toy_cross_entropy(model, config):
    with torch.no_grad():
        return supervised_losses(model, config, np.random.default_rng(99))["cross_entropy"].item()


def test_supervised_loss_falls_toward_the_target_entropy_on_a_toy_problem(tmp_path):
    # A 0.5 m box, 6 place cells: the cross-entropy is at least the targets' entropy H (Gibbs),
    # reached by a perfect path integrator; an untrained readout predicts ~uniform, log 6.
    config = SupervisedConfig(
        n_units=32, n_place=6, box_size=0.5, place_cell_sigma=0.1, batch_size=64, seq_len=5,
        lr=1e-2, n_steps=300, log_every=50, checkpoint_every=300, device="cpu",
    )  # fmt: skip
    _, _, pos = sample_trajectories(config, np.random.default_rng(99))
    before = build_supervised_encoder(config, torch.Generator().manual_seed(config.seed))
    y = before.place_cells(torch.as_tensor(pos, dtype=torch.float32))
    entropy = float(-torch.special.xlogy(y, y).sum(-1).mean())
    ce_before = toy_cross_entropy(before, config)
    assert abs(ce_before - math.log(6)) < 0.01 and entropy < math.log(6) - 0.3
    train(config, tmp_path / "run", progress=False)
    ce_after = toy_cross_entropy(load_encoder(tmp_path / "run"), config)
    assert entropy <= ce_after < entropy + 0.4 * (ce_before - entropy)


def test_forward_is_the_step_recurrence_from_the_encoded_start():
    for architecture in ("rnn", "sic"):
        model = build_supervised_encoder(TINY.with_overrides([f"architecture={architecture}"]))
        v = torch.randn(3, 6, 2, generator=torch.Generator().manual_seed(1)) * 0.02
        start = torch.tensor([[0.1, -0.2], [0.0, 0.0], [-0.3, 0.4]])
        g0 = model.start_state(start)
        with torch.no_grad():
            states = model(v, g0)
            g = g0
            for t in range(6):
                g = model.step(g, v[:, t])
                torch.testing.assert_close(states[:, t], g, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(model(v), model(v, model.start_state(torch.zeros(3, 2))))
        assert model.initial_state(3).shape == (3, 16) and model.n_units == 16
        if architecture == "sic":  # NormReLU states
            torch.testing.assert_close(states.norm(dim=-1), torch.ones(3, 6))


def test_step_scale_makes_the_analysis_merge_substeps_motion_steps():
    from gridnav_agents.analysis.runner import step_subsample

    for substeps in (1, 4, 7):
        config = TINY.with_overrides([f"substeps={substeps}"])
        assert step_subsample(build_supervised_encoder(config)) == substeps


def test_same_seed_same_run_and_resume_is_exact(tmp_path):
    train(TINY, tmp_path / "a", progress=False)
    train(TINY, tmp_path / "b", progress=False, stop_after=3)
    train(TINY, tmp_path / "b", resume=True, progress=False)
    a, b = load_encoder(tmp_path / "a"), load_encoder(tmp_path / "b")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    lines = [json.loads(ln) for ln in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [ln["step"] for ln in lines] == [1, 2, 3, 4]
    assert set(lines[0]) >= {"cross_entropy", "weight_penalty", "decoding_error_m", "loss"}
    other = train(TINY.with_overrides(["seed=1"]), tmp_path / "c", progress=False)
    assert other["step"] == 4
    c = load_encoder(tmp_path / "c")
    assert not torch.equal(a.centres, c.centres)


def test_run_dir_and_checkpoint_record_the_objective(tmp_path):
    train(TINY, tmp_path / "run", progress=False)
    stored = json.loads((tmp_path / "run" / "config.json").read_text())
    assert stored["objective"] == "supervised"
    assert stored_config(tmp_path / "run") == TINY
    meta = load_checkpoint(tmp_path / "run" / "last.safetensors", tensors="none").meta
    assert meta["encoder_kind"] == "supervised" and meta["encoder"]["n_place"] == 8
    assert config_from_dict(SICConfig().to_dict()) == SICConfig()
    with pytest.raises(ValueError, match="objective"):
        config_from_dict({"objective": "contrastive"})
    with pytest.raises(ValueError, match="holds a SupervisedConfig run"):
        train(SICConfig(n_units=8, mlp_hidden=8, n_steps=1, device="cpu"), tmp_path / "run",
              resume=True, progress=False)  # fmt: skip


def test_a_checkpoint_that_contradicts_its_description_is_refused(tmp_path):
    from safetensors import safe_open
    from safetensors.torch import save_file

    train(TINY, tmp_path / "run", progress=False)
    path = tmp_path / "run" / "last.safetensors"
    with safe_open(str(path), framework="pt") as fh:
        meta = fh.metadata()
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    enc = json.loads(meta["encoder"])
    for change, match in (({"n_units": 100_000}, "shape"), ({"architecture": "lstm"}, "lstm")):
        bad = dict(meta, encoder=json.dumps({**enc, **change}))
        save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=bad)
        with pytest.raises(CheckpointError, match=match):
            load_encoder(tmp_path / "bad.safetensors")


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ("architecture=lstm", "architecture"),
        ("n_place=1", "n_place"),
        ("surround_scale=1", "surround_scale"),
        ("place_cell_sigma=0", "place_cell_sigma"),
        ("smooth_dt=0.2", "smooth_dt"),
        ("grad_clip=-1", "grad_clip"),
        ("recurrent_l2=nan", "recurrent_l2"),
        ("n_units=1e7", "n_units"),
    ],
)
def test_bad_settings_name_the_parameter(override, name):
    with pytest.raises(ValueError, match=name):
        TINY.with_overrides([override])


def test_bad_encoder_arguments_name_the_parameter():
    centres = np.zeros((4, 2))
    with pytest.raises(ValueError, match="centres"):
        SupervisedEncoder(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="architecture"):
        SupervisedEncoder(centres, architecture="gru")
    with pytest.raises(ValueError, match="surround_scale"):
        SupervisedEncoder(centres, surround_scale=0.5)
    model = SupervisedEncoder(centres, n_units=4)
    with pytest.raises(ValueError, match="velocities"):
        model(torch.full((1, 2, 2), math.nan))
    with pytest.raises(ValueError, match="g0"):
        model(torch.zeros(2, 3, 2), torch.zeros(2, 5))


def test_presets_cite_their_scale():
    paper, cpu = SUPERVISED_PRESETS["supervised-paper"], SUPERVISED_PRESETS["supervised"]
    assert (paper.n_units, paper.n_place, paper.place_cell_sigma, paper.surround_scale) == (
        4096, 512, 0.12, 2.0,
    )  # fmt: skip
    assert (paper.batch_size, paper.seq_len, paper.lr, paper.recurrent_l2) == (200, 20, 1e-4, 1e-4)
    assert paper.box_size == 2.2 and paper.dog and paper.architecture == "rnn"
    assert cpu.diff(paper) == ["n_units", "start_init_gain", "lr", "n_steps", "checkpoint_every"]


def test_cli_trains_and_analyzes_a_supervised_run(tmp_path, capsys):
    run = tmp_path / "run"
    argv = ["pretrain", "--objective", "supervised", "--preset", "supervised-smoke"]
    assert gridnav([*argv, "--out", str(run), "--no-progress", "--threads", "1"]) == 0
    assert stored_config(run) == SUPERVISED_PRESETS["supervised-smoke"]
    capsys.readouterr()
    out = tmp_path / "analysis"
    argv = ["analyze", str(run), "--boxes", "1", "2", "--steps", "30", "--traj", "8"]
    assert gridnav([*argv, "--no-topology", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["n_units"] == 32 and set(report["boxes"]) == {"1", "2"}
    assert report["boxes"]["1"]["subsample"] == 4
    assert report["provenance"]["encoder"]["config"]["objective"] == "supervised"
    assert (out / "ratemaps_2m.png").is_file()
    # a preset of the other objective, and resuming with the other objective: one line, exit 2
    bad = ["pretrain", "--objective", "sic", "--preset", "supervised", "--out", str(tmp_path / "x")]
    assert gridnav(bad) == 2
    assert "supervised preset" in capsys.readouterr().err
    assert gridnav(["pretrain", "--objective", "sic", "--resume", "--out", str(run)]) == 2
    assert "holds a supervised run" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_start_init_gain_scales_only_the_start_map():
    plain = build_supervised_encoder(TINY)
    scaled = build_supervised_encoder(TINY.with_overrides(["start_init_gain=8"]))
    for (name, a), (_, b) in zip(plain.state_dict().items(), scaled.state_dict().items(),
                                 strict=True):  # fmt: skip
        torch.testing.assert_close(b, 8 * a if name == "encoder.weight" else a, rtol=0, atol=0)


def test_homing_and_viz_take_a_supervised_encoder():
    from gridnav_agents.rl.homing import make_homing_env, random_encoder
    from gridnav_agents.rl.wrappers import StepScaleMismatch
    from gridnav_agents.viz.sources import EncoderSource

    enc = build_supervised_encoder(TINY).eval()
    control = random_encoder(enc, seed=5)
    assert type(control) is SupervisedEncoder and torch.equal(control.centres, enc.centres)
    assert not torch.equal(control.encoder.weight, enc.encoder.weight)
    with pytest.raises(StepScaleMismatch, match="velocity_scale"):  # 0.15 m steps vs ~0.026 m
        make_homing_env(enc, box_size=1.5, motion="uniform", outbound_steps=4)
    env = make_homing_env(enc, velocity_scale=enc.step_scale / 0.15, box_size=1.5,
                          motion="uniform", outbound_steps=4)  # fmt: skip
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs[:16], enc.initial_state(1)[0].detach().numpy(), atol=1e-6)
    obs, *_ = env.step(env.action_space.sample())
    assert obs.shape == (17,) and np.all(np.isfinite(obs))
    source = EncoderSource(enc)
    assert source.n_units == 16


class _PositionCode(torch.nn.Module):
    """A perfect path integrator whose units fire as functions of position: grid cells
    (``kind="grid"``) or fixed noise across position (``kind="noise"``)."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def start_state(self, start):
        return start.double()

    def forward(self, vel, g0):
        from gridnav_agents.analysis.synthetic import grid_rate

        pos = (g0[:, None] + torch.cumsum(vel.double(), dim=1)).numpy()
        if self.kind == "grid":
            rates = [grid_rate(pos, 0.6, 15 * i, (0.1 * i, 0.0)) for i in range(6)]
        else:
            cells = np.floor(pos / 0.05).astype(int) @ np.array([7919, 104729])
            rates = [np.random.default_rng(i).random(200_000)[cells % 200_000] for i in range(6)]
        return torch.as_tensor(np.stack(rates, axis=-1))


def test_training_box_gridness_finds_grid_cells_on_start_encoded_trajectories():
    from gridnav_agents.supervised.evaluate import start_encoded_activity, training_box_gridness

    config = TINY.with_overrides(["box_size=2.2", "batch_size=200", "seq_len=20"])
    act, pos = start_encoded_activity(_PositionCode("grid"), config, 2, np.random.default_rng(0))
    assert act.shape == (8000, 6) and pos.shape == (8000, 2) and np.abs(pos).max() <= 1.1
    grid = training_box_gridness(_PositionCode("grid"), config, np.random.default_rng(0), 10)
    assert grid["n_active"] == 6 and grid["frac_grid"] == 1.0 and grid["gridness_median"] > 0.8
    noise = training_box_gridness(_PositionCode("noise"), config, np.random.default_rng(0), 10)
    assert noise["n_active"] == 6 and noise["frac_grid"] == 0.0
