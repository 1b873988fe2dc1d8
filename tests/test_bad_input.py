"""Bad input across the public API: each case raises ``ValueError`` whose message names the
parameter the caller passed (the keyword, e.g. ``box_size``, not an internal name)."""

import json
import re

import gymnasium as gym
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import gridnav_env  # noqa: F401  (registers GridNav-Box-v0)
from gridnav_agents.cli import main as gridnav
from gridnav_agents.rl import EncoderObservation
from gridnav_agents.sic import SICConfig, SICEncoder, load_encoder
from gridnav_agents.sic.checkpoint import FORMAT
from gridnav_env import (
    Arena,
    SmoothMotion,
    UniformVelocity,
    independent_rollouts,
    permuted_rollouts,
)

NAN, INF = float("nan"), float("inf")


def make(**kwargs):
    env = gym.make("GridNav-Box-v0", **kwargs)
    env.reset(seed=0)
    return env


def act(action):
    env = make(task="homing", outbound_steps=1)
    env.step(np.zeros(2, dtype=np.float32))  # now in the return phase: the action counts
    env.step(action)


def rng():
    return np.random.default_rng(0)


def encoder():
    return SICEncoder(8, 8, generator=torch.Generator().manual_seed(0))


def step(v):
    enc = encoder()
    enc.step(enc.initial_state(1), torch.tensor(v))


def indexed(v):
    enc = encoder()
    enc.forward_indexed(torch.tensor(v), torch.tensor([[0, 1], [1, 0]]))


