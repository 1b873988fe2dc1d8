import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from hypothesis import given, settings
from hypothesis import strategies as st
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import gridnav_env  # noqa: F401  (registers the env)
from gridnav_env import Arena
from tests.test_arena import l_shape


@pytest.mark.parametrize("task", ["explore", "homing"])
@pytest.mark.parametrize("observation", ["velocity", "position", "velocity+position"])
def test_env_checkers(task, observation):
    env = gym.make("GridNav-Box-v0", task=task, observation=observation)
    gym_check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(env.unwrapped, warn=True)


def test_make_in_fresh_interpreter():
    code = (
        "import gymnasium as gym; e = gym.make('gridnav_env:GridNav-Box-v0'); "
        "print(e.reset(seed=0)[0].shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(2,)"


def test_velocity_observations_integrate_to_position():
    env = gym.make("GridNav-Box-v0", box_size=3.0, observation="velocity")
    obs, info = env.reset(seed=1)
    start = info["position"]
    total = np.zeros(2)
    for _ in range(200):
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        total += obs.astype(np.float64)
        assert r == 0.0 and not term
    np.testing.assert_allclose(start + total, info["position"], atol=1e-4)


def test_seeding_determinism():
    def run(seed):
        env = gym.make("GridNav-Box-v0", task="homing")
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for _ in range(60):
            obs, *_ = env.step(env.action_space.sample())
            out.append(obs)
        return np.array(out)

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_homing_phases_reward_and_termination():
    env = gym.make("GridNav-Box-v0", task="homing", outbound_steps=10, observation="position")
    obs, info = env.reset(seed=0)
    assert info["phase"] == "outbound" and obs[-1] == 0.0
    np.testing.assert_allclose(info["position"], info["home"])
    for _ in range(10):
        obs, r, term, trunc, info = env.step(np.array([1.0, 1.0], dtype=np.float32))
    assert info["phase"] == "return" and obs[-1] == 1.0
    # Oracle controller: head straight home.
    for _ in range(200):
        d = info["home"] - info["position"]
        a = np.clip(d / (env.unwrapped.max_speed * env.unwrapped.dt), -1, 1)
        obs, r, term, trunc, info = env.step(a.astype(np.float32))
        if term:
            break
        assert r == pytest.approx(-env.unwrapped.step_cost)
    assert term and r == 1.0
    assert np.linalg.norm(info["position"] - info["home"]) < env.unwrapped.home_radius


def test_nan_action_raises_and_env_stays_usable():
    env = gym.make("GridNav-Box-v0", task="homing", outbound_steps=1)
    env.reset(seed=0)
    env.step(env.action_space.sample())
    before = env.unwrapped.position
    with pytest.raises(ValueError, match="action"):
        env.step(np.array([np.nan, 0.0], dtype=np.float32))
    with pytest.raises(ValueError, match="action"):
        env.step(np.array([np.inf, 0.0], dtype=np.float32))
    np.testing.assert_array_equal(env.unwrapped.position, before)
    obs, *_ = env.step(np.zeros(2, dtype=np.float32))
    assert np.all(np.isfinite(obs))


@settings(max_examples=20, deadline=None)
@given(actions=st.lists(st.tuples(st.floats(-1, 1), st.floats(-1, 1)), min_size=1, max_size=60))
def test_agent_control_never_escapes_non_convex_arena(actions):
    env = gym.make(
        "GridNav-Box-v0",
        arena=l_shape(),
        task="homing",
        outbound_steps=1,
        max_speed=2.0,
        home=(0.5, 0.5),
    )
    env.reset(seed=0)
    for a in actions:
        obs, r, term, trunc, info = env.step(np.array(a, dtype=np.float32))
        assert env.unwrapped.arena.contains(info["position"])
        assert env.observation_space.contains(obs)
        if term:
            break


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"task": "fly"}, "task"),
        ({"motion": "teleport"}, "motion"),
        ({"observation": "gps"}, "observation"),
        ({"box_size": -2.0}, "box_size"),
        ({"max_speed": 0.0}, "max_speed"),
        ({"home_radius": np.nan}, "home_radius"),
        ({"outbound_steps": 0}, "outbound_steps"),
        ({"dt": 0.12}, "dt"),
        ({"home": (5.0, 5.0)}, "home"),
        ({"render_mode": "ascii"}, "render_mode"),
        ({"speed_mean": -1.0}, "speed_mean"),
    ],
)
def test_bad_env_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        gym.make("GridNav-Box-v0", **kwargs)


def test_rgb_array_render_shows_agent_where_it_is():
    env = gym.make("GridNav-Box-v0", render_mode="rgb_array", arena=Arena.box(2.0))
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    r = env.unwrapped._renderer
    px = r.world_to_pixel(env.unwrapped.position).round().astype(int)
    assert tuple(frame[px[1], px[0]]) == (220, 60, 40)  # the agent's colour at its pixel
    env.close()
