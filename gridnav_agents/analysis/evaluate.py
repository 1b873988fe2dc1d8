"""Grid analyses of an encoder in several boxes: ``report.json`` and figures.

* :func:`analyze` runs the encoder (:func:`~gridnav_agents.analysis.runner.run_encoder`) in each
  box and computes ratemaps, gridness (two conventions), spacing/orientation, modules (numbered
  alike in every box), phases, decoding, drift, neural-vs-spatial distance, the topology of
  the largest module and the code's stability along long trajectories, writing
  ``report.json`` (with the provenance of the result) and PNG figures.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from gridnav_agents.analysis.decoding import (
    decode_position,
    error_growth,
    neural_vs_spatial_distance,
)
from gridnav_agents.analysis.gridness import (
    autocorrelogram,
    grid_fraction,
    grid_scores,
    grid_spacing_orientation,
)
from gridnav_agents.analysis.gridness_dm import grid_scores_dm
from gridnav_agents.analysis.matching import stable_module_ids
from gridnav_agents.analysis.modules import (
    detect_modules,
    grid_phases,
    module_coherence,
    module_locking,
    phase_uniformity,
)
from gridnav_agents.analysis.ratemaps import bin_centres, ratemaps
from gridnav_agents.analysis.runner import (
    default_trajectory_size,
    mean_motion_step,
    run_encoder,
    step_subsample,
)
from gridnav_agents.provenance import encoder_provenance, gridnav_version

__all__ = ["analyze", "generalisation"]


def generalisation(
    reference: dict[str, Any],
    other: dict[str, Any],
    threshold: float = 0.3,
    tolerance: float = 0.1,
) -> dict[str, Any]:
    """Do the grid units of one box stay grid units, at the same spacing, in another box?

    Args:
        reference, other: per-box reports of :func:`analyze` (their per-unit ``gridness`` and
            ``spacing_m``, metres; ``None`` for inactive units).
        threshold: gridness above which a unit is a grid unit.
        tolerance: largest relative spacing change ``|s_other / s_ref - 1|`` that counts as
            "the same spacing".

    Returns ``n_grid`` (grid units of ``reference``), ``n_kept`` (of those, the units with
    gridness above ``threshold`` in ``other`` and spacing within ``tolerance``), ``frac_kept``
    (``None`` without grid units) and ``median_spacing_change`` (relative, over the grid units).
    """

    def column(box: dict[str, Any], key: str) -> np.ndarray:
        return np.array([np.nan if v is None else v for v in box[key]], dtype=float)

    g_ref, g_other = column(reference, "gridness"), column(other, "gridness")
    s_ref, s_other = column(reference, "spacing_m"), column(other, "spacing_m")
    if g_ref.shape != g_other.shape:
        raise ValueError(f"reports of {g_ref.size} and {g_other.size} units cannot be compared")
    grid = np.nan_to_num(g_ref, nan=-np.inf) > threshold
    with np.errstate(invalid="ignore", divide="ignore"):
        change = np.abs(s_other / s_ref - 1.0)[grid]
    kept = (np.nan_to_num(g_other[grid], nan=-np.inf) > threshold) & (
        np.nan_to_num(change, nan=np.inf) <= tolerance
    )
    n_grid = int(grid.sum())
    finite = change[np.isfinite(change)]
    return {
        "n_grid": n_grid,
        "n_kept": int(kept.sum()),
        "frac_kept": float(kept.mean()) if n_grid else None,
        "median_spacing_change": float(np.median(finite)) if finite.size else None,
    }


def _clean(x: Any) -> Any:
    """JSON-safe copy: arrays to lists, NaN/inf to None, numpy scalars to Python."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, np.integer | bool | np.bool_):
        return x.item() if isinstance(x, np.generic) else x
    if isinstance(x, float | np.floating):
        return float(x) if np.isfinite(x) else None
    return x


