"""Long-horizon stability of an encoder: run it along long trajectories
(:func:`~gridnav_agents.analysis.runner.run_encoder`) and measure its code against the
reference ratemaps of short ones with :mod:`gridnav_agents.analysis.stability`.

``gridnav analyze`` calls :func:`measure_stability` in its first box, with that box's
ratemaps (made from ``T``-step trajectories) as the reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from gridnav_agents.analysis.ratemaps import bin_centres
from gridnav_agents.analysis.runner import run_encoder
from gridnav_agents.analysis.stability import (
    MapStability,
    PhaseDrift,
    _positive_float,
    _positive_int,
    agent_gridness,
    map_stability,
    phase_drift,
    phase_error,
    window_edges,
)

__all__ = ["Stability", "measure_stability"]

#: Fraction of the search radius (half the module spacing) at which a trajectory has left its
#: period: the decoded error cannot exceed the radius itself.
HALF_PERIOD_FRACTION = 0.9


@dataclass(frozen=True)
class Stability:
    """What :func:`measure_stability` measured (metres, steps).

    ``maps``: :class:`~gridnav_agents.analysis.stability.MapStability` of the windows;
    ``late_frac_grid``: per long trajectory, the fraction of grid units in its own ratemaps
    over steps ``late_start + 1 … late_stop``; ``drift``:
    :class:`~gridnav_agents.analysis.stability.PhaseDrift` of the first ``n_steps`` steps of
    every trajectory, decoded within ``radius_m`` (half of ``module_spacing_m``, or 0.5 m
    without a module); the trajectories: ``n_traj`` of ``n_steps`` and ``n_long_traj`` of
    ``n_long_steps`` encoder steps, ``subsample`` motion steps each; ``run_time_s``.
    """

    maps: MapStability
    late_frac_grid: np.ndarray
    late_start: int
    late_stop: int
    drift: PhaseDrift
    radius_m: float
    module_spacing_m: float | None
    reference_steps: int
    subsample: int
    n_traj: int
    n_steps: int
    n_long_traj: int
    n_long_steps: int
    run_time_s: float

    def as_dict(self) -> dict[str, Any]:
        """The report entry (arrays as arrays; ``None`` for "never" and "not measured")."""
        m, d, late = self.maps, self.drift, self.late_frac_grid
        return {
            "reference_steps": self.reference_steps,
            "subsample": self.subsample,
            "n_traj": self.n_traj,
            "n_steps": self.n_steps,
            "n_long_traj": self.n_long_traj,
            "n_long_steps": self.n_long_steps,
            "windows": {
                "start": m.start,
                "stop": m.stop,
                "map_correlation": m.correlation,
                "n_traj": m.n_traj,
                "n_samples": m.n_samples,
            },
            "late_gridness": {
                "start": self.late_start,
                "stop": self.late_stop,
                "frac_grid": late,
                "median_frac_grid": float(np.median(late)) if late.size else None,
            },
            "phase_drift": {
                "module_spacing_m": self.module_spacing_m,
                "radius_m": self.radius_m,
                "threshold_m": d.threshold_m,
                "resolution_m": d.resolution_m,
                "fit_steps": d.fit_steps,
                "systematic_m_per_step": d.systematic_m_per_step,
                "systematic_direction_deg": d.systematic_direction_deg,
                "diffusive_m_per_sqrt_step": d.diffusive_m_per_sqrt_step,
                "kind": d.kind,
                "steps_within_half_period": d.steps_within,
                "first_exit_step": [None if np.isinf(x) else int(x) for x in d.first_exit_step],
                "median_error_m": d.median_error_m,
                "mean_error_m": d.mean_error_m,
                "spread_m": d.spread_m,
            },
            "run_time_s": self.run_time_s,
        }


def measure_stability(
    encoder: Any,
    arena: Any,
    reference: np.ndarray,
    rng: np.random.Generator,
    *,
    reference_steps: int,
    subsample: int,
    units: np.ndarray | None = None,
    module_spacing_m: float | None = None,
    motion: Any = None,
    bin_size: float = 0.05,
    n_traj: int = 16,
    n_long_traj: int = 2,
    n_long_steps: int = 10_000,
) -> Stability:
    """Stability of ``encoder``'s code along long trajectories in ``arena``.

    Runs ``n_traj`` trajectories of ``16 T`` steps (``T = reference_steps``, the length of the
    trajectories the ``reference`` ratemaps ``(N, nx, ny)`` were made from, ``bin_size``
    metres) and ``n_long_traj`` of ``n_long_steps``, all from the arena's centre with the
    encoder's initial state, ``subsample`` motion steps per encoder step (``motion`` as in
    :func:`run_encoder`; rolled out one trajectory at a time where it can, which is cheaper for
    a few long ones). Then, over the units in ``units`` (a boolean mask, default all):

    * map correlation in the windows ``0–T, T–4T, 4T–16T, …, n_long_steps``
      (:func:`map_stability`, maps smoothed by one bin; every trajectory that covers a window
      counts);
    * per long trajectory, the fraction of grid units in its ratemaps over steps
      ``min(1000, n_long_steps // 2) + 1 … n_long_steps`` (:func:`agent_gridness`);
    * the phase error of the first ``16 T`` steps of every trajectory (:func:`phase_error`,
      reference states: the reference maps' population vectors in the visited bins; radius
      half of ``module_spacing_m``, 0.5 m without) and its drift (:func:`phase_drift`; a
      trajectory has left its period when ``|e|`` exceeds ``HALF_PERIOD_FRACTION`` of the
      radius; drift under one bin counts as none).
    """
    ref = np.asarray(reference, dtype=float)
    if ref.ndim != 3:
        raise ValueError(f"reference must be (N, nx, ny) ratemaps, got shape {ref.shape}")
    ref_steps = _positive_int("reference_steps", reference_steps)
    k = _positive_int("subsample", subsample)
    n_traj, n_long = _positive_int("n_traj", n_traj), _positive_int("n_long_traj", n_long_traj)
    n_steps = _positive_int("n_long_steps", n_long_steps)
    sel = np.ones(len(ref), bool) if units is None else np.asarray(units, dtype=bool)
    if sel.shape != (len(ref),) or not sel.any():
        raise ValueError(
            f"units must be a boolean mask of {len(ref)} units with at least one set, got {units!r}"
        )
    if module_spacing_m is not None:
        module_spacing_m = _positive_float("module_spacing_m", module_spacing_m)
    if motion is None:
        from gridnav_env.motion import SmoothMotion

        motion = SmoothMotion()
    t0 = time.perf_counter()
    edges = window_edges(ref_steps, n_steps)
    short = int(edges[min(3, len(edges) - 1)])  # 16 T
    act, pos = run_encoder(encoder, arena, short, rng, n_traj=n_traj, motion=motion, subsample=k)
    act_l, pos_l = run_encoder(
        encoder,
        arena,
        n_steps,
        rng,
        n_traj=n_long,
        motion=motion,
        subsample=k,
        sequential=hasattr(motion, "rollout_sequential"),
    )
    maps = map_stability(
        [*act, *act_l],
        [*pos, *pos_l],
        ref,
        arena,
        edges,
        bin_size,
        units=sel,
        smoothing_m=bin_size,
    )
    late_start = min(1000, n_steps // 2)
    late = agent_gridness(act_l, pos_l, arena, bin_size, start=late_start, stop=n_steps, units=sel)
    radius = 0.5 if module_spacing_m is None else module_spacing_m / 2
    xs, ys = bin_centres(arena, bin_size)
    bin_xy = np.stack(np.meshgrid(xs, ys, indexing="ij"), -1).reshape(-1, 2)
    errors = phase_error(
        np.concatenate([act, act_l[:, :short]])[..., sel],
        np.concatenate([pos, pos_l[:, :short]]),
        ref[sel].reshape(int(sel.sum()), -1).T,
        bin_xy,
        radius,
    )
    drift = phase_drift(errors, HALF_PERIOD_FRACTION * radius, resolution_m=bin_size)
    return Stability(
        maps=maps,
        late_frac_grid=late,
        late_start=late_start,
        late_stop=n_steps,
        drift=drift,
        radius_m=radius,
        module_spacing_m=module_spacing_m,
        reference_steps=ref_steps,
        subsample=k,
        n_traj=n_traj,
        n_steps=short,
        n_long_traj=n_long,
        n_long_steps=n_steps,
        run_time_s=time.perf_counter() - t0,
    )
