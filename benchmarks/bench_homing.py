"""The homing benchmark (issue 6): five agents, same PPO hyperparameters, budget and seeds.

Agents: PPO + MLP on velocity (no memory), RecurrentPPO LSTM on velocity, PPO on a frozen SIC
encoder, PPO on a frozen random encoder of the same shape, PPO on the true position (oracle).
Writes homing.json (learning curves, final evaluations, LSTM/encoder analyses), homing_curves.png
and homing_ratemaps_<agent>.png; prints the per-agent summary as JSON.

Run (default small config, ~15 min on 2 CPU cores):
    python benchmarks/bench_homing.py --encoder RUN_DIR --out docs/homing
Same as ``gridnav homing``; see ``python benchmarks/bench_homing.py --help``.
"""

from __future__ import annotations

import argparse
import sys

from gridnav_agents.rl.benchmark import add_homing_arguments, homing_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_homing_arguments(parser)
    return homing_main(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
