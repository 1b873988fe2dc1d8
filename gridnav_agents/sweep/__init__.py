"""Sweeps: many pretraining runs and their analyses as Ray tasks (``pip install -e ".[sweep]"``).

* :func:`parse_grid` / :func:`build_trials` / :class:`Trial` — the validated trials (``grid.py``).
* :func:`run_trial` — one trial, a plain function of a JSON dict (``trial.py``).
* :func:`run_sweep` — the Ray driver, resumable, with progress lines (``driver.py``).
* ``results`` — rows, ``results.csv`` / ``results.json``, the summary over seeds (``results.py``).
* :func:`plot_summary` — ``summary.png`` (``plots.py``); ``gridnav sweep`` (``cli.py``).
"""

from gridnav_agents._lazy import lazy_exports

_EXPORTS = {
    "Trial": "grid",
    "build_trials": "grid",
    "parse_grid": "grid",
    "run_trial": "trial",
    "run_sweep": "driver",
    "write_results": "results",
    "summarise": "results",
    "plot_summary": "plots",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
