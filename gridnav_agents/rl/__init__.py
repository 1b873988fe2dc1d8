"""RL integration: frozen encoders as observations for stable-baselines3 agents, and homing.

* :class:`EncoderObservation` — a Gymnasium wrapper running a frozen recurrent encoder (SIC) on the
  env's displacement stream, one state per env (``wrappers.py``).
* :class:`VecEncoderObservation` — the same for a whole SB3 ``VecEnv``, one batched encoder
  step per vector step (``vec_encoder.py``).
* :class:`EncoderCodeExtractor` — an SB3 features extractor: a trainable head on the code
  (``extractors.py``).
* :class:`HomingConfig` (``config.py``), :func:`make_homing_env` (``homing.py``),
  :func:`run_homing_benchmark` (``benchmark.py``), ``gridnav homing`` (``cli.py``);
  success rate and steps relative to the straight-line optimum (``evaluation.py``).
"""

from gridnav_agents._lazy import lazy_exports

_EXPORTS = {
    "add_homing_arguments": "cli",
    "homing_main": "cli",
    "load_results": "benchmark",
    "run_homing_benchmark": "benchmark",
    "steps_to_success": "benchmark",
    "EpisodeResult": "evaluation",
    "HomingEvalCallback": "evaluation",
    "RandomPolicy": "evaluation",
    "evaluate_homing": "evaluation",
    "optimal_return_steps": "evaluation",
    "summarize_episodes": "evaluation",
    "EncoderCodeExtractor": "extractors",
    "AGENTS": "config",
    "HomingConfig": "config",
    "TASKS": "config",
    "build_agent": "homing",
    "make_agent_vec_env": "homing",
    "make_homing_env": "homing",
    "random_encoder": "homing",
    "resolve_encoder": "homing",
    "train_agent": "homing",
    "EncoderObservation": "wrappers",
    "RecurrentEncoder": "wrappers",
    "ReturnTimeLimit": "wrappers",
    "StepScaleMismatch": "wrappers",
    "StepScaleWarning": "wrappers",
    "read_env_step_scale": "wrappers",
    "VecEncoderObservation": "vec_encoder",
}

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
    "TASKS",
    "VecEncoderObservation",
    "add_homing_arguments",
    "build_agent",
    "evaluate_homing",
    "homing_main",
    "load_results",
    "make_agent_vec_env",
    "make_homing_env",
    "optimal_return_steps",
    "random_encoder",
    "read_env_step_scale",
    "resolve_encoder",
    "run_homing_benchmark",
    "steps_to_success",
    "summarize_episodes",
    "train_agent",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
