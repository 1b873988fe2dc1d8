"""Place-cell targets of supervised path integration (Sorscher et al. 2019/2023).

``Np`` place cells with centres uniform in a square box have difference-of-Gaussians (DoG)
tuning, normalised as in their code (``place_cells.py``): a softmax over the cells of
``-d²/(2σ²)`` minus a softmax of ``-d²/(2·s·σ²)`` (``s`` the surround scale, the ratio of the
surround's variance to the centre's), shifted so the least active cell is 0 and scaled so the
activities sum to 1. The targets are a probability distribution over the cells, the labels of a
softmax cross-entropy. Without DoG the centre softmax alone is the target.

Units: metres.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gridnav_env._validate import check_count, check_real

__all__ = ["place_cell_activity", "place_cell_centres"]


def place_cell_centres(n_place: int, box_size: float, generator: torch.Generator) -> Tensor:
    """``(n_place, 2)`` float64 centres drawn uniformly in the ``box_size`` m square centred
    at the origin."""
    n_place = check_count("n_place", n_place)
    size = check_real("box_size", box_size, positive=True, unit="metres")
    return (torch.rand(n_place, 2, generator=generator, dtype=torch.float64) - 0.5) * size


def place_cell_activity(
    positions: Tensor,
    centres: Tensor,
    sigma: float,
    surround_scale: float = 2.0,
    dog: bool = True,
) -> Tensor:
    """Place-cell activity at ``positions (..., 2)`` metres: ``(..., Np)``, non-negative,
    summing to 1 over the cells.

    Args:
        positions: where, metres.
        centres: ``(Np, 2)`` place-cell centres, metres.
        sigma: width σ of the centre Gaussian, metres (Sorscher et al.: 0.12).
        surround_scale: ratio of the surround's variance to the centre's (theirs: 2).
        dog: difference of Gaussians; ``False``: the centre softmax alone.
    """
    if dog and centres.shape[0] < 2:
        raise ValueError(f"dog needs at least 2 place cells, got {centres.shape[0]}")
    d2 = (positions[..., None, :] - centres).square().sum(-1)
    out = torch.softmax(-d2 / (2 * sigma**2), dim=-1)
    if dog:
        out = out - torch.softmax(-d2 / (2 * surround_scale * sigma**2), dim=-1)
        out = out - out.min(dim=-1, keepdim=True).values  # both softmaxes sum to 1: min <= 0
        out = out / out.sum(dim=-1, keepdim=True)
    return out
