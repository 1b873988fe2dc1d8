"""The supervised encoder as Sorscher et al. evaluate it: on trajectories like its training
batches (``seq_len`` steps from starts uniform in the training box, the start state encoded
from the start's place cells), not on the long trajectories from the box centre that
``gridnav analyze`` runs for every encoder.

Units: metres.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gridnav_agents.supervised.config import SupervisedConfig

__all__ = ["start_encoded_activity", "training_box_gridness"]


def start_encoded_activity(
    encoder: Any, config: SupervisedConfig, n_batches: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """States ``(n_batches · B · T, N)`` and positions ``(n_batches · B · T, 2)`` metres of
    ``encoder`` on ``n_batches`` batches drawn like its training batches (their code's
    ``compute_ratemaps``), from ``rng``."""
    import torch

    from gridnav_agents.supervised.train import sample_trajectories

    acts, positions = [], []
    for _ in range(n_batches):
        start, vel, pos = sample_trajectories(config, rng)
        with torch.no_grad():
            g0 = encoder.start_state(torch.as_tensor(start, dtype=torch.float32))
            states = encoder(torch.as_tensor(vel, dtype=torch.float32), g0)
        acts.append(states.reshape(-1, states.shape[-1]).double().numpy())
        positions.append(pos.reshape(-1, 2))
    return np.concatenate(acts), np.concatenate(positions)


def training_box_gridness(
    encoder: Any,
    config: SupervisedConfig,
    rng: np.random.Generator,
    n_batches: int = 20,
    bin_size: float = 0.05,
) -> dict[str, Any]:
    """Gridness of ``encoder`` in its training box on :func:`start_encoded_activity`:
    ``n_active`` (activity std above 1e-3 of the largest), ``frac_grid`` (active units with
    60° gridness > 0.3, :func:`~gridnav_agents.analysis.grid_scores`), ``gridness`` per unit
    (NaN for inactive ones), its median and maximum, and ``n_samples``."""
    from gridnav_agents.analysis import grid_scores, ratemaps
    from gridnav_agents.analysis.gridness import GRID_THRESHOLD
    from gridnav_env.arena import Arena

    act, pos = start_encoded_activity(encoder, config, n_batches, rng)
    std = act.std(axis=0)
    active = std > 1e-3 * std.max() if std.max() > 0 else np.zeros(len(std), dtype=bool)
    maps = ratemaps(act, pos, Arena.box(config.box_size), bin_size)
    gridness = np.where(active, grid_scores(maps).score_60, np.nan)
    n_active = int(active.sum())
    finite = gridness[np.isfinite(gridness)]
    return {
        "n_samples": len(act),
        "n_active": n_active,
        "frac_grid": float(np.sum(finite > GRID_THRESHOLD) / n_active) if n_active else 0.0,
        "gridness": gridness,
        "gridness_median": float(np.median(finite)) if finite.size else None,
        "gridness_max": float(finite.max()) if finite.size else None,
        "maps": maps,
    }
