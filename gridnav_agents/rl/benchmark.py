"""The homing benchmark runner behind ``gridnav homing``.

``run_homing_benchmark`` trains the agents of :mod:`gridnav_agents.rl.homing` with the same PPO
hyperparameters, env-step budget and seeds, evaluates them on identical episodes, and writes
``homing.json`` (config, per-seed learning curves and final evaluations, per-agent aggregates
with the steps to 50 % and 80 % success, and per agent the command, the gridnav version, the
encoder's SHA-256 and config, and the wall time), ``homing_curves.png`` and the ratemap figures to
an output directory. Agents can be run separately into one directory: the rows of the agents run
are added or replaced, the others kept.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import gridnav_env  # noqa: F401  (registers GridNav-Box-v0)
from gridnav_agents.provenance import encoder_provenance, gridnav_version
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
    make_agent_vec_env,
    random_encoder,
    resolve_encoder,
    train_agent,
)
from gridnav_agents.sic.checkpoint import _atomic_write_json

__all__ = [
    "RESULTS",
    "THRESHOLDS",
    "load_results",
    "plot_curves",
    "run_homing_benchmark",
    "steps_to_success",
]

#: The results file in an output directory.
RESULTS = "homing.json"
#: Success rates whose first crossing on the learning curve is reported (sample efficiency).
THRESHOLDS = (0.5, 0.8)
#: Seed of the ``random_encoder`` control's weights.
RANDOM_ENCODER_SEED = 12345


def steps_to_success(curve: Sequence[dict[str, Any]], threshold: float) -> int | None:
    """Env steps of the first learning-curve point whose success rate is at least
    ``threshold``; None if no point reaches it."""
    for point in curve:
        if point["success_rate"] >= threshold:
            return int(point["steps"])
    return None


def _stats(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and std (over the finite values) and the per-seed list (None where undefined)."""
    vals = np.array([np.nan if v is None else v for v in values], dtype=float)
    ok = np.isfinite(vals)
    return {
        "mean": float(vals[ok].mean()) if ok.any() else None,
        "std": float(vals[ok].std()) if ok.any() else None,
        "per_seed": [float(v) if np.isfinite(v) else None for v in vals],
    }


