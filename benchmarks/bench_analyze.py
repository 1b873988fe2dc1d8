"""Benchmark: ``gridnav analyze`` of a 128-unit encoder over boxes 2, 3 and 4 m, no topology.

Goal (issue 4): under 60 s on 2 CPU cores. Without the stability measure unless
``--stability`` (``bench_stability.py`` times it). Prints one JSON object.

    python benchmarks/bench_analyze.py                       # random SICEncoder(128)
    python benchmarks/bench_analyze.py --encoder synthetic   # known-answer grid-cell stand-in

The SIC encoder dominates the cost: its MLP emits an N x N matrix per step (~2.1 M multiply-adds
per sample for N = 128), and the default trajectories give ~2000 samples per square metre.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time

import numpy as np

GOAL_S = 60.0


def build_encoder(kind: str):
    if kind == "sic":
        import torch

        from gridnav_agents.sic import SICEncoder

        return SICEncoder(n_units=128, generator=torch.Generator().manual_seed(0)).eval()
    from gridnav_agents.analysis.synthetic import SyntheticGridEncoder

    return SyntheticGridEncoder([0.4, 0.56, 0.8], 42, np.random.default_rng(0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", choices=["sic", "synthetic"], default="sic")
    parser.add_argument("--boxes", type=float, nargs="+", default=[2.0, 3.0, 4.0])
    parser.add_argument("--topology", action="store_true", help="also compute torus_betti")
    parser.add_argument("--no-figures", action="store_true")
    parser.add_argument(
        "--stability",
        action="store_true",
        help="also measure stability along long trajectories (bench_stability.py times it)",
    )
    args = parser.parse_args()

    t_import = time.perf_counter()
    import torch

    from gridnav_agents.analysis import analyze

    t_import = time.perf_counter() - t_import
    encoder = build_encoder(args.encoder)
    with tempfile.TemporaryDirectory() as out:
        wall, cpu = time.perf_counter(), time.process_time()
        report = analyze(
            encoder,
            args.boxes,
            out,
            seed=0,
            topology=args.topology,
            figures=not args.no_figures,
            stability=args.stability,
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    boxes = {
        name: {
            "n_samples": b["n_samples"],
            "n_traj": b["n_traj"],
            "n_steps": b["n_steps"],
            "subsample": b["subsample"],
            "encoder_run_s": round(b["run_time_s"], 2),
            "n_modules": b["n_modules"],
            "frac_grid": round(b["frac_grid"], 3),
            "decoding_error_m": round(b["decoding_error_m"], 4),
        }
        for name, b in report["boxes"].items()
    }
    print(
        json.dumps(
            {
                "benchmark": "analyze",
                "encoder": args.encoder,
                "n_units": report["n_units"],
                "boxes_m": args.boxes,
                "topology": args.topology,
                "stability": args.stability,
                "figures": not args.no_figures,
                "wall_s": round(wall, 2),
                "cpu_s": round(cpu, 2),
                "import_s": round(t_import, 2),
                "goal_s": GOAL_S,
                "within_goal": wall < GOAL_S,
                "per_box": boxes,
                "torch_threads": torch.get_num_threads(),
                "cpu_count": os.cpu_count(),
                "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
                "python": platform.python_version(),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
