"""Homing: metrics, encoder resolution, a short training run that must beat a random policy,
the benchmark runner / CLI entry point and the example."""

import argparse
import json
import runpy
from pathlib import Path

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from gridnav_agents.cli import main as gridnav
from gridnav_agents.rl import (
    AGENTS,
    HomingConfig,
    RandomPolicy,
    add_homing_arguments,
    evaluate_homing,
    homing_main,
    make_homing_env,
    optimal_return_steps,
    resolve_encoder,
    run_homing_benchmark,
    summarize_episodes,
)
from gridnav_agents.sic import SICEncoder
from gridnav_agents.sic.checkpoint import save_checkpoint

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
    assert on_disk["encoder"]["config"] == enc.config()
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
    assert result["command"].startswith("gridnav homing --agents oracle --seeds 0 --steps 256")
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
