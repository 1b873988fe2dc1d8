"""SIC pretraining loop, checkpoints, resume, non-finite handling and the CLI entry point."""

import json
import math
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import gridnav_agents.sic.train as train_mod
from gridnav_agents.cli import main as gridnav
from gridnav_agents.sic import CheckpointError, load_encoder
from gridnav_agents.sic.checkpoint import FORMAT, load_checkpoint, save_checkpoint
from gridnav_agents.sic.config import SICConfig
from gridnav_agents.sic.train import (
    NonFiniteLossError,
    batch_states,
    build_encoder,
    compute_losses,
    sample_batch,
    start_state,
    train,
)

TINY = SICConfig(
    n_units=8,
    mlp_hidden=8,
    batch_size=6,
    seq_len=5,
    lr=1e-3,
    accumulate=2,
    n_steps=6,
    plateau_interval=2,
    plateau_patience=0,
    plateau_factor=0.5,
    log_every=1,
    checkpoint_every=2,
    pair_subsample=20,  # exercises the torch generator
    device="cpu",
)


def metrics(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(ln).items() if k != "elapsed_s"} for ln in lines]


@pytest.mark.parametrize("overrides", [[], ["start_walk=3", "velocity_drift=0.05"]])
def test_resume_reproduces_an_uninterrupted_run(tmp_path, overrides):
    a, b = tmp_path / "a", tmp_path / "b"
    config = TINY.with_overrides(overrides)
    summary = train(config, a, progress=False)
    assert summary["step"] == 6 and summary["bad_steps"] == 0
    ref = metrics(a)
    assert [m["step"] for m in ref] == list(range(1, 7))

    train(config, b, progress=False, stop_after=3)  # checkpoint at 2 and at the stop (3)
    assert metrics(b) == ref[:3]
    train(config, b, resume=True, progress=False, stop_after=1)  # step 4 (a checkpoint step)
    kept = tmp_path / "step4.safetensors"
    shutil.copy(b / "last.safetensors", kept)
    train(config, b, resume=True, progress=False, stop_after=1)  # step 5, logged and saved
    shutil.copy(kept, b / "last.safetensors")  # as if it had crashed before saving step 5
    train(config, b, resume=True, progress=False)
    assert metrics(b) == ref  # line 5 was dropped and re-logged identically
    final_a, final_b = (
        load_checkpoint(a / "last.safetensors"),
        load_checkpoint(b / "last.safetensors"),
    )
    assert final_a.tensors.keys() == final_b.tensors.keys()
    for k, v in final_a.tensors.items():
        assert torch.equal(v, final_b.tensors[k]), k
    assert final_a.meta["scheduler"] == final_b.meta["scheduler"]
    assert final_a.meta["scheduler"]["last_epoch"] == 3  # stepped every plateau_interval


def test_run_dir_contents_and_encoder_round_trip(tmp_path):
    run = tmp_path / "run"
    train(TINY.with_overrides(["n_steps=2"]), run, progress=False)
    assert (
        json.loads((run / "config.json").read_text())
        == TINY.with_overrides(["n_steps=2"]).to_dict()
    )
    assert (run / "last.safetensors").is_file() and (run / "best.safetensors").is_file()
    assert not list(run.glob(".*tmp"))  # atomic writes leave no temporaries
    enc = load_encoder(run)
    assert not enc.training and enc.n_units == 8 and enc.step_scale == 0.15
    assert load_encoder(run, which="best").n_units == 8

    model = build_encoder(TINY, torch.Generator().manual_seed(9))
    path = save_checkpoint(tmp_path / "enc.safetensors", model)
    loaded = load_encoder(path)
    v = torch.rand(2, 4, 2) * 0.3 - 0.15
    with torch.no_grad():
        assert torch.equal(loaded(v), model(v))
    for (n1, p1), (n2, p2) in zip(model.named_parameters(), loaded.named_parameters(), strict=True):
        assert n1 == n2 and torch.equal(p1, p2)


