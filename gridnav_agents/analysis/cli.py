"""``gridnav analyze``: arguments and entry point (the analysis modules are imported only
inside :func:`analyze_main`)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_analyze_arguments", "analyze_main"]


def add_analyze_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``gridnav analyze``."""
    parser.add_argument(
        "target", help='run directory, checkpoint file, or "pretrained" (the bundled encoder)'
    )
    parser.add_argument(
        "--boxes", type=float, nargs="+", default=[2.0, 3.0, 4.0], help="box sides, metres"
    )
    parser.add_argument("--out", default="analysis", help="output directory (default analysis)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the trajectories")
    parser.add_argument(
        "--no-topology", action="store_true", help="skip persistent homology of the largest module"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="encoder steps per trajectory (default: by box)"
    )
    parser.add_argument(
        "--traj", type=int, default=None, help="trajectories per box (default: by box)"
    )
    parser.add_argument("--bin-size", type=float, default=0.05, help="ratemap bin, metres")
    parser.add_argument(
        "--no-stability",
        action="store_true",
        help="skip the stability of the code along long trajectories (first box)",
    )
    parser.add_argument(
        "--stability-steps",
        type=int,
        default=10_000,
        help="length of the long trajectories of the stability measure, encoder steps "
        "(default 10000)",
    )
    parser.add_argument(
        "--stability-traj",
        type=int,
        default=16,
        help="trajectories of 16 times the box's trajectory length for the stability measure "
        "(default 16; more give steadier numbers)",
    )


def analyze_main(args: argparse.Namespace) -> int:
    """``gridnav analyze``: load the encoder, run :func:`analyze`, print a summary in words."""
    from gridnav_agents.analysis.evaluate import analyze
    from gridnav_agents.analysis.summary import box_summary, stability_text
    from gridnav_agents.sic import load_encoder
    from gridnav_agents.sic.checkpoint import resolve_checkpoint

    checkpoint = resolve_checkpoint(args.target)
    encoder = load_encoder(checkpoint)
    report = analyze(
        encoder,
        args.boxes,
        args.out,
        seed=args.seed,
        topology=not args.no_topology,
        n_traj=getattr(args, "traj", None),
        n_steps=args.steps,
        bin_size=getattr(args, "bin_size", 0.05),
        checkpoint=checkpoint,
        command=getattr(args, "command_line", None),
        stability=not getattr(args, "no_stability", False),
        stability_steps=getattr(args, "stability_steps", 10_000),
        stability_traj=getattr(args, "stability_traj", 16),
    )
    print(f"{report['n_active']} of {report['n_units']} units active")
    for name, b in report["boxes"].items():
        print(box_summary(name, b))
    first = next(iter(report["boxes"]))
    for name, g in report["generalisation"].items():
        if g["n_grid"]:
            change = g["median_spacing_change"]
            print(
                f"{name} m box: {g['n_kept']} of the {g['n_grid']} grid units of the {first} m "
                "box keep gridness > 0.3 and their spacing within 10 %"
                + ("" if change is None else f" (median spacing change {100 * change:.1f} %)")
            )
    if report["torus_betti"] is not None:
        t = report["torus_module"]
        print(
            f"module {t['module']} ({t['n_units']} units, {t['box_size_m']:g} m box): Betti "
            f"numbers {tuple(report['torus_betti'])} (a torus is (1, 2, 1))"
        )
    if report["stability"] is not None:
        print(stability_text(report["stability"]))
    print(f"wrote {Path(args.out) / 'report.json'} ({report['analysis_time_s']:.1f} s)")
    return 0
