"""Theory map: do the SIC losses prefer several grid modules on a setting's training batches?

For a training setting (a preset plus ``--set`` overrides), the best hand-built code of each
kind is found by Nelder-Mead under that setting's losses (separation, invariance, capacity with
its λs, σx, σg; per-pair means), scored on the setting's own training batches:

* ``one``: one hexagonal module of ``N - 1`` units (phases on the Fibonacci lattice of the unit
  torus), tuning ``exp(κ(s - 1))`` of the ideal grid rate ``s``, plus a constant unit;
* ``two`` / ``three``: two or three modules sharing the units (spacing ratio, relative
  orientations, sharpness and amplitudes free), one NormReLU over all of them;
* ``place``: ``N - 1`` Gaussian place fields on a Fibonacci disk around the batch's centroid
  (radius and width free), plus a constant unit.

``run`` appends one JSON line per (setting, kind) to ``--out``; ``plot`` draws the margin of the
best multi-module code over the best single-module or place code against the batches' extent
(the 90th percentile of pair distances) and prints a markdown table.

    python docs/figures/theory_map.py run cpu step_scale_spread=16 sigma_g=0.2 --out map.jsonl
    python docs/figures/theory_map.py plot map.jsonl --out theory_map.png
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

KINDS = ("one", "two", "three", "place")


def _fibonacci_torus(n: int) -> np.ndarray:
    k = np.arange(n)
    return np.stack([k / n, (k * (np.sqrt(5) - 1) / 2) % 1], -1)


def module_rates(x, spacing, orient, units, kappa):
    """``(P, units)`` rates in (0, 1] of one hexagonal module at positions ``x (P, 2)`` m."""
    from gridnav_agents.analysis.synthetic import grid_rate

    ang = np.deg2rad([orient, orient + 60.0])
    basis = spacing * np.stack([np.cos(ang), np.sin(ang)], -1)
    phases = (_fibonacci_torus(units)[:, None, :] @ basis)[:, 0]
    return np.exp(kappa * (grid_rate(x[:, None, :], spacing, orient, phases) - 1))


def place_rates(x, units, radius, width, centre):
    """``(P, units)`` Gaussian place fields of ``width`` m on a Fibonacci disk of ``radius``."""
    k = np.arange(units) + 0.5
    r, th = radius * np.sqrt(k / units), k * np.pi * (3 - np.sqrt(5))
    c = centre + np.stack([r * np.cos(th), r * np.sin(th)], -1)
    return np.exp(-((x[:, None, :] - c[None]) ** 2).sum(-1) / (2 * width**2))


def _code(parts, amps, const):
    r = np.concatenate([a * p for a, p in zip(amps, parts, strict=True)], 1)
    r = r / np.maximum(np.linalg.norm(r, axis=1, keepdims=True), 1e-12)
    return np.concatenate([r * np.sqrt(1 - const**2), np.full((len(r), 1), const)], 1)


def family(kind: str, n: int):
    """``(build, starts)``: ``build(p)`` maps parameters to a function of positions (lattice
    frame, batch frame) -> states, or None where the parameters are invalid."""
    if kind == "one":

        def build(p):
            lam, kap, c = p
            if not (lam > 0.1 and kap > 0.05 and 0 <= c < 0.99):
                return None
            return lambda x, x0: _code([module_rates(x, lam, 0, n, kap)], [1], c)

        return build, [[0.6, 10, 0.7], [1.2, 30, 0.76], [2.5, 30, 0.7]]
    if kind == "two":

        def build(p):
            lam, r, th, k1, k2, a2, c = p
            if not (lam > 0.1 and 1.05 < r < 4 and min(k1, k2) > 0.05 and a2 > 0 and 0 <= c < 0.99):
                return None
            return lambda x, x0: _code(
                [module_rates(x, lam, 0, n // 2, k1), module_rates(x, lam * r, th, n - n // 2, k2)],
                [1, a2],
                c,
            )

        return build, [[0.5, 1.5, 20, 15, 15, 1, 0.7], [0.8, 1.45, 30, 20, 20, 1.2, 0.76],
                       [1.0, 1.7, 10, 25, 25, 1, 0.76]]  # fmt: skip
    if kind == "three":

        def build(p):
            lam, r, th2, th3, kap, c = p
            if not (lam > 0.1 and 1.05 < r < 3 and kap > 0.05 and 0 <= c < 0.99):
                return None
            m = n // 3
            return lambda x, x0: _code(
                [module_rates(x, lam, 0, m, kap), module_rates(x, lam * r, th2, m, kap),
                 module_rates(x, lam * r * r, th3, n - 2 * m, kap)],
                [1, 1, 1],
                c,
            )  # fmt: skip

        return build, [[0.4, 1.5, 20, 10, 15, 0.7], [0.6, 1.4, 30, 15, 20, 0.76]]
    if kind == "place":

        def build(p):
            rad, w, c = p
            if not (rad > 0.05 and w > 0.005 and 0 <= c < 0.99):
                return None
            return lambda x, x0: _code([place_rates(x0, n, rad, w, x0.mean(0))], [1], c)

        return build, [[1.0, 0.08, 0.7], [2.0, 0.15, 0.7], [0.5, 0.05, 0.6]]
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def run(preset: str, overrides: list[str], kinds, out: Path, n_batches: int, fev: int) -> None:
    """Best code of each kind under the setting's losses; one JSON line per kind to ``out``."""
    import torch
    from scipy.optimize import minimize

    from gridnav_agents.sic import PRESETS
    from gridnav_agents.sic.losses import capacity_loss, pairwise_losses
    from gridnav_agents.sic.train import sample_batch

    config = PRESETS[preset].with_overrides(overrides)
    rng = np.random.default_rng(0)
    xs = []
    for _ in range(n_batches):
        b = sample_batch(config, rng)
        xs.append(np.concatenate([np.asarray(b.start)[None], b.positions.reshape(-1, 2)]))
    extent = float(np.median(
        [np.percentile(np.linalg.norm(x[:, None] - x[None, ::7], axis=-1), 90) for x in xs]
    ))  # fmt: skip
    shift, turn = rng.uniform(-5, 5, size=2), rng.uniform(0, np.pi)
    rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])

    def losses(code):
        rows = []
        for x in xs:
            g = torch.as_tensor(code(x @ rot + shift, x))
            sep, inv = pairwise_losses(g, x, config.sigma_x, config.sigma_g)
            rows.append([float(sep), float(inv), float(capacity_loss(g))])
        sep, inv, cap = np.mean(rows, 0)
        total = config.lambda_sep * sep + config.lambda_inv * inv + config.lambda_cap * cap
        return {"loss": total, "separation": sep, "invariance": inv, "capacity": cap}

    for kind in kinds:
        t0 = time.perf_counter()
        build, starts = family(kind, config.n_units - 1)

        def f(p, build=build):
            code = build(p)
            return 10.0 if code is None else losses(code)["loss"]

        best = min(
            (minimize(f, np.array(s, float), method="Nelder-Mead", options={"maxfev": fev})
             for s in starts),
            key=lambda r: r.fun,
        )  # fmt: skip
        row = {"preset": preset, "set": overrides, "kind": kind, "p90_pair_m": round(extent, 3)}
        row |= {k: round(float(v), 6) for k, v in losses(build(best.x)).items()}
        row |= {"params": np.round(best.x, 4).tolist(), "seconds": round(time.perf_counter() - t0)}
        with open(out, "a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


def margins(rows: list[dict]) -> list[dict]:
    """Per setting: the best single (one module or place) and multi-module losses and the
    margin, relative to the single code's |total loss| and to its separation loss."""
    settings: dict[tuple, dict] = {}
    for r in rows:
        settings.setdefault((r["preset"], tuple(r["set"])), {})[r["kind"]] = r
    out = []
    for (preset, overrides), kinds in settings.items():
        if not {"one", "place"} <= set(kinds) or not {"two", "three"} & set(kinds):
            continue
        single = min((kinds[k] for k in ("one", "place")), key=lambda r: r["loss"])
        multi = min((kinds[k] for k in ("two", "three") if k in kinds), key=lambda r: r["loss"])
        gain = single["loss"] - multi["loss"]
        out.append({
            "setting": " ".join([preset, *overrides]),
            "p90_pair_m": single["p90_pair_m"],
            "best_single": single["kind"], "single_loss": single["loss"],
            "best_multi": multi["kind"], "multi_loss": multi["loss"],
            "margin_of_loss": gain / abs(single["loss"]),
            "margin_of_separation": gain / single["separation"],
        })  # fmt: skip
    return out


def plot(paths: list[str], out: str) -> None:
    """The margin against the batches' extent, one line per loss setting; a markdown table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(ln) for p in paths for ln in Path(p).read_text().splitlines() if ln]
    table = margins(rows)
    groups: dict[str, list[dict]] = {}
    for r in table:
        losses = [s for s in r["setting"].split()[1:] if not s.startswith("step_scale_spread")]
        groups.setdefault(" ".join(losses) or "the preset's losses", []).append(r)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, rs in sorted(groups.items()):
        rs = sorted(rs, key=lambda r: r["p90_pair_m"])
        ax.plot([r["p90_pair_m"] for r in rs], [100 * r["margin_of_loss"] for r in rs], "o-",
                label=label)  # fmt: skip
    ax.axhline(3, color="k", ls="--", lw=1, label="3 % margin")
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_xlabel("batch extent: 90th percentile of pair distances (m)")
    ax.set_ylabel("best 2-3 modules vs best 1 module or place code (% of loss)")
    ax.set_title("Do the SIC losses prefer several modules? (hand-built codes, cpu batches)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print("| setting | extent (m) | best single | best multi | margin (% of loss) | "
          "margin (% of separation) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for r in sorted(table, key=lambda r: (r["setting"].split()[1:], r["p90_pair_m"])):
        print(
            f"| `{r['setting']}` | {r['p90_pair_m']:.2f} | {r['best_single']} "
            f"{r['single_loss']:.4f} | {r['best_multi']} {r['multi_loss']:.4f} | "
            f"{100 * r['margin_of_loss']:+.1f} | {100 * r['margin_of_separation']:+.1f} |"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("preset")
    r.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    r.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    r.add_argument("--out", required=True, help="JSON lines file (appended)")
    r.add_argument("--batches", type=int, default=2, help="training batches per evaluation")
    r.add_argument("--fev", type=int, default=100, help="Nelder-Mead evaluations per start")
    q = sub.add_parser("plot")
    q.add_argument("inputs", nargs="+")
    q.add_argument("--out", required=True)
    args = p.parse_args()
    if args.cmd == "run":
        run(args.preset, args.overrides, args.kinds, Path(args.out), args.batches, args.fev)
    else:
        plot(args.inputs, args.out)


if __name__ == "__main__":
    sys.exit(main())
