"""The supervised baseline beside SIC (docs/results.md, "Generalisation to larger boxes").

    python docs/figures/issue26_figures.py table LABEL=ANALYSIS_DIR [...] --out T.json
    python docs/figures/issue26_figures.py ratemaps LABEL=TARGET=ANALYSIS_DIR [...] \
        --box 4 --units 6 --out F.png
    python docs/figures/issue26_figures.py training-box RUN --units 8 --label NAME --out F.png \
        [--json F.json]

``table``: one row per ``gridnav analyze`` output directory (its ``report.json``), per box:
``frac_grid`` and ``frac_grid_dm`` (active units with gridness > 0.3 in the two conventions),
the grid units of the first box kept in this one (gridness > 0.3 and spacing within 10 %) and
their median spacing change, the spacing of the largest module, the decoding error and its
chance level (metres), and in the first box the report's ``stability`` (``map_correlation_wI``
in window ``I`` of ``windows``: steps 0–T, T–4T, 4T–16T, …; late gridness, systematic phase
drift in m/step, steps within half a period); then a summary
per label prefix (the label up to its last ``/``, e.g. ``supervised/s0`` -> ``supervised``):
mean and standard deviation over its rows. JSON to ``--out`` and a markdown table on stdout.

``ratemaps``: for each encoder (``TARGET``: a run directory, a checkpoint or ``pretrained``),
the ``--units`` units with the highest gridness in the first box of its analysis
(``ANALYSIS_DIR/report.json``) and their ratemaps in a ``--box`` m box, on the trajectories
``gridnav analyze`` uses (smooth, from the centre, seed 0, 2000 samples/m²): one row per
encoder, each map titled with the unit, its gridness in the first box and in this one.

``training-box``: a supervised run's ratemaps as Sorscher et al. make them, in its training box
on batches like its training ones (``supervised.evaluate.training_box_gridness``, 20 batches,
seed 0): the ``--units`` units of highest gridness of the trained encoder, and of the same
seed's untrained one (``build_supervised_encoder``), with the fraction of grid units of each
(printed, and written to ``--json``).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _row(label: str, report: dict) -> dict:
    boxes = report["boxes"]
    first = next(iter(boxes))
    row = {"label": label, "n_units": report["n_units"], "n_active": report["n_active"]}
    for name, b in boxes.items():
        mods = b["modules"]
        main = max(mods, key=lambda m: m["n_units"]) if mods else None
        entry = {
            "frac_grid": b["frac_grid"],
            "frac_grid_dm": b["frac_grid_dm"],
            "main_module_spacing_m": None if main is None else main["spacing_m"],
            "n_modules": b["n_modules"],
            "decoding_error_m": b["decoding_error_m"],
            "decoding_chance_m": b["decoding_chance_m"],
        }
        if name != first:
            g = report["generalisation"][name]
            entry.update(
                kept=g["n_kept"], of=g["n_grid"], median_spacing_change=g["median_spacing_change"]
            )
        row[name] = entry
    stab = report.get("stability")
    if stab:
        windows = stab["windows"]
        drift = stab["phase_drift"]
        row[f"{stab['box_size_m']:g}"].update(
            {f"map_correlation_w{i}": r for i, r in enumerate(windows["map_correlation"])},
            windows=[[a, b] for a, b in zip(windows["start"], windows["stop"], strict=True)],
            late_frac_grid=stab["late_gridness"]["median_frac_grid"],
            drift_m_per_step=drift["systematic_m_per_step"],
            steps_within_half_period=drift["steps_within_half_period"],
        )
    return row


def _summary(rows: list[dict]) -> dict:
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["label"].rsplit("/", 1)[0], []).append(r)
    out = {}
    for group, members in groups.items():
        boxes = [k for k in members[0] if isinstance(members[0][k], dict)]
        out[group] = {"n": len(members)}
        for box in boxes:
            keys = [k for k, v in members[0][box].items() if isinstance(v, int | float)]
            stats = {}
            for k in keys:
                vals = [m[box].get(k) for m in members]
                vals = np.array([np.nan if v is None else v for v in vals], dtype=float)
                finite = vals[np.isfinite(vals)]
                stats[k] = {
                    "mean": float(finite.mean()) if finite.size else None,
                    "sd": float(finite.std(ddof=1)) if finite.size > 1 else None,
                }
            out[group][box] = stats
    return out


def _fmt(v: float | None, digits: int = 2, percent: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{100 * v:.1f} %" if percent else f"{v:.{digits}f}"


def table(items: list[str], out: str) -> None:
    rows = []
    for item in items:
        label, _, folder = item.partition("=")
        rows.append(_row(label, json.loads((Path(folder) / "report.json").read_text())))
    result = {"rows": rows, "summary": _summary(rows)}
    Path(out).write_text(json.dumps(result, indent=1) + "\n")
    print("| encoder | box | frac_grid | frac_grid_dm | kept | median spacing change | "
          "main module spacing (m) | decoding / chance (m) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        for box, e in ((k, v) for k, v in r.items() if isinstance(v, dict)):
            kept = f"{e['kept']} / {e['of']}" if "kept" in e else "–"
            change = _fmt(e.get("median_spacing_change"), percent=True)
            print(
                f"| {r['label']} | {box} m | {_fmt(e['frac_grid'])} | {_fmt(e['frac_grid_dm'])} "
                f"| {kept} | {change} | {_fmt(e['main_module_spacing_m'])} | "
                f"{_fmt(e['decoding_error_m'])} / {_fmt(e['decoding_chance_m'])} |"
            )


def ratemaps(items: list[str], box: float, n_units: int, out: str) -> None:
    from gridnav_agents import set_threads

    set_threads(1)
    from gridnav_agents.analysis import grid_scores, run_encoder
    from gridnav_agents.analysis import ratemaps as make_maps
    from gridnav_agents.analysis.runner import (
        default_trajectory_size,
        mean_motion_step,
        step_subsample,
    )
    from gridnav_agents.sic import load_encoder
    from gridnav_env import Arena, SmoothMotion

    fig, axes = plt.subplots(
        len(items), n_units, figsize=(1.9 * n_units, 2.1 * len(items)), squeeze=False
    )
    for row, item in zip(axes, items, strict=True):
        label, target, folder = item.split("=")
        report = json.loads((Path(folder) / "report.json").read_text())
        first_name, first = next(iter(report["boxes"].items()))
        g_first = np.array([np.nan if g is None else g for g in first["gridness"]])
        units = np.argsort(np.nan_to_num(g_first, nan=-np.inf))[::-1][:n_units]
        encoder = load_encoder(target)
        motion = SmoothMotion()
        k = step_subsample(encoder, motion)
        n_traj, n_steps = default_trajectory_size(box, k * mean_motion_step(motion))
        act, pos = run_encoder(
            encoder, Arena.box(box), n_steps, np.random.default_rng(0), n_traj=n_traj,
            motion=motion, subsample=k,
        )  # fmt: skip
        act = act.reshape(-1, act.shape[-1])[:, units]
        maps = make_maps(act, pos.reshape(-1, 2), Arena.box(box), 0.05)
        scores = grid_scores(maps).score_60
        for ax, unit, m, g in zip(row, units, maps, scores, strict=True):
            ax.imshow(m.T, origin="lower", cmap="jet", extent=(-box / 2, box / 2) * 2)
            ax.set_title(f"#{unit}: {g_first[unit]:.2f} → {g:.2f}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(label, fontsize=9)
    fig.suptitle(
        f"ratemaps in a {box:g} m box of each encoder's {n_units} units with the highest "
        f"gridness in the {first_name} m box (title: unit, gridness there → here)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"wrote {out}")


def training_box(
    run: str, n_units: int, out: str, label: str | None = None, json_out: str | None = None
) -> None:
    from gridnav_agents import set_threads

    set_threads(1)
    import torch

    from gridnav_agents.sic import load_encoder
    from gridnav_agents.sic.rundir import stored_config
    from gridnav_agents.supervised.evaluate import training_box_gridness
    from gridnav_agents.supervised.train import build_supervised_encoder

    config = stored_config(run)
    untrained = build_supervised_encoder(config, torch.Generator().manual_seed(config.seed))
    rows = [("trained", load_encoder(run)), ("untrained", untrained.eval())]
    fig, axes = plt.subplots(2, n_units, figsize=(1.9 * n_units, 4.4), squeeze=False)
    half = config.box_size / 2
    numbers = {"run": str(run), "seed": config.seed}
    for row, (state, encoder) in zip(axes, rows, strict=True):
        r = training_box_gridness(encoder, config, np.random.default_rng(0))
        keys = ("n_active", "frac_grid", "gridness_median", "gridness_max")
        numbers[state] = {k: r[k] for k in keys}
        g = np.nan_to_num(r["gridness"], nan=-np.inf)
        for ax, unit in zip(row, np.argsort(g)[::-1][:n_units], strict=True):
            ax.imshow(r["maps"][unit].T, origin="lower", cmap="jet", extent=(-half, half) * 2)
            ax.set_title(f"#{unit}: {g[unit]:.2f}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"{state}\nfrac_grid {r['frac_grid']:.2f}", fontsize=9)
    fig.suptitle(
        f"{label or Path(run).name}: the {n_units} units of highest gridness in the "
        f"{config.box_size:g} m training box, on 20 batches of {config.batch_size} trajectories "
        f"of {config.seq_len} steps from uniform starts, start states encoded (title: unit, "
        "gridness)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(json.dumps(numbers))
    if json_out:
        Path(json_out).write_text(json.dumps(numbers, indent=1) + "\n")
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    t = sub.add_parser("table")
    t.add_argument("items", nargs="+", metavar="LABEL=ANALYSIS_DIR")
    t.add_argument("--out", required=True)
    r = sub.add_parser("ratemaps")
    r.add_argument("items", nargs="+", metavar="LABEL=TARGET=ANALYSIS_DIR")
    r.add_argument("--box", type=float, default=4.0)
    r.add_argument("--units", type=int, default=6)
    r.add_argument("--out", required=True)
    b = sub.add_parser("training-box")
    b.add_argument("run")
    b.add_argument("--units", type=int, default=8)
    b.add_argument("--label", default=None, help="the run's name in the title")
    b.add_argument("--out", required=True)
    b.add_argument("--json", default=None, help="also write the two fractions of grid units here")
    args = parser.parse_args()
    if args.what == "table":
        table(args.items, args.out)
    elif args.what == "ratemaps":
        ratemaps(args.items, args.box, args.units, args.out)
    else:
        training_box(args.run, args.units, args.out, args.label, args.json)


if __name__ == "__main__":
    main()
