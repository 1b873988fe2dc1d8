"""The same grid module in several boxes: numbers that stay with a module across boxes.

:func:`detect_modules` numbers each box's modules by increasing spacing, so a module missing in
one box shifts every number after it. :func:`match_modules` pairs a box's modules with
reference modules of the same spacing and orientation; :func:`stable_module_ids` numbers the
modules of a sequence of boxes so that a number means one module in every box.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["match_modules", "stable_module_ids"]


def _as_lattices(spacing_m: np.ndarray, orientation_deg: np.ndarray, name: str) -> tuple:
    s = np.asarray(spacing_m, dtype=float).reshape(-1)
    o = np.asarray(orientation_deg, dtype=float).reshape(-1)
    if s.shape != o.shape:
        raise ValueError(
            f"{name}spacing_m and {name}orientation_deg must have equal lengths, got {s.size} "
            f"and {o.size}"
        )
    if not (np.all(np.isfinite(s)) and np.all(s > 0) and np.all(np.isfinite(o))):
        raise ValueError(f"{name}spacing_m must be positive metres and angles finite, got {s}, {o}")
    return s, o


def match_modules(
    ref_spacing_m: np.ndarray,
    ref_orientation_deg: np.ndarray,
    spacing_m: np.ndarray,
    orientation_deg: np.ndarray,
    *,
    spacing_tol: float = 0.15,
    orientation_tol_deg: float = 10.0,
) -> np.ndarray:
    """For each module ``(spacing_m, orientation_deg)``, the index of the reference module it is,
    or a new index.

    Two modules match when their spacings differ by at most ``spacing_tol`` (relative, on
    ``|log(s / s_ref)|``, i.e. ``log(1 + spacing_tol)``) and their orientations by at most
    ``orientation_tol_deg`` (circular, period 60°). Pairs are chosen one-to-one, minimising the
    summed differences (each scaled by its tolerance; Hungarian algorithm). Unmatched modules
    get ``K_ref, K_ref + 1, ...`` in their input order.

    Args:
        ref_spacing_m, ref_orientation_deg: ``(K_ref,)`` reference modules, metres and degrees.
        spacing_m, orientation_deg: ``(K,)`` modules to number, metres and degrees.
        spacing_tol: relative spacing tolerance (0.15: detect_modules' split between modules).
        orientation_tol_deg: orientation tolerance, degrees.

    Returns:
        ``(K,)`` integer indices.
    """
    rs, ro = _as_lattices(ref_spacing_m, ref_orientation_deg, "ref_")
    s, o = _as_lattices(spacing_m, orientation_deg, "")
    if not (np.isfinite(spacing_tol) and spacing_tol > 0):
        raise ValueError(f"spacing_tol must be a positive fraction, got {spacing_tol!r}")
    if not 0 < orientation_tol_deg <= 30:
        raise ValueError(f"orientation_tol_deg must be in (0, 30], got {orientation_tol_deg!r}")
    ds = np.abs(np.log(s[:, None] / rs[None, :])) / np.log1p(spacing_tol)
    do = np.abs((o[:, None] - ro[None, :] + 30.0) % 60.0 - 30.0) / orientation_tol_deg
    ok = (ds <= 1) & (do <= 1)
    cost = np.where(ok, ds + do, 1e6)  # forbidden pairs: never cheaper than leaving both unpaired
    rows, cols = linear_sum_assignment(cost)
    ids = np.full(len(s), -1, dtype=np.int64)
    keep = ok[rows, cols]
    ids[rows[keep]] = cols[keep]
    unmatched = ids < 0
    ids[unmatched] = len(rs) + np.arange(int(unmatched.sum()))
    return ids


def stable_module_ids(
    boxes: list[tuple[np.ndarray, np.ndarray]], **kwargs: float
) -> list[np.ndarray]:
    """Module numbers for a sequence of boxes, one number per module across all of them.

    ``boxes``: ``(spacing_m, orientation_deg)`` of each box's modules, the first box first. The
    first box's modules keep their order (0, 1, ...); each later box's modules are matched
    (:func:`match_modules`, ``kwargs`` its tolerances) against every module numbered so far, the
    first box's and those new in an earlier box, and unmatched ones get the next free numbers.
    """
    cat_s: list[float] = []
    cat_o: list[float] = []
    out = []
    for spacing, orientation in boxes:
        ids = match_modules(cat_s, cat_o, spacing, orientation, **kwargs)
        s, o = np.asarray(spacing, dtype=float), np.asarray(orientation, dtype=float)
        for i in np.argsort(ids):
            if ids[i] >= len(cat_s):
                cat_s.append(float(s[i]))
                cat_o.append(float(o[i]))
        out.append(ids)
    return out
