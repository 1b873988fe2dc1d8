"""CPU threads: how many torch and the BLAS libraries use, and how their idle threads wait.

gridnav's commands run :data:`DEFAULT_THREADS` threads unless ``--threads`` says otherwise.
From Python, call :func:`set_threads` before importing torch::

    import gridnav_agents

    gridnav_agents.set_threads(1)
    import torch
"""

from __future__ import annotations

import os
import sys

__all__ = ["DEFAULT_THREADS", "set_threads"]

#: CPU threads per command unless ``--threads`` or ``OMP_NUM_THREADS`` says otherwise: two,
#: or one on a one-core machine (the encoder's matrices are small; docs/results.md, "Speed",
#: measures the choice with benchmarks/bench_threads.py).
DEFAULT_THREADS = min(2, os.cpu_count() or 1)

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def set_threads(n: int) -> None:
    """Use ``n`` CPU threads in torch and the BLAS libraries, with OpenMP threads that sleep
    instead of spinning while they wait (``OMP_WAIT_POLICY=PASSIVE``).

    Environment variables only take effect in libraries not yet loaded, so call this before
    importing torch; torch's own count is also set if it is already loaded.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"threads must be a positive integer, got {n!r}")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
