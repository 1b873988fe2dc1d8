"""VecEncoderObservation: the codes of the per-env EncoderObservation, batched over a VecEnv."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.vec_env import DummyVecEnv

from gridnav_agents.rl import StepScaleMismatch, VecEncoderObservation, make_homing_env
from gridnav_agents.sic import SICEncoder

torch.set_num_threads(1)
ENV = {"box_size": 1.5, "motion": "uniform", "outbound_steps": 6, "max_return_steps": 4}


def small_encoder(seed: int = 0) -> SICEncoder:
    return SICEncoder(16, 16, generator=torch.Generator().manual_seed(seed))


def vec_env(n: int, **kwargs) -> DummyVecEnv:
    return DummyVecEnv([lambda: make_homing_env(observation="velocity", **ENV, **kwargs)] * n)


def test_codes_match_the_per_env_wrapper_through_episode_ends():
    enc = small_encoder()
    per_env = DummyVecEnv([lambda: make_homing_env(enc, **ENV)] * 3)
    batched = VecEncoderObservation(vec_env(3), enc)
    assert batched.observation_space == per_env.observation_space
    per_env.seed(5)
    batched.seed(5)
    a, b = per_env.reset(), batched.reset()
    np.testing.assert_array_equal(a, b)
    g0 = enc.initial_state(1)[0].numpy()
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(40):  # episodes of 6-24 outbound steps and at most 4 return steps
        actions = rng.uniform(-1, 1, (3, 2)).astype(np.float32)
        a, ra, da, ia = per_env.step(actions)
        b, rb, db, ib = batched.step(actions)
        np.testing.assert_array_equal(da, db)
        np.testing.assert_array_equal(ra, rb)
        np.testing.assert_allclose(a, b, atol=1e-5)
        for i in np.flatnonzero(db):
            ends += 1
            np.testing.assert_allclose(
                ia[i]["terminal_observation"], ib[i]["terminal_observation"], atol=1e-5
            )
            # The next episode starts from the start code, outbound.
            np.testing.assert_allclose(b[i, :16], g0, atol=1e-6)
            assert b[i, -1] == 0.0
    assert ends >= 3
    assert set(np.unique(b[:, -1])) <= {0.0, 1.0}


def test_non_finite_displacement_raises_and_keeps_the_states():
    class BadVelocity(gym.Wrapper):
        def step(self, action):
            obs, reward, terminated, truncated, info = self.env.step(action)
            info["velocity"] = np.array([0.05, np.nan])
            return obs, reward, terminated, truncated, info

    enc = small_encoder()
    venv = DummyVecEnv(
        [lambda: make_homing_env(observation="velocity", **ENV)]
        + [lambda: BadVelocity(make_homing_env(observation="velocity", **ENV))]
    )
    wrapped = VecEncoderObservation(venv, enc)
    wrapped.reset()
    before = wrapped.state.clone()
    with pytest.raises(ValueError, match=r"info\['velocity'\] must be finite"):
        wrapped.step(np.zeros((2, 2), dtype=np.float32))
    torch.testing.assert_close(wrapped.state, before, rtol=0, atol=0)


def test_step_scale_mismatch_is_reported():
    enc = small_encoder()
    with pytest.raises(StepScaleMismatch, match="velocity_scale=0.5"):
        VecEncoderObservation(vec_env(2, max_speed=0.6), enc)
    # The explicit conversion is accepted, and the codes are those of the scaled displacements.
    wrapped = VecEncoderObservation(vec_env(2, max_speed=0.6), enc, velocity_scale=0.5)
    wrapped.reset()
    _, _, _, infos = wrapped.step(np.zeros((2, 2), dtype=np.float32))
    v = torch.tensor(np.stack([i["velocity"] for i in infos]) * 0.5, dtype=torch.float32)
    expected = enc.step(enc.initial_state(2), v)
    torch.testing.assert_close(wrapped.state, expected, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="on_mismatch"):
        VecEncoderObservation(vec_env(2), enc, on_mismatch="loud")
