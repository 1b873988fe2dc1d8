"""One trial of a sweep as a plain function of a JSON dict: pretrain (resuming), analyse, and
return the results row. Ray runs it as a task; nothing in it depends on Ray."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gridnav_agents.sweep.grid import RESULT_FILE, spec_key
from gridnav_agents.sweep.results import atomic_write_text, trial_row

__all__ = ["run_trial"]


def run_trial(spec: dict[str, Any]) -> dict[str, Any]:
    """Train the trial's run in ``spec["run_dir"]`` (resuming its last checkpoint if there is
    one) for the config's ``n_steps`` or ``max_seconds`` of training, analyse the last
    checkpoint in ``spec["boxes"]`` (``run_dir/analysis/report.json``), write the run's
    ``sweep_result.json`` and return the row (:func:`~.results.trial_row`).

    ``spec`` is :meth:`~.grid.Trial.spec`: ``name``, ``run_dir``, ``swept``, ``threads`` (torch
    threads, set before anything else), ``config`` (a ``SICConfig`` dict), ``boxes`` (metres),
    ``max_seconds`` and ``analysis_seed``.

    Raises:
        RuntimeError: the training was interrupted (its checkpoint stays for a resumption).
        NonFiniteLossError: the run diverged.
    """
    from gridnav_agents.threads import set_threads

    set_threads(spec["threads"])
    import torch

    torch.set_num_threads(spec["threads"])
    from gridnav_agents.analysis.evaluate import analyze
    from gridnav_agents.sic.checkpoint import LAST, encoder_from_checkpoint, load_checkpoint
    from gridnav_agents.sic.config import SICConfig
    from gridnav_agents.sic.train import train

    run_dir = Path(spec["run_dir"])
    config = SICConfig.from_dict(spec["config"])
    resume = (run_dir / "config.json").exists()
    summary = train(config, run_dir, resume=resume, progress=False, max_seconds=spec["max_seconds"])
    if summary.get("interrupted"):
        raise RuntimeError(f"trial {spec['name']} was interrupted at step {summary['step']}")
    ckpt = load_checkpoint(run_dir / LAST, tensors="model")
    report = analyze(
        encoder_from_checkpoint(ckpt).eval(),
        spec["boxes"],
        run_dir / "analysis",
        seed=spec["analysis_seed"],
        topology=False,
        figures=False,
        stability=False,
    )
    row = trial_row(
        spec,
        report,
        steps=ckpt.meta["step"],
        train_s=ckpt.meta["train_state"]["elapsed_s"],
        encoder_sha256=hashlib.sha256((run_dir / LAST).read_bytes()).hexdigest(),
    )
    stored = {"key": spec_key(spec), "row": row}
    atomic_write_text(run_dir / RESULT_FILE, json.dumps(stored, indent=1) + "\n")
    return row
