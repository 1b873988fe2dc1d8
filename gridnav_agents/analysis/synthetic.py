"""Synthetic tuning curves with known answers: grid, square-lattice, band and place cells.

Used by the tests, the example and the benchmark. Positions are metres, angles degrees.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "lattice_wavevectors",
    "grid_rate",
    "square_rate",
    "band_rate",
    "place_rate",
    "grid_population",
    "population_rates",
    "SyntheticGridEncoder",
]


def lattice_wavevectors(spacing: float, orientation_deg: float) -> np.ndarray:
    """The three wavevectors ``(3, 2)`` (rad/m) of a hexagonal lattice, summing to zero.

    The lattice has peaks at distance ``spacing`` (metres) along ``orientation_deg + 60°·a``;
    its wavevectors point along ``orientation_deg + 30° + 120°·a`` with ``|k| = 4π / (√3 spacing)``.
    """
    if not np.isfinite(spacing) or spacing <= 0:
        raise ValueError(f"spacing must be a positive number of metres, got {spacing!r}")
    ang = np.deg2rad(orientation_deg + 30.0 + 120.0 * np.arange(3))
    return 4 * np.pi / (np.sqrt(3) * spacing) * np.stack([np.cos(ang), np.sin(ang)], axis=-1)


def grid_rate(
    positions: np.ndarray,
    spacing: float,
    orientation_deg: float = 0.0,
    offset: np.ndarray | tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Ideal grid cell: sum of three cosines rescaled to ``[0, 1]``, peaks at ``offset`` + lattice.

    ``positions (..., 2)`` metres -> rates ``(...)``.
    """
    k = lattice_wavevectors(spacing, orientation_deg)
    p = np.asarray(positions, dtype=float) - np.asarray(offset, dtype=float)
    return (np.cos(p @ k.T).sum(axis=-1) + 1.5) / 4.5


def square_rate(
    positions: np.ndarray,
    spacing: float,
    orientation_deg: float = 0.0,
    offset: np.ndarray | tuple[float, float] = (0.0, 0.0),
) -> np.ndarray:
    """Square-lattice cell: two orthogonal cosines, in ``[0, 1]``."""
    ang = np.deg2rad(orientation_deg + np.array([0.0, 90.0]))
    k = 2 * np.pi / spacing * np.stack([np.cos(ang), np.sin(ang)], axis=-1)
    p = np.asarray(positions, dtype=float) - np.asarray(offset, dtype=float)
    return (np.cos(p @ k.T).sum(axis=-1) + 2.0) / 4.0


def band_rate(
    positions: np.ndarray, spacing: float, orientation_deg: float = 0.0, phase: float = 0.0
) -> np.ndarray:
    """Band cell: one plane wave of period ``spacing`` metres, in ``[0, 1]``."""
    ang = np.deg2rad(orientation_deg)
    k = 2 * np.pi / spacing * np.array([np.cos(ang), np.sin(ang)])
    return (np.cos(np.asarray(positions, dtype=float) @ k + phase) + 1.0) / 2.0


def place_rate(
    positions: np.ndarray, centre: np.ndarray | tuple[float, float], width: float
) -> np.ndarray:
    """Place cell: Gaussian bump of standard deviation ``width`` metres at ``centre``."""
    d2 = np.sum((np.asarray(positions, dtype=float) - np.asarray(centre)) ** 2, axis=-1)
    return np.exp(-d2 / (2 * width**2))


def grid_population(
    spacings: tuple[float, ...] | list[float],
    units_per_module: int,
    rng: np.random.Generator,
    *,
    orientations_deg: tuple[float, ...] | list[float] | None = None,
    n_dead: int = 0,
) -> dict[str, np.ndarray]:
    """Parameters of a multi-module grid population with uniformly random phases.

    Returns a dict of per-unit arrays: ``spacing`` (m, NaN for dead units), ``orientation_deg``,
    ``offset (N, 2)`` (m; the phase as a spatial offset), ``module`` (int, -1 for dead units).
    Dead units come last. Evaluate rates with :func:`population_rates`.
    """
    spacings = [float(s) for s in spacings]
    if orientations_deg is None:
        orientations_deg = list(rng.uniform(0, 60, size=len(spacings)))
    if len(orientations_deg) != len(spacings):
        raise ValueError(f"orientations_deg must have {len(spacings)} entries")
    module = np.concatenate(
        [np.repeat(np.arange(len(spacings)), units_per_module), np.full(n_dead, -1)]
    )
    spacing = np.array([spacings[m] if m >= 0 else np.nan for m in module])
    orient = np.array([orientations_deg[m] if m >= 0 else 0.0 for m in module])
    # Uniform phases: uniform offsets within one unit cell of each unit's lattice.
    u = rng.uniform(0, 1, size=(len(module), 2))
    ang = np.deg2rad(orient)
    a1 = np.stack([np.cos(ang), np.sin(ang)], axis=-1)
    a2 = np.stack([np.cos(ang + np.pi / 3), np.sin(ang + np.pi / 3)], axis=-1)
    offset = np.nan_to_num(spacing)[:, None] * (u[:, :1] * a1 + u[:, 1:] * a2)
    return {"spacing": spacing, "orientation_deg": orient, "offset": offset, "module": module}


