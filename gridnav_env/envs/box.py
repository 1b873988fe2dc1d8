"""GridNav-Box-v0: an agent in a walled arena, fed by self-motion (velocity) streams."""

from __future__ import annotations

import inspect
import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gridnav_env._validate import MAX_METRES, check_count, check_real
from gridnav_env.arena import Arena
from gridnav_env.motion import SmoothMotion, UniformVelocity

TASKS = ("explore", "homing")
MOTIONS = ("smooth", "uniform")
OBSERVATIONS = ("velocity", "position", "velocity+position")
_SMOOTH_PARAMETERS = frozenset(inspect.signature(SmoothMotion).parameters)


class GridNavEnv(gym.Env):
    """An agent moving in a 2-D arena, observing its own displacement (path integration).

    ## Description
    The arena is a shapely polygon in metres (a ``box_size`` square centred at the origin by
    default). Each step lasts ``dt`` seconds. When the agent is not in control, a motion model
    moves it: RatInABox-style smooth motion (``"smooth"``, integrated in sub-steps of the model's
    own ``dt``) or the paper's i.i.d. uniform velocities (``"uniform"``). Walls reflect; the agent
    never leaves the arena.

    ## Tasks
    | task | who moves the agent | reward | termination |
    |------|---------------------|--------|-------------|
    | ``"explore"`` | the motion model (action ignored) | 0 | never (``TimeLimit``) |
    | ``"homing"`` | motion model, then the agent | see below | reaching home |

    Homing reward: +1 on entering ``home_radius`` during the return, ``-step_cost`` per other
    return step, 0 during the ``outbound_steps`` passive outbound walk.

    The homing episode starts at home; if the outbound walk ends within ``home_radius`` it goes on
    (up to 4 × ``outbound_steps``) until the agent is outside.

    ## Action space
    ``Box(-1, 1, (2,), float32)``: the desired velocity as a fraction of ``max_speed`` (m/s) per
    axis; the displacement is ``action · max_speed · dt`` metres, reflected at walls. An action
    that is not two finite real numbers (NaN, inf, strings, booleans, complex numbers) raises
    ``ValueError`` and leaves the state unchanged.

    ## Observation space (float32)
    | ``observation`` | content |
    |---|---|
    | ``"velocity"`` | displacement of the last step ``(dx, dy)`` in metres (zeros after reset) |
    | ``"position"`` | position ``(x, y)`` in metres (the oracle) |
    | ``"velocity+position"`` | both, ``(dx, dy, x, y)`` |

    For ``task="homing"`` a phase flag is appended: 0.0 outbound, 1.0 during the return.

    ## Info
    ``position`` (2,) m, ``velocity`` (2,) m per step, ``home`` (2,) m, ``phase``
    (``"explore"``, ``"outbound"`` or ``"return"``), ``dt`` s.

    ## Arguments
    | argument | default | meaning |
    |---|---|---|
    | ``box_size`` | 2.2 | side of the square arena, metres, ≤ 2e6 (ignored if ``arena`` is set) |
    | ``arena`` | None | any :class:`gridnav_env.Arena` |
    | ``task`` | ``"explore"`` | ``"explore"`` or ``"homing"`` |
    | ``motion`` | ``"smooth"`` | motion model driving the agent when it is not in control |
    | ``observation`` | ``"velocity"`` | see above |
    | ``dt`` | 0.5 | seconds per env step |
    | ``max_speed`` | 0.3 | m/s at action 1; ``"uniform"`` motion draws Uniform²(±max_speed·dt) |
    | ``home_radius`` | 0.2 | metres |
    | ``outbound_steps`` | 20 | steps of passive outbound walk in ``homing`` |
    | ``step_cost`` | 0.01 | reward subtracted per return step in ``homing`` |
    | ``home`` | arena centre | home position, metres |
    | ``**motion_kwargs`` | RatInABox defaults | passed to ``gridnav_env.motion.SmoothMotion`` |

    With the defaults one step moves at most 0.15 m, the paper's velocity scale.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 30}

    def __init__(
        self,
        box_size: float = 2.2,
        arena: Arena | None = None,
        task: str = "explore",
        motion: str = "smooth",
        observation: str = "velocity",
        dt: float = 0.5,
        max_speed: float = 0.3,
        home_radius: float = 0.2,
        outbound_steps: int = 20,
        step_cost: float = 0.01,
        home: tuple[float, float] | None = None,
        render_mode: str | None = None,
        **motion_kwargs: Any,
    ):
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        if motion not in MOTIONS:
            raise ValueError(f"motion must be one of {MOTIONS}, got {motion!r}")
        if observation not in OBSERVATIONS:
            raise ValueError(f"observation must be one of {OBSERVATIONS}, got {observation!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        dt = check_real("dt", dt, positive=True, unit="seconds")
        max_speed = check_real("max_speed", max_speed, positive=True, unit="m/s")
        if max_speed * dt > MAX_METRES:
            raise ValueError(
                f"max_speed · dt (the longest step) must be at most {MAX_METRES:g} m, got "
                f"max_speed={max_speed!r} m/s, dt={dt!r} s"
            )
        home_radius = check_real("home_radius", home_radius, positive=True, unit="metres")
        step_cost = check_real("step_cost", step_cost, nonneg=True)
        outbound_steps = check_count("outbound_steps", outbound_steps)
        if arena is None:
            box_size = check_real(
                "box_size", box_size, positive=True, at_most=2 * MAX_METRES, unit="metres"
            )
            arena = Arena.box(box_size)
        if not isinstance(arena, Arena):
            raise ValueError(f"arena must be a gridnav_env.Arena, got {arena!r}")
        self.arena = arena
        self.task, self.motion_name, self.observation = task, motion, observation
        self.dt, self.max_speed = float(dt), float(max_speed)
        self.home_radius, self.step_cost = float(home_radius), float(step_cost)
        self.outbound_steps = int(outbound_steps)
        if home is None:
            c = self.arena.polygon.centroid
            home = (
                (c.x, c.y)
                if self.arena.polygon.contains(c)
                else self.arena.polygon.representative_point().coords[0]
            )
        try:
            self.home = np.asarray(home, dtype=float).reshape(2)
        except (TypeError, ValueError):
            raise ValueError(f"home must be an (x, y) position in metres, got {home!r}") from None
        if not np.all(self.arena.contains(self.home)):
            raise ValueError(f"home must lie inside the arena, got {home!r}")

        if motion == "smooth":
            unknown = sorted(set(motion_kwargs) - _SMOOTH_PARAMETERS)
            if unknown:
                raise ValueError(
                    f"unknown keyword argument(s) {', '.join(unknown)}: GridNavEnv takes its "
                    f"own arguments and SmoothMotion's ({', '.join(sorted(_SMOOTH_PARAMETERS))})"
                )
            self.motion_model = SmoothMotion(**motion_kwargs)
            ratio = self.dt / self.motion_model.dt
            self.substeps = int(round(ratio))
            if self.substeps < 1 or abs(ratio - self.substeps) > 1e-6:
                raise ValueError(
                    f"dt must be a whole multiple of the motion model's dt "
                    f"({self.motion_model.dt} s), got {dt!r}"
                )
        else:
            if motion_kwargs:
                raise ValueError(
                    f"uniform motion takes no motion parameters, got {motion_kwargs!r}"
                )
            self.motion_model = UniformVelocity(max_step=self.max_speed * self.dt, dt=self.dt)
            self.substeps = 1

        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        xmin, ymin, xmax, ymax = self.arena.bounds
        span = float(np.hypot(xmax - xmin, ymax - ymin))
        lows, highs = [], []
        if "velocity" in observation:
            lows += [-span, -span]
            highs += [span, span]
        if "position" in observation:
            lows += [xmin, ymin]
            highs += [xmax, ymax]
        if task == "homing":
            lows.append(0.0)
            highs.append(1.0)
        self.observation_space = spaces.Box(
            np.array(lows, dtype=np.float32), np.array(highs, dtype=np.float32), dtype=np.float32
        )
        self.render_mode = render_mode
        self._renderer = None
        self._pos = self.home.copy()
        self._last_step = np.zeros(2)
        self._motion_state = (0.0, 0.0, 0.0)  # (vx m/s, vy m/s, rotational velocity rad/s)
        self._noise_buf: list = []
        self._noise_i = 0
        self._t = 0
        self._phase = "explore"
        self.trail: list[np.ndarray] = []

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        rng = self.np_random
        if self.task == "homing":
            self._pos = self.home.copy()
            self._phase = "outbound"
        else:
            self._pos = self.arena.sample(1, rng)[0]
            self._phase = "explore"
        if isinstance(self.motion_model, SmoothMotion):
            vel, rot = self.motion_model.initial_state(1, rng)
            self._motion_state = (float(vel[0, 0]), float(vel[0, 1]), float(rot[0]))
        self._noise_buf, self._noise_i = [], 0
        self._last_step = np.zeros(2)
        self._t = 0
        self.trail = [self._pos.copy()]
        if self.render_mode == "human":
            self.render()
        return self._obs(), self._info()

    def step(self, action):
        try:
            a = np.asarray(action)
        except ValueError:  # a ragged sequence
            a = np.asarray(None)
        if a.dtype.kind not in "iuf" or a.size != 2 or not np.all(np.isfinite(a)):
            raise ValueError(f"action must be 2 finite real numbers in [-1, 1], got {action!r}")
        a = a.astype(np.float64).reshape(2)
        reward, terminated = 0.0, False
        start = self._pos
        if self._phase == "return":
            dx, dy = (min(1.0, max(-1.0, float(c))) * self.max_speed * self.dt for c in a)
            self._pos = np.array(
                self.arena.reflect_point(float(start[0]), float(start[1]), dx, dy)[:2]
            )
            reward = -self.step_cost
            if math.hypot(*(self._pos - self.home)) < self.home_radius:
                reward, terminated = 1.0, True
        else:
            self._pos = self._passive_step(start)
        self._last_step = self._pos - start
        self._t += 1
        if self._phase == "outbound" and self._t >= self.outbound_steps:
            away = np.linalg.norm(self._pos - self.home) >= self.home_radius
            if away or self._t >= 4 * self.outbound_steps:
                self._phase = "return"
        self.trail.append(self._pos.copy())
        if len(self.trail) > 2000:
            del self.trail[:1000]
        if self.render_mode == "human":
            self.render()
        return self._obs(), float(reward), bool(terminated), False, self._info()

    def _passive_step(self, pos: np.ndarray) -> np.ndarray:
        """One env step driven by the motion model (single-agent float fast path)."""
        if isinstance(self.motion_model, SmoothMotion):
            state = (float(pos[0]), float(pos[1]), *self._motion_state)
            for _ in range(self.substeps):
                state = self.motion_model.step_single(state, self._noise(), self.arena)
            self._motion_state = state[2:]
            return np.array(state[:2])
        dx, dy = self.motion_model.sample((1,), self.np_random)[0]
        return np.array(self.arena.reflect_point(float(pos[0]), float(pos[1]), dx, dy)[:2])

    def _noise(self) -> tuple[float, float]:
        """Two standard normals from ``self.np_random``, drawn in blocks for speed."""
        if self._noise_i >= len(self._noise_buf):
            self._noise_buf = self.np_random.standard_normal((1024, 2)).tolist()
            self._noise_i = 0
        self._noise_i += 1
        return self._noise_buf[self._noise_i - 1]

    def _obs(self) -> np.ndarray:
        parts = []
        if "velocity" in self.observation:
            parts.append(self._last_step)
        if "position" in self.observation:
            parts.append(self._pos)
        if self.task == "homing":
            parts.append([1.0 if self._phase == "return" else 0.0])
        return np.concatenate(parts).astype(np.float32)

    def _info(self) -> dict[str, Any]:
        return {
            "position": self._pos.copy(),
            "velocity": self._last_step.copy(),
            "home": self.home.copy(),
            "phase": self._phase,
            "dt": self.dt,
        }

    @property
    def position(self) -> np.ndarray:
        """The agent's true position, metres."""
        return self._pos.copy()

    @property
    def phase(self) -> str:
        return self._phase

    # ------------------------------------------------------------------ rendering
    def render(self):
        if self.render_mode is None:
            gym.logger.warn(
                "You are calling render method without specifying any render mode. "
                'Set render_mode at initialization, e.g. gym.make("GridNav-Box-v0", '
                'render_mode="rgb_array")'
            )
            return None
        if self._renderer is None:
            from gridnav_env.render import ArenaRenderer

            self._renderer = ArenaRenderer(
                self.arena, mode=self.render_mode, fps=self.metadata["render_fps"]
            )
        return self._renderer.draw(
            position=self._pos,
            trail=self.trail,
            home=self.home if self.task == "homing" else None,
            home_radius=self.home_radius,
        )

    def close(self):
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
