"""Homing: metrics, encoder resolution, a short training run that must beat a random policy,
the benchmark runner / CLI entry point and the example."""

import argparse
import dataclasses
import hashlib
import json
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from gridnav_agents.cli import main as gridnav
from gridnav_agents.provenance import sha256
from gridnav_agents.rl import (
    AGENTS,
    TASKS,
    HomingConfig,
    RandomPolicy,
    add_homing_arguments,
    evaluate_homing,
    homing_main,
    make_homing_env,
    optimal_return_steps,
    random_encoder,
    resolve_encoder,
    run_homing_benchmark,
    steps_to_success,
    summarize_episodes,
)
from gridnav_agents.rl.agent_analysis import analyze_activity
from gridnav_agents.rl.benchmark import _aggregate, _encoder_record
from gridnav_agents.sic import SICEncoder
from gridnav_agents.sic.checkpoint import save_checkpoint
from gridnav_env.arena import Arena

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        ((0.5, 0.0), 3),  # 0.35 m to the disc at 0.15 m per step: 2 steps leave 0.05 m
        ((0.28, 0.2), 1),  # a diagonal step reaches the disc although the straight line needs 2
        ((0.3, 0.3), 2),
        ((0.1, 0.0), 0),  # already home
        ((-0.5, 0.0), 3),
    ],
)
def test_optimal_return_steps(offset, expected):
    assert optimal_return_steps(np.array(offset), 0.15, 0.15) == expected


def test_resolve_encoder_from_checkpoint_and_errors(tmp_path):
    enc = SICEncoder(8, 8, step_scale=0.15, generator=torch.Generator().manual_seed(1))
    path = save_checkpoint(tmp_path / "run" / "last.safetensors", enc)
    loaded = resolve_encoder(tmp_path / "run")
    assert loaded.config() == enc.config() and not loaded.training
    torch.testing.assert_close(loaded.g0, enc.g0)
    env = make_homing_env(str(path), box_size=1.5)
    assert env.observation_space.shape == (9,)
    with pytest.raises(FileNotFoundError):
        resolve_encoder(tmp_path / "missing")
    rand = resolve_encoder("random", seed=3, like=enc)
    assert rand.config() == enc.config()
    assert not torch.equal(rand.g0_param, enc.g0_param)
    with pytest.raises(ValueError, match="observation='velocity'"):
        make_homing_env(enc, observation="position")


def test_short_training_beats_a_random_policy():
    # Easy homing: 1 m box, 5 outbound steps, the oracle position observation.
    kwargs = {
        "box_size": 1.0,
        "motion": "uniform",
        "outbound_steps": 5,
        "home_radius": 0.15,
        "max_return_steps": 8,
        "observation": "position",
    }
    venv = DummyVecEnv([lambda: make_homing_env(**kwargs)] * 4)
    venv.seed(0)
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=128, n_epochs=10, seed=0, device="cpu")
    model.learn(6_000)
    env = make_homing_env(**kwargs)
    trained = summarize_episodes(evaluate_homing(model, env, 100, seed=500))
    rand = summarize_episodes(evaluate_homing(RandomPolicy(env.action_space, 0), env, 100, 500))
    assert trained["success_rate"] >= rand["success_rate"] + 0.25, (trained, rand)
    assert trained["step_ratio_mean"] >= 1.0


class GoHome:
    """Heads straight for home (the origin) from the position observation ``(x, y, phase)``:
    each step covers the whole remaining offset per axis, up to the 0.15 m bound."""

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        obs = np.asarray(obs)
        return np.clip(-obs[:, :2] / 0.15, -1, 1).astype(np.float32), state


ORACLE_ENV = {
    "box_size": 1.5,
    "motion": "uniform",
    "outbound_steps": 12,
    "home_radius": 0.15,
    "max_return_steps": 20,
    "observation": "position",
}


