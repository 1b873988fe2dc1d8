"""Configuration of the homing benchmark: the agents and :class:`HomingConfig` (no heavy
imports, so the ``gridnav homing`` parser can show the defaults)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["AGENTS", "ANALYSED", "TASKS", "HomingConfig"]

AGENTS = ("velocity", "lstm", "sic", "random_encoder", "oracle")
#: Agents whose internal activity is analysed (LSTM hidden units, encoder codes).
ANALYSED = ("lstm", "sic", "random_encoder")

#: The benchmark's tasks: box side (m), passive outbound steps, return steps before truncation.
#: ``easy``: outbound walks end within one period of the shipped code (1.29 m) from home, and 20
#: return steps also fit the corner route (to the nearest corner, whose wall reflections the
#: agent sees, then diagonally through home). ``hard``: walks end beyond one period on average;
#: 20 return steps fit the straight line from any point of the box (at most 16) but the corner
#: route from almost none. Measured distances: ``docs/results_homing.md``.
TASKS: dict[str, dict[str, float | int]] = {
    "easy": {"box_size": 1.5, "outbound_steps": 20, "max_return_steps": 20},
    "hard": {"box_size": 5.0, "outbound_steps": 180, "max_return_steps": 20},
}


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

    @classmethod
    def for_task(cls, task: str = "easy", **overrides: Any) -> HomingConfig:
        """The config of a task of :data:`TASKS` (``"easy"`` or ``"hard"``); ``overrides`` set
        any field, those of the task included (``None`` values are ignored)."""
        if task not in TASKS:
            raise ValueError(f"task must be one of {tuple(TASKS)}, got {task!r}")
        fields = {**TASKS[task], **{k: v for k, v in overrides.items() if v is not None}}
        return cls(**fields)

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
