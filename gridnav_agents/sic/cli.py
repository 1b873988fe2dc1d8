"""``gridnav pretrain``: arguments and entry point (torch is imported only inside
:func:`pretrain_main`). ``--objective`` chooses SIC (default) or supervised place-cell
prediction (:mod:`gridnav_agents.supervised`); both write the same run directory."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gridnav_agents.sic.config import PRESETS
from gridnav_agents.supervised.config import SUPERVISED_PRESETS

#: The presets of each objective, and the one used when ``--preset`` is not given.
OBJECTIVE_PRESETS = {"sic": PRESETS, "supervised": SUPERVISED_PRESETS}
DEFAULT_PRESET = {"sic": "quick", "supervised": "supervised"}

__all__ = ["add_overrides_argument", "add_pretrain_arguments", "pretrain_main"]


def add_pretrain_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``gridnav pretrain``."""
    parser.add_argument(
        "--objective",
        choices=sorted(OBJECTIVE_PRESETS),
        default=None,
        help="sic (self-supervised, the default) or supervised (an RNN trained to predict "
        "place cells, Sorscher et al.); default: the preset's objective",
    )
    parser.add_argument(
        "--preset",
        choices=sorted({**PRESETS, **SUPERVISED_PRESETS}),
        default=None,
        help="SIC: paper (Table 1), cpu (grid cells on one core), quick (the cpu recipe, "
        "~5 min) or smoke (seconds; checks a setup, grows no grid cells); supervised: "
        "supervised-paper (Sorscher et al.'s settings), supervised (their recipe on one core) "
        "or supervised-smoke. Default: quick, or supervised with --objective supervised; "
        "with --resume: the stored run",
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
    objective = getattr(args, "objective", None)
    if args.preset is not None:
        owner = "supervised" if args.preset in SUPERVISED_PRESETS else "sic"
        if objective is not None and objective != owner:
            raise ValueError(
                f"preset {args.preset!r} is a {owner} preset, not one of --objective "
                f"{objective}'s ({', '.join(sorted(OBJECTIVE_PRESETS[objective]))})"
            )
        objective = owner
    stored = stored_config(out) if args.resume and args.preset is None else None
    if stored is not None:
        held = "sic" if type(stored).__name__ == "SICConfig" else "supervised"
        if objective is not None and objective != held:
            raise ValueError(f"{out} holds a {held} run, not a {objective} one")
        config = stored
    else:
        objective = objective or "sic"
        config = OBJECTIVE_PRESETS[objective][args.preset or DEFAULT_PRESET[objective]]
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
