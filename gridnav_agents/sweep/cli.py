"""``gridnav sweep``: arguments and entry point (Ray, torch and matplotlib are imported only
inside :func:`sweep_main`)."""

from __future__ import annotations

import argparse
import math
import shlex
from pathlib import Path

from gridnav_agents.sic.cli import add_overrides_argument
from gridnav_agents.sic.config import PRESETS

__all__ = ["add_sweep_arguments", "sweep_main"]


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``gridnav sweep``."""
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="cpu", help="base config (default cpu)"
    )
    parser.add_argument(
        "--grid",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=V1,V2",
        help="swept config fields; every combination is a trial, e.g. --grid lambda_cap=0.25,0.5 "
        "sigma_g=0.3,0.4",
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="seeds of every combination (default 0)"
    )
    add_overrides_argument(
        parser, "config fields set in every trial, e.g. --set n_steps=2000 (a step budget)"
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="training-time budget per trial, minutes (with n_steps: whichever ends first)",
    )
    parser.add_argument(
        "--boxes", type=float, nargs="+", default=[2.0], help="analysis box sides, metres (2)"
    )
    parser.add_argument(
        "--address",
        default=None,
        help="Ray cluster to join: auto or ray://host:port (default: local Ray on every core)",
    )
    parser.add_argument(
        "--cpus-per-trial", type=int, default=1, help="CPUs and torch threads per trial (1)"
    )
    parser.add_argument(
        "--out", required=True, help="sweep folder: results.csv/json, summary.png, trials/"
    )


def _command(args: argparse.Namespace) -> str:
    """The command line that repeats this sweep."""
    parts = ["gridnav", "sweep", "--preset", args.preset]
    for flag, values in (("--grid", args.grid), ("--seeds", args.seeds),
                         ("--set", args.overrides), ("--boxes", args.boxes)):  # fmt: skip
        if values:
            parts += [flag, *(f"{v:g}" if isinstance(v, float) else str(v) for v in values)]
    if args.minutes is not None:
        parts += ["--minutes", f"{args.minutes:g}"]
    if args.address is not None:
        parts += ["--address", args.address]
    parts += ["--cpus-per-trial", str(args.cpus_per_trial), "--out", str(args.out)]
    return shlex.join(parts)


def sweep_main(args: argparse.Namespace) -> int:
    """Entry point of ``gridnav sweep``: 0 every trial finished, 1 some failed (listed); bad
    input raises ``ValueError`` before any trial starts, a missing Ray ``ImportError`` (the CLI
    prints one line)."""
    from gridnav_agents.sweep.grid import build_trials, parse_grid

    if args.minutes is not None and not (math.isfinite(args.minutes) and args.minutes > 0):
        raise ValueError(f"--minutes must be a positive number, got {args.minutes!r}")
    if args.cpus_per_trial < 1:
        raise ValueError(f"--cpus-per-trial must be a positive integer, got {args.cpus_per_trial}")
    base = PRESETS[args.preset]
    grid = parse_grid(args.grid, base)
    trials = build_trials(
        base,
        grid,
        args.seeds,
        args.out,
        overrides=args.overrides,
        boxes=args.boxes,
        max_seconds=None if args.minutes is None else 60.0 * args.minutes,
        threads=args.cpus_per_trial,
    )
    from gridnav_agents.sweep.driver import run_sweep

    out = Path(args.out)
    result = run_sweep(
        trials,
        out,
        address=args.address,
        cpus_per_trial=args.cpus_per_trial,
        meta={
            "command": _command(args),
            "preset": args.preset,
            "swept": list(grid),
            "base_config": base.with_overrides(args.overrides).to_dict(),  # before the grid
        },
    )
    _summarise(result["rows"], list(grid), trials[0].boxes, out)
    for name, error in result["failed"].items():
        print(f"failed: {name}: {error}")
    print(f"wrote {out / 'results.csv'} and results.json ({len(result['rows'])} rows)")
    return 1 if result["failed"] else 0


def _summarise(rows: list[dict], keys: list[str], boxes: tuple[float, ...], out: Path) -> None:
    """Print the table over seeds and write ``summary.png``."""
    from gridnav_agents.analysis.plots import save
    from gridnav_agents.sweep.plots import plot_summary
    from gridnav_agents.sweep.results import (
        SUMMARY_FIELDS,
        box_column,
        format_summary,
        summarise,
    )

    if not rows:
        return
    columns = [box_column(f, b) for b in boxes for f in SUMMARY_FIELDS]
    print(format_summary(summarise(rows, keys, columns), keys, columns))
    save(plot_summary(rows, keys or ["seed"], boxes), out / "summary.png")
    print(f"wrote {out / 'summary.png'}")
