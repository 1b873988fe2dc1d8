"""Pretrain a SIC encoder with the ``quick`` preset, then run it along a smooth trajectory.

    python examples/pretrain_quick.py [RUN_DIR] [--steps N]

Equivalent command line: ``gridnav pretrain --preset quick --out RUN_DIR``. Afterwards the run
directory holds ``config.json``, ``metrics.jsonl`` and ``last.safetensors`` / ``best.safetensors``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from gridnav_agents.sic import PRESETS, load_encoder
from gridnav_agents.sic.train import train
from gridnav_env import Arena, UniformVelocity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default="runs/sic-quick")
    parser.add_argument("--steps", type=int, default=None, help="override n_steps")
    args = parser.parse_args()

    config = PRESETS["quick"]
    if args.steps is not None:
        config = config.with_overrides([f"n_steps={args.steps}"])
    run = Path(args.run_dir)
    summary = train(config, run, resume=(run / "config.json").exists())
    print(json.dumps(summary, indent=2))

    lines = [json.loads(ln) for ln in (run / "metrics.jsonl").read_text().splitlines()]
    for ln in (lines[0], lines[-1]):
        values = ", ".join(f"{k} {ln[k]:.4g}" for k in ("separation", "invariance", "capacity"))
        print(f"step {ln['step']:>5}: {values}, conformal_isometry {ln['conformal_isometry']:.4g}")

    # The trained encoder on a long walk with the training velocities, reflected in a 2.2 m box.
    encoder = load_encoder(run)
    motion = UniformVelocity(encoder.step_scale)
    traj = motion.rollout(1, 2000, np.random.default_rng(0), arena=Arena.box(2.2))
    with torch.no_grad():
        states = encoder(torch.as_tensor(traj.velocities, dtype=torch.float32))[0].numpy()
    active = (states.max(axis=0) > 1e-3).sum()
    # How much of the position a linear readout recovers from the code (R², train = test here).
    pos = traj.positions[0, 1:]
    feats = np.c_[states, np.ones(len(states))]
    coef, *_ = np.linalg.lstsq(feats, pos, rcond=None)
    r2 = 1 - ((feats @ coef - pos) ** 2).sum() / ((pos - pos.mean(0)) ** 2).sum()
    print(f"{active}/{encoder.n_units} units active; linear position readout R² = {r2:.2f}")


if __name__ == "__main__":
    main()
