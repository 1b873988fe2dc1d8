"""The trials of a sweep: every combination of the swept config values, times every seed.

Everything here is validated before any trial starts: grid syntax, unknown keys, every value
(parsed by :meth:`SICConfig.with_overrides`), every trial's whole config, and run directories
left by an earlier sweep whose config cannot be resumed with the new one.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridnav_agents.sic.config import RESUMABLE_FIELDS, SICConfig

__all__ = ["RESULT_FILE", "Trial", "build_trials", "parse_grid", "spec_key"]

#: The file a finished trial leaves in its run directory (its spec and its results row).
RESULT_FILE = "sweep_result.json"
#: The spec fields a stored result must match to count as finished (not the run directory's
#: path, nor the thread count).
KEY_FIELDS = ("config", "boxes", "max_seconds", "analysis_seed")


@dataclass(frozen=True)
class Trial:
    """One pretraining run and its analysis.

    ``swept``: the swept config values and ``seed`` (parsed, in grid order). ``max_seconds``:
    the training-time budget (seconds, ``None``: the config's ``n_steps`` only). ``boxes``: box
    sides of the analysis, metres. ``threads``: torch threads of the trial.
    """

    name: str
    run_dir: Path
    config: SICConfig
    swept: dict[str, Any]
    boxes: tuple[float, ...]
    max_seconds: float | None
    threads: int
    analysis_seed: int = 0

    def spec(self) -> dict[str, Any]:
        """The trial as a plain JSON dict: the argument of :func:`~.trial.run_trial`."""
        return {
            "name": self.name,
            "run_dir": str(self.run_dir),
            "swept": dict(self.swept),
            "threads": self.threads,
            "config": self.config.to_dict(),
            "boxes": list(self.boxes),
            "max_seconds": self.max_seconds,
            "analysis_seed": self.analysis_seed,
        }

    def stored_row(self) -> dict[str, Any] | None:
        """The results row of a finished trial with this key, else ``None``."""
        path = self.run_dir / RESULT_FILE
        if not path.is_file():
            return None
        try:
            stored = json.loads(path.read_text())
        except json.JSONDecodeError:
            return None
        return stored.get("row") if stored.get("key") == spec_key(self.spec()) else None


def spec_key(spec: dict[str, Any]) -> dict[str, Any]:
    """The part of a trial's spec that decides whether a stored result belongs to it, as it
    reads back from JSON."""
    return json.loads(json.dumps({k: spec[k] for k in KEY_FIELDS}))


def parse_grid(items: Sequence[str], base: SICConfig) -> dict[str, list[Any]]:
    """``["key=v1,v2", ...]`` -> ``{key: [parsed v1, parsed v2]}``, each value parsed and
    checked by ``base.with_overrides``.

    Raises:
        ValueError: an item not of the form ``KEY=V1,V2,...``, an unknown key, a value that does
            not parse or is out of range, a key given twice, ``seed`` (use ``seeds``), or a
            value listed twice.
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        texts = [t.strip() for t in text.split(",")]
        if not sep or not key or not all(texts):
            raise ValueError(f"--grid item {item!r} is not of the form KEY=V1,V2,...")
        if key == "seed":
            raise ValueError("--grid seed=...: give the seeds with --seeds")
        if key in grid:
            raise ValueError(f"--grid key {key!r} is given twice")
        values = []
        for t in texts:
            try:
                values.append(getattr(base.with_overrides([f"{key}={t}"]), key))
            except ValueError as exc:
                raise ValueError(f"--grid {item!r}: {exc}") from None
        repeated = sorted({repr(v) for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"--grid {item!r} lists {', '.join(repeated)} more than once")
        grid[key] = values
    return grid


def _name_part(key: str, value: Any) -> str:
    text = repr(value) if isinstance(value, float) else str(value)
    return f"{key}={re.sub(r'[^A-Za-z0-9._+-]', '_', text)}"


def build_trials(
    base: SICConfig,
    grid: dict[str, list[Any]],
    seeds: Sequence[int],
    out: str | Path,
    *,
    overrides: Sequence[str] = (),
    boxes: Sequence[float] = (2.0,),
    max_seconds: float | None = None,
    threads: int = 1,
) -> list[Trial]:
    """Every combination of ``grid``'s values (first key slowest) times every seed, as trials
    with run directories ``out/trials/<name>`` (absolute); ``overrides`` (``"key=value"``)
    apply to all.

    Raises:
        ValueError: a bad override, seed, box, budget or thread count (named), a trial config
            that does not validate, an override of a swept key or of ``seed``, or a run
            directory holding a run whose config differs in a field that cannot be resumed.
    """
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct and at least one, got {seeds!r}")
    set_keys = {item.partition("=")[0].strip() for item in overrides}
    if "seed" in set_keys:
        raise ValueError("--set seed=...: give the seeds with --seeds")
    both = sorted(set_keys & set(grid))
    if both:
        raise ValueError(f"{', '.join(both)} is both swept (--grid) and set (--set)")
    boxes = [float(b) for b in boxes]
    if not boxes or any(not math.isfinite(b) or b <= 0 for b in boxes):
        raise ValueError(f"boxes must be positive box sides in metres, got {boxes!r}")
    if max_seconds is not None and not (math.isfinite(max_seconds) and max_seconds > 0):
        raise ValueError(f"max_seconds must be a positive number of seconds, got {max_seconds!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    base = base.with_overrides(overrides)
    trials = []
    for values in itertools.product(*grid.values()):
        for seed in seeds:
            swept = {**dict(zip(grid, values, strict=True)), "seed": seed}
            name = ",".join(_name_part(k, v) for k, v in swept.items())
            try:
                config = dataclasses.replace(base, **swept)
            except ValueError as exc:
                raise ValueError(f"trial {name}: {exc}") from None
            run_dir = Path(out).absolute() / "trials" / name  # Ray workers have their own cwd
            _check_stored_config(run_dir, config)
            trials.append(Trial(name, run_dir, config, swept, tuple(boxes), max_seconds, threads))
    return trials


def _check_stored_config(run_dir: Path, config: SICConfig) -> None:
    path = run_dir / "config.json"
    if not path.is_file():
        return
    stored = SICConfig.from_dict(json.loads(path.read_text()))
    changed = sorted(set(stored.diff(config)) - RESUMABLE_FIELDS)
    if changed:
        raise ValueError(
            f"{run_dir} holds a run whose config differs in {', '.join(changed)}; "
            "choose a new --out or remove that run"
        )
