"""The SIC recurrent encoder (paper eqs. 2-3): ``g_t = NormReLU(W(v_t) g_{t-1})``, ``W = MLP``.

Velocities are displacements per step in metres. States ``g`` are non-negative unit vectors in
``R^N`` (the code of a position). The network has no positional readout.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from gridnav_agents.sic.memory import device_memory_bytes, encoder_parameter_count, format_bytes
from gridnav_agents.sic.rotation import RotationTransition
from gridnav_env._validate import check_count, check_real

__all__ = [
    "DEAD_STATE_NORM",
    "TRANSITIONS",
    "NormReLU",
    "SICEncoder",
    "block_norm_relu",
    "norm_relu",
]

#: How ``W(v)`` is made: ``"mlp"`` (the paper: an MLP of ``v``) or ``"rotation"``
#: (:class:`~gridnav_agents.sic.rotation.RotationTransition`, exact path integration built in).
TRANSITIONS = ("mlp", "rotation")

#: A pre-activation whose ReLU has L2 norm at or below this is "dead" (see :func:`norm_relu`).
DEAD_STATE_NORM = 1e-12


def norm_relu(h: Tensor) -> Tensor:
    """``ReLU(h) / ||ReLU(h)||`` over the last dimension (the paper's σ).

    The output is non-negative and unit-norm. When every pre-activation is ≤ 0 (precisely: the
    ReLU has norm ≤ ``DEAD_STATE_NORM``) the ratio is undefined; the output is then the uniform
    unit vector ``1/sqrt(N)``, a constant through which no gradient flows (no NaN, and the code
    stays on the unit sphere, which the pairwise losses rely on).
    """
    r = torch.relu(h)
    norm = torch.linalg.vector_norm(r, dim=-1, keepdim=True)
    alive = norm > DEAD_STATE_NORM
    safe = torch.where(alive, norm, torch.ones_like(norm))
    uniform = torch.full_like(r, 1.0 / math.sqrt(h.shape[-1]))
    return torch.where(alive, r / safe, uniform)


class NormReLU(nn.Module):
    """Module form of :func:`norm_relu`."""

    def forward(self, h: Tensor) -> Tensor:
        return norm_relu(h)


def _check_finite(name: str, v: Tensor) -> None:
    """``ValueError`` naming ``name`` unless every entry of ``v`` is finite."""
    bad = ~torch.isfinite(v)
    if bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0])
        raise ValueError(
            f"{name} must be finite displacements in metres per step; entry {first} is "
            f"{v[first].item()}"
        )


def block_norm_relu(h: Tensor, n_blocks: int = 1) -> Tensor:
    """:func:`norm_relu` applied to each of ``n_blocks`` equal blocks of the last dimension,
    each block then scaled by ``1/sqrt(n_blocks)``: the output is non-negative, unit-norm, and
    every block carries the same share of it. ``n_blocks = 1`` is :func:`norm_relu`."""
    if n_blocks == 1:
        return norm_relu(h)
    blocks = h.unflatten(-1, (n_blocks, h.shape[-1] // n_blocks))
    return (norm_relu(blocks) / math.sqrt(n_blocks)).flatten(-2)


def _norm_relu_with_norm(h: Tensor) -> tuple[Tensor, Tensor]:
    """``(norm_relu(h), n)`` with ``n = ||ReLU(h)||``, or 0 where the state is dead."""
    r = torch.relu(h)
    norm = torch.linalg.vector_norm(r, dim=-1, keepdim=True)
    alive = norm > DEAD_STATE_NORM
    g = torch.where(alive, r / torch.where(alive, norm, 1.0), 1.0 / math.sqrt(h.shape[-1]))
    return g, torch.where(alive, norm, 0.0)


def _grouped_outer_sum(index: Tensor, a: Tensor, b: Tensor, n_groups: int) -> Tensor:
    """``out[k] = sum_{i: index_i = k} outer(a_i, b_i)``: ``(n_groups, N, N)``."""
    counts = torch.bincount(index, minlength=n_groups)
    if len(index) and bool((counts == counts[0]).all()):  # permutations: one batched matmul
        order = torch.argsort(index, stable=True)
        a_k = a[order].view(n_groups, -1, a.shape[-1])
        b_k = b[order].view(n_groups, -1, b.shape[-1])
        return torch.bmm(a_k.transpose(1, 2), b_k)
    out = a.new_zeros(n_groups, a.shape[-1], b.shape[-1])
    for s in range(0, len(index), 64):
        out.index_add_(0, index[s : s + 64], a[s : s + 64, :, None] * b[s : s + 64, None, :])
    return out


class _IndexedRecurrence(torch.autograd.Function):
    """States of ``g_t = NormReLU(mats[index[:, t]] g_{t-1})`` with hand-written BPTT.

    Saves only the states and norms (``O(B·T·N)``) plus the ``K`` shared matrices; gathers the
    ``B`` matrices of a step into one reused buffer (no ``B·T`` matrices, no per-step
    allocations) and forms the gradient of ``mats`` in one batched product at the end.
    """

    @staticmethod
    def forward(ctx: Any, mats: Tensor, index: Tensor, g0: Tensor) -> Tensor:
        n_traj, n_steps = index.shape
        n = g0.shape[-1]
        states = g0.new_empty(n_traj, n_steps, n)
        norms = g0.new_empty(n_traj, n_steps, 1)
        buf = mats.new_empty(n_traj, n, n)
        g = g0
        for t in range(n_steps):
            torch.index_select(mats, 0, index[:, t], out=buf)
            g, norms[:, t] = _norm_relu_with_norm(torch.bmm(buf, g.unsqueeze(-1)).squeeze(-1))
            states[:, t] = g
        ctx.save_for_backward(mats, index, g0, states, norms)
        return states

    @staticmethod
    def backward(ctx: Any, grad_states: Tensor) -> tuple[Tensor | None, None, Tensor | None]:
        mats, index, g0, states, norms = ctx.saved_tensors
        n_traj, n_steps, n = states.shape
        buf = mats.new_empty(n_traj, n, n)
        grad_h = torch.empty_like(states)
        carry = torch.zeros_like(g0)  # dL/dg_t from later steps
        inv_norm = torch.where(norms > 0, 1.0 / torch.where(norms > 0, norms, 1.0), 0.0)
        for t in reversed(range(n_steps)):
            gt = grad_states[:, t] + carry
            g = states[:, t]
            # g = r / |r|, r = relu(h): dL/dh = (gt - g (g . gt)) / |r| on the units with h > 0
            dh = (gt - g * (g * gt).sum(-1, keepdim=True)) * inv_norm[:, t] * (g > 0)
            grad_h[:, t] = dh
            torch.index_select(mats, 0, index[:, t], out=buf)
            carry = torch.bmm(buf.transpose(1, 2), dh.unsqueeze(-1)).squeeze(-1)
        grad_mats = None
        if ctx.needs_input_grad[0]:
            g_prev = torch.cat([g0.unsqueeze(1), states[:, :-1]], dim=1)
            grad_mats = _grouped_outer_sum(
                index.reshape(-1), grad_h.reshape(-1, n), g_prev.reshape(-1, n), mats.shape[0]
            )
        return grad_mats, None, carry if ctx.needs_input_grad[2] else None


class SICEncoder(nn.Module):
    """Recurrent path integrator of the SIC paper.

    ``g_t = NormReLU(W(v_t) g_{t-1})`` with ``W(v) = MLP(v / step_scale)`` reshaped to ``N×N``
    and a learnt start code ``g_0 = NormReLU(g0_param)``.

    Blocks (not in the paper; ``n_blocks`` K > 1): the state is K blocks of ``N/K`` units, ``W(v)``
    is block-diagonal (the MLP's last layer outputs the K blocks, ``K·(N/K)²`` values) and the
    NormReLU acts on each block, scaled by ``1/sqrt(K)`` (:func:`block_norm_relu`): K separate
    recurrent networks that share the MLP's hidden layers, a code with K modules built in whose
    periods are learnt. ``block_gains`` (K numbers, default all 1) scale the velocity each
    block's head sees: block k's matrix is computed from the hidden features of
    ``block_gains[k] · v`` (fixed, never learnt).

    Args:
        n_units: ``N``, number of recurrent units (paper: 128).
        mlp_hidden: width of the MLP's hidden layers (not given in the paper; default 128).
        mlp_layers: number of Linear layers of the MLP (paper: 3), ReLU between them.
        step_scale: the velocity scale the encoder is trained on, metres per step (uniform
            velocities: the bound on ``|v_x|, |v_y|``, paper 0.15). Inputs are divided by it, a
            fixed rescaling that keeps the MLP's inputs O(1); recorded so users can check a
            mismatch.
        dt: seconds per step of the training velocities (``None``: the paper's unitless steps).
        n_blocks: K, the number of blocks (1: the paper's architecture); divides ``n_units``.
        block_gains: K positive velocity gains, one per block (``None``: all 1).
        transition: ``"mlp"`` (the paper) or ``"rotation"`` (not in the paper:
            :class:`~gridnav_agents.sic.rotation.RotationTransition`, ``W(v) = Q R(v) Qᵀ``, a
            representation of the translation group with learnt wavevectors and basis: exact
            path integration built in; ``mlp_hidden``, ``mlp_layers``, ``step_scale``'s input
            scaling and ``block_gains`` do not apply; blocks get block-diagonal bases).
        generator: source of the initial weights (default: a fresh generator seeded with 0).

    Shapes: velocities ``(..., 2)`` metres per step (NaN or inf raises ``ValueError``),
    states ``(..., N)``. The arguments are checked before anything is allocated: an encoder
    whose parameters alone exceed the machine's memory raises ``ValueError``.
    """

    def __init__(
        self,
        n_units: int = 128,
        mlp_hidden: int = 128,
        mlp_layers: int = 3,
        step_scale: float = 0.15,
        dt: float | None = None,
        n_blocks: int = 1,
        block_gains: tuple[float, ...] | list[float] | None = None,
        transition: str = "mlp",
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        if transition not in TRANSITIONS:
            raise ValueError(f"transition must be one of {TRANSITIONS}, got {transition!r}")
        n_units = check_count("n_units", n_units)
        mlp_hidden = check_count("mlp_hidden", mlp_hidden)
        mlp_layers = check_count("mlp_layers", mlp_layers)
        step_scale = check_real("step_scale", step_scale, positive=True, unit="metres")
        if dt is not None:
            dt = check_real("dt", dt, positive=True, unit="seconds")
        n_blocks = check_count("n_blocks", n_blocks)
        if n_units % n_blocks or n_units // n_blocks < 2:
            raise ValueError(
                f"n_blocks must divide n_units into blocks of at least 2 units, got n_blocks "
                f"{n_blocks!r} for n_units {n_units!r}"
            )
        try:
            gains = [1.0] * n_blocks if block_gains is None else [float(g) for g in block_gains]
        except (TypeError, ValueError):
            gains = []
        if len(gains) != n_blocks or not all(math.isfinite(g) and g > 0 for g in gains):
            raise ValueError(
                f"block_gains must be {n_blocks} positive numbers (one per block), got "
                f"{block_gains!r}"
            )
        n_bytes = 4 * encoder_parameter_count(n_units, mlp_hidden, mlp_layers, n_blocks)
        ram = device_memory_bytes("cpu")
        if ram is not None and n_bytes > ram:
            raise ValueError(
                f"n_units={n_units}, mlp_hidden={mlp_hidden}, mlp_layers={mlp_layers}, "
                f"n_blocks={n_blocks}: the encoder's parameters (n_units²·mlp_hidden/n_blocks) "
                f"alone would need {format_bytes(n_bytes)}, more than this machine's "
                f"{format_bytes(ram)} of memory"
            )
        self.n_units, self.mlp_hidden, self.mlp_layers = n_units, mlp_hidden, mlp_layers
        self.step_scale, self.dt = step_scale, dt
        self.n_blocks, self.block_size = n_blocks, n_units // n_blocks
        self.block_gains = tuple(gains)
        self.transition_kind = transition
        if transition == "rotation":
            self.rotation = RotationTransition(n_units, n_blocks)
        else:
            widths = [2] + [mlp_hidden] * (mlp_layers - 1) + [self.n_blocks * self.block_size**2]
            layers: list[nn.Module] = []
            for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
                if i > 0:
                    layers.append(nn.ReLU())
                layers.append(nn.Linear(w_in, w_out))
            self.mlp = nn.Sequential(*layers)
        self.g0_param = nn.Parameter(torch.empty(self.n_units))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """PyTorch's default Linear init, drawn from ``generator``; ``g0_param ~ U(0, 1)``."""
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        if self.transition_kind == "rotation":
            self.rotation.reset_parameters(gen)
        with torch.no_grad():
            for layer in getattr(self, "mlp", ()):
                if isinstance(layer, nn.Linear):
                    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=gen)
                    bound = 1.0 / math.sqrt(layer.in_features)
                    nn.init.uniform_(layer.bias, -bound, bound, generator=gen)
            nn.init.uniform_(self.g0_param, 0.0, 1.0, generator=gen)

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable), enough to rebuild the architecture."""
        return {
            "n_units": self.n_units,
            "mlp_hidden": self.mlp_hidden,
            "mlp_layers": self.mlp_layers,
            "step_scale": self.step_scale,
            "dt": self.dt,
            "n_blocks": self.n_blocks,
            "block_gains": list(self.block_gains),
            "transition": self.transition_kind,
        }

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config().items())

    @property
    def g0(self) -> Tensor:
        """The learnt start code ``(N,)``, non-negative and unit-norm (each block ``1/sqrt(K)``)."""
        return block_norm_relu(self.g0_param, self.n_blocks)

    def initial_state(self, batch: int) -> Tensor:
        """``g_0`` repeated: ``(batch, N)``."""
        return self.g0.unsqueeze(0).expand(batch, -1)

    def block_transition(self, velocities: Tensor) -> Tensor:
        """The diagonal blocks of ``W(v)``: ``(..., 2)`` metres per step -> ``(..., K, n, n)``
        with ``n = N / K`` (``K = 1``: ``(..., 1, N, N)``)."""
        if self.transition_kind == "rotation":
            return self.rotation(velocities)
        k, n = self.n_blocks, self.block_size
        x = velocities / self.step_scale
        if all(gain == 1.0 for gain in self.block_gains):
            return self.mlp(x).unflatten(-1, (k, n, n))
        gains = x.new_tensor(self.block_gains)
        hidden = self.mlp[:-1](gains.view(k, *[1] * (x.dim() - 1), 1) * x)  # (K, ..., H)
        last = self.mlp[-1]
        weight = last.weight.view(k, n * n, -1)
        w = torch.einsum("k...h,kmh->...km", hidden, weight) + last.bias.view(k, n * n)
        return w.unflatten(-1, (n, n))

    def transition(self, velocities: Tensor) -> Tensor:
        """``W(v)``: ``(..., 2)`` metres per step -> ``(..., N, N)`` (block-diagonal for K > 1)."""
        blocks = self.block_transition(velocities)
        if self.n_blocks == 1:
            return blocks.squeeze(-3)
        w = blocks.new_zeros(*blocks.shape[:-3], self.n_units, self.n_units)
        n = self.block_size
        for b in range(self.n_blocks):
            w[..., b * n : (b + 1) * n, b * n : (b + 1) * n] = blocks[..., b, :, :]
        return w

    def _update(self, blocks: Tensor, g: Tensor) -> Tensor:
        """``block_norm_relu(W g)`` for blocks ``(batch, K, n, n)`` and states ``(batch, N)``."""
        h = torch.matmul(blocks, g.unflatten(-1, (self.n_blocks, self.block_size)).unsqueeze(-1))
        return block_norm_relu(h.squeeze(-1).flatten(-2), self.n_blocks)

    def step(self, g: Tensor, v: Tensor) -> Tensor:
        """One update ``g -> NormReLU(W(v) g)``; ``g (batch, N)``, ``v (batch, 2)`` or unbatched."""
        _check_finite("v", v)
        unbatched = g.dim() == 1
        if unbatched:
            g, v = g.unsqueeze(0), v.unsqueeze(0)
        out = self._update(self.block_transition(v.to(g.dtype)), g)
        return out.squeeze(0) if unbatched else out

    def preactivations(self, velocities: Tensor, index: Tensor | None, g_prev: Tensor) -> Tensor:
        """``W(v) g`` before the NormReLU for every transition of a batch: ``(B, T, N)``.

        ``velocities (M, 2)`` with ``index (B, T)`` as in :meth:`forward_indexed` (every
        velocity used equally often, as in permuted batches), or ``index=None`` and
        ``velocities (B, T, 2)``; ``g_prev (B, T, N)`` the states the steps start from.
        """
        n_traj, n_steps, n = g_prev.shape
        k, size = self.n_blocks, self.block_size
        if index is None:
            mats = self.block_transition(velocities)  # (B, T, K, n, n)
            g = g_prev.view(n_traj, n_steps, k, size)
            return torch.einsum("btkmn,btkn->btkm", mats, g).reshape(n_traj, n_steps, n)
        flat = index.reshape(-1)
        counts = torch.bincount(flat, minlength=len(velocities))
        if not bool((counts == counts[0]).all()):
            raise ValueError("preactivations needs every velocity used equally often")
        order = torch.argsort(flat, stable=True)
        mats = self.block_transition(velocities)  # (M, K, n, n)
        g = g_prev.reshape(-1, n)[order].view(len(velocities), -1, k, size)
        h = torch.einsum("vkmn,vbkn->vbkm", mats, g).reshape(-1, n)
        return torch.empty_like(h).index_copy_(0, order, h).view(n_traj, n_steps, n)

    def _start(self, g0: Tensor | None, batch: int) -> Tensor:
        if g0 is None:
            return self.initial_state(batch)
        if g0.shape != (batch, self.n_units):
            raise ValueError(f"g0 must have shape ({batch}, {self.n_units}), got {tuple(g0.shape)}")
        return g0

    def forward(self, velocities: Tensor, g0: Tensor | None = None) -> Tensor:
        """States after each step: ``velocities (batch, T, 2)`` -> ``(batch, T, N)``.

        The MLP is evaluated once per sample (``batch·T`` times): one time step at a time when
        gradients are recorded, else for chunks of steps at once (at most ~64 MB of matrices).
        For batches built from few distinct velocities (permutations) use
        :meth:`forward_indexed`.
        """
        if velocities.dim() != 3 or velocities.shape[-1] != 2:
            raise ValueError(f"velocities must be (batch, T, 2), got {tuple(velocities.shape)}")
        _check_finite("velocities", velocities)
        batch, n_steps, _ = velocities.shape
        g = self._start(g0, batch)
        chunk = 1
        if not torch.is_grad_enabled():
            per_step = batch * self.n_blocks * self.block_size**2 * velocities.element_size()
            chunk = max(1, min(n_steps, 2**26 // max(per_step, 1)))
        states = []
        for t0 in range(0, n_steps, chunk):
            mats = self.block_transition(velocities[:, t0 : t0 + chunk])  # (batch, c, K, n, n)
            for t in range(mats.shape[1]):
                g = self._update(mats[:, t], g)
                states.append(g)
        return torch.stack(states, dim=1) if states else g.new_zeros(batch, 0, self.n_units)

    def forward_indexed(
        self, velocities: Tensor, index: Tensor, g0: Tensor | None = None
    ) -> Tensor:
        """States of trajectories that draw each step from ``K`` shared velocities.

        Trajectory ``b`` takes ``velocities[index[b, t]]`` at step ``t``; for the paper's permuted
        batch ``velocities`` is ``(T, 2)`` and ``index`` the ``(B, T)`` permutations. The MLP runs
        ``K`` times, not ``B·T``, and the ``B·T`` matrices ``W`` are never stored together.
        With blocks, each block of each trajectory is run as its own recurrence.

        Args:
            velocities: ``(K, 2)`` metres per step.
            index: ``(B, T)`` int64 in ``[0, K)``.
            g0: optional start states ``(B, N)``; default the learnt ``g_0``.

        Returns:
            ``(B, T, N)`` states after each step.
        """
        if velocities.dim() != 2 or velocities.shape[-1] != 2:
            raise ValueError(f"velocities must be (K, 2), got {tuple(velocities.shape)}")
        _check_finite("velocities", velocities)
        if index.dim() != 2:
            raise ValueError(f"index must be (B, T), got {tuple(index.shape)}")
        batch, n_steps = index.shape
        g = self._start(g0, batch)
        if n_steps == 0:
            return g.new_zeros(batch, 0, self.n_units)
        index = index.to(device=velocities.device, dtype=torch.long)
        if index.min() < 0 or index.max() >= len(velocities):
            raise ValueError(f"index must lie in [0, {len(velocities)})")
        k, n = self.n_blocks, self.block_size
        mats = self.block_transition(velocities)  # (M, K, n, n), the only W evaluations
        if k == 1:
            return _IndexedRecurrence.apply(
                mats.squeeze(1).contiguous(), index.contiguous(), g.contiguous()
            )
        # block b of trajectory i is recurrence i·K + b, driven by the matrices m·K + b
        block_index = index[:, None, :] * k + torch.arange(k, device=index.device)[None, :, None]
        g_blocks = g.reshape(batch * k, n) * math.sqrt(k)
        states = _IndexedRecurrence.apply(
            mats.reshape(-1, n, n).contiguous(),
            block_index.reshape(batch * k, n_steps).contiguous(),
            g_blocks.contiguous(),
        )  # (B·K, T, n), each block unit-norm
        return states.view(batch, k, n_steps, n).transpose(1, 2).reshape(
            batch, n_steps, self.n_units
        ) / math.sqrt(k)
