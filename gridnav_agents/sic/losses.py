"""The SIC losses (paper eqs. 4-7) over all pairs of a batch's states.

Every function takes states ``g (M, N)`` (any ``M`` states of a batch: all times, all
trajectories) and, where needed, positions ``x (M, 2)`` in metres.

Normalisation (a deliberate change from the paper's printed sums): each pairwise loss is the
**mean over the pairs its sum runs over**, so the λs weigh quantities of order one whatever the
batch size. Pairs are the ordered pairs ``(i, j)`` with ``i != j`` (self-pairs excluded); the
means equal those over unordered pairs. Same place: ``||x_i - x_j|| < σx``; different place:
``||x_i - x_j|| > σx``; position distances are computed in float64. An empty pair set gives 0
(with zero gradient), never NaN.

Exactness and cost: :func:`pairwise_losses` is exact over all ``M(M-1)`` pairs. It streams the
separation sum over row blocks of the upper triangle (``O(block·M)`` memory, never an ``M×M``
matrix), using ``||g_i - g_j||² = |g_i|² + |g_j|² - 2 g_i·g_j``, and computes the gradient in the
same pass (a custom autograd function; nothing is recomputed in backward). The same-place pairs
are few (found with a k-d tree): the invariance loss is evaluated on them directly, and their
terms are removed from the all-pairs separation sum.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import Tensor

__all__ = [
    "capacity_loss",
    "conformal_isometry_loss",
    "invariance_loss",
    "nonnegativity_loss",
    "sparsity_loss",
    "near_pairs",
    "pairwise_losses",
    "separation_loss",
    "separation_profile",
]

#: Rows per block of the streamed separation sum (memory ~ 4·block·M bytes).
DEFAULT_BLOCK = 1024
_PAIR_CHUNK = 8192


def near_pairs(x: np.ndarray | Tensor, sigma_x: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unordered pairs ``i < j`` with ``||x_i - x_j||² <= σx²``.

    Returns ``(i, j, d2)``: int64 index arrays and the float64 squared distances (m²).
    """
    x = np.asarray(x.detach().cpu() if isinstance(x, Tensor) else x, dtype=np.float64)
    if len(x) < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    # A slightly larger radius makes the k-d tree's answer a superset; the exact test follows.
    pairs = cKDTree(x).query_pairs(sigma_x * (1 + 1e-6) + 1e-12, output_type="ndarray")
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    dx, dy = x[i, 0] - x[j, 0], x[i, 1] - x[j, 1]
    d2 = dx * dx + dy * dy
    keep = d2 <= sigma_x * sigma_x
    return i[keep], j[keep], d2[keep]


def _sq_dist_pairs(g: Tensor, i: Tensor, j: Tensor) -> Tensor:
    """``||g_i - g_j||²`` for index vectors ``i, j`` (chunked gather)."""
    out = [
        ((g[i[a : a + _PAIR_CHUNK]] - g[j[a : a + _PAIR_CHUNK]]) ** 2).sum(-1)
        for a in range(0, len(i), _PAIR_CHUNK)
    ]
    return torch.cat(out) if out else g.new_zeros(0)


def _laplacian_grad(g: Tensor, i: Tensor, j: Tensor, w: Tensor) -> Tensor:
    """Gradient of ``sum_p w_p ||g_{i_p} - g_{j_p}||²`` w.r.t. ``g`` (``w`` held constant)."""
    grad = torch.zeros_like(g)
    for a in range(0, len(i), _PAIR_CHUNK):
        ii, jj, ww = i[a : a + _PAIR_CHUNK], j[a : a + _PAIR_CHUNK], w[a : a + _PAIR_CHUNK, None]
        diff = 2 * ww * (g[ii] - g[jj])
        grad.index_add_(0, ii, diff).index_add_(0, jj, -diff)
    return grad