def test_straight_return_is_optimal_and_lock_step_episodes_equal_sequential_ones():
    single = evaluate_homing(GoHome(), make_homing_env(**ORACLE_ENV), 7, seed=40)
    assert all(r.success and r.return_steps == r.optimal_steps > 0 for r in single)
    assert all(r.start_distance >= 0.15 for r in single)
    # 7 episodes on 3 envs in lock step: waves of 3, 3 and 1 episodes, the same episodes.
    venv = DummyVecEnv([lambda: make_homing_env(**ORACLE_ENV)] * 3)
    assert evaluate_homing(GoHome(), venv, 7, seed=40) == single
    # A policy that never moves fails every episode after max_return_steps return steps.
    idle = RandomPolicy(make_homing_env(**ORACLE_ENV).action_space, 0)
    idle.predict = lambda obs, *a, **k: (np.zeros((len(obs), 2), np.float32), None)
    stuck = evaluate_homing(idle, venv, 4, seed=40)
    assert [(r.success, r.return_steps, r.path_length) for r in stuck] == [(False, 20, 0.0)] * 4
    assert all(r.wall_hits == 0 for r in single + stuck)


def test_wall_contacts_are_counted():
    # Always heading right (+0.15 m per step): from x0, floor((0.75 - x0) / 0.15) steps stay
    # inside the 1.5 m box, every later step is reflected by the right wall.
    kwargs = {k: v for k, v in ORACLE_ENV.items() if k != "observation"}
    env = make_homing_env(**kwargs)
    right = RandomPolicy(env.action_space, 0)
    right.predict = lambda obs, *a, **k: (np.tile(np.float32([1, 0]), (len(obs), 1)), None)
    results = evaluate_homing(right, env, 6, seed=80)
    checked = 0
    for i, res in enumerate(results):
        _, info = env.reset(seed=80 + i)
        while info["phase"] != "return":
            _, _, _, _, info = env.step(np.zeros(2))
        x0, y0 = info["position"]
        if abs(y0) >= 0.15 or x0 > 0:  # cannot cross the home disc
            assert not res.success
            assert res.wall_hits == 20 - np.floor((0.75 - x0) / 0.15) > 0
            checked += 1
    assert checked >= 4


def test_recurrent_policy_in_lock_step_matches_sequential_episodes():
    from sb3_contrib import RecurrentPPO

    kwargs = {k: v for k, v in ORACLE_ENV.items() if k != "observation"}
    venv = DummyVecEnv([lambda: make_homing_env(**kwargs)] * 3)
    model = RecurrentPPO(
        "MlpLstmPolicy", venv, n_steps=8, seed=0, device="cpu",
        policy_kwargs={"lstm_hidden_size": 8, "net_arch": [8]},
    )  # fmt: skip
    single = evaluate_homing(model, make_homing_env(**kwargs), 5, seed=7)
    batched = evaluate_homing(model, venv, 5, seed=7)
    assert [(r.success, r.return_steps, r.optimal_steps) for r in single] == [
        (r.success, r.return_steps, r.optimal_steps) for r in batched
    ]
    np.testing.assert_allclose(
        [r.path_length for r in single], [r.path_length for r in batched], atol=1e-4
    )


def test_steps_to_success_and_their_mean_over_seeds():
    curve = [
        {"steps": 0, "success_rate": 0.1},
        {"steps": 100, "success_rate": 0.5},
        {"steps": 200, "success_rate": 0.45},
        {"steps": 300, "success_rate": 0.85},
    ]
    assert steps_to_success(curve, 0.5) == 100
    assert steps_to_success(curve, 0.8) == 300
    assert steps_to_success(curve, 0.9) is None
    final = {"success_rate": 0.5, "step_ratio_mean": 1.0, "step_ratio_median": 1.0}
    late = [{**p, "steps": p["steps"] * 3} for p in curve]
    flat = [{"steps": p["steps"], "success_rate": 0.2} for p in curve]
    runs = [{"seed": i, "final": final, "curve": c} for i, c in enumerate([curve, late, flat])]
    agg = _aggregate(runs)
    assert agg["steps_to_0.5"]["per_seed"] == [100, 300, None]
    assert agg["steps_to_0.5"]["reached"] == 2
    assert agg["steps_to_0.5"]["mean"] == 200 and agg["steps_to_0.5"]["std"] == 100
    assert agg["steps_to_0.8"]["per_seed"] == [300, 900, None]


