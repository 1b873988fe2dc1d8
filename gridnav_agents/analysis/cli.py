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


def analyze_main(args: argparse.Namespace) -> int:
    """``gridnav analyze``: load the encoder, run :func:`analyze`, print a summary."""
    from gridnav_agents.analysis.evaluate import analyze
    from gridnav_agents.analysis.modules import COHERENT_R2
    from gridnav_agents.sic import load_encoder

    encoder = load_encoder(args.target)
    report = analyze(
        encoder,
        args.boxes,
        args.out,
        seed=args.seed,
        topology=not args.no_topology,
        n_traj=getattr(args, "traj", None),
        n_steps=args.steps,
        bin_size=getattr(args, "bin_size", 0.05),
    )
    print(f"{report['n_active']}/{report['n_units']} active units")
    for name, b in report["boxes"].items():
        spacings = (
            ", ".join(
                f"{m['spacing_m']:.2f}"
                + ("" if m["harmonic_of"] is None else f" [harmonic of {m['harmonic_of']}]")
                + (
                    ""
                    if m["locked_to"] is None
                    else f" [locked to {m['locked_to']}, R² {m['lock_r2']:.2f}]"
                )
                + (
                    ""
                    if m["coherence_r2"] is None or m["coherence_r2"] >= COHERENT_R2
                    else f" [incoherent, split-half R² {m['coherence_r2']:.2f}]"
                )
                for m in b["modules"]
            )
            or "-"
        )
        print(
            f"{name} m box: {b['frac_grid']:.0%} grid units, {b['n_modules']} modules, "
            f"{b['n_independent_modules']} independent (spacing {spacings} m), "
            f"decoding error {b['decoding_error_m']:.3f} m"
        )
    first = next(iter(report["boxes"]))
    for name, g in report["generalisation"].items():
        if g["n_grid"]:
            change = g["median_spacing_change"]
            print(
                f"{name} m box: {g['n_kept']}/{g['n_grid']} grid units of the {first} m box keep "
                "gridness > 0.3 and their spacing within 10 %"
                + ("" if change is None else f" (median spacing change {change:.1%})")
            )
    if report["torus_betti"] is not None:
        print(f"largest module Betti numbers: {tuple(report['torus_betti'])}")
    print(f"wrote {Path(args.out) / 'report.json'} ({report['analysis_time_s']:.1f} s)")
    return 0
