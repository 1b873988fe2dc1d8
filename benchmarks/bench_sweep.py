"""Wall time of a sweep on Ray against the same trials one after another.

Four trials of the ``cpu`` preset (seeds 0-3, ``--steps`` optimizer steps each, analysis in
the 2 m box), one CPU and one torch thread each:

* reference: the four trials one after another in one fresh Python process
  (``gridnav_agents.sweep.trial.run_trial``, the function each Ray task runs), timed from
  outside the process, so its start and torch import count;
* sweep: :func:`gridnav_agents.sweep.run_sweep` on a local Ray session of ``--cpus`` CPUs,
  timed with and without starting Ray.

Both run in the same invocation; the machine's load average (``os.getloadavg``) is printed at
the start, between the two and at the end, since other processes on the cores slow either
side. The trials are deterministic, so both sides must give the same analysis results
(``rows_agree``). Prints one JSON object.

    python benchmarks/bench_sweep.py [--steps 240] [--trials 4] [--cpus 2]
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

from gridnav_agents.sic.config import PRESETS
from gridnav_agents.sweep.grid import build_trials
from gridnav_agents.sweep.results import BOX_FIELDS, box_column

SEQUENTIAL = """
import json, sys
from gridnav_agents import set_threads
set_threads(1)
from gridnav_agents.sweep.trial import run_trial
print(json.dumps([run_trial(spec) for spec in json.load(sys.stdin)]))
"""


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def steps_per_s(rows: list[dict]) -> float:
    return round(statistics.median(r["steps"] / r["train_s"] for r in rows), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=240, help="optimizer steps per trial")
    parser.add_argument("--trials", type=int, default=4, help="trials (seeds 0..N-1)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the Ray session")
    args = parser.parse_args()
    import ray

    from gridnav_agents.sweep.driver import run_sweep

    result: dict[str, object] = {"preset": "cpu", "steps": args.steps, "trials": args.trials}
    result.update(ray_cpus=args.cpus, machine_cpus=os.cpu_count(), load_start=load())
    base = PRESETS["cpu"].with_overrides([f"n_steps={args.steps}", "device=cpu"])
    seeds = list(range(args.trials))
    with tempfile.TemporaryDirectory() as tmp:
        seq_trials = build_trials(base, {}, seeds, Path(tmp) / "sequential", threads=1)
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", SEQUENTIAL], capture_output=True, text=True,
                              input=json.dumps([t.spec() for t in seq_trials]))  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        sequential_s = time.perf_counter() - t0
        seq_rows = json.loads(done.stdout)
        result["load_between"] = load()

        trials = build_trials(base, {}, seeds, Path(tmp) / "sweep", threads=1)
        t0 = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="ERROR")
        t1 = time.perf_counter()
        try:
            sweep = run_sweep(trials, Path(tmp) / "sweep", cpus_per_trial=1, report=lambda s: None)
        finally:
            t2 = time.perf_counter()
            ray.shutdown()
    result["load_end"] = load()
    if sweep["failed"]:
        raise RuntimeError(f"failed trials: {sweep['failed']}")
    columns = [box_column(f, 2) for f in BOX_FIELDS] + ["steps"]
    result["rows_agree"] = all(
        a[c] == b[c] for a, b in zip(seq_rows, sweep["rows"], strict=True) for c in columns
    )
    result["sequential_s"] = round(sequential_s, 2)
    result["sweep_s"] = round(t2 - t0, 2)
    result["sweep_s_after_ray_start"] = round(t2 - t1, 2)
    result["speedup"] = round(sequential_s / (t2 - t0), 3)
    result["speedup_after_ray_start"] = round(sequential_s / (t2 - t1), 3)
    result["goal"] = 1.8
    result["train_steps_per_s_median"] = {
        "sequential": steps_per_s(seq_rows),
        "sweep": steps_per_s(sweep["rows"]),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
