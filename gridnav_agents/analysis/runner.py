"""Run an encoder with the SIC interface along smooth trajectories in an arena.

Any encoder with ``initial_state(batch)`` and ``forward(velocities (batch, T, 2), g0)`` returning
``(batch, T, N)`` torch tensors works (the SIC encoder, a stand-in, a wrapped RL agent's LSTM).
Trajectories come from SmoothMotion (RatInABox-style) and start at the arena's centre with the
encoder's initial state.

Step scale. The SIC encoder is trained on displacements of up to ``step_scale`` metres per step
per axis (paper: Uniform²(-0.15, 0.15) m, mean step length ≈ 0.765·0.15 ≈ 0.115 m), while
SmoothMotion moves ≈ 0.005 m per 0.05 s step. The evaluation trajectory therefore keeps every
``k``-th SmoothMotion position (:func:`step_subsample`), summing ``k`` small displacements into one
encoder step whose mean length matches the training steps. Encoders without ``step_scale`` get
``k = 1``. Pass ``subsample`` to override.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gridnav_agents.analysis.ratemaps import arena_bounds

__all__ = ["step_subsample", "mean_motion_step", "default_trajectory_size", "run_encoder"]

# Mean length of a Uniform²(-a, a) displacement, in units of a: (√2 + asinh(1)) / 3.
_UNIFORM_MEAN_STEP = (math.sqrt(2) + math.asinh(1)) / 3


def mean_motion_step(motion: Any) -> float:
    """Mean displacement per step of a motion model, metres (from its parameters, else from a
    fixed-seed pilot rollout)."""
    if hasattr(motion, "mean_speed") and hasattr(motion, "dt"):
        return float(motion.mean_speed) * float(motion.dt)
    if hasattr(motion, "max_step"):
        return _UNIFORM_MEAN_STEP * float(motion.max_step)
    traj = motion.rollout(64, 200, np.random.default_rng(0))
    return float(np.linalg.norm(traj.velocities, axis=-1).mean())


def step_subsample(encoder: Any, motion: Any = None) -> int:
    """Number ``k`` of motion steps merged into one encoder step (see module docstring).

    ``k = round(0.765 * encoder.step_scale / mean motion step)``, at least 1; 1 if the encoder has
    no ``step_scale`` attribute.
    """
    scale = getattr(encoder, "step_scale", None)
    if scale is None:
        return 1
    if motion is None:
        from gridnav_env.motion import SmoothMotion

        motion = SmoothMotion()
    return max(1, int(round(_UNIFORM_MEAN_STEP * float(scale) / mean_motion_step(motion))))


def default_trajectory_size(
    box_size: float, mean_step_m: float, samples_per_m2: float = 2000.0
) -> tuple[int, int]:
    """``(n_traj, n_steps)`` that cover a ``box_size`` m box: each trajectory travels
    ``L² + 4`` metres (a smooth random walk from the centre spreads over the box; ~99 % of the
    5 cm bins visited) and all together give about ``samples_per_m2 · L²`` samples (2000: 5 per
    5 cm bin)."""
    path = box_size**2 + 4.0
    n_steps = max(10, int(math.ceil(path / mean_step_m)))
    n_traj = max(8, int(math.ceil(samples_per_m2 * box_size**2 / n_steps)))
    return n_traj, n_steps


def _torch_forward(encoder: Any, velocities: np.ndarray, chunk_steps: int) -> np.ndarray:
    """States ``(batch, T, N)`` float64 of ``encoder`` on ``velocities (batch, T, 2)``."""
    import torch

    params = list(encoder.parameters()) if hasattr(encoder, "parameters") else []
    device = params[0].device if params else torch.device("cpu")
    dtype = params[0].dtype if params else torch.float32
    batch, n_steps, _ = velocities.shape
    out = []
    with torch.no_grad():
        g = encoder.initial_state(batch)
        for t0 in range(0, n_steps, chunk_steps):
            v = torch.as_tensor(velocities[:, t0 : t0 + chunk_steps], dtype=dtype, device=device)
            states = encoder.forward(v, g)
            g = states[:, -1]
            out.append(states.detach().to("cpu", torch.float64).numpy())
    return np.concatenate(out, axis=1)


def run_encoder(
    encoder: Any,
    arena: Any,
    n_steps: int,
    rng: np.random.Generator,
    *,
    n_traj: int | None = None,
    motion: Any = None,
    subsample: int | None = None,
    start: tuple[float, float] | None = None,
    chunk_steps: int = 100,
    sequential: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``encoder`` along smooth trajectories inside ``arena``.

    Args:
        encoder: has ``initial_state(batch)`` and ``forward(velocities (batch, T, 2), g0)``
            returning ``(batch, T, N)`` (torch tensors), e.g. ``SICEncoder``.
        arena: an ``Arena`` (``gridnav_env.Arena.box(size)``) the trajectories stay in.
        n_steps: encoder steps per trajectory.
        rng: source of the trajectories.
        n_traj: number of trajectories; ``None`` returns one unbatched trajectory.
        motion: motion model with ``rollout`` (default ``SmoothMotion()``).
        subsample: motion steps per encoder step (default :func:`step_subsample`).
        start: start position, metres (default the centre of the arena's bounds).
        chunk_steps: the encoder is run this many steps at a time.
        sequential: roll the motion out one trajectory after another
            (``motion.rollout_sequential``, e.g. ``SmoothMotion``'s float fast path: the same
            dynamics, cheaper for a few long trajectories).

    Returns:
        ``(activity, positions)``: ``(n_traj, n_steps, N)`` and ``(n_traj, n_steps, 2)`` metres,
        the state and position after each step (unbatched ``(n_steps, ...)`` if ``n_traj`` is
        None). The encoder starts from ``initial_state`` at ``start``.
    """
    for name, v in (("n_steps", n_steps), ("chunk_steps", chunk_steps)):
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if n_traj is not None and (isinstance(n_traj, bool) or int(n_traj) != n_traj or n_traj < 1):
        raise ValueError(f"n_traj must be a positive integer or None, got {n_traj!r}")
    if motion is None:
        from gridnav_env.motion import SmoothMotion

        motion = SmoothMotion()
    k = step_subsample(encoder, motion) if subsample is None else subsample
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"subsample must be a positive integer, got {subsample!r}")
    if start is None:
        xmin, ymin, xmax, ymax = arena_bounds(arena)
        start = ((xmin + xmax) / 2, (ymin + ymax) / 2)
    batch = 1 if n_traj is None else int(n_traj)
    if sequential and not hasattr(motion, "rollout_sequential"):
        raise ValueError(f"sequential=True needs a motion with rollout_sequential, got {motion!r}")
    rollout = motion.rollout_sequential if sequential else motion.rollout
    traj = rollout(batch, int(n_steps) * int(k), rng, arena=arena, start=np.asarray(start))
    pos = traj.positions[:, :: int(k)]  # (batch, n_steps + 1, 2)
    vel = np.diff(pos, axis=1)
    act = _torch_forward(encoder, vel, int(chunk_steps))
    if act.shape[:2] != (batch, n_steps):
        raise ValueError(
            f"encoder returned states of shape {act.shape}, expected ({batch}, {n_steps}, N)"
        )
    if n_traj is None:
        return act[0], pos[0, 1:]
    return act, pos[:, 1:]
