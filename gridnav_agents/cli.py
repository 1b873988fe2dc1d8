"""The ``gridnav`` command.

Subcommands:

* ``gridnav trajectories`` — sample smooth trajectories in a box and save a PNG of them.
* ``gridnav pretrain`` — self-supervised SIC pretraining (see ``gridnav_agents.sic.train``).
* ``gridnav analyze`` — grid analyses of an encoder (see ``gridnav_agents.analysis.evaluate``).
* ``gridnav homing`` — the homing benchmark (see ``gridnav_agents.rl.benchmark``).
* ``gridnav viz`` — the agent beside live firing fields (see ``gridnav_agents.viz``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gridnav_agents.analysis.evaluate import add_analyze_arguments, analyze_main
from gridnav_agents.rl.benchmark import add_homing_arguments, homing_main
from gridnav_agents.sic.train import add_pretrain_arguments, pretrain_main
from gridnav_agents.viz.cli import add_viz_arguments, viz_main


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
    fig.savefig(out, dpi=120, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridnav",
        description="Grow grid cells by self-supervised learning and put them to work.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("trajectories", help="sample smooth trajectories and save a PNG")
    p.add_argument("--box", type=float, default=2.2, help="box side, metres (default 2.2)")
    p.add_argument("--agents", type=int, default=4, help="number of agents (default 4)")
    p.add_argument("--seconds", type=float, default=120.0, help="duration, seconds (default 120)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="trajectories.png", help="PNG path (default trajectories.png)")
    p.set_defaults(func=trajectories_main)

    p = sub.add_parser("pretrain", help="self-supervised SIC pretraining")
    add_pretrain_arguments(p)
    p.set_defaults(func=pretrain_main)

    p = sub.add_parser("analyze", help="grid analyses of an encoder: report.json + figures")
    add_analyze_arguments(p)
    p.set_defaults(func=analyze_main)
    p = sub.add_parser("homing", help="homing benchmark: PPO on SIC codes vs baselines")
    add_homing_arguments(p)
    p.set_defaults(func=homing_main)

    p = sub.add_parser("viz", help="watch firing fields fill in (window, or --record headless)")
    add_viz_arguments(p)
    p.set_defaults(func=viz_main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Busy-waiting OpenMP threads slow torch down many-fold on shared 2-core machines.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as err:
        print(f"gridnav {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
