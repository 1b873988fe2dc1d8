"""``FiringFieldRender``: an env wrapper whose ``render()`` is the composite firing-field view."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from gridnav_agents.viz.composite import FiringFieldView
from gridnav_agents.viz.sources import ActivitySource, as_source

__all__ = ["FiringFieldRender"]


class FiringFieldRender(gym.Wrapper):
    """Run an activity source alongside a GridNav env and render the composite view.

    On ``reset`` the source restarts (``source.reset(position)``) and the trail is cleared; on
    each ``step`` the source advances with the step's displacement (``info["velocity"]``, metres)
    and its code is recorded at the true position (``info["position"]``) into online ratemaps.
    The fields accumulate across episodes until :meth:`reset_fields`. Observations, rewards and
    infos pass through unchanged, so the wrapper can sit outside or inside an
    ``EncoderObservation``; it runs its own copy of the encoder state (the same encoder, fed the
    same displacements, gives the same code).

    ``render()`` follows the inner env's ``render_mode``: ``"rgb_array"`` returns the composite
    frame, ``(H, W, 3)`` uint8 of ``size = (W, H)``; ``"human"`` shows it in a window after every
    ``reset`` and ``step`` (the inner env's own ``"human"`` drawing is switched off so the two do
    not fight over the one pygame display); ``None`` warns and returns ``None``.

    Args:
        env: an env with ``info["position"]`` and ``info["velocity"]`` and an ``arena``
            attribute on ``env.unwrapped`` (GridNav-Box-v0).
        source: an :class:`ActivitySource`, an encoder with ``initial_state``/``step`` (e.g. a
            ``SICEncoder``) or a function of position ``(2,) -> (N,)``.
        units: firing-field panels per page.
        size: ``(width, height)`` of the frame, pixels.
        **view_kwargs: passed to :class:`FiringFieldView` (``bin_size``, ``cmap``, ...).
    """

    def __init__(
        self,
        env: gym.Env,
        source: Any,
        units: int = 16,
        size: tuple[int, int] = (800, 600),
        **view_kwargs: Any,
    ):
        super().__init__(env)
        arena = getattr(env.unwrapped, "arena", None)
        if arena is None:
            raise ValueError("env.unwrapped must have an 'arena' (a gridnav_env.Arena)")
        self.source: ActivitySource = as_source(source)
        view_kwargs.setdefault("title", self.source.name)
        self.view = FiringFieldView(
            arena, self.source.n_units, units=units, size=size, **view_kwargs
        )
        self.n_steps = 0
        self._window = None
        self._render_mode = env.render_mode
        if self._render_mode == "human":
            env.unwrapped.render_mode = None  # the composite window replaces the env's own

    @property
    def render_mode(self) -> str | None:
        return self._render_mode

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        pos = np.asarray(info["position"], dtype=float)
        base = self.env.unwrapped
        home = info.get("home") if getattr(base, "task", None) == "homing" else None
        self.view.start_episode(
            pos, self.source.reset(pos), home=home, home_radius=getattr(base, "home_radius", 0.2)
        )
        if self._render_mode == "human":
            self.render()
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        pos = np.asarray(info["position"], dtype=float)
        self.view.update(pos, self.source.step(pos, np.asarray(info["velocity"], dtype=float)))
        self.n_steps += 1
        if self._render_mode == "human":
            self.render()
        return obs, reward, terminated, truncated, info

    def reset_fields(self) -> None:
        """Empty the online ratemaps."""
        self.view.reset_fields()

    def render(self) -> np.ndarray | None:
        mode = self._render_mode
        if mode is None:
            gym.logger.warn(
                "FiringFieldRender.render() needs the env to have a render_mode, e.g. "
                'gym.make("GridNav-Box-v0", render_mode="rgb_array")'
            )
            return None
        self.view.status = [f"step {self.n_steps:,}"]
        if mode == "rgb_array":
            return self.view.frame()
        if self._window is None:
            from gridnav_agents.viz.window import Window

            fps = self.env.metadata.get("render_fps", 30)
            self._window = Window(self.view.layout.size, fps=fps)
        self._window.present(self.view.draw(), pump=True)
        return None

    def close(self) -> None:
        if self._window is not None:
            self._window.close()
            self._window = None
        self.view.close()
        super().close()
