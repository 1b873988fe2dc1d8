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
    """``v (..., 2)`` metres -> the diagonal blocks of ``W(v) = Q R(v) Qᵀ``, ``(..., K, n, n)``.

    With ``n_blocks`` K > 1 the basis is block-diagonal: block ``b``'s ``n = N/K`` units span
    its own ``n/2`` planes and nothing else (modules built in, their frequencies learnt).
    Parameters: ``wavevectors (N/2, 2)`` rad/m (each block's first plane starts at ``k = 0``, a
    direction no step turns; the others' periods ``2π/|k|`` start log-uniform in
    :data:`INIT_PERIODS_M`, their directions uniform) and ``skew (K, n, n)``;
    ``Q_b = Q0_b · exp(skew_b - skew_bᵀ)`` with ``Q0_b`` fixed random orthogonal matrices (a
    buffer) and ``skew`` starting at 0.
    """

    def __init__(self, n_units: int, n_blocks: int = 1, generator: torch.Generator | None = None):
        super().__init__()
        if n_units % n_blocks or (n_units // n_blocks) % 2:
            raise ValueError(
                f"n_units must split into n_blocks blocks of an even size for the rotation "
                f"transition, got n_units {n_units!r}, n_blocks {n_blocks!r}"
            )
        self.n_units, self.n_blocks, self.block_size = n_units, n_blocks, n_units // n_blocks
        n = self.block_size
        self.wavevectors = nn.Parameter(torch.empty(n_units // 2, 2))
        self.skew = nn.Parameter(torch.empty(n_blocks, n, n))
        self.register_buffer("basis0", torch.empty(n_blocks, n, n))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Draw ``Q0``, the wavevectors (see the class docstring) from ``generator``."""
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        n, j = self.block_size, self.n_units // 2
        with torch.no_grad():
            for b in range(self.n_blocks):
                q, r = torch.linalg.qr(torch.randn(n, n, generator=gen))
                self.basis0[b] = q * torch.sign(torch.diagonal(r))  # Haar-distributed
            lo, hi = (math.log(p) for p in INIT_PERIODS_M)
            period = torch.exp(lo + (hi - lo) * torch.rand(j, generator=gen))
            angle = 2 * math.pi * torch.rand(j, generator=gen)
            k = (2 * math.pi / period)[:, None] * torch.stack([angle.cos(), angle.sin()], -1)
            k[:: n // 2] = 0.0  # the first plane of each block
            self.wavevectors.copy_(k)
            self.skew.zero_()

    def basis(self) -> Tensor:
        """The orthonormal bases ``Q_b (K, n, n)``; columns ``2j, 2j + 1`` of block ``b`` span
        its plane ``j`` (plane ``b·n/2 + j`` of :attr:`wavevectors`)."""
        return self.basis0 @ torch.linalg.matrix_exp(self.skew - self.skew.transpose(1, 2))

    def forward(self, velocities: Tensor) -> Tensor:
        q = self.basis()
        qa, qb = q[:, :, 0::2], q[:, :, 1::2]  # (K, n, n/2)
        theta = velocities @ self.wavevectors.T  # (..., N/2) radians
        c = theta.cos().unflatten(-1, (self.n_blocks, -1))  # (..., K, n/2)
        s = theta.sin().unflatten(-1, (self.n_blocks, -1))
        # W_b = Σ_j c_j (a_j a_jᵀ + b_j b_jᵀ) + s_j (b_j a_jᵀ - a_j b_jᵀ)
        w = torch.einsum("knj,...kj,kmj->...knm", qa, c, qa) + torch.einsum(
            "knj,...kj,kmj->...knm", qb, c, qb
        )
        return (
            w
            + torch.einsum("knj,...kj,kmj->...knm", qb, s, qa)
            - torch.einsum("knj,...kj,kmj->...knm", qa, s, qb)
        )