def test_tasks_and_their_outbound_distances():
    hard = HomingConfig.for_task("hard", total_steps=100)
    assert (hard.box_size, hard.outbound_steps, hard.max_return_steps) == (5.0, 180, 20)
    assert hard.total_steps == 100
    assert HomingConfig.for_task("hard", box_size=6.0, outbound_steps=None).box_size == 6.0
    with pytest.raises(ValueError, match="task must be one of"):
        HomingConfig.for_task("medium")

    def end_distances(task, n=300):
        env = make_homing_env(**HomingConfig.for_task(task).env_kwargs())
        out = []
        for i in range(n):
            _, info = env.reset(seed=i)
            while info["phase"] != "return":
                _, _, _, _, info = env.step(np.zeros(2))
            out.append(np.hypot(*(info["position"] - info["home"])))
        return np.array(out)

    # The hard task's walks end beyond one period of the shipped code (1.29 m) on average; the
    # easy task's within half a period.
    assert end_distances("hard").mean() > 1.3
    assert end_distances("easy").mean() < 0.645
    # The straight-line return from the farthest point of the hard box fits in its return steps.
    corner = np.full(2, TASKS["hard"]["box_size"] / 2)
    assert optimal_return_steps(corner, 0.15, 0.15) < TASKS["hard"]["max_return_steps"]


def test_decoding_at_the_return_start_uses_exactly_those_samples():
    # 20 episodes of 6 samples, the last 2 of the return; the activity is the position itself,
    # except at each return start, where it is a constant far from every position (so the 10
    # nearest neighbours of a test return start are the 10 training return starts).
    rng = np.random.default_rng(0)
    n_epi, t = 20, 6
    pos = rng.uniform(-0.7, 0.7, (n_epi * t, 2))
    act = pos.copy()
    phase = np.tile([0, 0, 0, 0, 1, 1], n_epi).astype(float)
    start = np.tile([0, 0, 0, 0, 1, 0], n_epi).astype(bool)
    act[start] = [5.0, 5.0]
    data = {"activity": act, "positions": pos, "episode": np.repeat(np.arange(n_epi), t)}
    summary, _, _ = analyze_activity({**data, "phase": phase}, Arena.box(1.5))
    assert summary["decoding_median_m"] < 0.15
    # Every return start decodes to the mean of the training return starts.
    test_pos = pos[start & (data["episode"] % 2 == 1)]
    train_mean = pos[start & (data["episode"] % 2 == 0)].mean(axis=0)
    expected = np.linalg.norm(test_pos - train_mean, axis=1)
    assert summary["decoding_return_start_median_m"] == pytest.approx(np.median(expected))
    chance = np.linalg.norm(test_pos - pos[data["episode"] % 2 == 0].mean(axis=0), axis=1)
    assert summary["decoding_return_start_chance_m"] == pytest.approx(chance.mean())
    no_return = analyze_activity({**data, "phase": np.zeros_like(phase)}, Arena.box(1.5))[0]
    assert no_return["decoding_return_start_median_m"] is None


def test_agents_run_separately_merge_into_one_results_file(tmp_path):
    tiny = HomingConfig(
        total_steps=64, n_envs=2, n_steps=32, batch_size=32, n_epochs=1, eval_every=32,
        eval_episodes=2, final_episodes=2, net_arch=(8,), analysis_episodes=0,
    )  # fmt: skip
    run_homing_benchmark(tiny, ["oracle"], [0, 1], "random", tmp_path, command="a", verbose=0)
    first = json.loads((tmp_path / "homing.json").read_text())
    longer = dataclasses.replace(tiny, total_steps=128)
    run_homing_benchmark(longer, ["velocity"], [0, 1], "random", tmp_path, command="b", verbose=0)
    merged = json.loads((tmp_path / "homing.json").read_text())
    assert merged["agents"] == ["velocity", "oracle"] and merged["command"] == "b"
    assert merged["runs"]["oracle"] == first["runs"]["oracle"]
    assert merged["provenance"]["oracle"]["command"] == "a"
    assert merged["provenance"]["velocity"]["total_steps"] == 128
    assert [r["env_steps"] for r in merged["runs"]["velocity"]] == [128, 128]
    # Rerunning an agent replaces its rows.
    run_homing_benchmark(tiny, ["oracle"], [0, 1], "random", tmp_path, command="c", verbose=0)
    again = json.loads((tmp_path / "homing.json").read_text())
    assert again["provenance"]["oracle"]["command"] == "c"
    assert again["runs"]["velocity"] == merged["runs"]["velocity"]
    # Another config or other seeds: refused before any training, the file untouched.
    before = (tmp_path / "homing.json").read_bytes()
    other = dataclasses.replace(tiny, box_size=2.0)
    with pytest.raises(ValueError, match="box_size 1.5 there, 2.0 now"):
        run_homing_benchmark(other, ["oracle"], [0, 1], "random", tmp_path, verbose=0)
    with pytest.raises(ValueError, match=r"seeds \[0, 1\] there, \[0\] now"):
        run_homing_benchmark(tiny, ["oracle"], [0], "random", tmp_path, verbose=0)
    assert (tmp_path / "homing.json").read_bytes() == before
    (tmp_path / "homing.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable homing results file"):
        run_homing_benchmark(tiny, ["oracle"], [0, 1], "random", tmp_path, verbose=0)