def _active_units(act: np.ndarray, rel_tol: float = 1e-3) -> np.ndarray:
    """Units whose standard deviation exceeds ``rel_tol`` times the largest one."""
    std = act.std(axis=0)
    top = std.max() if std.size else 0.0
    return std > rel_tol * top if top > 0 else np.zeros(act.shape[1], dtype=bool)


def _analyze_box(
    encoder: Any,
    box: float,
    rng: np.random.Generator,
    *,
    n_traj: int | None,
    n_steps: int | None,
    bin_size: float,
    motion: Any,
    subsample: int | None,
    samples_per_m2: float,
    max_test_traj: int = 16,
) -> dict[str, Any]:
    from gridnav_env.arena import Arena

    arena = Arena.box(box)
    k = step_subsample(encoder, motion) if subsample is None else subsample
    d_traj, d_steps = default_trajectory_size(box, k * mean_motion_step(motion), samples_per_m2)
    n_traj = d_traj if n_traj is None else n_traj
    n_steps = d_steps if n_steps is None else n_steps
    t0 = time.perf_counter()
    act, pos = run_encoder(
        encoder, arena, n_steps, rng, n_traj=max(2, n_traj), motion=motion, subsample=k
    )
    t_run = time.perf_counter() - t0
    flat_act, flat_pos = act.reshape(-1, act.shape[-1]), pos.reshape(-1, 2)
    active = _active_units(flat_act)
    maps = ratemaps(flat_act, flat_pos, arena, bin_size)
    sac = autocorrelogram(maps)
    scores = grid_scores(maps, sac=sac)
    spacing, orientation = grid_spacing_orientation(maps, bin_size, sac=sac)
    g60 = np.where(active, scores.score_60, np.nan)
    g_dm = np.where(active, grid_scores_dm(maps).score_60, np.nan)
    mods = detect_modules(
        maps, bin_size, gridness=g60, spacing_m=spacing, orientation_deg=orientation
    )
    n_test = max(1, min(len(act) // 4, max_test_traj))
    train_act, test_act = (
        act[n_test:].reshape(-1, act.shape[-1]),
        act[:n_test].reshape(-1, act.shape[-1]),
    )
    train_pos, test_pos = pos[n_test:].reshape(-1, 2), pos[:n_test].reshape(-1, 2)
    if mods.n_modules:  # no rng (evenly spaced samples): the other draws stay as they were
        coherence = module_coherence(train_act, test_act, mods.labels)
        mods = dataclasses.replace(mods, coherence_r2=coherence)
    if mods.n_modules > 1:
        lock = module_locking(train_act, test_act, mods.labels, rng=rng)
        mods = dataclasses.replace(mods, lock_r2=lock)
    uniformity, wavevectors = [], []
    for m in range(mods.n_modules):
        sel = mods.labels == m
        phases, kvec = grid_phases(maps[sel], bin_size, mods.spacing_m[m], mods.orientation_deg[m])
        score, p = phase_uniformity(phases) if sel.sum() >= 2 else (np.nan, np.nan)
        uniformity.append({"score": score, "p_value": p})
        wavevectors.append(kvec)
    dec = decode_position(train_act, train_pos, test_act, test_pos, rng=rng)
    steps, err_t, slope = error_growth(dec.errors.reshape(n_test, -1), n_bins=min(10, n_steps))
    sep, ndist, decor = neural_vs_spatial_distance(flat_act, flat_pos, rng)
    n_active = int(active.sum())
    box_report = {
        # trajectories
        "box_size_m": float(box),
        "n_traj": int(len(act)),
        "n_steps": int(n_steps),
        "subsample": int(k),
        "mean_step_m": float(np.linalg.norm(np.diff(pos, axis=1), axis=-1).mean()),
        "n_samples": int(len(flat_act)),
        # units
        "n_active": n_active,
        "gridness": g60,
        "gridness_90": np.where(active, scores.score_90, np.nan),
        "gridness_dm": g_dm,
        "spacing_m": spacing,
        "orientation_deg": orientation,
        "frac_grid": grid_fraction(g60, n_active),
        "frac_grid_dm": grid_fraction(g_dm, n_active),
        # modules (local numbers here; analyze() renumbers them alike across boxes)
        "n_modules": mods.n_modules,
        "n_independent_modules": mods.n_independent,
        "modules": [
            {**d, "phase_uniformity": u} for d, u in zip(mods.as_dicts(), uniformity, strict=True)
        ],
        "module_labels": mods.labels,
        # decoding and distances
        "decoding_error_m": dec.median_m,
        "decoding_error_mean_m": dec.mean_m,
        "decoding_chance_m": dec.chance_m,
        "drift_m_per_step": slope,
        "decoding_error_by_step": {"step": steps, "error_m": err_t},
        "decorrelation_length_m": decor,
        "run_time_s": t_run,
    }
    arrays = {
        "act": flat_act,
        "active": active,
        "wavevectors": wavevectors,
        "maps": maps,
        "bin_xy": np.stack(np.meshgrid(*bin_centres(arena, bin_size), indexing="ij"), -1).reshape(
            -1, 2
        ),
        "sac": sac,
        "mods": mods,
        "g60": g60,
        "spacing": spacing,
        "orientation": orientation,
        "distance": (sep, ndist, decor),
    }
    return {"report": box_report, "arrays": arrays}


def _number_modules(result: dict[str, Any], ids: np.ndarray) -> None:
    """Give one box's modules the numbers ``ids`` (its local module ``k`` becomes ``ids[k]``)
    in its report (``modules`` as ``id`` and ordered by it, ``harmonic_of``, ``locked_to``,
    ``module_labels``) and in its arrays (``labels``, ``ids``)."""
    rep, arr = result["report"], result["arrays"]

    def number(k: int | None) -> int | None:
        return None if k is None else int(ids[k])

    numbered = [
        {"id": int(ids[k]), **m, "harmonic_of": number(m["harmonic_of"]),
         "locked_to": number(m["locked_to"])}
        for k, m in enumerate(rep["modules"])
    ]  # fmt: skip
    rep["modules"] = [numbered[k] for k in np.argsort(ids, kind="stable")]
    labels = np.append(ids, -1)[arr["mods"].labels]  # label -1 (no module) picks the -1
    rep["module_labels"] = labels
    arr["labels"], arr["ids"] = labels, ids


def _box_figures(out: Path, box: float, result: dict[str, Any], bin_size: float) -> list[str]:
    from gridnav_agents.analysis import plots

    rep, arr = result["report"], result["arrays"]
    tag, where = f"{box:g}m", f"{box:g} m box"
    caption = (
        f"maps made from {rep['n_traj']} trajectories × {rep['n_steps']} steps "
        f"(mean step {rep['mean_step_m']:.3f} m; {rep['n_samples']:,} positions), "
        f"{bin_size * 100:g} cm bins"
    )
    figs = {
        f"ratemaps_{tag}.png": plots.plot_ratemaps(
            arr["maps"], arr["labels"], arr["g60"], bin_size=bin_size, caption=caption,
            title=f"ratemaps of all {len(arr['maps'])} units, {where}",
        ),
        f"autocorrelograms_{tag}.png": plots.plot_autocorrelograms(
            arr["sac"], arr["g60"], bin_size=bin_size,
            title=f"spatial autocorrelograms of the units with the highest gridness, {where}",
        ),
        f"modules_{tag}.png": plots.plot_module_histograms(
            arr["spacing"], arr["orientation"], arr["labels"], modules=rep["modules"],
            title=f"grid modules: spacing and orientation of their units, {where}",
        ),
        f"distance_{tag}.png": plots.plot_distance(
            *arr["distance"], title=f"population-vector distance vs separation, {where}"
        ),
    }  # fmt: skip
    for name, fig in figs.items():
        plots.save(fig, out / name)
    return list(figs)


def _largest_module_states(arr: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int, int] | None:
    """The largest module's population vector in every visited spatial bin ``(n_bins, n)``
    (its units' ratemaps: each bin averages all visits, so trajectory noise and history drop
    out), the phase of each bin centre along the module's first wavevector (radians, for
    colouring), the module index and its size."""
    mods = arr["mods"]
    if mods.n_modules == 0:
        return None
    m = int(np.argmax(mods.n_units))
    sel = mods.labels == m
    states = arr["maps"][sel].reshape(int(sel.sum()), -1).T
    visited = np.all(np.isfinite(states), axis=1)
    phase = (arr["bin_xy"][visited] @ arr["wavevectors"][m][0]) % (2 * np.pi)
    return states[visited], phase, m, int(sel.sum())


def _stability_figure(out: Path, box: float, measured: Any) -> str:
    from gridnav_agents.analysis import plots

    m, d = measured.maps, measured.drift
    late = measured.late_frac_grid
    caption = (
        f"{measured.n_traj} trajectories × {measured.n_steps:,} steps and "
        f"{measured.n_long_traj} × {measured.n_long_steps:,} steps from the centre, "
        f"{measured.subsample} motion steps per encoder step; reference maps: "
        f"{measured.reference_steps}-step trajectories.\nPhase error: position of the most "
        f"similar reference population vector within {measured.radius_m:.2f} m "
        + ("" if measured.module_spacing_m is None else "(half the module spacing) ")
        + "minus the true position."
    )
    if late.size:
        caption += (
            f" Each long trajectory's own maps of steps {measured.late_start:,}–"
            f"{measured.late_stop:,}: {', '.join(f'{100 * f:.0f} %' for f in late)} grid units."
        )
    fig = plots.plot_stability(
        m.start,
        m.stop,
        m.correlation,
        d,
        radius_m=measured.radius_m,
        caption=caption,
        title=f"stability of the code along long trajectories, {box:g} m box",
    )
    name = f"stability_{box:g}m.png"
    plots.save(fig, out / name)
    return name


def analyze(
    encoder: Any,
    boxes: tuple[float, ...] | list[float] = (2.0, 3.0, 4.0),
    out_dir: str | Path | None = None,
    *,
    rng: np.random.Generator | None = None,
    seed: int = 0,
    topology: bool = True,
    n_traj: int | None = None,
    n_steps: int | None = None,
    bin_size: float = 0.05,
    motion: Any = None,
    subsample: int | None = None,
    samples_per_m2: float = 2000.0,
    figures: bool = True,
    checkpoint: str | Path | None = None,
    command: str | None = None,
    stability: bool = True,
    stability_steps: int = 10_000,
    stability_traj: int = 16,
    stability_long_traj: int = 2,
) -> dict[str, Any]:
    """Grid analyses of ``encoder`` in square boxes of the given sides (metres).

    For each box: run the encoder (:func:`run_encoder`; sizes from
    :func:`default_trajectory_size` with ``samples_per_m2`` unless ``n_traj``/``n_steps`` are
    given), ratemaps (``bin_size`` m), 60°/90° gridness (:func:`grid_scores`) and DeepMind's
    60° gridness (:func:`grid_scores_dm`), spacing and orientation, modules and their phase
    uniformity, k-NN position decoding (a quarter of the trajectories, at most 16,
    held out), its growth along the trajectories, and neural-vs-spatial distance. With
    ``topology``: Betti numbers of the largest module of the first box (:func:`torus_betti`,
    whitened, on its units' population vectors in the visited spatial bins, i.e. their
    ratemaps: averaging every visit to a bin denoises the point cloud). Modules are numbered
    alike in every box (:func:`stable_module_ids`: the first box's by increasing spacing, a
    later box's module by the first box's module of the same spacing and orientation, new
    numbers for the rest). With ``stability``: the long-horizon stability of the code in the
    first box against that box's ratemaps (``measure_stability`` of
    :mod:`~gridnav_agents.analysis.stability_run`: ``stability_traj`` trajectories 16 times as
    long as the box's and ``stability_long_traj`` of ``stability_steps`` steps), drawn from a
    child of ``rng`` (``rng.spawn``), so the other results do not depend on it.

    Writes ``out_dir/report.json`` and PNG figures if ``out_dir`` is given (figures only if
    ``figures``); returns the report dict (NaN written as null). Randomness comes from ``rng``
    (default ``numpy.random.default_rng(seed)``). ``checkpoint``: the file ``encoder`` was
    loaded from (its bytes are hashed and its config recorded; without it the encoder's weights
    are hashed); ``command``: the command line that ran the analysis, recorded as given.

    Report: ``n_units``, ``n_active`` (activity std above 1e-3 of the largest, all boxes),
    ``torus_betti`` (list or null), ``torus_module``, ``figures`` and ``boxes[f"{L:g}"]`` with,
    per box: ``gridness`` / ``gridness_90`` / ``gridness_dm`` / ``spacing_m`` /
    ``orientation_deg`` (per unit; null for inactive or undefined), ``frac_grid`` and
    ``frac_grid_dm`` (active units with ``gridness`` / ``gridness_dm`` > 0.3), ``n_modules``,
    ``n_independent_modules`` (neither a harmonic of a coarser module nor locked to a larger
    one, and coherent: split-half R² ≥ ``COHERENT_R2``), ``modules`` (ordered by ``id``, the
    module's number; ``n_units``, ``spacing_m``, ``orientation_deg``, ``harmonic_of``,
    ``locked_to`` (module numbers), ``lock_r2``, ``coherence_r2``, ``phase_uniformity``),
    ``module_labels`` (each unit's module number, -1 for none), ``decoding_error_m`` (median;
    also mean and chance), ``drift_m_per_step``, ``decoding_error_by_step``,
    ``decorrelation_length_m`` and the trajectories (``n_traj``, ``n_steps``, ``mean_step_m``:
    mean encoder step length, metres); ``generalisation[f"{L:g}"]`` for every box after the
    first: :func:`generalisation` of the first box's grid units in that box; ``provenance``:
    ``command`` (null unless given), ``gridnav_version``, ``encoder``
    (:func:`~gridnav_agents.provenance.encoder_provenance`: ``sha256``, ``sha256_of``,
    ``checkpoint``, ``config``, ``encoder_args``) and ``wall_time_s`` (the whole analysis);
    ``stability`` (null without ``stability``): ``box_size_m`` and
    :meth:`~gridnav_agents.analysis.stability_run.Stability.as_dict` (``windows`` with their
    ``map_correlation``, ``late_gridness``, ``phase_drift`` with its rates, ``kind`` and
    ``steps_within_half_period``, null if most trajectories never leave their period).
    """
    boxes = [float(b) for b in np.atleast_1d(np.asarray(boxes, dtype=float))]
    if not boxes or any(not np.isfinite(b) or b <= 0 for b in boxes):
        raise ValueError(f"boxes must be positive box sides in metres, got {boxes!r}")
    for name, v in (("n_traj", n_traj), ("n_steps", n_steps)):
        if v is not None and (isinstance(v, bool) or int(v) != v or v < 1):
            raise ValueError(f"{name} must be a positive integer or None, got {v!r}")
    for name, v in (
        ("stability_steps", stability_steps),
        ("stability_traj", stability_traj),
        ("stability_long_traj", stability_long_traj),
    ):
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    rng = np.random.default_rng(seed) if rng is None else rng
    stability_rng = rng.spawn(1)[0]  # its own stream: the same with or without topology
    if motion is None:
        from gridnav_env.motion import SmoothMotion

        motion = SmoothMotion()
    out = None if out_dir is None else Path(out_dir)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    results = {
        b: _analyze_box(
            encoder,
            b,
            rng,
            n_traj=n_traj,
            n_steps=n_steps,
            bin_size=bin_size,
            motion=motion,
            subsample=subsample,
            samples_per_m2=samples_per_m2,
        )
        for b in boxes
    }
    module_ids = stable_module_ids(
        [(r["arrays"]["mods"].spacing_m, r["arrays"]["mods"].orientation_deg)
         for r in results.values()]
    )  # fmt: skip
    for r, ids in zip(results.values(), module_ids, strict=True):
        _number_modules(r, ids)
    all_act = np.concatenate([r["arrays"]["act"] for r in results.values()])
    report: dict[str, Any] = {
        "n_units": int(all_act.shape[1]),
        "n_active": int(_active_units(all_act).sum()),
        "bin_size_m": bin_size,
        "boxes": {f"{b:g}": r["report"] for b, r in results.items()},
        "torus_betti": None,
        "figures": [],
    }
    ref = report["boxes"][f"{boxes[0]:g}"]
    report["generalisation"] = {
        f"{b:g}": generalisation(ref, report["boxes"][f"{b:g}"]) for b in boxes[1:]
    }
    first = results[boxes[0]]["arrays"]
    module_states = _largest_module_states(first) if topology else None
    if module_states is not None:
        from gridnav_agents.analysis.topology import embed_3d, torus_betti

        states, phase, m, n_units = module_states
        topo = torus_betti(states, rng, whiten=True)
        report["torus_betti"] = list(topo.betti)
        m = int(first["ids"][m])
        report["torus_module"] = {"box_size_m": boxes[0], "module": m, "n_units": n_units}
        if out is not None and figures:
            from gridnav_agents.analysis import plots

            emb, idx = embed_3d(states, rng, whiten=True)
            fig = plots.plot_torus(
                emb,
                colour=phase[idx],
                lifetimes=topo.lifetimes,
                title=f"population states of module {m} ({n_units} units) in the {boxes[0]:g} m "
                f"box, one per visited bin: Betti numbers {topo.betti}",
                colour_label="phase along the module's first wavevector (rad)",
                lifetime_label="bar lifetime (whitened PCA units)",
            )
            plots.save(fig, out / "torus.png")
            report["figures"].append("torus.png")
    if out is not None and figures:
        for b, r in results.items():
            report["figures"] += _box_figures(out, b, r, bin_size)
    report["stability"] = None
    if stability:
        from gridnav_agents.analysis.stability_run import measure_stability
        from gridnav_env.arena import Arena

        ref_box = results[boxes[0]]
        mods = ref_box["arrays"]["mods"]
        main = int(np.argmax(mods.n_units)) if mods.n_modules else None
        measured = measure_stability(
            encoder,
            Arena.box(boxes[0]),
            ref_box["arrays"]["maps"],
            stability_rng,
            reference_steps=ref_box["report"]["n_steps"],
            subsample=ref_box["report"]["subsample"],
            units=ref_box["arrays"]["active"],
            module_spacing_m=None if main is None else float(mods.spacing_m[main]),
            motion=motion,
            bin_size=bin_size,
            n_traj=stability_traj,
            n_long_traj=stability_long_traj,
            n_long_steps=stability_steps,
        )
        report["stability"] = {"box_size_m": boxes[0], **measured.as_dict()}
        if out is not None and figures:
            report["figures"].append(_stability_figure(out, boxes[0], measured))
    report["analysis_time_s"] = time.perf_counter() - t_start
    report["provenance"] = {
        "command": command,
        "gridnav_version": gridnav_version(),
        "encoder": encoder_provenance(encoder, checkpoint),
        "wall_time_s": time.perf_counter() - t_start,
    }
    report = _clean(report)
    if out is not None:
        (out / "report.json").write_text(json.dumps(report, indent=1, allow_nan=False))
    return report
