"""``gridnav homing``: arguments and entry point (heavy imports only inside :func:`homing_main`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gridnav_agents.rl.config import AGENTS, TASKS, HomingConfig

__all__ = ["add_homing_arguments", "homing_main"]


def add_homing_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``gridnav homing``."""
    d = HomingConfig()
    parser.add_argument(
        "--agents",
        nargs="+",
        choices=AGENTS,
        default=list(AGENTS),
        help="agents to train (default: all five)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="default 0 1 2")
    parser.add_argument(
        "--steps",
        type=int,
        default=d.total_steps,
        help=f"env steps per agent and seed (default {d.total_steps})",
    )
    easy, hard = TASKS["easy"], TASKS["hard"]
    parser.add_argument(
        "--task",
        choices=tuple(TASKS),
        default="easy",
        help=f"easy: {easy['box_size']:g} m box, {easy['outbound_steps']} outbound steps, "
        f"{easy['max_return_steps']} return steps; hard: {hard['box_size']:g} m box, "
        f"{hard['outbound_steps']} outbound steps, {hard['max_return_steps']} return steps "
        f"(default easy; --box, --outbound, --return-steps override)",
    )
    parser.add_argument("--box", type=float, default=None, help="box side, metres")
    parser.add_argument("--outbound", type=int, default=None, help="outbound steps")
    parser.add_argument(
        "--return-steps", type=int, default=None, help="return steps before truncation"
    )
    parser.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="env steps between learning-curve points (default: a fifth of --steps)",
    )
    parser.add_argument(
        "--eval-episodes",
        type=int,
        default=d.eval_episodes,
        help=f"episodes per learning-curve point (default {d.eval_episodes})",
    )
    parser.add_argument(
        "--final-episodes",
        type=int,
        default=d.final_episodes,
        help=f"episodes of the final evaluation (default {d.final_episodes})",
    )
    parser.add_argument(
        "--analysis-episodes",
        type=int,
        default=d.analysis_episodes,
        help=f"episodes for the LSTM/encoder analyses, 0: none (default {d.analysis_episodes})",
    )
    parser.add_argument(
        "--encoder",
        default="pretrained",
        help="SIC encoder: pretrained, random, or a checkpoint / run dir",
    )
    parser.add_argument(
        "--out",
        default="homing_results",
        help="output directory; results already there (same config and seeds) are kept, and "
        "the rows of the agents run now added or replaced",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def homing_main(args: argparse.Namespace) -> int:
    """Entry point of ``gridnav homing``; bad input raises ``ValueError`` / ``OSError``."""
    from gridnav_agents.rl.benchmark import run_homing_benchmark

    config = HomingConfig.for_task(
        args.task,
        box_size=args.box,
        outbound_steps=args.outbound,
        max_return_steps=args.return_steps,
        total_steps=args.steps,
        eval_every=max(1, args.steps // 5) if args.eval_every is None else args.eval_every,
        eval_episodes=args.eval_episodes,
        final_episodes=args.final_episodes,
        analysis_episodes=args.analysis_episodes,
    )
    command = getattr(args, "command_line", None) or (
        f"gridnav homing --task {args.task} --agents {' '.join(args.agents)} "
        f"--seeds {' '.join(map(str, args.seeds))} --steps {args.steps} "
        f"--box {config.box_size:g} --outbound {config.outbound_steps} "
        f"--return-steps {config.max_return_steps} --eval-every {config.eval_every} "
        f"--eval-episodes {args.eval_episodes} --final-episodes {args.final_episodes} "
        f"--analysis-episodes {args.analysis_episodes} --encoder {args.encoder} --out {args.out}"
    )
    result = run_homing_benchmark(
        config,
        args.agents,
        args.seeds,
        args.encoder,
        args.out,
        command=command,
        task=args.task,
        verbose=0 if args.quiet else 1,
    )
    print(json.dumps(result["summary"], indent=2))
    print(f"wrote {Path(args.out) / 'homing.json'} and {Path(args.out) / 'homing_curves.png'}")
    return 0
