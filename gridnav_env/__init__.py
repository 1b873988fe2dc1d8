"""gridnav_env: arenas, seeded velocity streams and the GridNav Gymnasium environments.

Units, everywhere in gridnav:

* positions and distances in **metres**;
* velocities that feed encoders are **displacements per step in metres** (what the paper calls
  velocity); ``dt`` (seconds) states how long a step lasts, so m/s = displacement / dt;
* angles in radians unless a name ends in ``_deg``.

Importing this package registers ``GridNav-Box-v0`` with Gymnasium.
"""

from gymnasium.envs.registration import register

from gridnav_env.arena import Arena
from gridnav_env.envs.box import GridNavEnv
from gridnav_env.motion import SmoothMotion, Trajectory, UniformVelocity
from gridnav_env.rollouts import PermutedRollout, independent_rollouts, permuted_rollouts

__all__ = [
    "Arena",
    "GridNavEnv",
    "SmoothMotion",
    "Trajectory",
    "UniformVelocity",
    "PermutedRollout",
    "permuted_rollouts",
    "independent_rollouts",
]

register(
    id="GridNav-Box-v0",
    entry_point="gridnav_env.envs.box:GridNavEnv",
    max_episode_steps=500,
)
