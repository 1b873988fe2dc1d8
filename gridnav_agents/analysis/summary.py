"""Plain-word summaries of an :func:`~gridnav_agents.analysis.evaluate.analyze` report.

Used by ``gridnav analyze``'s console output and the modules figure's legend, so that both say
the same about each module. Every decoding error printed here comes with its chance level.
"""

from __future__ import annotations

from typing import Any

from gridnav_agents.analysis.gridness import GRID_THRESHOLD
from gridnav_agents.analysis.modules import COHERENT_R2

__all__ = ["box_summary", "decoding_text", "module_role"]


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
