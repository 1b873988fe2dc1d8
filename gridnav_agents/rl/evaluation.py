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
    ``return_steps`` taken, ``path_length`` of the return (m), ``success``."""

    success: bool
    return_steps: int
    optimal_steps: int
    start_distance: float
    path_length: float


def _home_params(env: gym.Env) -> tuple[float, float]:
    base = env.unwrapped
    return float(base.home_radius), float(base.max_speed) * float(base.dt)


def evaluate_homing(
    model: Predictor,
    env: gym.Env,
    n_episodes: int = 100,
    seed: int = 10_000,
    deterministic: bool = True,
) -> list[EpisodeResult]:
    """Run ``n_episodes`` homing episodes (``env.reset(seed=seed + i)``) with ``model.predict``.

    Works for feed-forward and recurrent SB3 models (the LSTM state is carried and reset at each
    episode start). ``env`` must be a GridNav homing env, possibly wrapped (e.g. in
    ``EncoderObservation`` and ``ReturnTimeLimit``), and must end episodes (a time limit).
    """
    radius, step_bound = _home_params(env)
    results = []
    for i in range(n_episodes):
        obs, info = env.reset(seed=seed + i)
        state, start = None, np.ones(1, dtype=bool)
        returning = info["phase"] == "return"
        offset = info["position"] - info["home"]
        steps, path = 0, 0.0
        optimal = optimal_return_steps(offset, radius, step_bound) if returning else 0
        d0 = float(np.hypot(*offset))
        while True:
            action, state = model.predict(
                obs[None], state=state, episode_start=start, deterministic=deterministic
            )
            start = np.zeros(1, dtype=bool)
            obs, _, terminated, truncated, info = env.step(action[0])
            if returning:
                steps += 1
                path += float(np.hypot(*info["velocity"]))
            elif info["phase"] == "return":
                returning = True
                offset = info["position"] - info["home"]
                optimal = optimal_return_steps(offset, radius, step_bound)
                d0 = float(np.hypot(*offset))
            if terminated or truncated:
                break
        results.append(EpisodeResult(bool(terminated), steps, optimal, d0, path))
    return results


def summarize_episodes(results: list[EpisodeResult]) -> dict[str, float]:
    """Success rate; over successful episodes, mean and median of return steps / optimal steps
    (:func:`optimal_return_steps`, so 1 is optimal); mean optimal steps over all episodes."""
    ok = [r for r in results if r.success and r.optimal_steps > 0]
    step_ratio = [r.return_steps / r.optimal_steps for r in ok]
    nan = float("nan")
    return {
        "episodes": len(results),
        "success_rate": float(np.mean([r.success for r in results])) if results else nan,
        "step_ratio_mean": float(np.mean(step_ratio)) if step_ratio else nan,
        "step_ratio_median": float(np.median(step_ratio)) if step_ratio else nan,
        "mean_optimal_steps": (
            float(np.mean([r.optimal_steps for r in results])) if results else nan
        ),
    }


class HomingEvalCallback(BaseCallback):
    """Learning curve: evaluate at the start, after the first update past every multiple of
    ``eval_every`` env steps, and at the end.

    ``self.curve`` is a list of ``{"steps", "success_rate", "step_ratio_mean", ...,
    "wall_s"}`` dicts; evaluation episodes are the same at every point (``seed``).
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
        self._next = 0
        self._t0 = time.perf_counter()

    def evaluate(self) -> dict[str, float]:
        results = evaluate_homing(self.model, self.eval_env, self.n_episodes, self.seed)
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
