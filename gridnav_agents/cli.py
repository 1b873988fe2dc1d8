"""The ``gridnav`` command.

Subcommands:

* ``gridnav trajectories`` — sample smooth trajectories in a box and save a PNG of them.
* ``gridnav pretrain`` — self-supervised SIC pretraining (``gridnav_agents.sic.cli``).
* ``gridnav analyze`` — grid analyses of an encoder (``gridnav_agents.analysis.cli``).
* ``gridnav homing`` — the homing benchmark (``gridnav_agents.rl.cli``).
* ``gridnav viz`` — the agent beside live firing fields (``gridnav_agents.viz.cli``).
* ``gridnav sweep`` — pretraining sweeps on Ray (``gridnav_agents.sweep.cli``).

Building the parsers imports no heavy library (torch, stable-baselines3, pygame, Ray): each
subcommand imports what it needs when it runs, after :func:`main` has set the thread count and
OpenMP's wait policy, which take effect only if set before torch is loaded.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from gridnav_agents.analysis.cli import add_analyze_arguments, analyze_main
from gridnav_agents.provenance import gridnav_version
from gridnav_agents.rl.cli import add_homing_arguments, homing_main
from gridnav_agents.sic.cli import add_pretrain_arguments, pretrain_main
from gridnav_agents.sweep.cli import add_sweep_arguments, sweep_main
from gridnav_agents.threads import DEFAULT_THREADS, set_threads
from gridnav_agents.viz.cli import add_viz_arguments, viz_main

__all__ = ["build_parser", "main"]

def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``gridnav CMD: error: ...`` (exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def trajectories_main(args: argparse.Namespace) -> int:
    """Sample ``args.agents`` smooth trajectories and save them as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from gridnav_env import Arena, SmoothMotion

    arena = Arena.box(args.box)
    motion = SmoothMotion()
    rng = np.random.default_rng(args.seed)
    n_steps = int(round(args.seconds / motion.dt))
    traj = motion.rollout(args.agents, n_steps, rng, arena=arena)
    fig, ax = plt.subplots(figsize=(5, 5))
    xs, ys = arena.polygon.exterior.xy
    ax.plot(xs, ys, color="k", lw=2)
    for ring in arena.polygon.interiors:
        ax.fill(*ring.xy, color="0.8")
    for p in traj.positions:
        ax.plot(p[:, 0], p[:, 1], lw=0.6, alpha=0.8)
    ax.set_aspect("equal")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(f"{args.agents} smooth trajectories, {args.seconds:g} s, {args.box:g} m box")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(out, dpi=120, bbox_inches="tight")
    finally:
        plt.close(fig)
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``gridnav`` parser with every subcommand (imports no heavy library)."""
    parser = _Parser(
        prog="gridnav",
        description="Grow grid cells by self-supervised learning and put them to work.",
    )
    parser.add_argument("--version", action="version", version=f"gridnav {gridnav_version()}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help=f"CPU threads for torch and BLAS (default {DEFAULT_THREADS}, or OMP_NUM_THREADS "
        "if set)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(name: str, help_text: str, add_arguments, func) -> None:
        p = sub.add_parser(name, help=help_text, parents=[common])
        if add_arguments is not None:
            add_arguments(p)
        p.set_defaults(func=func)

    def add_trajectories_arguments(p: argparse.ArgumentParser) -> None:
        p.add_argument("--box", type=float, default=2.2, help="box side, metres (default 2.2)")
        p.add_argument("--agents", type=int, default=4, help="number of agents (default 4)")
        p.add_argument("--seconds", type=float, default=120.0, help="duration, s (default 120)")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--out", default="trajectories.png", help="PNG (default trajectories.png)")

    add("trajectories", "sample smooth trajectories and save a PNG",
        add_trajectories_arguments, trajectories_main)  # fmt: skip
    add("pretrain", "self-supervised SIC pretraining", add_pretrain_arguments, pretrain_main)
    add("analyze", "grid analyses of an encoder: report.json + figures",
        add_analyze_arguments, analyze_main)  # fmt: skip
    add("homing", "homing benchmark: PPO on SIC codes vs baselines",
        add_homing_arguments, homing_main)  # fmt: skip
    add("viz", "watch firing fields fill in (window, or --record headless)",
        add_viz_arguments, viz_main)  # fmt: skip
    add("sweep", "pretraining sweeps over configs and seeds on Ray: results table + figure",
        add_sweep_arguments, sweep_main)  # fmt: skip
    return parser


def _describe(exc: BaseException) -> str:
    """One line for an error a user can fix."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        hint = {
            errno.ENOSPC: " (the disk is full)",
            errno.EROFS: " (read-only file system)",
            errno.EACCES: " (no permission)",
        }.get(exc.errno or 0, "")
        return f"{exc.strerror}{where}{hint}"
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``gridnav``; returns the exit status (2: bad input, an unusable path or a missing
    optional package)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.command_line = shlex.join(["gridnav", *argv])  # recorded in results files
    threads = args.threads
    if threads is None:
        env = os.environ.get("OMP_NUM_THREADS", "")
        threads = int(env) if env.isdigit() and int(env) > 0 else DEFAULT_THREADS
    set_threads(threads)
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, ImportError) as exc:
        print(f"gridnav {args.command}: error: {_describe(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gridnav {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
