"""Homing evaluation: success rate, steps relative to the straight-line optimum, learning curves.

Every agent is evaluated on the same episodes: episode ``i`` is ``env.reset(seed=seed + i)``, and
the GridNav outbound walk depends only on that seed (actions are ignored during the outbound and
the return draws no randomness), so all agents face identical outbound paths.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

__all__ = [
    "EpisodeResult",
    "HomingEvalCallback",
    "RandomPolicy",
    "evaluate_homing",
    "optimal_return_steps",
    "summarize_episodes",
]


class Predictor(Protocol):
    """Anything with SB3's ``predict(obs, state, episode_start, deterministic)``."""

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]: ...


class RandomPolicy:
    """Uniform random actions in ``action_space`` from an explicit seed (the reference baseline)."""

    def __init__(self, action_space: gym.spaces.Box, seed: int = 0):
        self.action_space = action_space
        self.rng = np.random.default_rng(seed)

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        n = np.asarray(observation).shape[0]
        low, high = self.action_space.low, self.action_space.high
        return self.rng.uniform(low, high, size=(n, *low.shape)).astype(np.float32), None


def optimal_return_steps(offset: np.ndarray, home_radius: float, step_bound: float) -> int:
    """Fewest return steps that can bring the agent strictly within ``home_radius`` of home.

    Each step moves at most ``step_bound`` metres per axis, so after ``k`` steps the reachable
    set is the square of half-side ``k · step_bound`` around the start; the optimum is the first
    ``k`` for which that square meets the open home disc (the straight line to the nearest
    reachable point of the disc; walls never shorten it in a convex arena).

    Args:
        offset: position minus home, metres ``(2,)``.
        home_radius: metres.
        step_bound: per-axis displacement bound of one step, metres (``max_speed · dt``).
    """
    gap = np.abs(np.asarray(offset, dtype=float).reshape(2))
    if not (home_radius > 0 and step_bound > 0):
        raise ValueError("home_radius and step_bound must be positive metres")
    k = 0
    while np.hypot(*np.maximum(gap - k * step_bound, 0.0)) >= home_radius:
        k += 1
    return k


@dataclass
class EpisodeResult:
    """One homing episode: ``start_distance`` (m, at the start of the return), ``optimal_steps``,
    ``return_steps`` taken, ``path_length`` of the return (m), ``success``, and ``wall_hits``:
    return steps whose displacement a wall changed (it differs from the commanded one)."""

    success: bool
    return_steps: int
    optimal_steps: int
    start_distance: float
    path_length: float
    wall_hits: int = 0


def _home_params(venv: VecEnv) -> tuple[float, float]:
    base = venv.get_attr("unwrapped", [0])[0]
    return float(base.home_radius), float(base.max_speed) * float(base.dt)


def as_vec_env(env: gym.Env | VecEnv) -> VecEnv:
    """``env`` itself if it is an SB3 ``VecEnv``, else a one-env ``DummyVecEnv`` around it."""
    if isinstance(env, VecEnv):
        return env
    if not isinstance(env, gym.Env):
        raise ValueError(f"env must be a gymnasium Env or an SB3 VecEnv, got {env!r}")
    return DummyVecEnv([lambda: env])


def evaluate_homing(
    model: Predictor,
    env: gym.Env | VecEnv,
    n_episodes: int = 100,
    seed: int = 10_000,
    deterministic: bool = True,
) -> list[EpisodeResult]:
    """Run ``n_episodes`` homing episodes with ``model.predict``; episode ``i`` starts from
    ``reset(seed=seed + i)``.

    ``env`` is one env or an SB3 ``VecEnv`` of ``n`` envs: episodes then run ``n`` at a time in
    lock step, one batched ``predict`` per step (envs past their episode's end are ignored), with
    the same results as one after another. Works for feed-forward and recurrent SB3 models (the
    LSTM state is carried and starts from zero in each episode). The env must be a GridNav homing
    env, possibly wrapped (e.g. in ``EncoderObservation`` and ``ReturnTimeLimit``, or
    ``VecEncoderObservation``), and must end episodes (a time limit).
    """
    venv = as_vec_env(env)
    radius, step_bound = _home_params(venv)
    n = venv.num_envs
    results: list[EpisodeResult] = []
    for first in range(0, n_episodes, n):
        m = min(n, n_episodes - first)
        venv.seed(seed + first)
        obs = venv.reset()
        infos = venv.reset_infos
        returning = np.array([info["phase"] == "return" for info in infos[:m]])
        offsets = [info["position"] - info["home"] for info in infos[:m]]
        optimal = [
            optimal_return_steps(o, radius, step_bound) if r else 0
            for o, r in zip(offsets, returning, strict=True)
        ]
        d0 = [float(np.hypot(*o)) for o in offsets]
        steps, path, hits = np.zeros(m, dtype=int), np.zeros(m), np.zeros(m, dtype=int)
        success = np.zeros(m, dtype=bool)
        active = np.ones(m, dtype=bool)
        state, start = None, np.ones(n, dtype=bool)
        while active.any():
            action, state = model.predict(
                obs, state=state, episode_start=start, deterministic=deterministic
            )
            start = np.zeros(n, dtype=bool)
            commanded = np.clip(np.asarray(action, dtype=float), -1, 1) * step_bound
            obs, _, dones, infos = venv.step(action)
            for i in np.flatnonzero(active):
                info = infos[i]
                if returning[i]:
                    steps[i] += 1
                    path[i] += float(np.hypot(*info["velocity"]))
                    hits[i] += bool(np.any(np.abs(info["velocity"] - commanded[i]) > 1e-9))
                elif info["phase"] == "return":
                    returning[i] = True
                    offset = info["position"] - info["home"]
                    optimal[i] = optimal_return_steps(offset, radius, step_bound)
                    d0[i] = float(np.hypot(*offset))
                if dones[i]:
                    active[i] = False
                    success[i] = not info.get("TimeLimit.truncated", False)
        results += [
            EpisodeResult(
                bool(success[i]),
                int(steps[i]),
                int(optimal[i]),
                d0[i],
                float(path[i]),
                int(hits[i]),
            )
            for i in range(m)
        ]
    return results


