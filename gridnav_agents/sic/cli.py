"""``gridnav pretrain``: arguments and entry point (torch is imported only inside
:func:`pretrain_main`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gridnav_agents.sic.config import PRESETS

__all__ = ["add_overrides_argument", "add_pretrain_arguments", "pretrain_main"]


def add_pretrain_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``gridnav pretrain``."""
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default=None,
        help="paper (Table 1), cpu (grid cells on one core), quick (the cpu recipe, ~5 min) "
        "or smoke (seconds; checks a setup, grows no grid cells). Default: quick; with "
        "--resume: the stored run",
    )
    add_overrides_argument(parser)
    parser.add_argument("--out", required=True, help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_overrides_argument(
    parser: argparse.ArgumentParser, help_text: str = "override config fields, e.g. --set lr=1e-3"
) -> None:
    """``--set KEY=VALUE ...`` (repeatable) into ``args.overrides``."""
    parser.add_argument(
        "--set",
        dest="overrides",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help=help_text,
    )


def pretrain_main(args: argparse.Namespace) -> int:
    """Entry point of ``gridnav pretrain``: 0 done, 1 stopped on non-finite losses, 130
    interrupted; bad input raises ``ValueError`` / ``OSError`` (the CLI prints one line)."""
    from gridnav_agents.sic.rundir import stored_config
    from gridnav_agents.sic.train import NonFiniteLossError, train

    out = Path(args.out)
    stored = stored_config(out) if args.resume and args.preset is None else None
    config = stored if stored is not None else PRESETS[args.preset or "quick"]
    config = config.with_overrides(args.overrides)
    if args.device is not None:
        config = config.with_overrides([f"device={args.device}"])
    try:
        summary = train(config, out, resume=args.resume, progress=not args.no_progress)
    except NonFiniteLossError as exc:
        print(f"gridnav pretrain: {exc}", file=sys.stderr)
        return 1
    if summary.get("already_finished"):
        print(
            f"gridnav pretrain: the run in {out} is already finished (step {summary['step']:,} "
            f"of {summary['n_steps']:,}); to train on, resume with --set n_steps=N, N > "
            f"{summary['step']}"
        )
        return 0
    print(json.dumps(summary, indent=2))
    return 130 if summary["interrupted"] else 0  # 130: the shell's code for Ctrl-C
