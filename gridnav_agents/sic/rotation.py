"""A transition ``W(v)`` that is a representation of the translation group (not in the paper).

``W(v) = Q R(v) Qᵀ``: in an orthonormal basis ``Q`` (``N×N``, learnt) the ``N`` units are
``N/2`` planes, and a step ``v`` turns plane ``j`` by the angle ``k_j · v`` (``k_j``, learnt
wavevectors, radians per metre). Rotations by angles linear in ``v`` compose exactly,
``W(a) W(b) = W(a + b)``, so while the states stay non-negative (NormReLU then only
renormalises, and ``W`` keeps norms) the recurrence integrates any path exactly: the code of a
position does not depend on the path. The learnt parts are what the SIC losses shape: the
wavevectors (the spatial frequencies, hence the periods and modules), the basis (how the
frequencies mix into units) and the start code. This is the structure of Gao et al. (ICLR 2021)
and Dorrell et al. (ICLR 2023, "actionable" representations); here the losses are SIC's.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["RotationTransition"]

#: Range of the initial wavevectors' periods ``2π/|k|``, metres (log-uniform).
INIT_PERIODS_M = (0.3, 3.0)


class RotationTransition(nn.Module):
    """``v (..., 2)`` metres -> ``W(v) = Q R(v) Qᵀ (..., N, N)``.

    Parameters: ``wavevectors (N/2, 2)`` rad/m (plane 0 starts at ``k = 0``, a direction no step
    turns; the others' periods ``2π/|k|`` start log-uniform in :data:`INIT_PERIODS_M`, their
    directions uniform) and ``skew (N, N)``; ``Q = Q0 · exp(skew - skewᵀ)`` with ``Q0`` a
    fixed random orthogonal matrix (a buffer) and ``skew`` starting at 0.
    """

    def __init__(self, n_units: int, generator: torch.Generator | None = None):
        super().__init__()
        if n_units % 2 or n_units < 2:
            raise ValueError(f"n_units must be even for the rotation transition, got {n_units!r}")
        self.n_units = n_units
        self.wavevectors = nn.Parameter(torch.empty(n_units // 2, 2))
        self.skew = nn.Parameter(torch.empty(n_units, n_units))
        self.register_buffer("basis0", torch.empty(n_units, n_units))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw ``Q0``, the wavevectors (see the class docstring) from ``generator``."""
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        n, j = self.n_units, self.n_units // 2
        with torch.no_grad():
            q, r = torch.linalg.qr(torch.randn(n, n, generator=gen))
            self.basis0.copy_(q * torch.sign(torch.diagonal(r)))  # Haar-distributed
            lo, hi = (math.log(p) for p in INIT_PERIODS_M)
            period = torch.exp(lo + (hi - lo) * torch.rand(j, generator=gen))
            angle = 2 * math.pi * torch.rand(j, generator=gen)
            k = (2 * math.pi / period)[:, None] * torch.stack([angle.cos(), angle.sin()], -1)
            k[0] = 0.0
            self.wavevectors.copy_(k)
            self.skew.zero_()

    def basis(self) -> Tensor:
        """The orthonormal basis ``Q (N, N)``; columns ``2j, 2j + 1`` span plane ``j``."""
        return self.basis0 @ torch.linalg.matrix_exp(self.skew - self.skew.T)

    def forward(self, velocities: Tensor) -> Tensor:
        q = self.basis()
        qa, qb = q[:, 0::2], q[:, 1::2]  # (N, J)
        theta = velocities @ self.wavevectors.T  # (..., J) radians
        c, s = theta.cos(), theta.sin()
        # W = Σ_j c_j (a_j a_jᵀ + b_j b_jᵀ) + s_j (b_j a_jᵀ - a_j b_jᵀ)
        w = torch.einsum("nj,...j,mj->...nm", qa, c, qa) + torch.einsum(
            "nj,...j,mj->...nm", qb, c, qb
        )
        return w + torch.einsum("nj,...j,mj->...nm", qb, s, qa) - torch.einsum(
            "nj,...j,mj->...nm", qa, s, qb
        )
