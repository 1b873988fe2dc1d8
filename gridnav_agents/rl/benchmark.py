"""The homing benchmark runner and the ``gridnav homing`` command.

``run_homing_benchmark`` trains the five agents of :mod:`gridnav_agents.rl.homing` with the same PPO
hyperparameters, env-step budget and seeds, evaluates them on identical episodes, and writes
``homing.json`` (config, command, per-seed learning curves and final evaluations, per-agent
aggregates), ``homing_curves.png`` and the ratemap figures to an output directory.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import gridnav_env  # noqa: F401  (registers GridNav-Box-v0)
from gridnav_agents.rl.agent_analysis import (
    analyze_activity,
    collect_agent_activity,
    save_ratemap_figure,
)
from gridnav_agents.rl.config import AGENTS, ANALYSED, HomingConfig
from gridnav_agents.rl.evaluation import (
    RandomPolicy,
    evaluate_homing,
    summarize_episodes,
)
from gridnav_agents.rl.homing import (
    _env_factory,
    make_homing_env,
    random_encoder,
    resolve_encoder,
    train_agent,
)

__all__ = ["plot_curves", "run_homing_benchmark"]


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("success_rate", "step_ratio_mean", "step_ratio_median")
    agg: dict[str, Any] = {"seeds": [r["seed"] for r in runs]}
    for k in keys:
        vals = np.array([r["final"][k] for r in runs], dtype=float)
        agg[k] = {
            "mean": float(np.nanmean(vals)) if np.isfinite(vals).any() else None,
            "std": float(np.nanstd(vals)) if np.isfinite(vals).any() else None,
            "per_seed": [None if not np.isfinite(v) else float(v) for v in vals],
        }
    return agg


def plot_curves(result: dict[str, Any], path: str | Path) -> Path:
    """Success rate against env steps, mean ± min/max over seeds, one line per agent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for agent, runs in result["runs"].items():
        steps = np.array([p["steps"] for p in runs[0]["curve"]])
        n = min(len(r["curve"]) for r in runs)
        rates = np.array([[p["success_rate"] for p in r["curve"][:n]] for r in runs])
        (line,) = ax.plot(steps[:n], rates.mean(0), marker="o", ms=3, label=agent)
        ax.fill_between(steps[:n], rates.min(0), rates.max(0), color=line.get_color(), alpha=0.15)
    if "random_policy" in result:
        rate = result["random_policy"]["success_rate"]
        ax.axhline(rate, color="k", ls=":", label="random policy")
    ax.set_xlabel("env steps")
    ax.set_ylabel(f"success rate ({result['config']['eval_episodes']} episodes)")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Homing: success rate during training (mean, min-max over seeds)")
    ax.legend(fontsize=8)
    path = Path(path)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def run_homing_benchmark(
    config: HomingConfig,
    agents: Sequence[str] = AGENTS,
    seeds: Sequence[int] = (0, 1, 2),
    encoder: Any = "pretrained",
    out_dir: str | Path | None = None,
    command: str | None = None,
    verbose: int = 1,
) -> dict[str, Any]:
    """Train and evaluate every agent for every seed; write ``homing.json``,
    ``homing_curves.png`` and ``homing_ratemaps_<agent>.png`` (LSTM hidden units, encoder codes;
    see :mod:`gridnav_agents.rl.agent_analysis`) to ``out_dir`` (if given); return the result.

    ``encoder`` is the SIC agent's encoder (see :func:`resolve_encoder`); the ``random_encoder``
    control is a fresh encoder of the same shape (seed 12345). An unavailable encoder raises
    before any training, if ``"sic"`` is among ``agents``.
    """
    unknown = [a for a in agents if a not in AGENTS]
    if unknown or not agents:
        raise ValueError(f"agents must be a non-empty subset of {AGENTS}, got {list(agents)!r}")
    encoders: dict[str, Any] = {}
    encoder_desc: dict[str, Any] = {"spec": str(encoder)}
    if "sic" in agents or "random_encoder" in agents:
        sic = resolve_encoder(encoder, seed=0)
        encoders["sic"] = sic
        encoders["random_encoder"] = random_encoder(sic, seed=12345)
        encoder_desc.update(config=sic.config())
    t0 = time.perf_counter()
    probe = make_homing_env(observation="velocity", **config.env_kwargs())
    rand = evaluate_homing(
        RandomPolicy(probe.action_space, seed=0), probe, config.final_episodes, 110_000
    )
    result: dict[str, Any] = {
        "command": command,
        "config": dataclasses.asdict(config),
        "agents": list(agents),
        "seeds": list(seeds),
        "encoder": encoder_desc,
        "random_policy": summarize_episodes(rand),
        "runs": {},
        "summary": {},
        "analysis": {},
    }
    figures: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for agent in agents:
        runs = []
        for seed in seeds:
            if verbose:
                print(f"[homing] {agent} seed {seed}", flush=True)
            run, model = train_agent(agent, config, seed, encoders, verbose=verbose)
            if seed == seeds[0] and agent in ANALYSED and config.analysis_episodes > 0:
                env = _env_factory(agent, config, encoders)()
                data = collect_agent_activity(model, env, config.analysis_episodes)
                summary, maps, grid = analyze_activity(data, env.unwrapped.arena)
                result["analysis"][agent] = {"seed": seed, **summary}
                figures[agent] = (maps, grid)
            if verbose:
                f = run["final"]
                print(
                    f"[homing] {agent} seed {seed}: success {f['success_rate']:.3f}, "
                    f"steps/optimal {f['step_ratio_mean']:.2f}, {run['train_wall_s']} s",
                    flush=True,
                )
            runs.append(run)
        result["runs"][agent] = runs
        result["summary"][agent] = _aggregate(runs)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for agent, (maps, grid) in figures.items():
            save_ratemap_figure(
                maps,
                grid,
                f"{agent}: ratemaps along homing episodes",
                out / f"homing_ratemaps_{agent}.png",
            )
        (out / "homing.json").write_text(json.dumps(result, indent=2) + "\n")
        plot_curves(result, out / "homing_curves.png")
    return result
