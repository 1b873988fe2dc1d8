"""A pretraining run directory: what it holds, and one writer whose start either completes or
leaves the directory as it found it.

A run directory holds ``config.json``, ``metrics.jsonl``, ``last.safetensors`` /
``best.safetensors`` and the writers' lock file ``.lock`` (:mod:`~gridnav_agents.sic.runlock`).
A fresh run writes its step-0 checkpoint first and ``config.json`` after it, so a directory
with ``config.json`` always has a checkpoint to resume from; a directory "holds a run" when it
has either file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gridnav_agents.sic import checkpoint as ckpt_io
from gridnav_agents.sic.config import RESUMABLE_FIELDS, SICConfig
from gridnav_agents.sic.runlock import RunLock

__all__ = [
    "CONFIG",
    "METRICS",
    "RunWriter",
    "check_resumable",
    "config_from_dict",
    "last_step",
    "stored_config",
    "truncate_metrics",
]

CONFIG, METRICS = "config.json", "metrics.jsonl"


def config_from_dict(values: dict[str, Any]) -> Any:
    """The configuration a run directory records: a ``SupervisedConfig`` when ``values`` has
    ``"objective": "supervised"``, else an ``SICConfig``."""
    objective = values.get("objective", "sic")
    if objective == "supervised":
        from gridnav_agents.supervised.config import SupervisedConfig

        return SupervisedConfig.from_dict(values)
    if objective != "sic":
        raise ValueError(f"objective must be 'sic' or 'supervised', got {objective!r}")
    return SICConfig.from_dict({k: v for k, v in values.items() if k != "objective"})


def stored_config(run_dir: str | os.PathLike) -> Any:
    """The configuration of the run in ``run_dir`` (``config.json``, else the one recorded in
    its last checkpoint; :func:`config_from_dict`), or ``None`` if it holds no run."""
    out = Path(run_dir)
    if (out / CONFIG).is_file():
        return config_from_dict(json.loads((out / CONFIG).read_text()))
    if (out / ckpt_io.LAST).is_file():
        meta = ckpt_io.load_checkpoint(out / ckpt_io.LAST, tensors="none").meta
        if "config" not in meta:
            raise ckpt_io.CheckpointError(f"{out / ckpt_io.LAST} records no configuration")
        return config_from_dict(meta["config"])
    return None


def check_resumable(run_dir: str | os.PathLike, config: Any, stored: Any) -> None:
    """``ValueError`` unless ``config`` is of ``stored``'s objective and differs from it only
    in resumable fields."""
    if type(config) is not type(stored):
        raise ValueError(
            f"cannot resume {run_dir}: it holds a {type(stored).__name__} run, not a "
            f"{type(config).__name__} one"
        )
    changed = sorted(set(stored.diff(config)) - RESUMABLE_FIELDS)
    if changed:
        raise ValueError(
            f"cannot resume {run_dir}: config differs from the stored run in "
            f"{', '.join(changed)} (only {', '.join(sorted(RESUMABLE_FIELDS))} may change)"
        )


def last_step(run_dir: str | os.PathLike) -> int | None:
    """The optimizer step of ``run_dir``'s last checkpoint (read from its header), or ``None``."""
    path = Path(run_dir) / ckpt_io.LAST
    if not path.is_file():
        return None
    return int(ckpt_io.load_checkpoint(path, tensors="none").meta["step"])


def truncate_metrics(path: Path, step: int) -> None:
    """Drop metrics lines logged after ``step`` (written after the checkpoint resumed from);
    the file is replaced atomically, and only if a line goes."""
    if not path.exists():
        return
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    kept = [ln for ln in lines if json.loads(ln)["step"] <= step]
    if len(kept) < len(lines):
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            tmp.write_text("".join(ln + "\n" for ln in kept))
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


class RunWriter:
    """The one writer of a run directory: creates it if needed and takes its lock.

    Until :meth:`started` is called the start is provisional: :meth:`abandon` removes every
    file announced with :meth:`creates` that did not exist before, the lock file and the
    directories if this writer created them, and releases the lock. After :meth:`started` the
    run is resumable and :meth:`release` only gives the lock up.

    Raises :class:`~gridnav_agents.sic.runlock.RunLockedError` (an ``OSError``) when another
    writer holds the directory; nothing is then created or changed.
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.run_dir = Path(run_dir)
        self._new_dirs: list[Path] = []
        self._new_files: list[Path] = []
        self._started = False
        self._lock = RunLock(self.run_dir)
        try:
            self._make_dirs()
            self._lock.acquire()
        except BaseException:
            self._remove_new_dirs()
            raise

    def creates(self, *paths: Path) -> None:
        """Announce files the start is about to write (those that exist already are kept)."""
        self._new_files += [p for p in paths if not p.exists()]

    def started(self) -> None:
        """The run is on disk (a checkpoint and ``config.json``): nothing will be undone."""
        self._started = True

    def abandon(self) -> None:
        """Undo a start that did not complete (see the class docstring) and release the lock."""
        if self._started or not self._lock.held:
            self.release()
            return
        for path in self._new_files:
            path.unlink(missing_ok=True)
        self._lock.release(remove=self._lock.created)
        self._remove_new_dirs()

    def release(self) -> None:
        """Give the lock up."""
        self._lock.release()

    def _make_dirs(self) -> None:
        """Create the run directory and missing parents, recording those this writer made."""
        missing = []
        for p in [self.run_dir, *self.run_dir.parents]:
            if p.is_dir():
                break
            missing.append(p)
        for p in reversed(missing):  # outermost first
            try:
                p.mkdir()
            except FileExistsError:
                if not p.is_dir():
                    raise
                continue
            self._new_dirs.append(p)

    def _remove_new_dirs(self) -> None:
        for d in reversed(self._new_dirs):  # deepest first; never a directory with content
            try:
                d.rmdir()
            except OSError:
                break
