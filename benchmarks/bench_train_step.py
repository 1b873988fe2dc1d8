"""One SIC training step at the paper's scale: gridnav vs a naive dense reference.

A step is: encoder forward on one batch (B=130 permutations of T=60 velocities, N=128), the
four losses exact over all pairs of the B·T+1 states, backward, norm clipping, AdamW step.

* ``gridnav``: ``gridnav_agents.sic.train.compute_losses`` (MLP on the T distinct velocities,
  streamed pairwise losses with gradients in one pass).
* ``naive``: written here the straightforward way: the MLP on all B·T velocities (the B·T
  matrices W stored), dense ``cdist`` matrices for states and positions, boolean masks, autograd.

Each implementation runs in its own subprocess so its peak resident memory
(``getrusage().ru_maxrss``) is its own. Prints one JSON object.

    python benchmarks/bench_train_step.py [--steps 3] [--naive-steps 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
import torch


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def naive_losses(model, batch, config) -> dict[str, torch.Tensor]:
    """Dense reference of ``compute_losses`` (same definitions, no tricks)."""
    from gridnav_agents.sic.model import norm_relu

    v_steps = torch.as_tensor(batch.batch_velocities, dtype=torch.float32)  # (B, T, 2)
    n_traj, n_steps, _ = v_steps.shape
    w = model.transition(v_steps)  # (B, T, N, N): one MLP evaluation per sample
    g = model.initial_state(n_traj)
    states = []
    for t in range(n_steps):
        g = norm_relu(torch.bmm(w[:, t], g.unsqueeze(-1)).squeeze(-1))
        states.append(g)
    states = torch.stack(states, 1)
    n = states.shape[-1]
    g_all = torch.cat([model.g0[None], states.reshape(-1, n)])
    x_all = torch.as_tensor(
        np.concatenate([batch.start[None], batch.positions.reshape(-1, 2)]), dtype=torch.float64
    )
    d2 = torch.cdist(g_all, g_all) ** 2
    dx = torch.cdist(x_all, x_all)
    off = ~torch.eye(len(g_all), dtype=torch.bool)
    sep = torch.exp(-d2 / (2 * config.sigma_g**2))[(dx > config.sigma_x) & off].mean()
    inv = d2[(dx < config.sigma_x) & off].mean()
    cap = -(g_all.mean(0) ** 2).sum()
    g_prev = torch.cat([model.g0.expand(n_traj, 1, n), states[:, :-1]], 1).reshape(-1, n)
    speed = v_steps.reshape(-1, 2).norm(dim=-1)
    keep = (speed > 0) & (speed < config.sigma_x)
    ratio = (states.reshape(-1, n)[keep] - g_prev[keep]).norm(dim=-1) / speed[keep]
    coniso = ratio.var(unbiased=False)
    loss = (
        config.lambda_sep * sep
        + config.lambda_inv * inv
        + config.lambda_cap * cap
        + config.lambda_coniso * coniso
    )
    return {
        "loss": loss,
        "separation": sep,
        "invariance": inv,
        "capacity": cap,
        "conformal_isometry": coniso,
    }


def worker(impl: str, steps: int, batch_size: int, seq_len: int, seed: int) -> dict:
    load = os.getloadavg()[0]
    from gridnav_agents.sic.config import PRESETS
    from gridnav_agents.sic.train import build_encoder, compute_losses, sample_batch

    config = PRESETS["paper"].with_overrides(
        [f"batch_size={batch_size}", f"seq_len={seq_len}", "device=cpu"]
    )
    model = build_encoder(config, torch.Generator().manual_seed(seed))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    rng = np.random.default_rng(seed)
    batches = [sample_batch(config, rng) for _ in range(steps)]
    fn = compute_losses if impl == "gridnav" else naive_losses
    base_rss, times, first = _rss_mb(), [], None
    for batch in batches:
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        losses = fn(model, batch, config)
        losses["loss"].backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        times.append(time.perf_counter() - t0)
        if first is None:
            first = {k: v.item() for k, v in losses.items() if v is not None}
    return {
        "impl": impl,
        "steps": steps,
        "sec_per_step": float(np.median(times)),
        "step_times_s": [round(t, 3) for t in times],
        "peak_rss_mb": round(_rss_mb(), 1),
        "rss_before_first_step_mb": round(base_rss, 1),
        "first_step_losses": first,
        "threads": torch.get_num_threads(),
        "load_average_1min_at_start": round(load, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3, help="timed gridnav steps (median reported)")
    p.add_argument("--naive-steps", type=int, default=2, help="timed naive steps")
    p.add_argument("--batch-size", type=int, default=130)
    p.add_argument("--seq-len", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument(
        "--omp-wait-policy",
        default="PASSIVE",
        help="OMP_WAIT_POLICY for both workers (PASSIVE: idle OpenMP threads sleep instead of "
        "spinning, which matters when other processes share the cores); 'default' leaves it",
    )
    p.add_argument("--impl", choices=["gridnav", "naive"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.impl:  # subprocess mode
        steps = args.steps if args.impl == "gridnav" else args.naive_steps
        print(json.dumps(worker(args.impl, steps, args.batch_size, args.seq_len, args.seed)))
        return
    results = {}
    for impl in ("gridnav", "naive"):
        cmd = [
            sys.executable,
            __file__,
            "--impl",
            impl,
            "--steps",
            str(args.steps),
            "--naive-steps",
            str(args.naive_steps),
            "--batch-size",
            str(args.batch_size),
            "--seq-len",
            str(args.seq_len),
            "--seed",
            str(args.seed),
        ]
        if args.threads:
            cmd += ["--threads", str(args.threads)]
        env = dict(os.environ)
        if args.omp_wait_policy != "default":
            env["OMP_WAIT_POLICY"] = args.omp_wait_policy
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
        results[impl] = json.loads(out.strip().splitlines()[-1])
    g, n = results["gridnav"], results["naive"]
    loss_gap = max(
        abs(g["first_step_losses"][k] - n["first_step_losses"][k]) for k in g["first_step_losses"]
    )
    summary = {
        "config": {
            "B": args.batch_size,
            "T": args.seq_len,
            "N": 128,
            "states": args.batch_size * args.seq_len + 1,
            "exact_pairs": True,
            "accumulate": 1,
            "device": "cpu",
            "OMP_WAIT_POLICY": args.omp_wait_policy,
        },
        "gridnav": g,
        "naive": n,
        "speedup": round(n["sec_per_step"] / g["sec_per_step"], 2),
        "max_abs_loss_difference_first_step": loss_gap,
        "goal": {
            "speedup>=5": n["sec_per_step"] / g["sec_per_step"] >= 5,
            "gridnav_peak_rss<=1GB": g["peak_rss_mb"] <= 1024,
        },
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
