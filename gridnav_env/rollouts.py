"""Permuted rollouts: the SIC data augmentation (paper section 5.1, Fig. 3d).

One sequence of ``T`` velocities is drawn from a motion model and shuffled ``B`` times. Every
trajectory uses each velocity exactly once, so all ``B`` trajectories start at the same point and
end at the same point, and they intersect often: the positions where path invariance is learnt.

Units: metres, velocities as displacement per step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridnav_env._validate import check_count
from gridnav_env.motion import MotionModel, UniformVelocity

__all__ = ["PermutedRollout", "permuted_rollouts", "independent_rollouts"]


@dataclass(frozen=True)
class PermutedRollout:
    """A batch of trajectories for SIC pretraining.

    Attributes:
        velocities: ``(T, 2)`` the distinct displacements (metres per step) when ``perms`` is set;
            ``(B, T, 2)`` per-trajectory displacements when ``perms`` is ``None``.
        perms: ``(B, T)`` int64; row ``b`` is a permutation of ``range(T)``: trajectory ``b``
            takes ``velocities[perms[b, t]]`` at step ``t``. ``None`` for independent rollouts.
        positions: ``(B, T, 2)`` metres, the position after each step.
        start: ``(2,)`` the shared start position, metres.
    """

    velocities: np.ndarray
    perms: np.ndarray | None
    positions: np.ndarray
    start: np.ndarray

    @property
    def batch_velocities(self) -> np.ndarray:
        """``(B, T, 2)`` the displacement each trajectory takes at each step, metres."""
        if self.perms is None:
            return self.velocities
        return self.velocities[self.perms]

    @property
    def n_perms(self) -> int:
        return self.positions.shape[0]

    @property
    def n_steps(self) -> int:
        return self.positions.shape[1]


def _start(start: np.ndarray | None) -> np.ndarray:
    try:
        s = np.zeros(2) if start is None else np.asarray(start, dtype=float).reshape(2)
    except (TypeError, ValueError):
        s = np.full(2, np.nan)
    if not np.all(np.isfinite(s)):
        raise ValueError(f"start must be a finite (x, y) position in metres, got {start!r}")
    return s


def permuted_rollouts(
    n_perms: int,
    n_steps: int,
    rng: np.random.Generator,
    motion: MotionModel | None = None,
    start: np.ndarray | None = None,
) -> PermutedRollout:
    """``n_perms`` random permutations of one ``n_steps``-long velocity sequence.

    Args:
        n_perms: ``B``, the number of trajectories.
        n_steps: ``T``, the number of steps (distinct velocities).
        rng: the only source of randomness.
        motion: the velocity source, on the open plane; default ``UniformVelocity(0.15)`` (paper).
        start: shared start position, metres; default the origin.
    """
    n_perms, n_steps = check_count("n_perms", n_perms), check_count("n_steps", n_steps)
    motion = UniformVelocity() if motion is None else motion
    s = _start(start)
    v = motion.rollout(1, n_steps, rng, start=s).velocities[0]
    perms = rng.permuted(np.tile(np.arange(n_steps, dtype=np.int64), (n_perms, 1)), axis=1)
    positions = s + np.cumsum(v[perms], axis=1)
    return PermutedRollout(v, perms, positions, s)


def independent_rollouts(
    n_traj: int,
    n_steps: int,
    rng: np.random.Generator,
    motion: MotionModel | None = None,
    start: np.ndarray | None = None,
) -> PermutedRollout:
    """The ``permute=False`` ablation: ``n_traj`` independent trajectories from one start."""
    n_traj, n_steps = check_count("n_traj", n_traj), check_count("n_steps", n_steps)
    motion = UniformVelocity() if motion is None else motion
    s = _start(start)
    v = motion.rollout(n_traj, n_steps, rng, start=s).velocities
    return PermutedRollout(v, None, s + np.cumsum(v, axis=1), s)
