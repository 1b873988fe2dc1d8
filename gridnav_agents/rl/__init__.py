"""RL integration: frozen encoders as observations for stable-baselines3 agents, and homing.

* :class:`EncoderObservation` — a Gymnasium wrapper running a frozen recurrent encoder (SIC) on the
  env's displacement stream, one state per env (``wrappers.py``).
* :class:`EncoderCodeExtractor` — an SB3 features extractor: a trainable head on the code
  (``extractors.py``).
* :func:`make_homing_env`, :func:`run_homing_benchmark`, ``gridnav homing`` (``homing.py``,
  ``benchmark.py``);
  success rate and steps relative to the straight-line optimum (``evaluation.py``).
"""

from gridnav_agents.rl.benchmark import add_homing_arguments, homing_main, run_homing_benchmark
from gridnav_agents.rl.evaluation import (
    EpisodeResult,
    HomingEvalCallback,
    RandomPolicy,
    evaluate_homing,
    optimal_return_steps,
    summarize_episodes,
)
from gridnav_agents.rl.extractors import EncoderCodeExtractor
from gridnav_agents.rl.homing import (
    AGENTS,
    HomingConfig,
    build_agent,
    make_homing_env,
    random_encoder,
    resolve_encoder,
    train_agent,
)
from gridnav_agents.rl.wrappers import (
    EncoderObservation,
    RecurrentEncoder,
    ReturnTimeLimit,
    StepScaleMismatch,
    StepScaleWarning,
    read_env_step_scale,
)

__all__ = [
    "AGENTS",
    "EncoderCodeExtractor",
    "EncoderObservation",
    "EpisodeResult",
    "HomingConfig",
    "HomingEvalCallback",
    "RandomPolicy",
    "RecurrentEncoder",
    "ReturnTimeLimit",
    "StepScaleMismatch",
    "StepScaleWarning",
    "add_homing_arguments",
    "build_agent",
    "evaluate_homing",
    "homing_main",
    "make_homing_env",
    "optimal_return_steps",
    "random_encoder",
    "read_env_step_scale",
    "resolve_encoder",
    "run_homing_benchmark",
    "summarize_episodes",
    "train_agent",
]
