"""Plain-word summaries of an :func:`~gridnav_agents.analysis.evaluate.analyze` report.

Used by ``gridnav analyze``'s console output and the modules figure's legend, so that both say
the same about each module. Every decoding error printed here comes with its chance level.
"""

from __future__ import annotations

from typing import Any

from gridnav_agents.analysis.gridness import GRID_THRESHOLD
from gridnav_agents.analysis.modules import COHERENT_R2

__all__ = ["box_summary", "decoding_text", "module_role", "stability_text"]


def module_role(module: dict[str, Any]) -> str | None:
    """Why a module of a report is not an independent one, in words, or None if it is.

    ``module``: one entry of a box's ``modules`` (``harmonic_of`` and ``locked_to`` hold module
    numbers, ``lock_r2`` and ``coherence_r2`` median R²). A module is independent when it is
    neither a harmonic of a coarser module nor locked to a larger one, and coherent (split-half
    R² at least ``COHERENT_R2``, or not measured): the rule of ``Modules.n_independent``.
    """
    parts = []
    harmonic, locked = module.get("harmonic_of"), module.get("locked_to")
    if harmonic is not None:
        parts.append(f"harmonic of module {harmonic}")
    if locked is not None:
        r2 = module.get("lock_r2")
        fit = "" if r2 is None else f" (R² {r2:.2f})"
        parts.append(("locked to it" if locked == harmonic else f"locked to module {locked}") + fit)
    coherence = module.get("coherence_r2")
    if coherence is not None and coherence < COHERENT_R2:
        parts.append(f"incoherent (split-half R² {coherence:.2f})")
    return " and ".join(parts) or None


def decoding_text(error_m: float | None, chance_m: float | None) -> str:
    """``"decoding error 0.75 m (chance 0.71 m)"``: a median decoding error always with the
    error of guessing (both metres; "n/a" where missing)."""

    def metres(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f} m"

    return f"decoding error {metres(error_m)} (chance {metres(chance_m)})"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.0f} %"


def _module_name(m: dict[str, Any], index: int) -> str:
    return f"module {m.get('id', index)} ({m['spacing_m']:.2f} m)"


def box_summary(name: str, box: dict[str, Any]) -> str:
    """One line for one box of a report, e.g. ``2 m box: 90 % of 108 active units are grid
    units (gridness > 0.3; 88 % by DeepMind's scores.py); 1 independent module: module 0
    (1.29 m); 1 dependent group: module 1 (0.75 m) harmonic of module 2 ...; decoding error
    0.75 m (chance 0.71 m)``."""
    dm = box.get("frac_grid_dm")
    parts = [
        f"{name} m box: {_percent(box['frac_grid'])} of {box['n_active']} active units are grid "
        f"units (gridness > {GRID_THRESHOLD:g}"
        + ("" if dm is None else f"; {_percent(dm)} by DeepMind's scores.py")
        + ")"
    ]
    mods = [(m, module_role(m)) for m in box["modules"]]
    mods = [(_module_name(m, i), role) for i, (m, role) in enumerate(mods)]
    independent = [n for n, role in mods if role is None]
    dependent = [f"{n} {role}" for n, role in mods if role is not None]
    if not mods:
        parts.append("no grid modules")
    else:
        k = len(independent)
        parts.append(f"{k} independent module{'' if k == 1 else 's'}" + (": " if k else ""))
        parts[-1] += ", ".join(independent)
    if dependent:
        k = len(dependent)
        parts.append(f"{k} dependent group{'' if k == 1 else 's'}: " + ", ".join(dependent))
    parts.append(decoding_text(box.get("decoding_error_m"), box.get("decoding_chance_m")))
    return "; ".join(parts)


def _drift_text(d: dict[str, Any], n_steps: int) -> str:
    kind = d["kind"]
    if kind == "none":
        return f"no phase drift (under {d['resolution_m']:.2f} m in {d['fit_steps']:,} steps)"
    if kind not in ("systematic", "diffusive"):
        return "phase drift not measured"
    sys_mm, diff_mm = 1000 * d["systematic_m_per_step"], 1000 * d["diffusive_m_per_sqrt_step"]
    rates = (
        f"{sys_mm:.1f} mm/step, systematic (spread {diff_mm:.1f} mm/√step)"
        if kind == "systematic"
        else f"{diff_mm:.1f} mm/√step, diffusive (mean {sys_mm:.1f} mm/step)"
    )
    within = d["steps_within_half_period"]
    stays = f"for all {n_steps:,} steps" if within is None else f"for {within:,.0f} steps"
    return f"phase drift {rates}; stays within half a period {stays}"


def stability_text(stability: dict[str, Any]) -> str:
    """One line for a report's ``stability``, e.g. ``stability (2 m box): maps correlate 0.85
    / 0.32 / -0.13 with the short-trajectory maps over steps 0-70 / 70-280 / 280-1,120; each
    long trajectory's maps of steps 1,000-10,000: 4 % / 6 % grid units; phase drift 1.1
    mm/step, systematic (spread 2.0 mm/√step); stays within half a period for 380 steps``."""
    w = stability["windows"]
    corr = " / ".join("n/a" if c is None else f"{c:.2f}" for c in w["map_correlation"])
    spans = " / ".join(f"{a:,}-{b:,}" for a, b in zip(w["start"], w["stop"], strict=True))
    parts = [
        f"stability ({stability['box_size_m']:g} m box): maps correlate {corr} with the "
        f"short-trajectory maps over steps {spans}"
    ]
    late = stability["late_gridness"]
    if late["frac_grid"]:
        fracs = " / ".join(_percent(f) for f in late["frac_grid"])
        parts.append(
            f"each long trajectory's maps of steps {late['start']:,}-{late['stop']:,}: "
            f"{fracs} grid units"
        )
    parts.append(_drift_text(stability["phase_drift"], stability["n_steps"]))
    return "; ".join(parts)
