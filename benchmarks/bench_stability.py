"""Benchmark: cost of the stability measure of ``gridnav analyze`` on one thread.

Runs ``analyze`` in a 2 m box with its default stability measure (16 trajectories of 16 times
the box's trajectory length and 2 of 10,000 steps, SmoothMotion subsampled as the analysis
does) and reports the stability's time against the rest of the same analysis (ratemaps,
gridness, modules, decoding, figures off, topology off), measured in the same run. Also times
its parts separately: the motion rollouts (vectorised and one trajectory at a time), the
encoder on the same numbers of steps, and the analysis of the states. Goal (issue 25): a few
seconds on the shipped encoder at one thread. Prints one JSON object.

    python benchmarks/bench_stability.py                       # the shipped encoder
    python benchmarks/bench_stability.py --encoder synthetic   # known-answer grid-cell stand-in
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

GOAL_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoder", choices=["pretrained", "synthetic"], default="pretrained")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    import gridnav_agents

    gridnav_agents.set_threads(args.threads)
    import numpy as np
    import torch

    from gridnav_agents.analysis import analyze
    from gridnav_agents.analysis.runner import _torch_forward
    from gridnav_env import Arena, SmoothMotion

    if args.encoder == "pretrained":
        from gridnav_agents.sic import load_encoder

        encoder = load_encoder("pretrained")
    else:
        from gridnav_agents.analysis.synthetic import SyntheticGridEncoder

        encoder = SyntheticGridEncoder([0.4, 0.56, 0.8], 42, np.random.default_rng(0))
    wall = time.perf_counter()
    report = analyze(encoder, [2.0], None, seed=0, topology=False, figures=False)
    wall = time.perf_counter() - wall
    stab = report["stability"]
    stability_s, rest_s = stab["run_time_s"], wall - stab["run_time_s"]

    # the parts, on the same sizes
    arena, motion, k = Arena.box(2.0), SmoothMotion(), stab["subsample"]
    short, n_short = stab["n_steps"], stab["n_traj"]
    long, n_long = stab["n_long_steps"], stab["n_long_traj"]
    rng = np.random.default_rng(1)
    centre = np.zeros(2)
    t0 = time.perf_counter()
    motion.rollout(n_short, short * k, rng, arena=arena, start=centre)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    motion.rollout_sequential(n_long, long * k, rng, arena=arena, start=centre)
    t_seq = time.perf_counter() - t0
    t0 = time.perf_counter()
    motion.rollout(n_long, 2000 * k, rng, arena=arena, start=centre)
    t_vec_long = (time.perf_counter() - t0) * long / 2000  # scaled from 2,000 steps
    step = 0.1 * rng.uniform(-1, 1, (n_short, short, 2))
    t0 = time.perf_counter()
    _torch_forward(encoder, step, 100)
    t_enc_short = time.perf_counter() - t0
    step = 0.1 * rng.uniform(-1, 1, (n_long, long, 2))
    t0 = time.perf_counter()
    _torch_forward(encoder, step, 100)
    t_enc_long = time.perf_counter() - t0
    parts = {
        "motion_short_vectorised_s": t_vec,
        "motion_long_one_at_a_time_s": t_seq,
        "motion_long_vectorised_s_estimated": t_vec_long,
        "encoder_short_s": t_enc_short,
        "encoder_long_s": t_enc_long,
    }
    parts["analysis_of_states_s"] = stability_s - t_vec - t_seq - t_enc_short - t_enc_long
    print(
        json.dumps(
            {
                "benchmark": "stability",
                "encoder": args.encoder,
                "box_m": 2.0,
                "trajectories": f"{n_short} x {short} + {n_long} x {long} steps, subsample {k}",
                "stability_s": round(stability_s, 2),
                "reference_rest_of_analysis_s": round(rest_s, 2),
                "ratio_to_reference": round(stability_s / rest_s, 2),
                "goal_s": GOAL_S,
                "within_goal": stability_s < GOAL_S,
                "parts_s": {name: round(v, 2) for name, v in parts.items()},
                "phase_drift_kind": stab["phase_drift"]["kind"],
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
