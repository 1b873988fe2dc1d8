"""A frozen recurrent encoder as a Gymnasium observation wrapper, and a return-phase time limit.

Why a wrapper and not a features extractor: stable-baselines3's features extractors see one
observation at a time and keep no state, while a path-integrating encoder (SIC) is recurrent: its
code after step ``t`` depends on every displacement since the start. The wrapper keeps the
encoder's state per environment, resets it on ``reset`` and advances it on each ``step``; every
environment in a vector env (SB3 ``DummyVecEnv``/``SubprocVecEnv`` or Gymnasium's) owns its own
wrapper and therefore its own state.

Units: the encoder is fed displacements per step in metres, multiplied by ``velocity_scale``
(explicit, default 1). The wrapper compares the env's largest per-axis displacement per step
(``max_speed · dt`` for GridNav, or ``env_step_scale``) times ``velocity_scale`` with the scale
the encoder was trained on (``encoder.step_scale``) and reports a mismatch.
"""

from __future__ import annotations

import warnings
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from gridnav_env._validate import check_real

__all__ = [
    "EncoderObservation",
    "RecurrentEncoder",
    "ReturnTimeLimit",
    "StepScaleMismatch",
    "StepScaleWarning",
    "read_env_step_scale",
]

_ON_MISMATCH = ("raise", "warn", "ignore")
_VELOCITY_SOURCES = ("info", "observation")


class StepScaleMismatch(ValueError):
    """The env's displacement scale (times ``velocity_scale``) differs from the encoder's."""


class StepScaleWarning(UserWarning):
    """A scale mismatch accepted with ``on_mismatch="warn"``, or inputs beyond training range."""


@runtime_checkable
class RecurrentEncoder(Protocol):
    """What :class:`EncoderObservation` needs from an encoder (``SICEncoder`` satisfies it).

    ``n_units`` (code size N), ``step_scale`` (metres per step of the training velocities: the
    per-axis bound ``max |v_x|, |v_y|``), ``initial_state(batch) -> (batch, N)`` and
    ``step(g (batch, N), v (batch, 2) metres) -> (batch, N)``.
    """

    n_units: int
    step_scale: float

    def initial_state(self, batch: int) -> torch.Tensor: ...

    def step(self, g: torch.Tensor, v: torch.Tensor) -> torch.Tensor: ...


def read_env_step_scale(env: gym.Env) -> float | None:
    """Largest per-axis displacement of one step of ``env`` in metres, if it can be read.

    For GridNav envs: ``max_speed · dt`` (the agent's action bound during the return, and the
    bound of ``"uniform"`` motion). ``None`` when the env exposes neither attribute.
    """
    base = env.unwrapped
    max_speed, dt = getattr(base, "max_speed", None), getattr(base, "dt", None)
    if max_speed is None or dt is None:
        return None
    return float(max_speed) * float(dt)


def _code_bounds(encoder: Any) -> tuple[float, float]:
    """SIC codes are non-negative unit vectors, so each unit lies in [0, 1]."""
    from gridnav_agents.sic.model import SICEncoder

    return (0.0, 1.0) if isinstance(encoder, SICEncoder) else (-np.inf, np.inf)


def freeze_encoder(encoder: Any) -> tuple[torch.device, torch.dtype]:
    """Check that ``encoder`` is a :class:`RecurrentEncoder`; put a torch module in eval mode
    with ``requires_grad`` off; return the device and dtype its states live on."""
    if not isinstance(encoder, RecurrentEncoder):
        raise TypeError(
            "encoder must provide n_units, step_scale, initial_state(batch) and step(g, v); "
            f"got {type(encoder).__name__}"
        )
    if isinstance(encoder, torch.nn.Module):
        encoder.eval()
        encoder.requires_grad_(False)
        param = next(encoder.parameters(), None)
        if param is not None:
            return param.device, param.dtype
    return torch.device("cpu"), torch.float32


