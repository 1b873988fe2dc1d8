"""Synchronised starts of two pretraining writers on one run directory: how many trials end
with a mixed directory, with the run-directory lock and (the reference) without it.

Each trial gives two worker processes a fresh directory; both wait at a barrier, then call
``train`` on it at the same instant, with seeds 0 and 1 (a tiny configuration: 8 units, 4
steps). Each worker reports how its call ended: ``ran``, ``locked`` (``RunLockedError``),
``exists`` (``FileExistsError``: the other run was already on disk) or ``error``. A trial is
*mixed* when more than one writer ran, or when the directory is not one run's: the seed in
``config.json`` differs from the last checkpoint's, or ``metrics.jsonl`` does not hold each
step once. The reference repeats the trials with the lock replaced by one that never blocks,
measured in the same invocation. Prints one JSON object.

    python benchmarks/bench_run_lock.py [--trials 100]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
import time
from collections import Counter
from pathlib import Path

N_STEPS = 4
TINY = [
    "n_units=8",
    "mlp_hidden=8",
    "batch_size=4",
    "seq_len=4",
    "accumulate=1",
    f"n_steps={N_STEPS}",
    "log_every=1",
    "checkpoint_every=2",
    "device=cpu",
]


class _NoLock:
    """Stands in for ``RunLock`` in the reference: never blocks, creates nothing."""

    created, held = False, True

    def __init__(self, run_dir: object) -> None:
        pass

    def acquire(self) -> _NoLock:
        return self

    def release(self, remove: bool = False) -> None:
        pass


def _worker(seed: int, locked: bool, barrier, tasks, results) -> None:
    import warnings

    import gridnav_agents

    gridnav_agents.set_threads(1)
    import gridnav_agents.sic.rundir as rundir
    from gridnav_agents.sic.config import PRESETS
    from gridnav_agents.sic.runlock import RunLockedError
    from gridnav_agents.sic.train import train

    warnings.simplefilter("ignore")
    if not locked:
        rundir.RunLock = _NoLock
    config = PRESETS["smoke"].with_overrides([*TINY, f"seed={seed}"])
    while (run_dir := tasks.get()) is not None:
        barrier.wait()
        try:
            train(config, run_dir, progress=False)
            outcome = "ran"
        except RunLockedError:
            outcome = "locked"
        except FileExistsError:
            outcome = "exists"
        except Exception as exc:  # noqa: BLE001  (counted, not hidden)
            outcome = f"error: {type(exc).__name__}"
        results.put(outcome)


def _mixed(run: Path, outcomes: list[str]) -> bool:
    from gridnav_agents.sic.checkpoint import load_checkpoint

    if outcomes.count("ran") != 1:
        return True
    try:
        seed = json.loads((run / "config.json").read_text())["seed"]
        ckpt_seed = load_checkpoint(run / "last.safetensors", tensors="none").meta["config"]
        lines = (run / "metrics.jsonl").read_text().splitlines()
        steps = [json.loads(line)["step"] for line in lines]
    except (OSError, ValueError, KeyError):
        return True
    return seed != ckpt_seed["seed"] or steps != list(range(1, N_STEPS + 1))


def trials(n: int, locked: bool) -> dict[str, object]:
    """``n`` synchronised two-writer starts; the mixed count and the outcome pairs."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    queues = [ctx.Queue(), ctx.Queue()]
    procs = [
        ctx.Process(target=_worker, args=(seed, locked, barrier, queues[seed], results))
        for seed in (0, 1)
    ]
    for p in procs:
        p.start()
    mixed, pairs = 0, Counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(n):
                run = Path(tmp) / f"run{i}"
                for q in queues:
                    q.put(str(run))
                outcomes = sorted(results.get(timeout=300) for _ in procs)
                pairs[" + ".join(outcomes)] += 1
                mixed += _mixed(run, outcomes)
    finally:
        for q in queues:
            q.put(None)
        for p in procs:
            p.join(60)
    return {"mixed": mixed, "outcomes": dict(pairs.most_common())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100, help="trials per setting")
    args = parser.parse_args()
    t0 = time.perf_counter()
    with_lock = trials(args.trials, locked=True)
    reference = trials(args.trials, locked=False)
    print(
        json.dumps(
            {
                "trials": args.trials,
                "with_lock": with_lock,
                "reference_without_lock": reference,
                "wall_s": round(time.perf_counter() - t0, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