def test_encoder_record_of_a_checkpoint_names_its_file_hash_and_config(tmp_path):
    enc = SICEncoder(8, 8, generator=torch.Generator().manual_seed(1))
    path = save_checkpoint(tmp_path / "last.safetensors", enc)
    record = _encoder_record(str(path), resolve_encoder(str(path)))
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["sha256_of"] == "checkpoint file" and record["spec"] == str(path)
    assert record["weights_sha256"] == sha256(enc)
    assert _encoder_record(enc, enc)["sha256"] == sha256(enc)


def test_benchmark_runs_every_agent_and_writes_json_and_png(tmp_path):
    tiny = HomingConfig(
        total_steps=128,
        n_envs=2,
        n_steps=32,
        batch_size=32,
        n_epochs=1,
        eval_every=64,
        eval_episodes=2,
        final_episodes=3,
        net_arch=(8,),
        lstm_hidden=8,
        analysis_episodes=8,
    )
    enc = SICEncoder(8, 8, generator=torch.Generator().manual_seed(0))
    result = run_homing_benchmark(
        tiny, AGENTS, seeds=[0], encoder=enc, out_dir=tmp_path, command="test", verbose=0
    )
    on_disk = json.loads((tmp_path / "homing.json").read_text())
    assert set(on_disk["summary"]) == set(AGENTS) and on_disk["command"] == "test"
    assert on_disk["encoder"]["encoder_args"] == enc.config()
    assert on_disk["encoder"]["sha256"] == sha256(enc)
    rand = on_disk["provenance"]["random_encoder"]["encoder"]
    assert rand["sha256"] == sha256(random_encoder(enc, seed=12345)) != sha256(enc)
    for agent in AGENTS:
        prov = on_disk["provenance"][agent]
        assert prov["command"] == "test" and prov["total_steps"] == 128 and prov["wall_s"] > 0
        assert (prov["encoder"] is None) == (agent not in ("sic", "random_encoder"))
    for agent in AGENTS:
        run = result["runs"][agent][0]
        assert run["env_steps"] >= 128 and run["final"]["episodes"] == 3
        assert [p["steps"] for p in run["curve"]] == [0, 64, 128]
    png = b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "homing_curves.png").read_bytes()[:8] == png
    assert set(on_disk["analysis"]) == {"lstm", "sic", "random_encoder"}
    assert on_disk["analysis"]["lstm"]["n_units"] == 8
    assert on_disk["analysis"]["sic"]["decoding_median_m"] >= 0
    for agent in on_disk["analysis"]:
        assert (tmp_path / f"homing_ratemaps_{agent}.png").read_bytes()[:8] == png


def test_homing_cli_entry_point(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    add_homing_arguments(parser)
    out = tmp_path / "h"
    args = parser.parse_args(
        [
            "--agents",
            "oracle",
            "--seeds",
            "0",
            "--steps",
            "256",
            "--eval-episodes",
            "2",
            "--final-episodes",
            "2",
            "--analysis-episodes",
            "0",
            "--encoder",
            "random",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert homing_main(args) == 0
    result = json.loads((out / "homing.json").read_text())
    assert result["command"].startswith(
        "gridnav homing --task easy --agents oracle --seeds 0 --steps 256 --box 1.5 --outbound 20"
    )
    assert "oracle" in capsys.readouterr().out


def test_homing_cli_bad_input_is_a_clear_error(tmp_path, capsys):
    argv = ["homing", "--encoder", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
    assert gridnav(argv) == 2
    err = capsys.readouterr().err
    assert "nope" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ValueError, match="total_steps"):
        HomingConfig(total_steps=0)


def test_example_runs():
    ns = runpy.run_path(str(ROOT / "examples" / "homing_ppo.py"))
    out = ns["main"](steps=256, episodes=3, seed=0)
    assert 0.0 <= out["success_rate"] <= 1.0