def population_rates(params: dict[str, np.ndarray], positions: np.ndarray) -> np.ndarray:
    """Rates ``(..., N)`` of a :func:`grid_population` at ``positions (..., 2)``; dead units 0."""
    pos = np.asarray(positions, dtype=float)
    out = np.zeros(pos.shape[:-1] + (len(params["module"]),))
    for i, (s, o, off) in enumerate(
        zip(params["spacing"], params["orientation_deg"], params["offset"], strict=True)
    ):
        if np.isfinite(s):
            out[..., i] = grid_rate(pos, s, o, off)
    return out


class SyntheticGridEncoder:
    """A known-answer stand-in for an encoder with the SIC interface (torch tensors in and out).

    It integrates velocities, exactly by default; its state is ``[grid rates (n_grid,), x, y]``:
    ideal grid cells (:func:`grid_rate`) of a :func:`grid_population` at the integrated position,
    followed by that position itself (two ramp units). Positions start at ``start`` (metres).
    Each step adds ``gain · v + drift_m + noise_m · ξ`` to the integrated position, with ``v``
    the displacement (metres) and ``ξ`` two independent standard normals from ``noise_rng``: an
    exact integrator by default, a gain error with ``gain != 1``, a systematic drift with
    ``drift_m``, a diffusive one with ``noise_m``.

    Args:
        spacings: module spacings, metres; ``units_per_module`` units each with random phases.
        rng: source of orientations (unless given) and phases.
        step_scale: recorded training step scale, metres per step (as ``SICEncoder``).
        gain: factor on every displacement.
        drift_m: ``(dx, dy)`` metres added at every step.
        noise_m: standard deviation per axis of the noise added at every step, metres.
        noise_rng: source of that noise (required when ``noise_m > 0``).
    """

    def __init__(
        self,
        spacings: tuple[float, ...] | list[float],
        units_per_module: int,
        rng: np.random.Generator,
        *,
        orientations_deg: tuple[float, ...] | list[float] | None = None,
        n_dead: int = 0,
        step_scale: float = 0.15,
        start: tuple[float, float] = (0.0, 0.0),
        gain: float = 1.0,
        drift_m: tuple[float, float] = (0.0, 0.0),
        noise_m: float = 0.0,
        noise_rng: np.random.Generator | None = None,
    ):
        if not np.isfinite(gain):
            raise ValueError(f"gain must be a finite number, got {gain!r}")
        drift = np.asarray(drift_m, dtype=float)
        if drift.shape != (2,) or not np.all(np.isfinite(drift)):
            raise ValueError(f"drift_m must be two finite numbers of metres, got {drift_m!r}")
        if not np.isfinite(noise_m) or noise_m < 0:
            raise ValueError(f"noise_m must be a non-negative number of metres, got {noise_m!r}")
        if noise_m > 0 and noise_rng is None:
            raise ValueError("noise_rng must be a numpy Generator when noise_m > 0, got None")
        self.params = grid_population(
            spacings, units_per_module, rng, orientations_deg=orientations_deg, n_dead=n_dead
        )
        self.step_scale = float(step_scale)
        self.start = np.asarray(start, dtype=float)
        self.n_units = len(self.params["module"]) + 2
        self.gain, self.drift_m, self.noise_m = float(gain), drift, float(noise_m)
        self.noise_rng = noise_rng

    def _state(self, positions: np.ndarray):
        import torch

        rates = population_rates(self.params, positions)
        return torch.as_tensor(np.concatenate([rates, positions], axis=-1), dtype=torch.float32)

    def initial_state(self, batch: int):
        """``(batch, n_units)`` state at ``start``."""
        return self._state(np.broadcast_to(self.start, (batch, 2)))

    def forward(self, velocities, g0=None):
        """``velocities (batch, T, 2)`` metres per step -> states ``(batch, T, n_units)``."""
        v = np.asarray(velocities, dtype=float)
        p0 = (
            np.broadcast_to(self.start, (len(v), 2))
            if g0 is None
            else np.asarray(g0, dtype=float)[:, -2:]
        )
        steps = self.gain * v + self.drift_m
        if self.noise_m > 0:
            steps = steps + self.noise_m * self.noise_rng.standard_normal(v.shape)
        return self._state(p0[:, None] + np.cumsum(steps, axis=1))

    def step(self, g, v):
        """One step: ``g (batch, n_units)``, ``v (batch, 2)`` -> ``(batch, n_units)``."""
        return self.forward(np.asarray(v, dtype=float)[:, None], g)[:, 0]