def _aggregate(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per agent: each final metric, and the steps to each of :data:`THRESHOLDS` (mean and std
    over the seeds that reach it, ``reached`` of ``len(runs)``), over seeds."""
    agg: dict[str, Any] = {"seeds": [r["seed"] for r in runs]}
    for k in ("success_rate", "step_ratio_mean", "step_ratio_median"):
        agg[k] = _stats([r["final"][k] for r in runs])
    for t in THRESHOLDS:
        steps = [steps_to_success(r["curve"], t) for r in runs]
        agg[f"steps_to_{t:g}"] = {**_stats(steps), "reached": sum(s is not None for s in steps)}
    return agg


def load_results(out_dir: str | Path) -> dict[str, Any] | None:
    """The results in ``out_dir/homing.json``, None if there is none.

    Raises:
        ValueError: the file is not a homing results file (unreadable JSON or no ``runs``).
    """
    path = Path(out_dir) / RESULTS
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a readable homing results file: {exc}") from exc
    if not isinstance(result, dict) or not isinstance(result.get("runs"), dict):
        raise ValueError(f"{path} is not a homing results file (no 'runs')")
    return result


def _check_compatible(
    old: dict[str, Any], config: dict[str, Any], seeds: list[int], path: Path
) -> None:
    """``ValueError`` unless results already in ``path`` have the same config and seeds."""
    differ = [
        f"{k} {old['config'].get(k)!r} there, {v!r} now"
        for k, v in config.items()
        if old.get("config", {}).get(k) != v
    ]
    if old.get("seeds") != seeds:
        differ.append(f"seeds {old.get('seeds')!r} there, {seeds!r} now")
    if differ:
        raise ValueError(
            f"{path} holds results of another benchmark ({'; '.join(differ)}): choose another "
            f"output directory, or remove that file to start afresh"
        )


def _encoder_record(spec: Any, encoder: Any) -> dict[str, Any]:
    """:func:`encoder_provenance` of the SIC agent's encoder: the checkpoint file's SHA-256 and
    config when ``spec`` names one, else the weights' SHA-256; the spec as given."""
    checkpoint = None
    if isinstance(spec, str) and spec != "random":
        from gridnav_agents.sic.checkpoint import resolve_checkpoint

        checkpoint = resolve_checkpoint(spec)
    record = encoder_provenance(encoder, checkpoint)
    if checkpoint is not None:
        from gridnav_agents.provenance import sha256

        record["weights_sha256"] = sha256(encoder)
    return {"spec": str(spec), **record}


def plot_curves(result: dict[str, Any], path: str | Path) -> Path:
    """Left: success rate against env steps; right: return steps / optimal of the successful
    episodes (1: the straight line). Mean ± std over seeds (thin lines: each seed), one colour
    per agent; the random-policy reference dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_ratio) = plt.subplots(1, 2, figsize=(12, 4.2))
    for agent in [a for a in AGENTS if a in result["runs"]]:
        runs = result["runs"][agent]
        n = min(len(r["curve"]) for r in runs)
        steps = np.array([p["steps"] for p in runs[0]["curve"][:n]])
        colour = None
        for axis, key in ((ax, "success_rate"), (ax_ratio, "step_ratio_mean")):
            vals = np.array([[p[key] for p in r["curve"][:n]] for r in runs], dtype=float)
            with warnings.catch_warnings():  # no successful episode at some points
                warnings.simplefilter("ignore", RuntimeWarning)
                mean, std = np.nanmean(vals, 0), np.nanstd(vals, 0)
            (line,) = axis.plot(steps, mean, marker="o", ms=2, lw=1.2, color=colour, label=agent)
            colour = line.get_color()
            axis.fill_between(steps, mean - std, mean + std, color=colour, alpha=0.15)
            axis.plot(steps, vals.T, color=colour, lw=0.5, alpha=0.4)
    if "random_policy" in result:
        rand = result["random_policy"]
        ax.axhline(rand["success_rate"], color="k", ls=":", label="random policy")
        ax_ratio.axhline(rand["step_ratio_mean"], color="k", ls=":", label="random policy")
    cfg = result["config"]
    ax.set_ylabel(f"success rate ({cfg['eval_episodes']} episodes)")
    ax.set_ylim(-0.02, 1.02)
    ax_ratio.set_ylabel("return steps / optimal (successful episodes)")
    if any(np.isfinite(line.get_ydata()).any() for line in ax_ratio.get_lines()):
        ax_ratio.set_yscale("log")
        ax_ratio.set_yticks([1, 2, 5, 10], ["1", "2", "5", "10"])
    for axis in (ax, ax_ratio):
        axis.set_xlabel("env steps")
        axis.xaxis.set_major_formatter(lambda x, _: f"{x / 1000:g}k" if x else "0")
    ax.legend(fontsize=8)
    fig.suptitle(
        f"Homing in a {cfg['box_size']:g} m box, {cfg['outbound_steps']} outbound steps, "
        f"{cfg['max_return_steps']} return steps: during training (mean ± std; thin: each seed)",
        fontsize=10,
    )
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
    task: str | None = None,
    verbose: int = 1,
) -> dict[str, Any]:
    """Train and evaluate every agent for every seed and return the results; with ``out_dir``,
    write ``homing.json``, ``homing_curves.png`` and ``homing_ratemaps_<agent>.png`` (LSTM hidden
    units, encoder codes; see :mod:`gridnav_agents.rl.agent_analysis`) there.

    If ``out_dir`` already holds ``homing.json`` with the same config (the env-step budget
    aside: it is recorded per agent) and seeds, its other agents' rows are kept and those of
    ``agents`` added or replaced; the file is rewritten (atomically) after each agent.
    ``encoder`` is the SIC agent's encoder (see :func:`resolve_encoder`); the ``random_encoder``
    control is a fresh encoder of the same shape (seed 12345). ``task`` is the name of the task
    (recorded). Each agent's row records the command, the gridnav version, its env-step budget,
    its wall time (s) and, for the encoder agents, the encoder's SHA-256 and config.

    Raises:
        ValueError: unknown agents, or results of another config or seeds in ``out_dir``.
        FileNotFoundError: an unavailable encoder (before any training), if an encoder agent is
            among ``agents``.
    """
    unknown = [a for a in agents if a not in AGENTS]
    if unknown or not agents:
        raise ValueError(f"agents must be a non-empty subset of {AGENTS}, got {list(agents)!r}")
    seeds = [int(s) for s in seeds]
    cfg = json.loads(json.dumps(dataclasses.asdict(config)))
    total_steps = cfg.pop("total_steps")  # per agent: agents may have different budgets
    out = None if out_dir is None else Path(out_dir)
    old = None if out is None else load_results(out)
    if old is not None:
        _check_compatible(old, cfg, seeds, out / RESULTS)
    encoders: dict[str, Any] = {}
    records: dict[str, dict[str, Any]] = {}
    if "sic" in agents or "random_encoder" in agents:
        sic = resolve_encoder(encoder, seed=0)
        encoders["sic"] = sic
        encoders["random_encoder"] = random_encoder(sic, seed=RANDOM_ENCODER_SEED)
        records["sic"] = _encoder_record(encoder, sic)
        records["random_encoder"] = {
            "spec": f"random, seed {RANDOM_ENCODER_SEED}, the shape of {encoder}",
            **encoder_provenance(encoders["random_encoder"]),
        }
    t0 = time.perf_counter()
    probe = make_agent_vec_env("velocity", config, {}, config.final_episodes)
    rand = evaluate_homing(
        RandomPolicy(probe.action_space, seed=0), probe, config.final_episodes, 110_000
    )
    probe.close()
    result: dict[str, Any] = old or {"runs": {}, "summary": {}, "analysis": {}, "provenance": {}}
    result.update(
        command=command,
        gridnav_version=gridnav_version(),
        task=task,
        config=cfg,
        seeds=seeds,
        random_policy=summarize_episodes(rand),
    )
    result.setdefault("provenance", {})
    for agent in agents:
        t_agent = time.perf_counter()
        runs, figure = [], None
        for seed in seeds:
            if verbose:
                print(f"[homing] {agent} seed {seed}", flush=True)
            run, model = train_agent(agent, config, seed, encoders, verbose=verbose)
            if seed == seeds[0] and agent in ANALYSED and config.analysis_episodes > 0:
                env = _env_factory(agent, config, encoders)()
                data = collect_agent_activity(model, env, config.analysis_episodes)
                summary, maps, grid = analyze_activity(data, env.unwrapped.arena)
                result["analysis"][agent] = {"seed": seed, **summary}
                figure = (maps, grid)
            if verbose:
                f = run["final"]
                print(
                    f"[homing] {agent} seed {seed}: success {f['success_rate']:.3f}, "
                    f"steps/optimal {f['step_ratio_mean']:.2f}, {run['train_wall_s']} s",
                    flush=True,
                )
            runs.append(run)
        if agent not in ANALYSED or config.analysis_episodes == 0:
            result["analysis"].pop(agent, None)
        result["runs"][agent] = runs
        result["summary"][agent] = _aggregate(runs)
        result["provenance"][agent] = {
            "command": command,
            "gridnav_version": gridnav_version(),
            "encoder": records.get(agent),
            "total_steps": total_steps,
            "wall_s": round(time.perf_counter() - t_agent, 1),
        }
        ordered = [a for a in AGENTS if a in result["runs"]]
        result["agents"] = ordered
        for key in ("runs", "summary", "analysis", "provenance"):
            result[key] = {a: result[key][a] for a in ordered if a in result[key]}
        sic_record = result["provenance"].get("sic", {}).get("encoder")
        result["encoder"] = sic_record
        result["wall_s"] = round(time.perf_counter() - t0, 1)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            if figure is not None:
                save_ratemap_figure(
                    *figure,
                    f"{agent}: ratemaps along homing episodes",
                    out / f"homing_ratemaps_{agent}.png",
                )
            _atomic_write_json(out / RESULTS, result)
            plot_curves(result, out / "homing_curves.png")
    return result
