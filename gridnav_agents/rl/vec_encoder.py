"""A frozen recurrent encoder over a whole stable-baselines3 vector env, one batched step per
vector step.

:class:`~gridnav_agents.rl.wrappers.EncoderObservation` runs the encoder once per env and step
(batch 1); this wrapper keeps the states of all ``n`` envs in one ``(n, N)`` tensor and advances
them with one ``encoder.step`` call, which gives the same codes (up to float rounding) for a
fraction of the time when ``n`` is large. SB3's ``VecEnv`` resets an env as soon as its episode
ends; the wrapper then hands out the terminal code in ``info["terminal_observation"]`` and starts
that env's state again from ``encoder.initial_state``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper

from gridnav_agents.rl.wrappers import FrozenEncoderInput, RecurrentEncoder

__all__ = ["VecEncoderObservation"]


class VecEncoderObservation(FrozenEncoderInput, VecEnvWrapper):
    """Replace each env's observation by the code of a frozen recurrent encoder, batched over
    the envs of an SB3 ``VecEnv``.

    Each env's state starts at ``encoder.initial_state`` on ``reset`` and after its episode ends;
    every ``step_wait`` reads the displacements of that step from ``info["velocity"]`` (metres)
    and applies ``g <- encoder.step(g, velocity_scale · v)`` to all envs at once. Observations are
    ``(code, phase)`` as in :class:`~gridnav_agents.rl.wrappers.EncoderObservation` (same space,
    same scale check, same range warning); a displacement that is not finite raises
    ``ValueError`` and leaves the states as they were.

    Args:
        venv: an SB3 ``VecEnv`` of GridNav-like envs whose ``info`` holds ``"velocity"``.
        encoder: a frozen :class:`~gridnav_agents.rl.wrappers.RecurrentEncoder`.
        velocity_scale: factor converting the env's displacements into the encoder's units.
        env_step_scale: the envs' per-axis displacement bound, metres; default read from env 0.
        tolerance: relative tolerance of the scale check.
        on_mismatch: ``"raise"``, ``"warn"`` or ``"ignore"``.
        append_phase: append the phase flag (last entry of the env's observation); default: when
            the envs' task is ``"homing"``.

    Attributes:
        state: the current codes, an ``(n_envs, N)`` tensor (read-only use).
    """

    def __init__(
        self,
        venv: VecEnv,
        encoder: RecurrentEncoder,
        *,
        velocity_scale: float = 1.0,
        env_step_scale: float | None = None,
        tolerance: float = 0.05,
        on_mismatch: str = "raise",
        append_phase: bool | None = None,
    ):
        space = self._setup_encoder(
            encoder,
            venv.get_attr("unwrapped", [0])[0],
            venv.observation_space,
            velocity_scale=velocity_scale,
            env_step_scale=env_step_scale,
            tolerance=tolerance,
            on_mismatch=on_mismatch,
            append_phase=append_phase,
        )
        super().__init__(venv, observation_space=space)
        self.state = self._initial(venv.num_envs)

    def _initial(self, n: int) -> torch.Tensor:
        with torch.no_grad():
            g = self.encoder.initial_state(n)
        return g.detach().to(self._device, self._dtype).clone()

    def _observations(self, codes: torch.Tensor, base_obs: np.ndarray) -> np.ndarray:
        """``(n, N [+1])`` float32: codes clipped to their bounds, then the phase flags."""
        out = np.clip(codes.cpu().numpy().astype(np.float32), self._low, self._high)
        if self.append_phase:
            phase = np.asarray(base_obs, dtype=np.float32).reshape(len(out), -1)[:, -1:]
            out = np.concatenate([out, phase], axis=1)
        return out

    def reset(self) -> np.ndarray:
        obs = self.venv.reset()
        self.reset_infos = self.venv.reset_infos
        self.state = self._initial(self.num_envs)
        return self._observations(self.state, obs)

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, rewards, dones, infos = self.venv.step_wait()
        if any("velocity" not in info for info in infos):
            raise KeyError("VecEncoderObservation needs info['velocity'] from every env")
        v = np.stack([np.asarray(info["velocity"], dtype=np.float64) for info in infos])
        if not np.all(np.isfinite(v)):
            raise ValueError(f"the envs' displacements info['velocity'] must be finite, got {v}")
        v = v.reshape(self.num_envs, 2) * self.velocity_scale
        self._check_range(v)
        with torch.no_grad():
            vt = torch.as_tensor(v, dtype=self._dtype, device=self._device)
            state = self.encoder.step(self.state, vt).detach()
        done = np.flatnonzero(dones)
        if done.size:
            terminal = np.stack([infos[i]["terminal_observation"] for i in done])
            for i, row in zip(done, self._observations(state[done], terminal), strict=True):
                infos[i]["terminal_observation"] = row
            state[torch.as_tensor(done)] = self._initial(done.size)
        self.state = state
        self.reset_infos = self.venv.reset_infos
        return self._observations(state, obs), rewards, dones, infos
