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
from typing import Any

import gymnasium as gym
import torch

import gridnav_env  # noqa: F401  (registers GridNav-Box-v0)
from gridnav_agents.rl.config import AGENTS, HomingConfig
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
    "make_agent_vec_env",
    "make_homing_env",
    "random_encoder",
    "resolve_encoder",
    "train_agent",
]


# ---------------------------------------------------------------------- encoders and envs
def random_encoder(like: Any = None, seed: int = 0):
    """A randomly initialised encoder of the class, shape and ``step_scale`` of ``like``
    (default: the default ``SICEncoder``; a ``SupervisedEncoder`` keeps its place-cell
    centres), weights drawn from ``torch.Generator(seed)``."""
    from gridnav_agents.sic import SICEncoder

    generator = torch.Generator().manual_seed(seed)
    if getattr(like, "kind", "sic") == "supervised":
        from gridnav_agents.supervised.model import SupervisedEncoder

        args = {k: v for k, v in like.config().items() if k != "n_place"}
        return SupervisedEncoder(like.centres, **args, generator=generator).eval()
    config = like.config() if like is not None else SICEncoder().config()
    return SICEncoder(**config, generator=generator).eval()


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


def make_agent_vec_env(
    agent: str, config: HomingConfig, encoders: dict[str, Any], n_envs: int
) -> Any:
    """An SB3 ``DummyVecEnv`` of ``n_envs`` homing envs as ``agent`` sees them; the encoder
    agents' code comes from one :class:`VecEncoderObservation` over all envs (one batched
    encoder step per vector step)."""
    from stable_baselines3.common.vec_env import DummyVecEnv

    from gridnav_agents.rl.vec_encoder import VecEncoderObservation

    if agent in ("sic", "random_encoder"):
        kwargs = config.env_kwargs()
        venv = DummyVecEnv([lambda: make_homing_env(observation="velocity", **kwargs)] * n_envs)
        return VecEncoderObservation(venv, encoders[agent])
    return DummyVecEnv([_env_factory(agent, config, encoders)] * n_envs)


def train_agent(
    agent: str,
    config: HomingConfig,
    seed: int,
    encoders: dict[str, Any] | None = None,
    eval_seed: int = 10_000,
    verbose: int = 0,
) -> tuple[dict[str, Any], Any]:
    """Train one agent for ``config.total_steps`` env steps.

    Returns ``(run, model)``: ``run`` holds the learning curve (``eval_episodes`` episodes from
    ``eval_seed``), the final evaluation (``final_episodes`` episodes from
    ``eval_seed + 100000``), the wall times of training (without the evaluations) and of the
    evaluations (s); ``model`` is the trained SB3 model. ``encoders`` maps ``"sic"`` and
    ``"random_encoder"`` to encoder objects.
    """
    encoders = encoders or {}
    venv = make_agent_vec_env(agent, config, encoders, config.n_envs)
    venv.seed(seed)
    model = build_agent(agent, venv, config, seed)
    callback = HomingEvalCallback(
        lambda: make_agent_vec_env(agent, config, encoders, config.eval_episodes),
        max(1, config.eval_every),
        config.eval_episodes,
        eval_seed,
        verbose=verbose,
    )
    t0 = time.perf_counter()
    model.learn(config.total_steps, callback=callback)
    train_s = time.perf_counter() - t0 - callback.wall_s
    t1 = time.perf_counter()
    final = evaluate_homing(model, callback.eval_env, config.final_episodes, eval_seed + 100_000)
    eval_s = callback.wall_s + time.perf_counter() - t1
    out = {
        "agent": agent,
        "seed": seed,
        "curve": callback.curve,
        "final": summarize_episodes(final),
        "train_wall_s": round(train_s, 1),
        "eval_wall_s": round(eval_s, 1),
        "env_steps": int(model.num_timesteps),
    }
    venv.close()
    callback.eval_env.close()
    return out, model
