"""A path-integrating RNN trained to predict place cells (Sorscher et al. 2019/2023), with the
SIC encoder's interface.

``g_0 = E p(x_0)`` (the start position's place-cell activity ``p``, a linear map ``E``),
``g_t = ReLU(W_in v_t + W_rec g_{t-1})`` (no biases) and a linear readout ``D g_t`` whose
softmax is compared with ``p(x_t)``. As an option the recurrence is the SIC encoder's
(``architecture="sic"``: ``g_t = NormReLU(MLP(v_t) g_{t-1})``, ``g_0 = NormReLU(E p(x_0))``), so
the objective can be compared with the architecture held fixed.

Velocities are displacements per step in metres. The analyses run any encoder from
:meth:`SupervisedEncoder.initial_state`, the start state of the centre of the training box.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from gridnav_agents.sic.checkpoint import Checkpoint, CheckpointError, check_model_shapes
from gridnav_agents.sic.memory import encoder_parameter_shapes
from gridnav_agents.sic.model import SICEncoder, _check_finite, norm_relu
from gridnav_agents.supervised.config import ARCHITECTURES
from gridnav_agents.supervised.place_cells import place_cell_activity
from gridnav_env._validate import check_count, check_real

__all__ = [
    "SupervisedEncoder",
    "supervised_encoder_from_checkpoint",
    "supervised_parameter_shapes",
]


def supervised_parameter_shapes(
    architecture: str, n_units: int, n_place: int, mlp_hidden: int = 128, mlp_layers: int = 3
) -> dict[str, tuple[int, ...]]:
    """Names and shapes of a :class:`SupervisedEncoder`'s ``state_dict`` (the place-cell
    centres included)."""
    shapes = {
        "centres": (n_place, 2),
        "encoder.weight": (n_units, n_place),
        "decoder.weight": (n_place, n_units),
    }
    if architecture == "rnn":
        shapes.update({"rnn.weight_ih_l0": (n_units, 2), "rnn.weight_hh_l0": (n_units, n_units)})
    else:
        core = encoder_parameter_shapes(n_units, mlp_hidden, mlp_layers)
        shapes.update({f"core.{k}": v for k, v in core.items()})
    return shapes


class SupervisedEncoder(nn.Module):
    """Supervised path integrator with place-cell targets (Sorscher et al.'s vanilla RNN).

    Args:
        centres: ``(Np, 2)`` place-cell centres, metres (kept as the buffer ``centres``).
        n_units: ``N`` recurrent units (Sorscher et al.: 4096).
        sigma: place-cell width σ, metres (theirs: 0.12).
        surround_scale: DoG surround variance over centre variance (theirs: 2).
        dog: difference-of-Gaussians place cells (theirs: true).
        architecture: ``"rnn"`` (theirs) or ``"sic"`` (the SIC encoder's recurrence).
        step_scale: the velocity scale of the training data, metres per step: the bound of the
            uniform velocities with the same mean step length, the convention of
            :func:`~gridnav_agents.analysis.runner.step_subsample`. The ``sic`` recurrence
            divides its inputs by it; the ``rnn`` takes metres per step, as theirs.
        dt: seconds per step of the training velocities.
        mlp_hidden, mlp_layers: the ``sic`` recurrence's MLP.
        generator: source of the initial weights (default: a generator seeded with 0).

    Initial weights: every weight ``U(±1/sqrt(fan_in))`` (PyTorch's default for ``nn.RNN``
    and ``nn.Linear``); the ``sic`` recurrence as :class:`SICEncoder` draws it.
    """

    kind = "supervised"

    def __init__(
        self,
        centres: Tensor | np.ndarray,
        n_units: int = 512,
        sigma: float = 0.12,
        surround_scale: float = 2.0,
        dog: bool = True,
        architecture: str = "rnn",
        step_scale: float = 0.15,
        dt: float | None = None,
        mlp_hidden: int = 128,
        mlp_layers: int = 3,
        generator: torch.Generator | None = None,
    ):
        super().__init__()
        centres = torch.as_tensor(np.asarray(centres, dtype=np.float32))
        if centres.dim() != 2 or centres.shape[1] != 2 or len(centres) < 2:
            raise ValueError(
                f"centres must be (Np, 2) place-cell centres with Np >= 2, got shape "
                f"{tuple(centres.shape)}"
            )
        if not bool(torch.isfinite(centres).all()):
            raise ValueError("centres must be finite positions in metres")
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")
        self.n_units = check_count("n_units", n_units)
        self.sigma = check_real("sigma", sigma, positive=True, unit="metres")
        self.surround_scale = check_real("surround_scale", surround_scale, positive=True)
        if dog and self.surround_scale <= 1:
            raise ValueError(
                f"surround_scale must exceed 1 (the surround is wider than the centre), got "
                f"{surround_scale!r}"
            )
        self.dog = bool(dog)
        self.architecture = architecture
        self.step_scale = check_real("step_scale", step_scale, positive=True, unit="metres")
        self.dt = None if dt is None else check_real("dt", dt, positive=True, unit="seconds")
        self.mlp_hidden = check_count("mlp_hidden", mlp_hidden)
        self.mlp_layers = check_count("mlp_layers", mlp_layers)
        self.n_place = len(centres)
        self.register_buffer("centres", centres)
        self.encoder = nn.Linear(self.n_place, self.n_units, bias=False)
        self.decoder = nn.Linear(self.n_units, self.n_place, bias=False)
        gen = generator if generator is not None else torch.Generator().manual_seed(0)
        if architecture == "rnn":
            self.rnn = nn.RNN(2, self.n_units, nonlinearity="relu", bias=False, batch_first=True)
            bound = 1.0 / math.sqrt(self.n_units)
            with torch.no_grad():
                for w in self.rnn.parameters():
                    nn.init.uniform_(w, -bound, bound, generator=gen)
        else:
            self.core = SICEncoder(
                self.n_units, self.mlp_hidden, self.mlp_layers, self.step_scale, self.dt,
                generator=gen,
            )  # fmt: skip
            self.core.g0_param.requires_grad_(False)  # the start state comes from the encoder
        with torch.no_grad():
            for layer in (self.encoder, self.decoder):
                bound = 1.0 / math.sqrt(layer.in_features)
                nn.init.uniform_(layer.weight, -bound, bound, generator=gen)

    def config(self) -> dict[str, Any]:
        """Constructor arguments but the centres (JSON-serialisable), with ``n_place``."""
        return {
            "n_units": self.n_units,
            "n_place": self.n_place,
            "sigma": self.sigma,
            "surround_scale": self.surround_scale,
            "dog": self.dog,
            "architecture": self.architecture,
            "step_scale": self.step_scale,
            "dt": self.dt,
            "mlp_hidden": self.mlp_hidden,
            "mlp_layers": self.mlp_layers,
        }

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.config().items())

    def place_cells(self, positions: Tensor) -> Tensor:
        """Place-cell activity ``(..., Np)`` at ``positions (..., 2)`` metres (the targets)."""
        return place_cell_activity(
            positions.to(self.centres.dtype), self.centres, self.sigma, self.surround_scale,
            self.dog,
        )  # fmt: skip

    def start_state(self, positions: Tensor) -> Tensor:
        """The state ``(..., N)`` encoding start positions ``(..., 2)`` metres."""
        g = self.encoder(self.place_cells(positions))
        return norm_relu(g) if self.architecture == "sic" else g

    def initial_state(self, batch: int) -> Tensor:
        """The start state of the training box's centre (the origin), ``(batch, N)``."""
        return self.start_state(self.centres.new_zeros(1, 2)).expand(batch, -1)

    def readout(self, g: Tensor) -> Tensor:
        """Place-cell logits ``(..., Np)`` of states ``(..., N)`` (softmax: the prediction)."""
        return self.decoder(g)

    def decode(self, g: Tensor, k: int = 3) -> Tensor:
        """Position ``(..., 2)`` metres read from states: the mean centre of the ``k`` place
        cells with the largest logits (their ``get_nearest_cell_pos``)."""
        return self.centres[torch.topk(self.readout(g), k, dim=-1).indices].mean(-2)

    def step(self, g: Tensor, v: Tensor) -> Tensor:
        """One update; ``g (batch, N)``, ``v (batch, 2)`` metres per step, or unbatched."""
        _check_finite("v", v)
        if self.architecture == "sic":
            return self.core.step(g, v)
        w_in, w_rec = self.rnn.weight_ih_l0, self.rnn.weight_hh_l0
        return torch.relu(v.to(g.dtype) @ w_in.T + g @ w_rec.T)

    def forward(self, velocities: Tensor, g0: Tensor | None = None) -> Tensor:
        """States after each step: ``velocities (batch, T, 2)`` metres -> ``(batch, T, N)``;
        ``g0 (batch, N)`` defaults to :meth:`initial_state`."""
        if velocities.dim() != 3 or velocities.shape[-1] != 2:
            raise ValueError(f"velocities must be (batch, T, 2), got {tuple(velocities.shape)}")
        _check_finite("velocities", velocities)
        batch = velocities.shape[0]
        g = self.initial_state(batch) if g0 is None else g0
        if g.shape != (batch, self.n_units):
            raise ValueError(f"g0 must have shape ({batch}, {self.n_units}), got {tuple(g.shape)}")
        if self.architecture == "sic":
            return self.core(velocities, g)
        if velocities.shape[1] == 0:
            return g.new_zeros(batch, 0, self.n_units)
        states, _ = self.rnn(velocities.to(g.dtype), g.unsqueeze(0).contiguous())
        return states


def supervised_encoder_from_checkpoint(ckpt: Checkpoint) -> SupervisedEncoder:
    """Rebuild the :class:`SupervisedEncoder` stored in ``ckpt`` (train mode, CPU), its
    description checked against the file's tensor shapes before anything is allocated."""
    desc = ckpt.meta["encoder"]
    sizes = {k: desc.get(k) for k in ("n_units", "n_place", "mlp_hidden", "mlp_layers")}
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes.values()):
        raise CheckpointError(f"{ckpt.path}: bad encoder description {desc!r}")
    architecture = desc.get("architecture")
    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"{ckpt.path}: unknown architecture {architecture!r}")
    if sizes["mlp_layers"] > len(ckpt.shapes):  # bounds the work of listing the shapes
        raise CheckpointError(
            f"{ckpt.path}: the encoder description says mlp_layers={sizes['mlp_layers']}, the "
            f"file holds {len(ckpt.shapes)} tensors"
        )
    check_model_shapes(ckpt, supervised_parameter_shapes(architecture, **sizes), sizes)
    args = {k: v for k, v in desc.items() if k != "n_place"}
    try:
        model = SupervisedEncoder(np.zeros((sizes["n_place"], 2)), **args)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{ckpt.path}: bad encoder description: {exc}") from exc
    model.load_state_dict(ckpt.model_state())
    return model