def test_load_encoder_errors(tmp_path):
    model = build_encoder(TINY)
    good = save_checkpoint(tmp_path / "good.safetensors", model)
    with pytest.raises(FileNotFoundError):
        load_encoder(tmp_path / "missing.safetensors")
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(FileNotFoundError, match="last.safetensors"):
        load_encoder(tmp_path / "empty_run")

    data = good.read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_encoder(truncated)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x80\x04not a safetensors file")
    with pytest.raises(CheckpointError):
        load_encoder(garbage)

    foreign = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(3)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a gridnav"):
        load_encoder(foreign)

    wrong = tmp_path / "wrong_shape.safetensors"
    tensors = {f"model.{k}": v.clone() for k, v in model.state_dict().items()}
    meta = {"format": json.dumps(FORMAT), "encoder": json.dumps({**model.config(), "n_units": 9})}
    save_file(tensors, str(wrong), metadata=meta)
    with pytest.raises(CheckpointError, match="shape"):
        load_encoder(wrong)

    missing = tmp_path / "missing_key.safetensors"
    tensors.pop("model.g0_param")
    meta["encoder"] = json.dumps(model.config())
    save_file(tensors, str(missing), metadata=meta)
    with pytest.raises(CheckpointError, match="g0_param"):
        load_encoder(missing)


def _nan_after(monkeypatch, first_bad_call, last_bad_call=math.inf):
    calls = {"n": 0}
    real = train_mod.compute_losses

    def patched(*args, **kwargs):
        out = real(*args, **kwargs)
        calls["n"] += 1
        if first_bad_call <= calls["n"] <= last_bad_call:
            out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(train_mod, "compute_losses", patched)


def test_one_non_finite_step_is_skipped_and_counted(tmp_path, monkeypatch):
    _nan_after(monkeypatch, first_bad_call=5, last_bad_call=5)  # step 3, first micro-batch
    with pytest.warns(RuntimeWarning, match="step 3: non-finite"):
        summary = train(TINY, tmp_path / "run", progress=False)
    assert summary["step"] == 6 and summary["bad_steps"] == 1
    m = metrics(tmp_path / "run")
    assert m[2]["loss"] is None and m[2]["bad_steps"] == 1
    assert all(x["loss"] is not None for i, x in enumerate(m) if i != 2)


def test_repeated_non_finite_steps_stop_the_run_keeping_the_last_good_checkpoint(
    tmp_path, monkeypatch
):
    _nan_after(monkeypatch, first_bad_call=5)  # every step from step 3 on
    config = TINY.with_overrides(["max_bad_steps=2"])
    with pytest.warns(RuntimeWarning), pytest.raises(NonFiniteLossError, match="consecutive"):
        train(config, tmp_path / "run", progress=False)
    ckpt = load_checkpoint(tmp_path / "run" / "last.safetensors")
    assert ckpt.meta["step"] == 2
    for v in ckpt.tensors.values():
        assert torch.isfinite(v.float()).all()
    assert load_encoder(tmp_path / "run").n_units == 8


def test_existing_run_and_incompatible_resume_are_rejected(tmp_path):
    run = tmp_path / "run"
    train(TINY.with_overrides(["n_steps=1"]), run, progress=False)
    with pytest.raises(FileExistsError):
        train(TINY.with_overrides(["n_steps=1"]), run, progress=False)
    with pytest.raises(ValueError, match="lr"):
        train(TINY.with_overrides(["lr=0.5"]), run, resume=True, progress=False)
    summary = train(TINY.with_overrides(["n_steps=2"]), run, resume=True, progress=False)
    assert summary["step"] == 2


