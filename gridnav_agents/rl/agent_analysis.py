"""The grid analyses applied to trained homing agents: ratemaps, gridness and position decoding of
an LSTM agent's hidden units and of a frozen encoder's code, along homing episodes.

Activity is recorded at every visited position, once the agent has read that position's
observation: for a ``RecurrentPPO`` agent the actor LSTM's hidden state ``h``, for an agent
behind :class:`EncoderObservation` the encoder's code. The analyses are
those of :mod:`gridnav_agents.analysis` (no duplicates here).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from gridnav_agents.rl.wrappers import EncoderObservation

__all__ = [
    "analyze_activity",
    "collect_agent_activity",
    "find_encoder_wrapper",
    "save_ratemap_figure",
]


def find_encoder_wrapper(env: gym.Env) -> EncoderObservation | None:
    """The :class:`EncoderObservation` in ``env``'s wrapper chain, if any."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, EncoderObservation):
            return env
        env = env.env
    return None


def collect_agent_activity(
    model: Any, env: gym.Env, n_episodes: int = 200, seed: int = 20_000, source: str = "auto"
) -> dict[str, np.ndarray]:
    """Run ``n_episodes`` episodes (``env.reset(seed=seed + i)``, deterministic actions) and record
    the activity at every position visited (from the reset to the last position before the end),
    after the agent has read that position's observation.

    Args:
        source: ``"lstm"`` (the actor LSTM's hidden state of a RecurrentPPO model), ``"code"``
            (the code of the env's :class:`EncoderObservation`) or ``"auto"`` (``"code"`` if the
            env has an encoder wrapper, else ``"lstm"``).

    Returns:
        ``activity (T, N)``, ``positions (T, 2)`` metres, ``episode (T,)`` episode index,
        ``phase (T,)`` 1 during the return.
    """
    wrapper = find_encoder_wrapper(env)
    if source == "auto":
        source = "code" if wrapper is not None else "lstm"
    if source not in ("lstm", "code"):
        raise ValueError(f"source must be 'auto', 'lstm' or 'code', got {source!r}")
    if source == "code" and wrapper is None:
        raise ValueError("source='code' needs an env wrapped in EncoderObservation")
    acts, pos, epi, phase = [], [], [], []
    for i in range(n_episodes):
        obs, info = env.reset(seed=seed + i)
        state, start = None, np.ones(1, dtype=bool)
        while True:
            action, state = model.predict(
                obs[None], state=state, episode_start=start, deterministic=True
            )
            start = np.zeros(1, dtype=bool)
            if source == "lstm":
                if state is None:
                    raise ValueError("source='lstm' needs a recurrent model (RecurrentPPO)")
                h = np.asarray(state[0])[-1, 0]  # actor LSTM, last layer, env 0
            else:
                h = wrapper.state[0].cpu().numpy()
            # Both have just read the observation of the current position.
            acts.append(np.array(h, dtype=float))
            pos.append(np.asarray(info["position"], dtype=float))
            epi.append(i)
            phase.append(1.0 if info["phase"] == "return" else 0.0)
            obs, _, terminated, truncated, info = env.step(action[0])
            if terminated or truncated:
                break
    return {
        "activity": np.array(acts),
        "positions": np.array(pos),
        "episode": np.array(epi),
        "phase": np.array(phase),
    }


def analyze_activity(
    data: dict[str, np.ndarray], arena: Any, bin_size: float = 0.075, smoothing_m: float = 0.05
) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Ratemaps, 60° gridness per unit and held-out k-NN position decoding (even episodes train,
    odd episodes test).

    Returns ``(summary, ratemaps (N, nx, ny), gridness (N,))``; ``summary`` holds ``n_units``,
    ``active_units`` (activity std above 1e-3 of the largest), gridness statistics over active
    units (``gridness_median``, ``gridness_max``, ``n_gridness_above_0.3``) and decoding errors
    in metres over all test samples (``decoding_median_m``, ``decoding_mean_m``,
    ``decoding_chance_m``: the mean distance to the training positions' mean) and at the first
    position of each test episode's return, where the agent must head home
    (``decoding_return_start_median_m``, ``_mean_m``, ``_chance_m``; None without returns).
    """
    from gridnav_agents.analysis import decode_position, gridness_score, ratemaps

    act, pos, epi = data["activity"], data["positions"], data["episode"]
    maps = ratemaps(act, pos, arena, bin_size, smoothing_m=smoothing_m)
    std = act.std(axis=0)
    active = std > 1e-3 * std.max() if std.max() > 0 else np.zeros(len(std), dtype=bool)
    grid = np.full(act.shape[1], np.nan)
    if active.any():
        grid[active] = gridness_score(maps[active])
    g = grid[active & np.isfinite(grid)]
    train, test = epi % 2 == 0, epi % 2 == 1
    dec = decode_position(act[train], pos[train], act[test], pos[test])
    phase = data["phase"]
    changed = np.r_[True, (epi[1:] != epi[:-1]) | (phase[1:] != phase[:-1])]
    start = (changed & (phase == 1))[test]  # the first position of each test episode's return
    start_err = dec.errors[start]
    start_chance = np.linalg.norm(pos[test][start] - pos[train].mean(axis=0), axis=1)
    summary = {
        "samples": len(act),
        "n_units": int(act.shape[1]),
        "active_units": int(active.sum()),
        "gridness_median": float(np.median(g)) if g.size else None,
        "gridness_max": float(np.max(g)) if g.size else None,
        "n_gridness_above_0.3": int(np.sum(g > 0.3)),
        "decoding_median_m": float(dec.median_m),
        "decoding_mean_m": float(dec.mean_m),
        "decoding_chance_m": float(dec.chance_m),
        "decoding_return_start_median_m": _nan_stat(np.nanmedian, start_err),
        "decoding_return_start_mean_m": _nan_stat(np.nanmean, start_err),
        "decoding_return_start_chance_m": _nan_stat(np.mean, start_chance),
        "bin_size_m": bin_size,
    }
    return summary, maps, grid


def _nan_stat(fn: Any, values: np.ndarray) -> float | None:
    """``fn(values)`` as a float, None for an empty array."""
    return float(fn(values)) if len(values) else None


def save_ratemap_figure(maps: np.ndarray, grid: np.ndarray, title: str, path: Any) -> None:
    """All units' ratemaps ordered by gridness (``gridnav_agents.analysis.plots``), as a PNG."""
    from gridnav_agents.analysis.plots import plot_ratemaps, save

    labels = -np.ones(len(maps), dtype=int)
    save(plot_ratemaps(maps, labels, grid, title=title), path)
