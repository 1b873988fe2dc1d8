"""Benchmark: time-to-grid-cells of SIC pretraining on a CPU (issue 5).

Trains a preset (default ``cpu``) for a wall-clock budget, and every ``--eval-every`` seconds of
training analyses the current encoder in a 2 m box (smooth trajectories, ``gridnav analyze``'s
pipeline, no topology) and records the fraction of active units with gridness > 0.3, the number
of modules and their spacings. Prints one JSON object: the curve of these numbers against the
training seconds (evaluation time excluded) and the machine.

    python benchmarks/emergence.py                          # cpu preset, 30 min, eval every 5 min
    python benchmarks/emergence.py --minutes 10 --eval-every 120 --set lambda_cap=0
    python benchmarks/emergence.py --out /tmp/emergence --preset quick --threads 2

The run directory (``--out``, default a temporary one) is an ordinary ``gridnav pretrain`` run:
``gridnav analyze OUT --boxes 2 3 4`` analyses it fully afterwards. Training is resumed
bit-for-bit between evaluation chunks (``train(..., resume=True, stop_after=k)``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def evaluate(run_dir: Path, boxes: list[float], seed: int, samples_per_m2: float) -> dict:
    """frac_grid (both gridness conventions), n_active, modules and decoding error (with its
    chance level) of the run's last checkpoint in the first box; the other boxes' figures under
    ``"box_<L>"``."""
    import numpy as np

    from gridnav_agents.analysis import analyze
    from gridnav_agents.sic import load_encoder

    encoder = load_encoder(run_dir)
    t0 = time.perf_counter()
    rep = analyze(
        encoder,
        boxes,
        None,
        seed=seed,
        topology=False,
        samples_per_m2=samples_per_m2,
        stability=False,
    )
    out: dict = {}
    for i, box in enumerate(boxes):
        b = rep["boxes"][f"{box:g}"]
        g = np.array([np.nan if x is None else x for x in b["gridness"]], dtype=float)
        point = {
            "n_active": b["n_active"],
            "frac_grid": b["frac_grid"],
            "frac_grid_dm": b.get("frac_grid_dm"),
            "n_grid": int(np.sum(g[np.isfinite(g)] > 0.3)),
            "gridness_median": float(np.nanmedian(g)) if np.isfinite(g).any() else None,
            "gridness_max": float(np.nanmax(g)) if np.isfinite(g).any() else None,
            "n_modules": b["n_modules"],
            "n_independent_modules": b["n_independent_modules"],
            "spacings_m": [m["spacing_m"] for m in b["modules"]],
            "independent_spacings_m": [
                m["spacing_m"] for m in b["modules"] if m.get("independent")
            ],
            "decoding_error_m": b["decoding_error_m"],
            "decoding_chance_m": b["decoding_chance_m"],
        }
        if i == 0:
            out.update(point)
        else:
            out[f"box_{box:g}"] = point
    out["eval_s"] = round(time.perf_counter() - t0, 1)
    return out


def targets_met(point: dict, boxes: list[float]) -> bool:
    """The modules issue's targets at one evaluation: in the first box ≥ 2 independent modules
    with adjacent spacing ratios in [1.2, 2.0] and ≥ 50 % grid units under both gridness
    conventions; in a 4 m box (if evaluated) a median decoding error ≤ 0.2 m."""
    spacings = sorted(point.get("independent_spacings_m") or [])
    ratios = [b / a for a, b in zip(spacings[:-1], spacings[1:], strict=True)]
    modules = len(spacings) >= 2 and all(1.2 <= r <= 2.0 for r in ratios)
    grids = min(point.get("frac_grid") or 0, point.get("frac_grid_dm") or 0) >= 0.5
    big = point.get("box_4") if 4.0 in boxes[1:] else None
    decoding = big is None or (big["decoding_error_m"] or float("inf")) <= 0.2
    return modules and grids and decoding


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cpu", help="SICConfig preset (default cpu)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="overrides")
    parser.add_argument(
        "--minutes",
        type=float,
        default=30.0,
        help="training budget (default 30; stops earlier "
        "at the preset's n_steps, 7k for cpu: ~30 min on one core)",
    )
    parser.add_argument(
        "--eval-every", type=float, default=300.0, help="training seconds between evaluations"
    )
    parser.add_argument(
        "--boxes",
        type=float,
        nargs="+",
        default=[2.0],
        help="evaluation box sides, metres (default 2; the first is the main one)",
    )
    parser.add_argument("--samples-per-m2", type=float, default=1000.0, help="evaluation samples")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--out", default=None, help="run directory (default: temporary)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out (its config, clock)"
    )
    args = parser.parse_args(argv)

    import torch

    from gridnav_agents.sic import checkpoint as ckpt_io
    from gridnav_agents.sic.config import PRESETS, SICConfig
    from gridnav_agents.sic.train import train

    torch.set_num_threads(args.threads)
    if args.preset not in PRESETS:
        parser.error(f"unknown preset {args.preset!r}; choose from {sorted(PRESETS)}")
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="gridnav_emergence_"))
    config, elapsed, step = PRESETS[args.preset], 0.0, 0
    resume = args.resume
    if resume and (out / ckpt_io.LAST).exists():  # the stored run's config and clock
        meta = ckpt_io.load_checkpoint(out / ckpt_io.LAST, tensors="model").meta
        config = SICConfig.from_dict(meta["config"])
        elapsed, step = meta["train_state"]["elapsed_s"], meta["train_state"]["step"]
    config = config.with_overrides(args.set)
    budget = 60.0 * args.minutes
    curve: list[dict] = []
    chunk = 20  # optimizer steps per train() call; re-sized from the measured step time
    next_eval = elapsed
    while True:
        done = elapsed >= budget or step >= config.n_steps
        # Evaluate on schedule, and always on the final encoder.
        if elapsed >= next_eval or (done and curve[-1]["step"] != step):
            point = {"train_s": round(elapsed, 1), "step": step}
            if step > 0:
                point.update(evaluate(out, args.boxes, config.seed, args.samples_per_m2))
                point["targets_met"] = targets_met(point, args.boxes)
            curve.append(point)
            print(json.dumps(point), file=sys.stderr, flush=True)
            next_eval += args.eval_every
        if done:
            break
        summary = train(config, out, resume=resume, progress=False, stop_after=chunk)
        resume = True
        step_s = (summary["elapsed_s"] - elapsed) / max(1, summary["step"] - step)
        elapsed, step = summary["elapsed_s"], summary["step"]
        left = min(next_eval, budget) - elapsed
        chunk = max(1, min(500, int(left / max(step_s, 1e-3)) + 1))
    result = {
        "benchmark": "emergence",
        "preset": args.preset,
        "overrides": args.set,
        "run_dir": str(out),
        "budget_s": budget,
        "boxes_m": args.boxes,
        "threads": args.threads,
        "cpu_count": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "curve": curve,
        "first_frac_grid_ge_0.5_s": next(
            (p["train_s"] for p in curve if p.get("frac_grid", 0) >= 0.5), None
        ),
        "first_targets_met_s": next((p["train_s"] for p in curve if p.get("targets_met")), None),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