class NaNVelocityEnv(gym.Wrapper):
    """Reports a NaN displacement in ``info["velocity"]``."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["velocity"] = np.array([NAN, 0.0])
        return obs, reward, terminated, truncated, info


def wrapped_nan_step():
    env = EncoderObservation(NaNVelocityEnv(gym.make("GridNav-Box-v0")), encoder())
    env.reset(seed=0)
    env.step(np.zeros(2, dtype=np.float32))


def wrapper(**kwargs):
    EncoderObservation(gym.make("GridNav-Box-v0"), encoder(), **kwargs)


CASES = {
    # GridNav-Box-v0 keywords
    "box_size='big'": (lambda: make(box_size="big"), "box_size"),
    "box_size=1e200": (lambda: make(box_size=1e200), "box_size"),
    "box_size=None": (lambda: make(box_size=None), "box_size"),
    "box_size=-2": (lambda: make(box_size=-2.0), "box_size"),
    "box_size=nan": (lambda: make(box_size=NAN), "box_size"),
    "box_size=True": (lambda: make(box_size=True), "box_size"),
    "box_size=1+1j": (lambda: make(box_size=1 + 1j), "box_size"),
    "dt='0.5'": (lambda: make(dt="0.5"), "dt"),
    "dt=nan": (lambda: make(dt=NAN), "dt"),
    "dt=None": (lambda: make(dt=None), "dt"),
    "dt=0.12": (lambda: make(dt=0.12), "dt"),
    "max_speed='1'": (lambda: make(max_speed="1"), "max_speed"),
    "max_speed=0": (lambda: make(max_speed=0.0), "max_speed"),
    "max_speed=inf": (lambda: make(max_speed=INF), "max_speed"),
    "home_radius=nan": (lambda: make(home_radius=NAN), "home_radius"),
    "home_radius='0.2'": (lambda: make(home_radius="0.2"), "home_radius"),
    "outbound_steps=nan": (lambda: make(outbound_steps=NAN), "outbound_steps"),
    "outbound_steps=None": (lambda: make(outbound_steps=None), "outbound_steps"),
    "outbound_steps='3'": (lambda: make(outbound_steps="3"), "outbound_steps"),
    "outbound_steps=2.5": (lambda: make(outbound_steps=2.5), "outbound_steps"),
    "outbound_steps=True": (lambda: make(outbound_steps=True), "outbound_steps"),
    "step_cost=-1": (lambda: make(step_cost=-1.0), "step_cost"),
    "step_cost='x'": (lambda: make(step_cost="x"), "step_cost"),
    "home='x'": (lambda: make(home="x"), "home"),
    "home=(nan, 0)": (lambda: make(home=(NAN, 0.0)), "home"),
    "home=(5, 5)": (lambda: make(home=(5.0, 5.0)), "home"),
    "home=(0, 0, 0)": (lambda: make(home=(0.0, 0.0, 0.0)), "home"),
    "task='fly'": (lambda: make(task="fly"), "task"),
    "motion='teleport'": (lambda: make(motion="teleport"), "motion"),
    "observation='gps'": (lambda: make(observation="gps"), "observation"),
    "render_mode='ascii'": (lambda: make(render_mode="ascii"), "render_mode"),
    "arena='box'": (lambda: make(arena="box"), "arena"),
    "speed_mean='fast'": (lambda: make(speed_mean="fast"), "speed_mean"),
    "thigmotaxis=2": (lambda: make(thigmotaxis=2.0), "thigmotaxis"),
    "unknown keyword": (lambda: make(speed_maen=0.1), "speed_maen"),
    "uniform + speed_mean": (lambda: make(motion="uniform", speed_mean=0.1), "speed_mean"),
    # actions
    "action 'ab'": (lambda: act("ab"), "action"),
    "action strings": (lambda: act(["0.1", "0.2"]), "action"),
    "action dict": (lambda: act({"a": 1}), "action"),
    "action complex": (lambda: act(1 + 2j), "action"),
    "action complex array": (lambda: act(np.array([1 + 1j, 0])), "action"),
    "action booleans": (lambda: act([True, False]), "action"),
    "action None": (lambda: act(None), "action"),
    "action of 3": (lambda: act([0.1, 0.2, 0.3]), "action"),
    "action nan": (lambda: act([NAN, 0.0]), "action"),
    "action inf": (lambda: act([INF, 0.0]), "action"),
    "action ragged": (lambda: act([[0.1], [0.2, 0.3]]), "action"),
    # arenas
    "Arena.box('big')": (lambda: Arena.box("big"), "size"),
    "Arena.box(None)": (lambda: Arena.box(None), "size"),
    "Arena.box(1e200)": (lambda: Arena.box(1e200), "size"),
    "Arena.rectangle(1, -1)": (lambda: Arena.rectangle(1.0, -1.0), "height"),
    "Arena(2 vertices)": (lambda: Arena([(0, 0), (1, 1)]), "polygon"),
    "Arena('abc')": (lambda: Arena("abc"), "polygon"),
    "Arena(huge)": (lambda: Arena([(0, 0), (1e200, 0), (0, 1e200)]), "polygon"),
    # motion models and rollouts
    "UniformVelocity('0.15')": (lambda: UniformVelocity("0.15"), "max_step"),
    "UniformVelocity(1e300)": (lambda: UniformVelocity(1e300), "max_step"),
    "UniformVelocity(drift=nan)": (lambda: UniformVelocity(drift=NAN), "drift"),
    "SmoothMotion(dt=1)": (lambda: SmoothMotion(dt=1.0), "dt"),
    "SmoothMotion(dt='0.05')": (lambda: SmoothMotion(dt="0.05"), "dt"),
    "SmoothMotion(thigmotaxis=None)": (lambda: SmoothMotion(thigmotaxis=None), "thigmotaxis"),
    "rollout n_agents=nan": (lambda: UniformVelocity().rollout(NAN, 3, rng()), "n_agents"),
    "rollout n_agents=None": (lambda: UniformVelocity().rollout(None, 3, rng()), "n_agents"),
    "rollout n_steps='3'": (lambda: UniformVelocity().rollout(2, "3", rng()), "n_steps"),
    "smooth rollout n_steps=nan": (lambda: SmoothMotion().rollout(1, NAN, rng()), "n_steps"),
    "permuted n_perms=nan": (lambda: permuted_rollouts(NAN, 3, rng()), "n_perms"),
    "permuted n_perms=None": (lambda: permuted_rollouts(None, 3, rng()), "n_perms"),
    "permuted n_steps=nan": (lambda: permuted_rollouts(3, NAN, rng()), "n_steps"),
    "permuted n_steps=None": (lambda: permuted_rollouts(3, None, rng()), "n_steps"),
    "independent n_traj=True": (lambda: independent_rollouts(True, 3, rng()), "n_traj"),
    "permuted start='x'": (lambda: permuted_rollouts(3, 3, rng(), start="x"), "start"),
    # the encoder
    "SICEncoder(n_units=nan)": (lambda: SICEncoder(n_units=NAN), "n_units"),
    "SICEncoder(n_units=None)": (lambda: SICEncoder(n_units=None), "n_units"),
    "SICEncoder(n_units=100000)": (lambda: SICEncoder(n_units=100_000), "n_units"),
    "SICEncoder(mlp_hidden='8')": (lambda: SICEncoder(mlp_hidden="8"), "mlp_hidden"),
    "SICEncoder(mlp_layers=nan)": (lambda: SICEncoder(mlp_layers=NAN), "mlp_layers"),
    "SICEncoder(step_scale='0.5')": (lambda: SICEncoder(step_scale="0.5"), "step_scale"),
    "SICEncoder(dt='0.5')": (lambda: SICEncoder(dt="0.5"), "dt"),
    "SICEncoder(dt=nan)": (lambda: SICEncoder(dt=NAN), "dt"),
    "step NaN velocity": (lambda: step([[NAN, 0.0]]), "v"),
    "step inf velocity": (lambda: step([[INF, 0.0]]), "v"),
    "forward NaN velocity": (lambda: encoder()(torch.tensor([[[0.1, NAN]]])), "velocities"),
    "forward_indexed NaN velocity": (lambda: indexed([[0.1, 0.0], [NAN, 0.0]]), "velocities"),
    # the observation wrapper
    "wrapper NaN info velocity": (wrapped_nan_step, "velocity"),
    "wrapper velocity_scale='2'": (lambda: wrapper(velocity_scale="2"), "velocity_scale"),
    "wrapper tolerance=nan": (lambda: wrapper(tolerance=NAN), "tolerance"),
    # the pretraining configuration
    "SICConfig(seed=1e20)": (lambda: SICConfig(seed=10**20), "seed"),
    "SICConfig(seed=2**64)": (lambda: SICConfig(seed=2**64), "seed"),
    "SICConfig(n_units=100000)": (lambda: SICConfig(n_units=100_000), "n_units"),
    "SICConfig(seq_len=1e9)": (lambda: SICConfig(seq_len=10**9), "seq_len"),
    "SICConfig(batch_size=2**70)": (lambda: SICConfig(batch_size=2**70), "batch_size"),
    "SICConfig(start_walk=1e12)": (lambda: SICConfig(start_walk=10**12), "start_walk"),
    "SICConfig(max_step=1e300)": (lambda: SICConfig(max_step=1e300), "max_step"),
    "SICConfig(sigma_g=1e300)": (lambda: SICConfig(sigma_g=1e300), "sigma_g"),
    "SICConfig(lr=1e300)": (lambda: SICConfig(lr=1e300), "lr"),
    "SICConfig(n_steps=nan)": (lambda: SICConfig(n_steps=NAN), "n_steps"),
    "SICConfig(n_steps=None)": (lambda: SICConfig(n_steps=None), "n_steps"),
    "SICConfig(block_gain_ratio=1e6)": (
        lambda: SICConfig(n_blocks=64, block_gain_ratio=1e6),
        "block_gain_ratio",
    ),
    "SICEncoder(n_blocks=nan)": (lambda: SICEncoder(n_blocks=NAN), "n_blocks"),
    "SICConfig(step_scale_spread=1e4)": (
        lambda: SICConfig(max_step=1e3, step_scale_spread=1e4),
        "step_scale_spread",
    ),
    "UniformVelocity(scale_spread='2')": (
        lambda: UniformVelocity(scale_spread="2"),
        "scale_spread",
    ),
    "SICConfig(smooth_dt=1)": (lambda: SICConfig(velocity="smooth", smooth_dt=1.0), "smooth_dt"),
    "override seed=1e20": (lambda: SICConfig().with_overrides(["seed=1e20"]), "seed"),
}


def _names(message: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message) is not None


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_names_the_parameter(case):
    call, name = CASES[case]
    with pytest.raises(ValueError) as info:
        call()
    assert _names(str(info.value), name), str(info.value)


@pytest.mark.parametrize(
    "overrides, name",
    [
        (["seed=1e20"], "seed"),
        (["n_units=100000"], "n_units"),
        (["max_step=1e300", "n_steps=3"], "max_step"),
        (["n_steps=nan"], "n_steps"),
    ],
)
def test_pretrain_bad_settings_are_one_line_and_create_nothing(tmp_path, capsys, overrides, name):
    out = tmp_path / "run"
    assert gridnav(["pretrain", "--set", *overrides, "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("gridnav pretrain: error:")
    assert _names(err, name), err
    assert not out.exists()


def test_crafted_checkpoint_is_rejected_before_building_the_encoder(tmp_path):
    enc = encoder()
    tensors = {f"model.{k}": v.clone() for k, v in enc.state_dict().items()}
    claim = {**enc.config(), "n_units": 100_000}  # 100000² · 8 weights: 320 GB if built
    meta = {"format": json.dumps(FORMAT), "encoder": json.dumps(claim)}
    path = tmp_path / "crafted.safetensors"
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(ValueError) as info:
        load_encoder(path)
    assert _names(str(info.value), "n_units") and "shape" in str(info.value)