def _all_pairs_kernel_sum(
    g: Tensor, s: float, block: int, need_grad: bool
) -> tuple[float, Tensor | None]:
    """``F = sum_{i != j} exp(-s ||g_i - g_j||² / 2)`` over ordered pairs, and ``dF/dg``.

    Streams row blocks of the upper triangle: block ``[a, b)`` against columns ``[a, M)``; the
    block's square part covers both orders, its off-diagonal part is used twice (rows, and
    transposed for the columns). ``Y = E @ [g | 1]`` gives ``dF/dg = 2s (E g - (E 1) ∘ g)`` and
    ``F = sum(E 1) - M``.
    """
    m, n = g.shape
    sq = (g * g).sum(-1, keepdim=True)
    ones = torch.ones_like(sq)
    # left · right^T = s g_i·g_j - s|g_i|²/2 - s|g_j|²/2 = -s ||g_i - g_j||² / 2, one matmul
    left = torch.cat([g * s, -0.5 * s * sq, ones], dim=1)
    right = torch.cat([g, ones, -0.5 * s * sq], dim=1)
    g1 = torch.cat([g, ones], dim=1) if need_grad else ones
    y = torch.zeros(m, g1.shape[1], dtype=g.dtype, device=g.device)
    work = g.new_empty(min(block, m) * m)  # one buffer for every block (no allocator churn)
    for a in range(0, m, block):
        b = min(a + block, m)
        e = work[: (b - a) * (m - a)].view(b - a, m - a)
        torch.mm(left[a:b], right[a:].T, out=e).exp_()  # entries in (0, 1]
        y[a:b].addmm_(e, g1[a:])
        if b < m:
            y[b:].addmm_(e[:, b - a :].T, g1[a:b])
    total = y[:, -1].sum(dtype=torch.float64).item() - m
    grad = 2 * s * (y[:, :n] - y[:, n:] * g) if need_grad else None
    return total, grad