def check_step_scale(
    env_step_scale: float,
    velocity_scale: float,
    encoder_step_scale: float,
    tolerance: float,
    on_mismatch: str,
) -> None:
    """Compare the env's per-axis displacement bound times ``velocity_scale`` with the encoder's
    training bound (metres per step); on a relative difference beyond ``tolerance`` raise
    :class:`StepScaleMismatch` (``on_mismatch="raise"``), warn (``"warn"``) or pass."""
    seen = env_step_scale * velocity_scale
    rel = abs(seen - encoder_step_scale) / encoder_step_scale
    if rel <= tolerance or on_mismatch == "ignore":
        return
    msg = (
        f"step-scale mismatch: the encoder was trained on displacements up to "
        f"{encoder_step_scale:g} m per step (per axis), but this env moves up to "
        f"{env_step_scale:g} m per step, times velocity_scale={velocity_scale:g} = "
        f"{seen:g} (relative difference {rel:.1%} > tolerance {tolerance:g}). Pass "
        f"velocity_scale={encoder_step_scale / env_step_scale:.6g} to rescale the "
        f"env's displacements into the encoder's units, or change the env's max_speed/dt."
    )
    if on_mismatch == "raise":
        raise StepScaleMismatch(msg)
    warnings.warn(msg, StepScaleWarning, stacklevel=4)


def warn_out_of_range(v: np.ndarray, encoder_step_scale: float, tolerance: float) -> bool:
    """Warn (:class:`StepScaleWarning`) and return True if a scaled displacement in ``v``
    (metres, any shape) exceeds the encoder's per-axis training bound by more than
    ``tolerance``."""
    if np.max(np.abs(v)) <= encoder_step_scale * (1 + tolerance):
        return False
    warnings.warn(
        f"scaled displacement {np.asarray(v).tolist()} m exceeds the encoder's training range "
        f"(±{encoder_step_scale:g} m per step per axis); its code may be unreliable",
        StepScaleWarning,
        stacklevel=4,
    )
    return True


def code_space(
    encoder: Any, base_space: gym.Space, append_phase: bool
) -> tuple[spaces.Box, np.ndarray, np.ndarray]:
    """The observation space of an encoder's code (``N`` units) followed, with
    ``append_phase``, by the last entry of the flat ``Box`` ``base_space`` (the phase flag);
    also the code's lower and upper bounds ``(N,)``."""
    if not isinstance(base_space, spaces.Box) or len(base_space.shape) != 1:
        raise ValueError(f"env must have a flat Box observation space, got {base_space}")
    n = int(encoder.n_units)
    lo, hi = _code_bounds(encoder)
    low = np.full(n + append_phase, lo, dtype=np.float32)
    high = np.full(n + append_phase, hi, dtype=np.float32)
    if append_phase:
        low[-1], high[-1] = base_space.low[-1], base_space.high[-1]
    return spaces.Box(low, high, dtype=np.float32), low[:n], high[:n]