def summarize_episodes(results: list[EpisodeResult]) -> dict[str, float]:
    """Success rate; over successful episodes, mean and median of return steps / optimal steps
    (:func:`optimal_return_steps`, so 1 is optimal) and the share that touched a wall on the way
    home (``wall_contact_rate``); mean optimal steps over all episodes."""
    ok = [r for r in results if r.success and r.optimal_steps > 0]
    step_ratio = [r.return_steps / r.optimal_steps for r in ok]
    nan = float("nan")
    return {
        "episodes": len(results),
        "success_rate": float(np.mean([r.success for r in results])) if results else nan,
        "step_ratio_mean": float(np.mean(step_ratio)) if step_ratio else nan,
        "step_ratio_median": float(np.median(step_ratio)) if step_ratio else nan,
        "wall_contact_rate": float(np.mean([r.wall_hits > 0 for r in ok])) if ok else nan,
        "mean_optimal_steps": (
            float(np.mean([r.optimal_steps for r in results])) if results else nan
        ),
    }


class HomingEvalCallback(BaseCallback):
    """Learning curve: evaluate at the start, after the first update past every multiple of
    ``eval_every`` env steps, and at the end, on ``n_episodes`` episodes of the env that
    ``make_eval_env`` builds (one env, or an SB3 ``VecEnv`` that runs them in lock step; see
    :func:`evaluate_homing`).

    ``self.curve`` is a list of ``{"steps", "success_rate", "step_ratio_mean", ...,
    "wall_s"}`` dicts (``wall_s``: seconds since the start of training); evaluation episodes are
    the same at every point (``seed``). ``self.wall_s`` is the time spent evaluating (s).
    """

    def __init__(
        self,
        make_eval_env: Callable[[], gym.Env],
        eval_every: int,
        n_episodes: int = 50,
        seed: int = 10_000,
        verbose: int = 0,
    ):
        super().__init__(verbose)
        if eval_every < 1:
            raise ValueError(f"eval_every must be >= 1 env steps, got {eval_every!r}")
        self.eval_env = make_eval_env()
        self.eval_every, self.n_episodes, self.seed = int(eval_every), int(n_episodes), int(seed)
        self.curve: list[dict[str, float]] = []
        self.wall_s = 0.0  # seconds spent evaluating
        self._next = 0
        self._t0 = time.perf_counter()

    def evaluate(self) -> dict[str, float]:
        t = time.perf_counter()
        results = evaluate_homing(self.model, self.eval_env, self.n_episodes, self.seed)
        self.wall_s += time.perf_counter() - t
        point = {"steps": int(self.num_timesteps), **summarize_episodes(results)}
        point["wall_s"] = round(time.perf_counter() - self._t0, 2)
        if self.curve and self.curve[-1]["steps"] == point["steps"]:
            self.curve[-1] = point
        else:
            self.curve.append(point)
        if self.verbose:
            print(f"  {point['steps']:>7d} steps: success {point['success_rate']:.2f}")
        return point

    def _on_training_start(self) -> None:
        self._t0 = time.perf_counter()
        self.evaluate()
        self._next = self.num_timesteps + self.eval_every

    def _on_rollout_start(self) -> None:
        # The policy changes only between rollouts: evaluate just after an update.
        if self.num_timesteps >= self._next:
            self.evaluate()
            self._next = (self.num_timesteps // self.eval_every + 1) * self.eval_every

    def _on_step(self) -> bool:
        return True

    def _on_training_end(self) -> None:
        if not self.curve or self.curve[-1]["steps"] != self.num_timesteps:
            self.evaluate()


def episodes_to_dicts(results: list[EpisodeResult]) -> list[dict[str, Any]]:
    """JSON-ready episode records."""
    return [asdict(r) for r in results]