class _PairwiseSIC(torch.autograd.Function):
    """Exact mean separation and invariance losses; gradients computed in forward."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        g: Tensor,
        x: np.ndarray,
        sigma_x: float,
        sigma_g: float,
        want_sep: bool,
        want_inv: bool,
        block: int,
    ) -> tuple[Tensor, Tensor]:
        m = g.shape[0]
        need_grad = g.requires_grad
        s = 1.0 / sigma_g**2
        pi, pj, d2x = near_pairs(x, sigma_x)
        strict = d2x < sigma_x * sigma_x
        i = torch.from_numpy(pi).to(g.device)
        j = torch.from_numpy(pj).to(g.device)
        zero_grad = torch.zeros_like(g) if need_grad else None
        sep, inv = g.new_zeros(()), g.new_zeros(())
        grad_sep = grad_inv = zero_grad
        if want_inv:
            mask = torch.from_numpy(strict).to(g.device)
            ii, jj = i[mask], j[mask]
            n_inv = 2 * len(ii)  # ordered pairs
            if n_inv > 0:
                d2 = _sq_dist_pairs(g, ii, jj)
                inv = (2 * d2.sum(dtype=torch.float64) / n_inv).to(g.dtype)
                if need_grad:
                    grad_inv = _laplacian_grad(g, ii, jj, torch.full_like(d2, 2.0 / n_inv))
        if want_sep:
            n_sep = m * (m - 1) - 2 * len(i)  # ordered pairs farther apart than σx
            if n_sep > 0:
                total, grad_all = _all_pairs_kernel_sum(g, s, block, need_grad)
                e_near = torch.exp(-0.5 * s * _sq_dist_pairs(g, i, j))
                total -= 2 * e_near.sum(dtype=torch.float64).item()
                sep = g.new_tensor(max(total, 0.0) / n_sep)
                if need_grad:
                    # d/dg of 2·sum_p exp(-s d_p / 2) is -s · laplacian_grad(weights e_p)
                    near = _laplacian_grad(g, i, j, e_near) if len(i) else zero_grad
                    grad_sep = (grad_all + s * near) / n_sep
        if need_grad:
            ctx.save_for_backward(grad_sep, grad_inv)
        return sep, inv

    @staticmethod
    def backward(ctx: Any, d_sep: Tensor, d_inv: Tensor) -> tuple[Tensor | None, ...]:
        grad_sep, grad_inv = ctx.saved_tensors
        return (d_sep * grad_sep + d_inv * grad_inv, None, None, None, None, None, None)


def _check(g: Tensor, x: np.ndarray | Tensor | None, sigma_x: float | None) -> np.ndarray | None:
    if g.dim() != 2:
        raise ValueError(f"g must be (M, N) states, got shape {tuple(g.shape)}")
    if sigma_x is not None and not sigma_x > 0:
        raise ValueError(f"sigma_x must be positive metres, got {sigma_x!r}")
    if x is None:
        return None
    x = np.asarray(x.detach().cpu() if isinstance(x, Tensor) else x, dtype=np.float64)
    if x.shape != (g.shape[0], 2):
        raise ValueError(f"x must be (M, 2) = ({g.shape[0]}, 2) positions, got {x.shape}")
    return x


def pairwise_losses(
    g: Tensor,
    x: np.ndarray | Tensor,
    sigma_x: float,
    sigma_g: float,
    *,
    separation: bool = True,
    invariance: bool = True,
    block: int = DEFAULT_BLOCK,
) -> tuple[Tensor, Tensor]:
    """``(separation, invariance)`` in one pass, exact over all pairs (eqs. 4-5, per-pair means).

    Args:
        g: ``(M, N)`` states.
        x: ``(M, 2)`` positions, metres (no gradient flows to them).
        sigma_x: spatial length scale σx, metres.
        sigma_g: neural length scale σg.
        separation, invariance: compute only what is needed (the other is returned as 0).
        block: rows per streamed block.
    """
    xn = _check(g, x, sigma_x)
    if not sigma_g > 0:
        raise ValueError(f"sigma_g must be positive, got {sigma_g!r}")
    return _PairwiseSIC.apply(g, xn, float(sigma_x), float(sigma_g), separation, invariance, block)


def separation_loss(
    g: Tensor, x: np.ndarray | Tensor, sigma_x: float, sigma_g: float, block: int = DEFAULT_BLOCK
) -> Tensor:
    """Eq. 4: mean of ``exp(-||g_i - g_j||² / (2σg²))`` over pairs with ``||x_i - x_j|| > σx``."""
    return pairwise_losses(g, x, sigma_x, sigma_g, invariance=False, block=block)[0]


def separation_profile(
    g: np.ndarray | Tensor,
    x: np.ndarray | Tensor,
    sigma_g: float,
    edges: np.ndarray | list[float],
    block: int = DEFAULT_BLOCK,
) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 4's kernel ``exp(-||g_i - g_j||² / (2σg²))`` binned by the pairs' distance in space.

    Where a batch's separation loss comes from: a code that repeats with period λ has kernel
    ≈ 1 at pair distances near λ (aliasing), a code of random unit vectors a flat floor.

    Args:
        g: ``(M, N)`` states.
        x: ``(M, 2)`` positions, metres.
        sigma_g: neural length scale σg.
        edges: increasing bin edges of the pair distance ``||x_i - x_j||``, metres.
        block: rows per streamed block (memory ~ 8·block·M bytes; no M×M matrix).

    Returns ``(counts, mean_kernel)``, one value per bin over unordered pairs ``i < j``;
    ``mean_kernel`` is NaN for an empty bin.
    """
    g = np.asarray(g.detach().cpu() if isinstance(g, Tensor) else g, dtype=np.float64)
    x = _check(torch.as_tensor(g), x, None)
    if not sigma_g > 0:
        raise ValueError(f"sigma_g must be positive, got {sigma_g!r}")
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise ValueError(f"edges must be two or more increasing distances (m), got {edges!r}")
    n_bins = len(edges) - 1
    counts, sums = np.zeros(n_bins), np.zeros(n_bins)
    sq = (g * g).sum(1)
    for start in range(0, len(g), block):
        rows, cols = slice(start, min(start + block, len(g))), slice(start, None)
        upper = np.arange(start, len(g))[None, :] > np.arange(rows.start, rows.stop)[:, None]
        d2g = np.clip(sq[rows, None] + sq[None, cols] - 2 * g[rows] @ g[cols].T, 0.0, None)
        dist = np.linalg.norm(x[rows, None] - x[None, cols], axis=-1)
        d2g, dist = d2g[upper], dist[upper]
        index = np.searchsorted(edges, dist, side="right") - 1
        inside = (index >= 0) & (index < n_bins)
        kernel = np.exp(-d2g[inside] / (2 * sigma_g**2))
        counts += np.bincount(index[inside], minlength=n_bins)
        sums += np.bincount(index[inside], kernel, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return counts, np.where(counts > 0, sums / counts, np.nan)


def invariance_loss(g: Tensor, x: np.ndarray | Tensor, sigma_x: float) -> Tensor:
    """Eq. 5: mean of ``||g_i - g_j||²`` over pairs with ``||x_i - x_j|| < σx``."""
    return pairwise_losses(g, x, sigma_x, 1.0, separation=False)[1]


def capacity_loss(g: Tensor) -> Tensor:
    """Eq. 6: ``-||mean_i g_i||²`` (0 for no states)."""
    _check(g, None, None)
    if g.shape[0] == 0:
        return g.sum()
    return -(g.mean(0) ** 2).sum()


def conformal_isometry_loss(
    g_prev: Tensor, g_next: Tensor, v: Tensor, sigma_x: float, scale_free: bool = False
) -> Tensor:
    """Eq. 7: population variance of ``||g_next - g_prev|| / ||v||`` over steps with
    ``0 < ||v|| < σx`` (metres per step).

    Args:
        g_prev, g_next: ``(K, N)`` states before and after each step.
        v: ``(K, 2)`` the steps' displacements, metres.
        scale_free: divide the variance by the squared mean ratio (a squared coefficient of
            variation, unitless). Eq. 7 as printed is also minimised by shrinking every step
            (a frozen code has zero variance); the scale-free form only asks that
            ``||Δg|| / ||v||`` be the same for every step, whatever its size.

    Returns 0 when no step qualifies (the variance of one ratio is also 0).
    """
    if g_prev.shape != g_next.shape or v.shape != (*g_prev.shape[:-1], 2):
        raise ValueError(
            f"need g_prev, g_next (K, N) and v (K, 2); got {tuple(g_prev.shape)}, "
            f"{tuple(g_next.shape)}, {tuple(v.shape)}"
        )
    speed = torch.linalg.vector_norm(v.to(g_next.dtype), dim=-1)
    keep = (speed > 0) & (speed < sigma_x)
    if not bool(keep.any()):
        return g_next[:0].sum()
    ratio = torch.linalg.vector_norm(g_next[keep] - g_prev[keep], dim=-1) / speed[keep]
    mean = ratio.mean()
    variance = ((ratio - mean) ** 2).mean()
    if scale_free:
        return variance / mean.square().clamp_min(torch.finfo(ratio.dtype).tiny)
    return variance


def nonnegativity_loss(h: Tensor) -> Tensor:
    """Not in the paper: the mean share of each pre-activation's squared norm that the ReLU
    removes, ``mean_i ||min(h_i, 0)||² / ||h_i||²`` over rows ``h (..., N)`` (0 for none).

    0 when every state is non-negative before the NormReLU, so that it only renormalises; a
    soft form of the non-negativity constraint of Dorrell et al. (ICLR 2023) and Whittington
    et al. (ICLR 2023), under which single units of an exact path integrator become grid cells.
    """
    h = h.reshape(-1, h.shape[-1])
    if h.shape[0] == 0:
        return h.sum()
    total = (h * h).sum(-1).clamp_min(torch.finfo(h.dtype).tiny)
    return ((torch.clamp(h, max=0.0) ** 2).sum(-1) / total).mean()


def sparsity_loss(g: Tensor) -> Tensor:
    """Not in the paper: the mean L1 norm of non-negative unit-norm states over ``sqrt(N)``,
    ``mean_i sum_n g_in / sqrt(N)`` for ``g (M, N)``: 1 for the uniform code, ``sqrt(m / N)``
    for codes with ``m`` equally active units; with the norm fixed, a penalty on activity
    (Whittington et al., ICLR 2023; Dorrell et al., ICLR 2023's activity budget)."""
    _check(g, None, None)
    if g.shape[0] == 0:
        return g.sum()
    return g.sum(-1).mean() / math.sqrt(g.shape[-1])