def test_max_seconds_stops_with_a_checkpoint_and_counts_time_across_resumptions(
    tmp_path, monkeypatch
):
    clock = [1000.0]  # a fake clock that advances 10 s per batch, 20 s per step (accumulate 2)
    losses = train_mod.compute_losses

    def slow_losses(*args, **kwargs):
        clock[0] += 10.0
        return losses(*args, **kwargs)

    monkeypatch.setattr(train_mod, "compute_losses", slow_losses)
    monkeypatch.setattr(train_mod, "time", type("Clock", (), {"perf_counter": lambda: clock[0]}))
    config = TINY.with_overrides(["n_steps=100", "checkpoint_every=100"])
    ref, run = tmp_path / "ref", tmp_path / "run"
    train(config, ref, progress=False, stop_after=5)
    summary = train(config, run, progress=False, max_seconds=50)  # steps start at 0, 20, 40 s
    assert (summary["step"], summary["out_of_time"], summary["elapsed_s"]) == (3, True, 60.0)
    assert load_checkpoint(run / "last.safetensors").meta["step"] == 3
    summary = train(config, run, resume=True, progress=False, max_seconds=90)  # 60 s, 80 s
    assert (summary["step"], summary["elapsed_s"]) == (5, 100.0)
    assert metrics(run) == metrics(ref)  # the budget changes where the run stops, not the run
    before = (run / "last.safetensors").read_bytes()
    summary = train(config, run, resume=True, progress=False, max_seconds=90)  # spent: no step
    assert (summary["step"], summary["out_of_time"]) == (5, True)
    assert (run / "last.safetensors").read_bytes() == before
    assert train(TINY, tmp_path / "plain", progress=False)["out_of_time"] is False


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf, True, "60"])
def test_bad_max_seconds_is_rejected_before_the_run_dir_is_made(tmp_path, bad):
    with pytest.raises(ValueError, match="max_seconds"):
        train(TINY, tmp_path / "run", progress=False, max_seconds=bad)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("overrides", [["permute=false"], ["velocity=smooth"], ["lambda_sep=0"]])
