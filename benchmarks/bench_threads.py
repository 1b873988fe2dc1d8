"""Pretraining speed against the thread count, on an idle machine and beside a CPU hog.

Runs ``gridnav pretrain --preset quick`` for ``--steps`` optimizer steps in a fresh process
for each setting: ``--threads 1``, ``--threads 2`` (gridnav's default, and torch's own on
a 2-core machine: one thread per core), and ``--threads 2`` with OpenMP's busy-wait policy
(``OMP_WAIT_POLICY=ACTIVE``, what a plain ``import torch`` did before gridnav set PASSIVE);
each once alone and once while a busy-loop process occupies one core. Steps per second come
from the run's own ``elapsed_s``. The reference is the ``--threads 1`` run on the idle
machine, measured in the same invocation. Each setting runs ``--repeats`` times, interleaved
with the others; the median counts. Prints one JSON object.

    python benchmarks/bench_threads.py [--steps 150] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETTINGS = {
    "threads_1": ({"--threads": "1"}, {}),
    "threads_2": ({"--threads": "2"}, {}),
    "threads_2_busy_wait": ({"--threads": "2"}, {"OMP_WAIT_POLICY": "ACTIVE"}),
}


def hog() -> subprocess.Popen:
    """A process that keeps one core busy until it is killed."""
    return subprocess.Popen([sys.executable, "-c", "while True:\n    pass"])


def pretrain_speed(steps: int, flags: dict[str, str], env: dict[str, str]) -> float:
    """Optimizer steps per second of ``gridnav pretrain --preset quick`` with ``flags``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-m", "gridnav_agents.cli", "pretrain", "--preset", "quick"]
        cmd += ["--set", f"n_steps={steps}", "--out", str(out), "--no-progress", "--device", "cpu"]
        for key, value in flags.items():
            cmd += [key, value]
        base = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
        done = subprocess.run(cmd, env={**base, **env}, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        summary = json.loads(done.stdout)
        return summary["step"] / summary["elapsed_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=150, help="optimizer steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs per setting")
    args = parser.parse_args()
    result: dict[str, object] = {"steps": args.steps, "repeats": args.repeats}
    result["cpus"] = os.cpu_count()
    runs: dict[str, list[float]] = {}
    for _ in range(args.repeats):
        for loaded in (False, True):
            for name, (flags, env) in SETTINGS.items():
                busy = hog() if loaded else None
                try:
                    time.sleep(0.5 if loaded else 0.0)
                    key = f"{name}{'_beside_hog' if loaded else ''}"
                    runs.setdefault(key, []).append(pretrain_speed(args.steps, flags, env))
                finally:
                    if busy is not None:
                        busy.kill()
                        busy.wait()
    speeds = {k: statistics.median(v) for k, v in runs.items()}
    reference = speeds["threads_1"]
    result["steps_per_s"] = {k: round(v, 3) for k, v in speeds.items()}
    result["relative_to_threads_1_idle"] = {k: round(v / reference, 3) for k, v in speeds.items()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
