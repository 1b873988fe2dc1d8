"""The homing benchmark (issues 6 and 28): five agents, same PPO hyperparameters, budget and seeds.

Agents: PPO + MLP on velocity (no memory), RecurrentPPO LSTM on velocity, PPO on a frozen SIC
encoder, PPO on a frozen random encoder of the same shape, PPO on the true position (oracle).
Writes homing.json (learning curves, final evaluations, steps to 50 %/80 % success, LSTM/encoder
analyses, per agent the command, encoder SHA-256 and wall time), homing_curves.png and
homing_ratemaps_<agent>.png; prints the per-agent summary as JSON. Agents run separately into one
--out folder are merged there.

Run (the easy task, 300k env steps per agent and seed, the LSTM 350k; the hard task likewise
with --task hard --eval-every 20000):
    python benchmarks/bench_homing.py --threads 1 --task easy --steps 300000 --eval-every 10000 \
        --agents velocity oracle sic random_encoder --out homing_easy
    python benchmarks/bench_homing.py --threads 1 --task easy --steps 350000 --eval-every 10000 \
        --agents lstm --out homing_easy
Same as ``gridnav homing``; see ``python benchmarks/bench_homing.py --help``.
"""

from __future__ import annotations

import argparse
import sys

from gridnav_agents.rl.cli import add_homing_arguments, homing_main
from gridnav_agents.threads import set_threads


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    add_homing_arguments(parser)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    return homing_main(args)


if __name__ == "__main__":
    sys.exit(main())