def test_ablation_batches_give_finite_losses(overrides):
    config = TINY.with_overrides(overrides)
    model = build_encoder(config)
    batch = sample_batch(config, np.random.default_rng(0))
    losses = compute_losses(model, batch, config)
    assert torch.isfinite(losses["loss"])
    losses["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
    assert (losses["separation"] is None) == (config.lambda_sep == 0)


def test_cli_entry_point(tmp_path, capsys):
    small = ["n_units=8", "mlp_hidden=8", "batch_size=4", "seq_len=4", "n_steps=2", "log_every=1"]
    run = tmp_path / "run"
    argv = ["pretrain", "--preset", "smoke", "--set", *small, "--out", str(run), "--no-progress"]
    assert gridnav([*argv, "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 2
    resume = ["pretrain", "--out", str(run), "--resume", "--no-progress"]
    assert gridnav([*resume, "--set", "n_steps=3"]) == 0
    assert [m["step"] for m in metrics(run)] == [1, 2, 3]
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert gridnav(resume) == 0  # finished: says so and leaves the run as it was
    assert "already finished (step 3 of 3)" in capsys.readouterr().out
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before
    assert gridnav(["pretrain", "--set", "sigma_x=-1", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "sigma_x" in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_losses_match_cpu():
    config = TINY.with_overrides(["pair_subsample=none"])
    batch = sample_batch(config, np.random.default_rng(0))
    cpu = build_encoder(config)
    gpu = build_encoder(config).cuda()
    a, b = compute_losses(cpu, batch, config), compute_losses(gpu, batch, config)
    for k in ("loss", "separation", "invariance", "capacity", "conformal_isometry"):
        assert a[k].item() == pytest.approx(b[k].item(), rel=1e-4, abs=1e-5), k
    a["loss"].backward()
    b["loss"].backward()
    for p, q in zip(cpu.parameters(), gpu.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad.cpu(), rtol=1e-3, atol=1e-6)


def test_identity_init_keeps_the_state_and_every_unit_active():
    config = TINY.with_overrides(["n_units=16", "identity_init=0.01"])
    model = build_encoder(config, torch.Generator().manual_seed(3))
    w = model.transition(torch.tensor([[0.05, -0.1]]))[0]
    assert torch.allclose(w, torch.eye(16), atol=0.01)  # I + 1 % of the default init
    states = model(torch.zeros(1, 5, 2))[0]
    assert torch.allclose(states, model.g0.expand(5, -1), atol=0.05)
    assert bool((states > 0).all())
    default = build_encoder(TINY.with_overrides(["n_units=16"]), torch.Generator().manual_seed(3))
    assert not torch.allclose(default.transition(torch.zeros(1, 2))[0], torch.eye(16), atol=0.05)


@pytest.mark.parametrize("identity_init", ["0.1", "none"])
def test_init_gain_spread_scales_each_units_row_of_the_transition(identity_init):
    # Same generator, spread 4: row i of W(v) - I (its velocity-dependent part and the bias's
    # random part) is row i of the uniform encoder's times 4 ** (i / 15 - 1/2), from 1/2 to 2.
    base = TINY.with_overrides(["n_units=16", f"identity_init={identity_init}"])
    uniform = build_encoder(base, torch.Generator().manual_seed(3))
    spread = build_encoder(
        base.with_overrides(["init_gain_spread=4"]), torch.Generator().manual_seed(3)
    )
    gain = 4.0 ** (torch.arange(16) / 15 - 0.5)
    eye = torch.eye(16) if identity_init != "none" else torch.zeros(16, 16)
    for v in ([[0.0, 0.0]], [[0.05, -0.1]]):
        w_uniform = uniform.transition(torch.tensor(v))[0] - eye
        w_spread = spread.transition(torch.tensor(v))[0] - eye
        assert torch.allclose(w_spread, gain[:, None] * w_uniform, atol=1e-6)
    assert gain[0] == pytest.approx(0.5) and gain[-1] == pytest.approx(2.0)
    for bad in (0.5, float("inf")):
        with pytest.raises(ValueError, match="init_gain_spread"):
            SICConfig(init_gain_spread=bad)


def test_lr_warmup_ramps_the_step_and_leaves_the_scheduler_lr(monkeypatch):
    seen = []
    model = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    monkeypatch.setattr(opt, "step", lambda: seen.append(opt.param_groups[0]["lr"]))
    for step in range(1, 6):
        train_mod._warmed_up_step(opt, step, warmup=4)
    assert seen == pytest.approx([0.125, 0.25, 0.375, 0.5, 0.5])
    assert opt.param_groups[0]["lr"] == 0.5
    with pytest.raises(ValueError, match="lr_warmup"):
        SICConfig(lr_warmup=-1)
    with pytest.raises(ValueError, match="identity_init"):
        SICConfig(identity_init=float("nan"))


def test_coniso_max_step_decouples_the_conformal_steps_from_sigma_x():
    # One batch of steps with ||v|| = 0.03 m: none is below sigma_x = 0.02 m (eq. 7's set is
    # empty, the loss is 0); with coniso_max_step = 0.05 m all of them count.
    config = TINY.with_overrides(["sigma_x=0.02", "lambda_coniso=1"])
    batch = sample_batch(config, np.random.default_rng(0))
    batch.velocities[:] = 0.03 * np.stack(
        [np.cos(np.arange(len(batch.velocities))), np.sin(np.arange(len(batch.velocities)))], -1
    )
    model = build_encoder(config, torch.Generator().manual_seed(0))
    eq7 = compute_losses(model, batch, config)["conformal_isometry"].item()
    wide = config.with_overrides(["coniso_max_step=0.05"])
    decoupled = compute_losses(model, batch, wide)["conformal_isometry"].item()
    assert eq7 == 0.0
    assert decoupled > 0.0


def test_velocity_drift_spreads_the_permuted_batch_along_a_line():
    # T = 40 steps with a drift of 0.1 m per step: every trajectory ends at the same place,
    # about 40 · 0.1 = 4 m from the start (the i.i.d. part adds sqrt(40)·0.087 = 0.55 m per
    # axis), and the states of step t lie near t · 0.1 m along the drift's direction.
    config = TINY.with_overrides(["seq_len=40", "batch_size=16", "velocity_drift=0.1"])
    batch = sample_batch(config, np.random.default_rng(2))
    end = batch.positions[:, -1]
    np.testing.assert_allclose(end, end[:1].repeat(len(end), 0), atol=1e-9)
    direction = batch.velocities.mean(0) / np.linalg.norm(batch.velocities.mean(0))
    along = (batch.positions - batch.start) @ direction
    assert 2.5 < along[0, -1] < 5.5
    progress = np.polyfit(np.arange(1, 41), along.mean(0), 1)[0]
    assert progress == pytest.approx(np.linalg.norm(batch.velocities.mean(0)), rel=0.05)
    plain = sample_batch(
        TINY.with_overrides(["seq_len=40", "batch_size=16"]), np.random.default_rng(2)
    )
    assert np.linalg.norm(plain.positions[0, -1]) < 2.0


def test_start_walk_starts_each_batch_where_a_gradient_free_walk_from_g0_ends():
    model = build_encoder(TINY, torch.Generator().manual_seed(0))
    rng = np.random.default_rng(4)
    assert start_state(model, TINY, rng) is None  # off: the learnt g0, and no draw
    assert rng.bit_generator.state == np.random.default_rng(4).bit_generator.state
    config = TINY.with_overrides(["start_walk=7"])
    walk = np.random.default_rng(4).uniform(-0.15, 0.15, size=(1, 7, 2))  # the same draws
    with torch.no_grad():
        expected = model(torch.as_tensor(walk, dtype=torch.float32))[0, -1]
    g_start = start_state(model, config, rng)
    torch.testing.assert_close(g_start, expected)
    assert not torch.allclose(g_start, start_state(model, config, rng))  # a new start per batch
    batch = sample_batch(config, rng)
    g, _ = batch_states(model, batch, g_start)
    torch.testing.assert_close(g[0], g_start)
    v = torch.as_tensor(batch.velocities[batch.perms[2]], dtype=torch.float32)
    with torch.no_grad():
        direct = model(v[None], g_start[None])[0]
    n_steps = batch.positions.shape[1]
    torch.testing.assert_close(g[1 + 2 * n_steps : 1 + 3 * n_steps].detach(), direct)
    compute_losses(model, batch, config, g_start=g_start)["loss"].backward()
    assert model.g0_param.grad is None  # g0 reaches the loss only through the walk
    assert model.mlp[-1].weight.grad.abs().sum() > 0


def test_batch_states_are_the_start_then_each_permuted_trajectory():
    batch = sample_batch(TINY, np.random.default_rng(1))
    model = build_encoder(TINY, torch.Generator().manual_seed(0))
    g, x = batch_states(model, batch)
    n_traj, n_steps = batch.positions.shape[:2]
    assert g.shape == (1 + n_traj * n_steps, TINY.n_units) and x.shape == (len(g), 2)
    torch.testing.assert_close(g[0], model.g0)
    np.testing.assert_array_equal(x[0], batch.start)
    b = 3  # trajectory b, step t sits at row 1 + b·T + t
    v = torch.as_tensor(batch.velocities[batch.perms[b]], dtype=torch.float32)
    with torch.no_grad():
        direct = model(v[None])[0]
    torch.testing.assert_close(g[1 + b * n_steps : 1 + (b + 1) * n_steps].detach(), direct)
    np.testing.assert_allclose(x[1 + b * n_steps + n_steps - 1], batch.positions[b, -1])


def test_curriculum_switches_batches_and_restarts_the_plateau_and_best_records(
    tmp_path, monkeypatch
):
    # Steps 1-4 use 6 x 5 batches, steps 5-6 use 3 x 9. The loss is forced to T (5, then 9):
    # worse after the switch, so without the restart the scheduler would cut the lr a second
    # time and best.safetensors would stay at step 4.
    config = TINY.with_overrides(
        [
            "curriculum_step=4",
            "curriculum_batch_size=3",
            "curriculum_seq_len=9",
            "pair_subsample=None",
        ]
    )
    assert config.batch_shape(3) == (6, 5) and config.batch_shape(4) == (3, 9)
    assert TINY.batch_shape(10**6) == (6, 5)
    shapes = []
    real = train_mod.compute_losses

    def loss_is_t(model, batch, config, generator=None, g_start=None):
        out = real(model, batch, config, generator, g_start)
        shapes.append(batch.positions.shape[:2])
        return {**out, "loss": out["loss"] * 0 + float(batch.positions.shape[1])}

    monkeypatch.setattr(train_mod, "compute_losses", loss_is_t)
    a, b = tmp_path / "a", tmp_path / "b"
    train(config, a, progress=False)
    assert shapes == [(6, 5)] * 8 + [(3, 9)] * 4  # accumulate = 2 batches per step
    assert [m["loss"] for m in metrics(a)] == [5.0] * 4 + [9.0] * 2
    assert [m["lr"] for m in metrics(a)] == [1e-3] * 3 + [5e-4] * 3  # one cut, at step 4
    assert load_checkpoint(a / "best.safetensors").meta["step"] == 6

    train(config, b, progress=False, stop_after=4)  # stop exactly at the switch
    train(config, b, resume=True, progress=False)
    assert metrics(b) == metrics(a)
    assert load_checkpoint(b / "best.safetensors").meta["step"] == 6
