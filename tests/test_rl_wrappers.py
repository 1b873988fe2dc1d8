"""EncoderObservation, ReturnTimeLimit and EncoderCodeExtractor (small encoders: fast)."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv
from torch import nn

from gridnav_agents.rl import (
    EncoderCodeExtractor,
    EncoderObservation,
    ReturnTimeLimit,
    StepScaleMismatch,
    StepScaleWarning,
    make_homing_env,
)
from gridnav_agents.sic import SICEncoder

torch.set_num_threads(1)
ENV = {"box_size": 1.5, "motion": "uniform", "outbound_steps": 8}


def small_encoder(seed: int = 0, step_scale: float = 0.15) -> SICEncoder:
    return SICEncoder(16, 16, step_scale=step_scale, generator=torch.Generator().manual_seed(seed))


def params(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_state_reset_on_reset_and_differs_along_a_path():
    enc = small_encoder()
    env = make_homing_env(enc, **ENV)
    assert env.observation_space.shape == (17,)
    g0 = enc.initial_state(1)[0].detach().numpy()
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs[:16], g0, atol=1e-6)
    assert obs[-1] == 0.0
    codes = [obs[:16]]
    for _ in range(12):
        obs, *_ = env.step(env.action_space.sample())
        codes.append(obs[:16])
        assert env.observation_space.contains(obs)
    codes = np.array(codes)
    assert np.all(np.linalg.norm(np.diff(codes, axis=0), axis=1) > 1e-4)  # moves every step
    assert obs[-1] == 1.0  # phase flag passed through (return after 8 steps)
    obs, _ = env.reset(seed=1)
    np.testing.assert_allclose(obs[:16], g0, atol=1e-6)
    np.testing.assert_allclose(env.state[0].numpy(), g0, atol=1e-6)


def test_code_is_the_encoder_run_on_the_displacements():
    enc = small_encoder()
    env = make_homing_env(enc, **ENV)
    obs, _ = env.reset(seed=3)
    vs = []
    for _ in range(10):
        obs, _, _, _, info = env.step(np.array([0.5, -1.0], dtype=np.float32))
        vs.append(info["velocity"])
    with torch.no_grad():
        expected = enc(torch.tensor(np.array(vs), dtype=torch.float32)[None])[0, -1]
    np.testing.assert_allclose(obs[:16], expected.numpy(), atol=1e-5)


def test_two_envs_in_a_vector_env_keep_separate_states():
    enc = small_encoder()
    venv = DummyVecEnv([lambda: make_homing_env(enc, **ENV)] * 2)
    venv.seed(0)
    venv.reset()
    actions = np.zeros((2, 2), dtype=np.float32)
    for _ in range(6):
        obs, *_ = venv.step(actions)
    assert not np.allclose(obs[0, :16], obs[1, :16])
    # Each env's code equals the encoder run on that env's own displacements: recompute env 1
    # alone from the same seed (DummyVecEnv seeds env i with seed + i).
    solo = make_homing_env(enc, **ENV)
    solo.reset(seed=1)
    for _ in range(6):
        solo_obs, *_ = solo.step(actions[1])
    np.testing.assert_allclose(obs[1], solo_obs, atol=1e-6)


def test_gymnasium_vector_env_keeps_separate_states():
    enc = small_encoder()
    venv = gym.vector.SyncVectorEnv([lambda: make_homing_env(enc, **ENV)] * 2)
    obs, _ = venv.reset(seed=[5, 5])
    for _ in range(4):
        obs, *_ = venv.step(np.zeros((2, 2), dtype=np.float32))
    np.testing.assert_allclose(obs[0], obs[1])  # same seed, same path, same code
    venv.reset(seed=[5, 6])
    for _ in range(4):
        obs, *_ = venv.step(np.zeros((2, 2), dtype=np.float32))
    assert not np.allclose(obs[0, :16], obs[1, :16])


def test_subprocess_vector_env():
    enc = small_encoder()
    venv = SubprocVecEnv([lambda: make_homing_env(enc, **ENV)] * 2, start_method="fork")
    try:
        venv.seed(0)
        venv.reset()
        for _ in range(3):
            obs, *_ = venv.step(np.zeros((2, 2), dtype=np.float32))
        assert obs.shape == (2, 17) and not np.allclose(obs[0], obs[1])
    finally:
        venv.close()


def test_env_checkers_pass():
    env = make_homing_env(small_encoder(), max_return_steps=10, **ENV)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "env is wrapped" notice
        gym_check_env(env)
    sb3_check_env(env, warn=True)


def test_step_scale_mismatch_is_reported_and_conversion_is_explicit():
    fast = {**ENV, "max_speed": 0.6}  # 0.3 m per step, twice the encoder's scale
    with pytest.raises(StepScaleMismatch, match="velocity_scale=0.5"):
        make_homing_env(small_encoder(), **fast)
    with pytest.raises(StepScaleMismatch):
        make_homing_env(small_encoder(step_scale=0.3), **ENV)
    with pytest.warns(StepScaleWarning):
        make_homing_env(small_encoder(), on_mismatch="warn", **fast)
    enc = small_encoder()
    env = make_homing_env(enc, velocity_scale=0.5, **fast)
    obs, _ = env.reset(seed=0)
    obs, _, _, _, info = env.step(np.zeros(2, dtype=np.float32))
    with torch.no_grad():
        v = torch.tensor(info["velocity"] * 0.5, dtype=torch.float32)[None]
        expected = enc.step(enc.initial_state(1), v)[0]
    np.testing.assert_allclose(obs[:16], expected.numpy(), atol=1e-6)


def test_out_of_range_displacement_warns_once():
    class Big(gym.Wrapper):  # a broken env that reports 1 m steps
        def step(self, a):
            obs, r, te, tr, info = self.env.step(a)
            return obs, r, te, tr, {**info, "velocity": np.array([1.0, 0.0])}

    env = EncoderObservation(Big(gym.make("GridNav-Box-v0", task="homing")), small_encoder())
    env.reset(seed=0)
    with pytest.warns(StepScaleWarning, match="training range"):
        env.step(np.zeros(2, dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.step(np.zeros(2, dtype=np.float32))


def test_velocity_from_observation_matches_info():
    enc = small_encoder()
    a = make_homing_env(enc, **ENV)
    b = EncoderObservation(
        gym.make("GridNav-Box-v0", task="homing", **ENV), enc, velocity_source="observation"
    )
    a.reset(seed=2), b.reset(seed=2)
    for _ in range(9):
        oa, *_ = a.step(np.ones(2, dtype=np.float32))
        ob, *_ = b.step(np.ones(2, dtype=np.float32))
    np.testing.assert_allclose(oa, ob, atol=1e-5)  # float32 observation vs float64 info


def test_return_time_limit_counts_only_return_steps():
    env = ReturnTimeLimit(gym.make("GridNav-Box-v0", task="homing", **ENV), 3)
    env.reset(seed=0)
    n, truncated, terminated = 0, False, False
    while not (truncated or terminated):
        _, _, terminated, truncated, info = env.step(np.zeros(2, dtype=np.float32))
        n += 1
    assert truncated and info["return_steps"] == 3 and n >= 8 + 3


def test_encoder_unchanged_by_ppo_and_extractor_protects_frozen_module():
    enc = small_encoder()
    before_enc = params(enc)
    frozen = nn.Sequential(nn.Linear(16, 8), nn.Dropout(0.5))
    before_frozen = params(frozen)
    control = nn.Linear(16, 8)  # the same kind of module registered normally: SB3 changes it
    control_init = control.weight.detach().clone()

    class Registered(EncoderCodeExtractor):
        def __init__(self, space, **kw):
            super().__init__(space, **kw)
            self.control = control

    env = DummyVecEnv([lambda: make_homing_env(enc, **ENV)])
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=64,
        batch_size=32,
        n_epochs=2,
        seed=0,
        device="cpu",
        policy_kwargs={
            "features_extractor_class": Registered,
            "features_extractor_kwargs": {"code_dim": 16, "frozen": frozen, "features_dim": 8},
        },
    )
    assert not torch.equal(control.weight, control_init)  # SB3's orthogonal re-initialisation
    extractor = model.policy.features_extractor
    head_before = params(extractor.head)
    opt_params = {id(p) for g in model.policy.optimizer.param_groups for p in g["params"]}
    assert not opt_params & {id(p) for p in frozen.parameters()}
    assert id(control.weight) in opt_params  # control: a registered module is optimised
    model.learn(128)
    model.policy.set_training_mode(True)
    assert not frozen.training and not frozen[1].training
    for k, v in params(frozen).items():
        torch.testing.assert_close(v, before_frozen[k], rtol=0, atol=0)
    for k, v in params(enc).items():
        torch.testing.assert_close(v, before_enc[k], rtol=0, atol=0)
    assert not any(p.requires_grad for p in enc.parameters())
    assert any(not torch.equal(v, params(extractor.head)[k]) for k, v in head_before.items())


def test_extractor_head_shapes_and_validation():
    space = gym.spaces.Box(0, 1, (17,), np.float32)
    ext = EncoderCodeExtractor(space, features_dim=5, code_dim=16, hidden=(7,))
    assert ext(torch.zeros(3, 17)).shape == (3, 5)
    with pytest.raises(ValueError, match="code_dim"):
        EncoderCodeExtractor(space, code_dim=18)


def test_non_finite_displacement_raises_and_keeps_the_state():
    class BadVelocity(gym.Wrapper):
        def step(self, action):
            obs, reward, terminated, truncated, info = self.env.step(action)
            info["velocity"] = np.array([0.05, np.inf])
            return obs, reward, terminated, truncated, info

    enc = small_encoder()
    env = EncoderObservation(BadVelocity(gym.make("GridNav-Box-v0", **ENV)), enc)
    env.reset(seed=0)
    before = env.state.clone()
    with pytest.raises(ValueError, match=r'info\["velocity"\] must be finite'):
        env.step(env.action_space.sample())
    torch.testing.assert_close(env.state, before, rtol=0, atol=0)
    g = enc.initial_state(2)
    with pytest.raises(ValueError, match=r"v must be finite .* entry \(1, 0\) is nan"):
        enc.step(g, torch.tensor([[0.1, 0.0], [float("nan"), 0.0]]))