class FrozenEncoderInput:
    """What :class:`EncoderObservation` and
    :class:`~gridnav_agents.rl.vec_encoder.VecEncoderObservation` share: a frozen encoder, the
    scale check, the code's observation space and the once-only range warning."""

    def _setup_encoder(
        self,
        encoder: RecurrentEncoder,
        base_env: gym.Env,
        base_space: gym.Space,
        *,
        velocity_scale: float,
        env_step_scale: float | None,
        tolerance: float,
        on_mismatch: str,
        append_phase: bool | None,
    ) -> spaces.Box:
        """Validate the arguments, set them as attributes and return the observation space;
        ``base_env`` is one of the envs (read for ``max_speed · dt`` and the task)."""
        self._device, self._dtype = freeze_encoder(encoder)
        if on_mismatch not in _ON_MISMATCH:
            raise ValueError(f"on_mismatch must be one of {_ON_MISMATCH}, got {on_mismatch!r}")
        self.velocity_scale = check_real("velocity_scale", velocity_scale, positive=True)
        self.tolerance = check_real("tolerance", tolerance, positive=True)
        self.on_mismatch = on_mismatch
        self.encoder = encoder
        self.encoder_step_scale = float(encoder.step_scale)
        scale = env_step_scale if env_step_scale is not None else read_env_step_scale(base_env)
        if scale is None:
            raise ValueError(
                "cannot read the env's displacement per step (no max_speed and dt on "
                "env.unwrapped); pass env_step_scale (metres per step)"
            )
        self.env_step_scale = check_real("env_step_scale", scale, positive=True, unit="metres")
        check_step_scale(
            self.env_step_scale,
            self.velocity_scale,
            self.encoder_step_scale,
            self.tolerance,
            on_mismatch,
        )
        if append_phase is None:
            append_phase = getattr(base_env.unwrapped, "task", None) == "homing"
        self.append_phase = bool(append_phase)
        space, self._low, self._high = code_space(encoder, base_space, self.append_phase)
        self._warned_range = False
        return space

    def _check_range(self, v: np.ndarray) -> None:
        if not self._warned_range and self.on_mismatch != "ignore":
            self._warned_range = warn_out_of_range(v, self.encoder_step_scale, self.tolerance)


