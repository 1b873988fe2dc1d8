"""One writer per run directory: an exclusive ``flock`` on ``<run dir>/.lock``.

The lock belongs to an open file, so the kernel releases it when its holder exits or is
killed; nothing stale is left to clean up. The holder writes its pid into the file, so a
second writer's error can name it. Readers (analysis, viz, :func:`load_encoder`) never take
the lock: checkpoints and ``config.json`` are replaced atomically.

A writer that removes the lock file (a failed start that created it) does so while holding
the lock; an acquirer checks, once locked, that its file is still the one at the path, and
retries otherwise, so two writers never hold locks on different files.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

__all__ = ["LOCK_NAME", "RunLock", "RunLockedError"]

LOCK_NAME = ".lock"


class RunLockedError(OSError):
    """Another process (or another writer in this one) holds the run directory's lock."""


class RunLock:
    """The exclusive lock of the run directory ``run_dir`` (which must exist).

    :meth:`acquire` never waits: it raises :class:`RunLockedError` naming the holder's pid.
    :meth:`release` (``remove=True``: also delete the lock file) may be called more than once.
    """

    def __init__(self, run_dir: str | os.PathLike):
        self.path = Path(run_dir) / LOCK_NAME
        self.created = False  # whether acquire() created the lock file
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, pid_wait_s: float = 2.0) -> RunLock:
        """Take the lock, or raise :class:`RunLockedError` (after up to ``pid_wait_s`` seconds
        for the holder to write its pid, when it has only just taken the lock)."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this RunLock")
        while True:
            fd, created = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunLockedError(
                    f"{self.path.parent} is in use by another writer "
                    f"({self._holder(pid_wait_s)}); wait for it to finish, or use another "
                    "directory"
                ) from None
            except BaseException:
                os.close(fd)
                raise
            if self._is_current(fd):
                break
            os.close(fd)  # the file was removed while we waited for it: take the new one
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            self._fd, self.created = fd, created
            self.release(remove=created)
            raise
        self._fd, self.created = fd, created
        return self

    def release(self, remove: bool = False) -> None:
        """Give the lock up; ``remove``: delete the lock file first (still holding it)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if remove:
                self.path.unlink(missing_ok=True)
            else:
                os.ftruncate(fd, 0)  # no pid: nobody holds it
        except OSError:
            pass  # a read-only or full disk: the lock itself is released below all the same
        finally:
            os.close(fd)  # releases the flock

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    # ------------------------------------------------------------------ internals
    def _open(self) -> tuple[int, bool]:
        """Open the lock file, creating it if needed: ``(fd, created)``."""
        while True:
            try:
                return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644), True
            except FileExistsError:
                pass
            try:
                return os.open(self.path, os.O_RDWR), False
            except FileNotFoundError:
                continue  # removed between the two calls: create it

    def _is_current(self, fd: int) -> bool:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        own = os.fstat(fd)
        return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)

    def _holder(self, wait_s: float) -> str:
        """``"pid N"`` from the lock file, waiting up to ``wait_s`` for the holder to write it."""
        deadline = time.monotonic() + wait_s
        while True:
            try:
                text = self.path.read_text().strip()
            except OSError:
                text = ""
            if text.isdigit():
                return f"pid {text}"
            if time.monotonic() >= deadline:
                return "pid unknown"
            time.sleep(0.01)
