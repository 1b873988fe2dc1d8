"""The sweep driver: the trials as Ray tasks, the results table rewritten as each one ends.

Local Ray on every core when no address is given (nothing to set up); ``"auto"`` or
``"ray://host:port"`` joins a running cluster, whose nodes need gridnav installed and the
output folder on a file system they all see. A trial whose ``sweep_result.json`` matches its
spec is not run again; one with a checkpoint resumes from it. At most as many trials are in
flight as the cluster has room for (its CPUs / ``cpus_per_trial``), so the in-flight ones are
the running ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gridnav_agents.sweep.grid import Trial
from gridnav_agents.sweep.results import BOX_FIELDS, best_row, box_column, write_results
from gridnav_agents.sweep.trial import run_trial

__all__ = ["import_ray", "run_sweep"]

INSTALL_HINT = 'gridnav sweep needs Ray: pip install -e ".[sweep]" (or pip install "ray>=2.9")'


def import_ray() -> Any:
    """The ``ray`` module, or an ``ImportError`` whose message says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return ray


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None) or exc  # a RayTaskError carries the trial's exception
    return f"{type(cause).__name__}: {' '.join(str(cause).split())}"


def run_sweep(
    trials: Sequence[Trial],
    out: str | Path,
    *,
    address: str | None = None,
    cpus_per_trial: int = 1,
    meta: dict[str, Any] | None = None,
    report: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run every unfinished trial as a Ray task of ``cpus_per_trial`` CPUs and keep
    ``out/results.csv`` / ``results.json`` (``meta`` plus ``wall_s`` and ``failed``) up to date
    after each one; ``report`` gets one progress line per change.

    Uses the running Ray session if there is one, else starts one (local, or at ``address``)
    and shuts it down at the end. Returns ``{"rows", "failed", "skipped", "wall_s"}``: the rows
    of the finished trials in trial order, ``{name: error}`` of those that raised, the number
    found finished on disk, and this call's wall time (seconds).

    Raises:
        ImportError: Ray is not installed (the message says how to install it).
        ValueError: ``cpus_per_trial`` exceeds the CPUs of a local Ray session.
    """
    ray = import_ray()
    out = Path(out)
    t_start = time.perf_counter()
    rows = {t.name: row for t in trials if (row := t.stored_row()) is not None}
    skipped, failed = len(rows), {}
    pending = [t for t in trials if t.name not in rows]
    best_column = box_column(BOX_FIELDS[0], trials[0].boxes[0]) if trials else ""

    def result() -> dict[str, Any]:
        done = [rows[t.name] for t in trials if t.name in rows]
        wall_s = round(time.perf_counter() - t_start, 3)
        return {"rows": done, "failed": failed, "skipped": skipped, "wall_s": wall_s}

    def save() -> None:
        now = result()
        write_results(out, now["rows"], {**(meta or {}), "wall_s": now["wall_s"], "failed": failed})

    def progress(in_flight: int) -> None:
        best = best_row(list(rows.values()), best_column)
        line = (
            f"[{time.perf_counter() - t_start:6.0f} s] {len(rows)}/{len(trials)} finished, "
            f"{in_flight} running, {len(pending)} pending"
            + (f", {len(failed)} failed" if failed else "")
        )
        if best is not None:
            line += f"; best {best['trial']} ({best_column} {best[best_column]:.3g})"
        report(line)

    out.mkdir(parents=True, exist_ok=True)
    save()
    resumable = sum((t.run_dir / "last.safetensors").exists() for t in pending)
    report(
        f"{len(trials)} trials: {skipped} finished earlier, {len(pending)} to run "
        f"({resumable} resume from a checkpoint)"
    )
    if not pending:
        return result()
    started = not ray.is_initialized()
    if started:
        kwargs: dict[str, Any] = {"logging_level": logging.WARNING}
        if address is None:
            kwargs["include_dashboard"] = False
        ray.init(address=address, **kwargs)
    in_flight: dict[Any, Trial] = {}
    try:
        cpus = ray.cluster_resources().get("CPU", 0)
        if address is None and started and cpus_per_trial > cpus:
            raise ValueError(f"cpus_per_trial {cpus_per_trial} exceeds the {cpus:g} CPUs here")
        task = ray.remote(num_cpus=cpus_per_trial)(run_trial)
        while pending or in_flight:
            room = int(ray.cluster_resources().get("CPU", 0) // cpus_per_trial)
            while pending and len(in_flight) < max(1, room):
                trial = pending.pop(0)
                in_flight[task.remote(trial.spec())] = trial
            progress(len(in_flight))
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            trial = in_flight.pop(ready[0])
            try:
                rows[trial.name] = ray.get(ready[0])
            except Exception as exc:  # the trial's own error, reported and kept in the table
                failed[trial.name] = _one_line(exc)
                report(f"trial {trial.name} failed: {failed[trial.name]}")
            save()
        progress(0)
    finally:
        for ref in in_flight:  # interrupted: the cancelled trials resume from checkpoints
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()
    return result()