class EncoderObservation(FrozenEncoderInput, gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Replace a GridNav observation by the code of a frozen recurrent encoder.

    On ``reset`` the encoder state becomes ``encoder.initial_state(1)`` (the code of the start
    position; in ``homing`` the episode starts at home). On each ``step`` the displacement of that
    step ``v`` (metres) is read from ``info["velocity"]`` (or from the first two observation
    entries with ``velocity_source="observation"``) and the state advances:
    ``g <- encoder.step(g, velocity_scale · v)``; a displacement that is not finite raises
    ``ValueError`` (the state is left as it was). All torch work runs under ``torch.no_grad()``
    with the encoder in eval mode and its parameters' ``requires_grad`` switched off, so no
    gradient can reach it.

    ## Observation space
    ``Box(low, high, (N + 1,), float32)`` for a homing env: the code ``g`` (``N`` units, each in
    [0, 1] for a SIC encoder) followed by the env's phase flag (0 outbound, 1 return); ``(N,)``
    without the flag (``append_phase=False`` or a task without phase).

    ## Scale check
    ``env_scale · velocity_scale`` must equal ``encoder.step_scale`` within a relative
    ``tolerance``, where ``env_scale`` is the env's per-axis displacement bound per step
    (:func:`read_env_step_scale`, i.e. ``max_speed · dt`` = 0.15 m with GridNav's defaults, the
    paper's scale) or the ``env_step_scale`` argument. On mismatch ``on_mismatch`` decides:
    ``"raise"`` (:class:`StepScaleMismatch`, a ``ValueError``), ``"warn"`` or ``"ignore"``. During
    the episodes, a scaled displacement beyond the training range by more than ``tolerance``
    triggers one :class:`StepScaleWarning` per wrapper (unless ``on_mismatch="ignore"``).

    Args:
        env: a Gymnasium env supplying displacements per step in metres (a GridNav env).
        encoder: a frozen :class:`RecurrentEncoder`, e.g. ``gridnav_agents.sic.SICEncoder``.
        velocity_scale: factor converting the env's displacements into the encoder's units.
        env_step_scale: the env's per-axis displacement bound, metres; default read from the env.
        tolerance: relative tolerance of the scale check.
        on_mismatch: ``"raise"``, ``"warn"`` or ``"ignore"``.
        append_phase: append the phase flag (last entry of the env's observation); default: when
            the env's task is ``"homing"``.
        velocity_source: ``"info"`` (``info["velocity"]``) or ``"observation"`` (entries 0-1).

    Attributes:
        state: the current code, a ``(1, N)`` tensor (read-only use).
    """

    def __init__(
        self,
        env: gym.Env,
        encoder: RecurrentEncoder,
        *,
        velocity_scale: float = 1.0,
        env_step_scale: float | None = None,
        tolerance: float = 0.05,
        on_mismatch: str = "raise",
        append_phase: bool | None = None,
        velocity_source: str = "info",
    ):
        gym.utils.RecordConstructorArgs.__init__(
            self,
            encoder=encoder,
            velocity_scale=velocity_scale,
            env_step_scale=env_step_scale,
            tolerance=tolerance,
            on_mismatch=on_mismatch,
            append_phase=append_phase,
            velocity_source=velocity_source,
        )
        gym.Wrapper.__init__(self, env)
        if velocity_source not in _VELOCITY_SOURCES:
            raise ValueError(
                f"velocity_source must be one of {_VELOCITY_SOURCES}, got {velocity_source!r}"
            )
        self.observation_space = self._setup_encoder(
            encoder,
            env,
            env.observation_space,
            velocity_scale=velocity_scale,
            env_step_scale=env_step_scale,
            tolerance=tolerance,
            on_mismatch=on_mismatch,
            append_phase=append_phase,
        )
        self.velocity_source = velocity_source
        if velocity_source == "observation" and env.observation_space.shape[0] < 2:
            raise ValueError("velocity_source='observation' needs (dx, dy, ...) observations")
        with torch.no_grad():
            self.state = self._initial()

    # ------------------------------------------------------------------ encoding
    def _initial(self) -> torch.Tensor:
        g = self.encoder.initial_state(1)
        return g.detach().to(self._device, self._dtype).clone()

    def _velocity(self, obs: np.ndarray, info: dict[str, Any]) -> np.ndarray:
        if self.velocity_source == "info":
            if "velocity" not in info:
                raise KeyError("info has no 'velocity'; use velocity_source='observation'")
            v, source = info["velocity"], 'info["velocity"]'
        else:
            v, source = obs[:2], "observation[:2]"
        v = np.asarray(v, dtype=np.float64).reshape(2)
        if not np.all(np.isfinite(v)):
            raise ValueError(f"the env's displacement {source} must be finite metres, got {v}")
        return v * self.velocity_scale

    def _observation(self, obs: np.ndarray) -> np.ndarray:
        code = self.state[0].detach().cpu().numpy().astype(np.float32)
        # Float32 rounding can put a unit-norm entry a hair above 1: clip to the declared bounds.
        code = np.clip(code, self._low, self._high)
        if self.append_phase:
            code = np.append(code, np.float32(obs[-1]))
        return code

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        with torch.no_grad():
            self.state = self._initial()
        return self._observation(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        v = self._velocity(obs, info)
        self._check_range(v)
        with torch.no_grad():
            vt = torch.as_tensor(v, dtype=self._dtype, device=self._device).reshape(1, 2)
            self.state = self.encoder.step(self.state, vt).detach()
        return self._observation(obs), reward, terminated, truncated, info


class ReturnTimeLimit(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Truncate a homing episode after ``max_return_steps`` steps of the return phase.

    The outbound walk of ``GridNav-Box-v0`` can last from ``outbound_steps`` to 4× as long, so a
    plain ``TimeLimit`` would give the agent a varying time to get home; this wrapper counts only
    return steps (``info["phase"] == "return"`` before the step). ``info["return_steps"]`` holds
    the count.
    """

    def __init__(self, env: gym.Env, max_return_steps: int):
        gym.utils.RecordConstructorArgs.__init__(self, max_return_steps=max_return_steps)
        gym.Wrapper.__init__(self, env)
        n = max_return_steps
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"max_return_steps must be a positive integer, got {n!r}")
        self.max_return_steps = int(max_return_steps)
        self._returning, self._count = False, 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._returning = info.get("phase") == "return"
        self._count = 0
        info["return_steps"] = 0
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if self._returning:
            self._count += 1
        self._returning = info.get("phase") == "return"
        info["return_steps"] = self._count
        if self._count >= self.max_return_steps and not terminated:
            truncated = True
        return obs, reward, terminated, bool(truncated), info
