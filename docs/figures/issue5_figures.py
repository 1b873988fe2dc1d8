"""Figures and data files of docs/results.md and docs/probes/ (docs/probes/README.md lists them).

    python docs/figures/issue5_figures.py curves RUN [RUN ...] --out docs/figures/i5_curves.png
    python docs/figures/issue5_figures.py evals EVALS.jsonl --out docs/figures/i5_evals.png
    python docs/figures/issue5_figures.py emergence LOG [LOG ...] --out i5_emergence.png
    python docs/figures/issue5_figures.py separation RUN [RUN ...] --out i5_separation.png
    python docs/figures/issue5_figures.py ideal PRESET [KEY=VALUE ...] [RUN ...] --out F.jsonl \
        [--batches 1-3] [--placements 1-2] [--units N] [--effort F]
    python docs/figures/issue5_figures.py periods RUN [RUN ...] --out P.jsonl

``curves``: the four losses of each run's ``metrics.jsonl`` against training seconds.
``emergence``: frac_grid, median gridness, active units and decoding error against training
seconds from ``benchmarks/emergence.py``'s stderr logs (one JSON point a line; the file stem
names the run).
``separation``: where each trained run's separation loss comes from, on 4 of its own training
batches (seed 0): eq. 4's kernel against the pairs' distance, the share of pairs, and the
cumulative share of the loss (``gridnav_agents.sic.losses.separation_profile``); one JSON line
per run on stdout (pair-distance median and 90th percentile, the aliasing share: the kernel
above the far-pair floor past 0.5 m, as a share of the far-pair loss).
``ideal``: the loss (eq. 8 without conformal isometry, per-pair means) that hand-built grid
codes reach on 3 of the preset's training batches (seed 0), each position function averaged
over 2 random placements of the lattice: unit ``i`` fires ``exp(κ (s_i(x) - 1))``, ``s_i`` the
three-cosine grid of ``gridnav_agents.analysis.synthetic.grid_rate`` with its phase on a regular
sub-lattice of the unit cell, plus one constant unit of share ``c``; ``g`` = NormReLU of that.
A function of position has invariance only from pairs up to σx apart. Nelder-Mead from a few
starts finds the best code of one module (121 units, or N - 1 with ``--units N``: spacing, κ,
c) and of two modules (64 + 64, or (N - 1) // 2 each: spacing, spacing ratio, relative
orientation, κ each, relative amplitude, c; phases on the Fibonacci lattice where the count is
not a square); one JSON line each, also written to ``--out``; ``--effort F`` gives
Nelder-Mead F times its evaluations. Arguments without ``=`` are trained runs (or
``pretrained``): their losses on the same batches, without the conformal-isometry term.
``periods``: each active unit's period, the distance to the nearest peak of its
autocorrelogram (metres), and that peak's axis (degrees in [0, 180)), in a 2 m box on the
trajectories of ``gridnav analyze --boxes 2``. Unlike the analysis's spacing (the mean over six
peaks), it is the lattice side of a square lattice and the period of a band. One JSON line per
run to ``--out``. Units fall into groups where the sorted periods jump by more than 15 %
(``detect_modules``' rule; groups of at least 5 units), and each group gets
``module_coherence`` and ``module_locking`` R² on held-out trajectories, as ``analyze`` gives
hexagonal modules. The line without the per-unit lists goes to stdout.
``evals``: frac_grid, best gridness and decoding error of periodic ``analyze`` evaluations (one
JSON object a line with ``run``, ``train_s``, ``frac_grid``, ``max_g``, ``decoding_error_m`` or
``dec_err``, ``chance``), as in docs/figures/i5_probe_evals.jsonl.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LOSSES = ("separation", "invariance", "capacity", "conformal_isometry")


def curves(runs: list[str], out: str) -> None:
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    for run in runs:
        rows = [json.loads(x) for x in Path(run, "metrics.jsonl").read_text().splitlines() if x]
        t = [r["elapsed_s"] / 60 for r in rows]
        for ax, name in zip(axes, LOSSES, strict=True):
            ax.plot(t, [r[name] for r in rows], lw=1, label=Path(run).name)
    for ax, name in zip(axes, LOSSES, strict=True):
        ax.set_title(name)
        ax.set_xlabel("training time (min)")
    axes[3].set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=80)


def evals(path: str, out: str) -> None:
    rows = [json.loads(x) for x in Path(path).read_text().splitlines() if x]
    runs = sorted({r["run"] for r in rows})
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for run in runs:
        rs = sorted((r for r in rows if r["run"] == run), key=lambda r: r["train_s"])
        t = [r["train_s"] / 60 for r in rs]
        err = [r.get("decoding_error_m", r.get("dec_err")) for r in rs]
        axes[0].plot(t, [r["frac_grid"] for r in rs], "o-", ms=3, label=run)
        axes[1].plot(t, [r.get("max_g") for r in rs], "o-", ms=3, label=run)
        axes[2].plot(t, err, "o-", ms=3, label=run)
    axes[0].axhline(0.5, color="k", ls=":", lw=1)
    axes[1].axhline(0.3, color="k", ls=":", lw=1)
    axes[0].set_ylabel("frac_grid (gridness > 0.3)")
    axes[1].set_ylabel("best unit's gridness")
    axes[2].set_ylabel("median decoding error (m)")
    if rows:
        axes[2].axhline(rows[0].get("chance", 0.72), color="k", ls=":", lw=1)
    for ax in axes:
        ax.set_xlabel("training time (min, 1 core); 2 m box")
    axes[2].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(out, dpi=80)


def _finish(fig, axes, ylabels: tuple[str, ...], xlabel: str, out: str) -> None:
    for ax, label in zip(axes, ylabels, strict=True):
        ax.set_ylabel(label)
        ax.set_xlabel(xlabel)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=80)


def emergence(logs: list[str], out: str) -> None:
    fig, axes = plt.subplots(1, 4, figsize=(18, 3.8))
    keys = ("frac_grid", "gridness_median", "n_active", "decoding_error_m")
    labels = ("frac_grid (gridness > 0.3)", "median gridness", "active units", "decoding (m)")
    for log in logs:
        rows = [json.loads(x) for x in Path(log).read_text().splitlines() if x.startswith("{")]
        rows = [r for r in rows if "frac_grid" in r]
        t = [r["train_s"] / 60 for r in rows]
        for ax, key in zip(axes, keys, strict=True):
            ax.plot(t, [r[key] for r in rows], "o-", ms=3, label=Path(log).stem)
    axes[0].axhline(0.5, color="k", ls=":", lw=1)
    axes[1].axhline(0.3, color="k", ls=":", lw=1)
    _finish(fig, axes, labels, "training time (min, 1 core); 2 m box", out)


def separation(runs: list[str], out: str) -> None:
    import numpy as np
    import torch

    from gridnav_agents.sic import SICConfig
    from gridnav_agents.sic.checkpoint import (
        encoder_from_checkpoint,
        load_checkpoint,
        resolve_checkpoint,
    )
    from gridnav_agents.sic.losses import separation_profile
    from gridnav_agents.sic.train import batch_states, sample_batch, start_state

    edges = np.arange(0.0, 3.05, 0.05)
    mid = (edges[:-1] + edges[1:]) / 2
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    for run in runs:
        ckpt = load_checkpoint(resolve_checkpoint(run), tensors="model")  # run dir or "pretrained"
        config = SICConfig.from_dict(ckpt.meta["config"])
        model, rng = encoder_from_checkpoint(ckpt).eval(), np.random.default_rng(0)
        counts, sums = np.zeros(len(mid)), np.zeros(len(mid))
        for _ in range(4):
            with torch.no_grad():
                # the batches of the checkpoint's step (a curriculum changes their shape),
                # from the start state training used (start_walk)
                batch = sample_batch(config, rng, ckpt.meta["step"])
                g, x = batch_states(model, batch, start_state(model, config, rng))
            c, k = separation_profile(g, x, config.sigma_g, edges)
            counts, sums = counts + c, sums + np.nan_to_num(k) * c
        kernel = sums / np.maximum(counts, 1)
        far = mid > config.sigma_x  # the first bin holds the same-place pairs
        share = np.where(far, sums, 0) / sums[far].sum()
        name = Path(run).name
        axes[0].plot(mid[counts > 0], kernel[counts > 0], "o-", ms=3, label=name)
        axes[1].plot(mid, counts / counts.sum(), "o-", ms=3, label=name)
        axes[2].plot(mid, np.cumsum(share), "o-", ms=3, label=name)
        cdf = np.cumsum(counts) / counts.sum()
        beyond = mid > 0.5  # the aliasing bumps: kernel above the far-pair floor past 0.5 m
        floor = np.median(kernel[beyond & (counts > 0)])
        row = {
            "run": name,
            "sigma_x": config.sigma_x,
            "separation": sums[far].sum() / counts[far].sum(),
            "median_pair_m": mid[np.searchsorted(cdf, 0.5)],
            "p90_pair_m": mid[np.searchsorted(cdf, 0.9)],
            "aliasing_share": (np.clip(kernel - floor, 0, None) * counts)[beyond].sum()
            / sums[far].sum(),
        }
        row |= {
            f"share_{a:.1f}_{b:.1f}m": share[(mid > a) & (mid < b)].sum()
            for a, b in ((0.0, 0.2), (0.2, 0.6), (0.6, 1.0), (1.0, 2.0), (2.0, 3.0))
        }
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))
    labels = ("mean kernel exp(-|Δg|²/2σg²)", "share of pairs", "cumulative share of separation")
    _finish(fig, axes, labels, "pair distance in space (m), training batches", out)


def _ideal_code(x, modules, const):
    """NormReLU of the rates at ``x (P, 2)`` m of ``modules`` [(spacing m, orientation deg,
    units (a square: phases on a q×q sub-lattice), κ, amplitude)], plus a constant unit."""
    import numpy as np

    from gridnav_agents.analysis.synthetic import grid_rate

    parts = []
    for spacing, orient, units, kappa, amp in modules:
        q = int(round(np.sqrt(units)))
        if q * q == units:  # a regular q×q sub-lattice of the unit cell
            u = np.stack(np.meshgrid(np.arange(q) / q, np.arange(q) / q), -1).reshape(-1, 1, 2)
        else:  # any other count: the Fibonacci lattice, an even cover of the unit torus
            k = np.arange(units)
            u = np.stack([k / units, (k * (np.sqrt(5) - 1) / 2) % 1], -1)[:, None, :]
        ang = np.deg2rad([orient, orient + 60.0])
        basis = spacing * np.stack([np.cos(ang), np.sin(ang)], -1)  # (2, 2) lattice vectors
        phases = (u @ basis)[:, 0]  # (units, 2) offsets within the unit cell
        s = grid_rate(x[:, None, :], spacing, orient, phases)  # (P, units) in [0, 1]
        parts.append(amp * np.exp(kappa * (s - 1)))
    r = np.concatenate(parts, 1)
    r = r / np.linalg.norm(r, axis=1, keepdims=True)
    return np.concatenate([r * np.sqrt(1 - const**2), np.full((len(r), 1), const)], 1)


def ideal(
    args: list[str],
    out: str,
    n_batches: int = 3,
    n_placements: int = 2,
    units: int | None = None,
    effort: float = 1.0,
) -> None:
    """The best hand-built one- and two-module codes under a setting's losses (Nelder-Mead),
    averaged over ``n_batches`` training batches and ``n_placements`` placements of the lattice;
    trained runs named among ``args`` are scored on the same batches. ``units`` (the network's
    N) gives one module N - 1 units and two modules (N - 1) // 2 each, beside the constant
    unit; None: 121 units for one module and 64 + 64 for two. ``effort`` multiplies the
    Nelder-Mead evaluation budgets (150 for one module, 300 for two, from each start)."""
    import numpy as np
    import torch
    from scipy.optimize import minimize

    from gridnav_agents.sic import PRESETS
    from gridnav_agents.sic.checkpoint import load_encoder
    from gridnav_agents.sic.losses import capacity_loss, pairwise_losses
    from gridnav_agents.sic.train import compute_losses, sample_batch

    runs = [a for a in args[1:] if "=" not in a]
    overrides = [a for a in args[1:] if "=" in a]
    config, setting = PRESETS[args[0]].with_overrides(overrides), " ".join([args[0], *overrides])
    rng = np.random.default_rng(0)
    if not 1 <= n_batches <= 3:
        raise ValueError(f"n_batches must be 1, 2 or 3, got {n_batches}")
    if not 1 <= n_placements <= 2:
        raise ValueError(f"n_placements must be 1 or 2, got {n_placements}")
    if not effort > 0:
        raise ValueError(f"effort must be positive, got {effort}")
    if units is not None and units < 5:
        raise ValueError(f"units must be at least 5, got {units}")
    n_one, n_two = (121, 64) if units is None else (units - 1, (units - 1) // 2)
    batches = [sample_batch(config, rng) for _ in range(3)][:n_batches]
    xs = [np.concatenate([np.asarray(b.start)[None], b.positions.reshape(-1, 2)]) for b in batches]
    shifts = rng.uniform(-5, 5, size=(2, 2))[:n_placements]  # metres: where the lattice sits
    turns = rng.uniform(0, np.pi, size=2)[:n_placements]  # radians: how it is turned
    rots = [np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) for a in turns]

    def losses(modules, const):
        rows = []
        for x in xs:
            for shift, rot in zip(shifts, rots, strict=True):
                g = torch.as_tensor(_ideal_code(x @ rot + shift, modules, const))
                sep, inv = pairwise_losses(g, x, config.sigma_x, config.sigma_g)
                rows.append([float(sep), float(inv), float(capacity_loss(g))])
        sep, inv, cap = np.mean(rows, 0)
        total = config.lambda_sep * sep + config.lambda_inv * inv + config.lambda_cap * cap
        return {"loss": total, "separation": sep, "invariance": inv, "capacity": cap}

    def one(p):
        return [(p[0], 0.0, n_one, p[1], 1.0)], p[2]

    def two(p):
        return [(p[0], 0.0, n_two, p[3], 1.0), (p[0] * p[1], p[2], n_two, p[4], p[5])], p[6]

    def valid(modules, const):  # modules in rising spacing, each wider than 0.2 m
        spacings = [m[0] for m in modules]
        ok = all(m[3] > 0.05 and m[4] > 0 for m in modules) and 0 <= const < 0.99
        return ok and spacings[0] > 0.2 and spacings == sorted(spacings)

    starts = {
        "one": ([1.2, 30, 0.76], [1.8, 30, 0.76], [0.8, 15, 0.7]),
        "two": ([0.8, 1.45, 30, 20, 20, 1.2, 0.76], [1.0, 1.6, 20, 25, 25, 1.0, 0.76]),
    }
    lines = []
    for run in runs:  # trained encoders on the same batches, weighted by this setting's λs
        model = load_encoder(run).eval()
        with torch.no_grad():
            parts = [compute_losses(model, b, config) for b in batches]
        row = {k: float(np.mean([float(p[k]) for p in parts])) for k in parts[0]}
        row["loss"] -= config.lambda_coniso * row.pop("conformal_isometry")
        row = {k: round(v, 4) for k, v in row.items()}
        lines.append(json.dumps({"setting": setting, "run": run} | row))
        print(lines[-1], flush=True)
    for kind, build, fev in (("one", one, round(150 * effort)), ("two", two, round(300 * effort))):

        def f(p, build=build):
            code = build(p)
            return losses(*code)["loss"] if valid(*code) else 10.0

        best = min(
            (minimize(f, x0, method="Nelder-Mead", options={"maxfev": fev}) for x0 in starts[kind]),
            key=lambda r: r.fun,
        )
        modules, const = build(best.x)
        row = {"setting": setting, "modules": len(modules), "constant_share": const**2}
        row["effort"], row["evaluations"] = effort, int(best.nfev)
        row["units"] = [m[2] for m in modules]
        row["spacing_m"] = [m[0] for m in modules]
        row["orientation_deg"] = [m[1] for m in modules]
        row["kappa"] = [m[3] for m in modules]
        row["amplitude"] = [m[4] for m in modules]
        row |= losses(modules, const)
        row = {k: np.round(v, 4).tolist() if not isinstance(v, str) else v for k, v in row.items()}
        lines.append(json.dumps(row))
        print(lines[-1], flush=True)
    Path(out).write_text("\n".join(lines) + "\n")


def periods(runs: list[str], out: str) -> None:
    """Each unit's period: the distance to its autocorrelogram's nearest peak, and its axis;
    groups of units by period, and whether each group is coherent and locked to the others."""
    import numpy as np

    from gridnav_agents.analysis.evaluate import _analyze_box
    from gridnav_agents.analysis.gridness import _peaks
    from gridnav_agents.analysis.modules import detect_modules, module_coherence, module_locking
    from gridnav_agents.sic import load_encoder
    from gridnav_env import SmoothMotion

    bin_size = 0.05
    lines = []
    for run in runs:  # the trajectories and maps of `gridnav analyze --boxes 2`
        box = _analyze_box(
            load_encoder(run),
            2.0,
            np.random.default_rng(0),
            n_traj=None,
            n_steps=None,
            bin_size=bin_size,
            motion=SmoothMotion(),
            subsample=None,
            samples_per_m2=2000.0,
        )
        report, arrays = box["report"], box["arrays"]
        act, maps, sac, active = arrays["act"], arrays["maps"], arrays["sac"], arrays["active"]
        g90 = report["gridness_90"]
        per_traj = report["n_samples"] // report["n_traj"]
        n_test = max(1, min(report["n_traj"] // 4, 16))  # held-out trajectories, as in `analyze`
        test, train = act[: n_test * per_traj], act[n_test * per_traj :]
        period, axis = np.full(len(maps), np.nan), np.full(len(maps), np.nan)
        for i in np.flatnonzero(active):
            p = _peaks(sac[i], 0.1)
            if len(p):
                near = p[np.argmin(np.hypot(p[:, 0], p[:, 1]))]
                period[i] = np.hypot(*near) * bin_size
                axis[i] = np.rad2deg(np.arctan2(near[1], near[0])) % 180.0
        # The module rule on the periods of every unit that has one, groups of >= 5 units.
        eligible = np.where(np.isfinite(period), 1.0, np.nan)
        labels = detect_modules(
            maps, bin_size, min_units=5, gridness=eligible, spacing_m=period, orientation_deg=axis
        ).labels
        units = [np.flatnonzero(labels == m) for m in range(labels.max() + 1)]
        row = {
            "run": run,
            "n_active": int(active.sum()),
            "n_square": int(np.sum(g90[active] > 0.3)),
            "groups": [
                {
                    "units": len(u),
                    "period_m": round(float(np.median(period[u])), 3),
                    "axis_deg": round(float(np.median(axis[u])), 1),
                }
                for u in units
            ],
        }
        if units:
            row["coherence_r2"] = np.round(module_coherence(train, test, labels), 3).tolist()
        if len(units) > 1:  # row i: how well group j's activity predicts group i's units
            lock = np.round(module_locking(train, test, labels), 3)
            row["locking_r2"] = [[None if np.isnan(v) else v for v in r] for r in lock.tolist()]
        print(json.dumps(row), flush=True)
        for key, values, digits in (("period_m", period, 3), ("axis_deg", axis, 1)):
            row[key] = [None if np.isnan(v) else v for v in np.round(values[active], digits)]
        lines.append(json.dumps(row))
    Path(out).write_text("\n".join(lines) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "kind", choices=["curves", "evals", "emergence", "separation", "ideal", "periods"]
    )
    p.add_argument("inputs", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--batches", type=int, default=3, help="ideal: training batches (1-3)")
    p.add_argument("--placements", type=int, default=2, help="ideal: lattice placements (1-2)")
    p.add_argument(
        "--units", type=int, default=None, help="ideal: the network's N (default: 121 / 64+64)"
    )
    p.add_argument("--effort", type=float, default=1.0, help="ideal: × Nelder-Mead evaluations")
    a = p.parse_args()
    if a.kind == "curves":
        curves(a.inputs, a.out)
    elif a.kind == "emergence":
        emergence(a.inputs, a.out)
    elif a.kind == "separation":
        separation(a.inputs, a.out)
    elif a.kind == "ideal":
        ideal(a.inputs, a.out, a.batches, a.placements, a.units, a.effort)
    elif a.kind == "periods":
        periods(a.inputs, a.out)
    else:
        evals(a.inputs[0], a.out)


if __name__ == "__main__":
    main()
