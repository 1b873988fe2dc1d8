"""The homing benchmark: which self-motion code lets PPO find its way home?

Five agents, one set of PPO hyperparameters (:class:`HomingConfig`), the same env-step budget and
seeds, evaluated on identical episodes:

| agent | observation | policy |
|---|---|---|
| ``velocity`` | last displacement + phase (no memory) | PPO, MLP |
| ``lstm`` | last displacement + phase | RecurrentPPO (sb3-contrib), LSTM |
| ``sic`` | frozen SIC code + phase (:class:`EncoderObservation`) | PPO, MLP |
| ``random_encoder`` | code of a frozen random SIC encoder (same shape) + phase | PPO, MLP |
| ``oracle`` | true position + phase (upper bound) | PPO, MLP |

The benchmark runner and the ``gridnav homing`` command are in :mod:`gridnav_agents.rl.benchmark`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import torch

import gridnav_env  # noqa: F401  (registers GridNav-Box-v0)
from gridnav_agents.rl.evaluation import (
    HomingEvalCallback,
    evaluate_homing,
    summarize_episodes,
)
from gridnav_agents.rl.wrappers import EncoderObservation, ReturnTimeLimit

__all__ = [
    "AGENTS",
    "HomingConfig",
    "build_agent",
    "make_homing_env",
    "random_encoder",
    "resolve_encoder",
    "train_agent",
]

AGENTS = ("velocity", "lstm", "sic", "random_encoder", "oracle")
#: Agents whose internal activity is analysed (LSTM hidden units, encoder codes).
ANALYSED = ("lstm", "sic", "random_encoder")


@dataclass(frozen=True)
class HomingConfig:
    """Env, budget and PPO hyperparameters shared by every agent of the benchmark.

    Env: ``box_size`` (m), ``motion`` of the passive outbound walk (``"uniform"``: the
    Uniform²(±0.15 m) steps the SIC encoder is trained on), ``outbound_steps``, ``home_radius``
    (m), ``max_return_steps`` (return steps before truncation).
    Budget: ``total_steps`` env steps per agent and seed (outbound steps included),
    ``n_envs`` parallel envs (``DummyVecEnv``); learning curves every ``eval_every`` env steps on
    ``eval_episodes`` fixed episodes, the final evaluation on ``final_episodes``.
    PPO (also RecurrentPPO): ``n_steps`` per env per rollout, ``batch_size``, ``n_epochs``,
    ``learning_rate``, ``gamma``, ``gae_lambda``, ``clip_range``, ``ent_coef``; policy MLP
    ``net_arch`` (tanh), LSTM ``lstm_hidden`` units (actor and critic LSTMs).
    Analyses: ratemaps, gridness and decoding of the LSTM's hidden units and of the encoders'
    codes along ``analysis_episodes`` episodes of the first seed's agents (0: none).
    """

    box_size: float = 1.5
    motion: str = "uniform"
    outbound_steps: int = 20
    home_radius: float = 0.15
    max_return_steps: int = 20
    total_steps: int = 30_000
    n_envs: int = 8
    eval_every: int = 6_000
    eval_episodes: int = 50
    final_episodes: int = 200
    n_steps: int = 128
    batch_size: int = 256
    n_epochs: int = 10
    learning_rate: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    net_arch: tuple[int, ...] = (64, 64)
    lstm_hidden: int = 64
    analysis_episodes: int = 200

    def __post_init__(self) -> None:
        for name in (
            "total_steps",
            "n_envs",
            "eval_every",
            "eval_episodes",
            "final_episodes",
            "n_steps",
            "batch_size",
            "n_epochs",
            "lstm_hidden",
            "outbound_steps",
            "max_return_steps",
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("box_size", "home_radius", "learning_rate", "gamma", "clip_range"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if isinstance(self.analysis_episodes, bool) or self.analysis_episodes < 0:
            raise ValueError(f"analysis_episodes must be >= 0, got {self.analysis_episodes!r}")
        if self.motion not in ("uniform", "smooth"):
            raise ValueError(f"motion must be 'uniform' or 'smooth', got {self.motion!r}")
        object.__setattr__(self, "net_arch", tuple(int(w) for w in self.net_arch))

    def env_kwargs(self) -> dict[str, Any]:
        return {
            "box_size": self.box_size,
            "motion": self.motion,
            "outbound_steps": self.outbound_steps,
            "home_radius": self.home_radius,
            "max_return_steps": self.max_return_steps,
        }

    def ppo_kwargs(self) -> dict[str, Any]:
        return {
            "n_steps": self.n_steps,
            "batch_size": self.batch_size,
            "n_epochs": self.n_epochs,
            "learning_rate": self.learning_rate,
            "gamma": self.gamma,
            "gae_lambda": self.gae_lambda,
            "clip_range": self.clip_range,
            "ent_coef": self.ent_coef,
        }


# ---------------------------------------------------------------------- encoders and envs
def random_encoder(like: Any = None, seed: int = 0):
    """A randomly initialised ``SICEncoder`` with the shape and ``step_scale`` of ``like``
    (default: the default ``SICEncoder``), weights drawn from ``torch.Generator(seed)``."""
    from gridnav_agents.sic import SICEncoder

    config = like.config() if like is not None else SICEncoder().config()
    return SICEncoder(**config, generator=torch.Generator().manual_seed(seed)).eval()


def resolve_encoder(spec: Any, seed: int = 0, like: Any = None):
    """An encoder from ``spec``: an encoder object (returned as is), ``"pretrained"`` (the shipped
    encoder), ``"random"`` (:func:`random_encoder` like ``like``, from ``seed``), or a checkpoint
    file / SIC run directory.

    Raises:
        FileNotFoundError: no such checkpoint, or no pretrained encoder installed (with advice).
    """
    if not isinstance(spec, str | os.PathLike):
        return spec
    if str(spec) == "random":
        return random_encoder(like, seed)
    from gridnav_agents.sic import load_encoder

    try:
        return load_encoder(spec)
    except FileNotFoundError as exc:
        if str(spec) == "pretrained":
            raise FileNotFoundError(
                f"{exc}. Train one with `gridnav pretrain --out RUN_DIR` and pass RUN_DIR (or a "
                f"checkpoint file) as the encoder, or use encoder='random' for the control."
            ) from exc
        raise


def make_homing_env(
    encoder: Any = None,
    *,
    observation: str = "velocity",
    max_return_steps: int | None = None,
    velocity_scale: float = 1.0,
    on_mismatch: str = "raise",
    encoder_seed: int = 0,
    **env_kwargs: Any,
) -> gym.Env:
    """A ``GridNav-Box-v0`` homing env, optionally seen through a frozen encoder.

    ``make_homing_env(encoder="pretrained", box_size=2.2)`` gives observations ``(code, phase)``.

    Args:
        encoder: ``None`` (the raw env with ``observation``), an encoder object, ``"pretrained"``,
            ``"random"`` or a checkpoint path / run directory (see :func:`resolve_encoder`).
            Resolve it once and pass the object when building many envs.
        observation: the base env's observation when ``encoder`` is ``None`` (``"velocity"``,
            ``"position"``, ``"velocity+position"``); with an encoder it must be ``"velocity"``.
        max_return_steps: wrap in :class:`ReturnTimeLimit` (``None``: only the env's TimeLimit).
        velocity_scale, on_mismatch: see :class:`EncoderObservation`.
        encoder_seed: seed of ``encoder="random"``.
        **env_kwargs: ``gym.make`` arguments of ``GridNav-Box-v0`` (``box_size``, ``motion``,
            ``outbound_steps``, ``home_radius``, ``max_episode_steps`` ...); ``task`` is homing.
    """
    if env_kwargs.pop("task", "homing") != "homing":
        raise ValueError("make_homing_env builds task='homing' envs")
    if encoder is not None and observation != "velocity":
        raise ValueError(f"an encoder needs observation='velocity', got {observation!r}")
    env = gym.make("GridNav-Box-v0", task="homing", observation=observation, **env_kwargs)
    if max_return_steps is not None:
        env = ReturnTimeLimit(env, max_return_steps)
    if encoder is not None:
        enc = resolve_encoder(encoder, seed=encoder_seed)
        env = EncoderObservation(env, enc, velocity_scale=velocity_scale, on_mismatch=on_mismatch)
    return env


# ---------------------------------------------------------------------- agents
def _env_factory(
    agent: str, config: HomingConfig, encoders: dict[str, Any]
) -> Callable[[], gym.Env]:
    kwargs = config.env_kwargs()
    if agent in ("velocity", "lstm"):
        return lambda: make_homing_env(observation="velocity", **kwargs)
    if agent == "oracle":
        return lambda: make_homing_env(observation="position", **kwargs)
    if agent in ("sic", "random_encoder"):
        enc = encoders[agent]
        return lambda: make_homing_env(enc, **kwargs)
    raise ValueError(f"agent must be one of {AGENTS}, got {agent!r}")


def build_agent(agent: str, env: Any, config: HomingConfig, seed: int):
    """The SB3 model of ``agent`` on ``env`` (a VecEnv), with the benchmark's hyperparameters."""
    policy_kwargs: dict[str, Any] = {"net_arch": list(config.net_arch)}
    if agent == "lstm":
        from sb3_contrib import RecurrentPPO

        policy_kwargs["lstm_hidden_size"] = config.lstm_hidden
        return RecurrentPPO(
            "MlpLstmPolicy",
            env,
            policy_kwargs=policy_kwargs,
            seed=seed,
            device="cpu",
            **config.ppo_kwargs(),
        )
    from stable_baselines3 import PPO

    if agent not in AGENTS:
        raise ValueError(f"agent must be one of {AGENTS}, got {agent!r}")
    return PPO(
        "MlpPolicy",
        env,
        policy_kwargs=policy_kwargs,
        seed=seed,
        device="cpu",
        **config.ppo_kwargs(),
    )


def train_agent(
    agent: str,
    config: HomingConfig,
    seed: int,
    encoders: dict[str, Any] | None = None,
    eval_seed: int = 10_000,
    verbose: int = 0,
) -> tuple[dict[str, Any], Any]:
    """Train one agent for ``config.total_steps`` env steps.

    Returns ``(run, model)``: ``run`` holds the learning curve, the final evaluation
    (``final_episodes`` episodes from ``eval_seed + 100000``) and the wall time; ``model`` is the
    trained SB3 model. ``encoders`` maps ``"sic"``/``"random_encoder"`` to encoder objects.
    """
    from stable_baselines3.common.vec_env import DummyVecEnv

    make = _env_factory(agent, config, encoders or {})
    venv = DummyVecEnv([make] * config.n_envs)
    venv.seed(seed)
    model = build_agent(agent, venv, config, seed)
    callback = HomingEvalCallback(
        make, max(1, config.eval_every), config.eval_episodes, eval_seed, verbose=verbose
    )
    t0 = time.perf_counter()
    model.learn(config.total_steps, callback=callback)
    train_s = time.perf_counter() - t0
    final = evaluate_homing(model, callback.eval_env, config.final_episodes, eval_seed + 100_000)
    out = {
        "agent": agent,
        "seed": seed,
        "curve": callback.curve,
        "final": summarize_episodes(final),
        "train_wall_s": round(train_s, 1),
        "env_steps": int(model.num_timesteps),
    }
    venv.close()
    return out, model
