"""Hyperparameters of supervised path integration (Sorscher et al. 2019/2023): a frozen,
validated dataclass and its presets (``gridnav pretrain --objective supervised``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gridnav_agents.analysis.runner import _UNIFORM_MEAN_STEP
from gridnav_agents.sic.config import ConfigFields
from gridnav_agents.sic.memory import (
    _FLOAT,
    MAX_TRAINING_BYTES,
    describe_need,
    encoder_parameter_count,
)

__all__ = ["ARCHITECTURES", "SUPERVISED_PRESETS", "SupervisedConfig", "supervised_memory"]

ARCHITECTURES = ("rnn", "sic")


@dataclass(frozen=True)
class SupervisedConfig(ConfigFields):
    """Everything that defines a supervised pretraining run (defaults: Sorscher et al.'s code,
    github.com/ganguli-lab/grid-pattern-formation at commit 401dd6b: ``main.py`` lines 20-63,
    the options ``n_epochs`` 100, ``n_steps`` 1000, ``batch_size`` 200, ``sequence_length``
    20, ``learning_rate`` 1e-4, ``Np`` 512, ``Ng`` 4096, ``place_cell_rf`` 0.12,
    ``surround_scale`` 2, ``RNN_type`` RNN, ``activation`` relu, ``weight_decay`` 1e-4,
    ``DoG`` True, ``periodic`` False, ``box_width`` 2.2; ``model.py`` lines 14-20, the
    bias-free start encoder, RNN and readout, and lines 70-73, the cross-entropy plus
    ``weight_decay`` times the squared recurrent weights; ``place_cells.py`` lines 22-58, the
    uniform centres and softmax-normalised DoG; ``trainer.py`` line 15, Adam).

    Model: ``architecture`` ``"rnn"`` (theirs: ``g_t = ReLU(W_in v_t + W_rec g_{t-1})``, no
    biases) or ``"sic"`` (the SIC encoder's recurrence with ``mlp_hidden``, ``mlp_layers`` and
    ``identity_init`` as in :class:`~gridnav_agents.sic.config.SICConfig`), ``n_units``
    (``Ng``, 4096). The start state is a linear map of the start position's place-cell
    activity, the readout a linear map to the place cells; neither has a bias.
    ``start_init_gain`` (not theirs; default 1) scales the start map's initial weights: the
    place-cell activities sum to 1, so with PyTorch's default init the start state, and the
    whole network's activity, begin about 1,000 times smaller than a unit's input range
    (``n_place`` as the gain puts them at 1).

    Place cells: ``n_place`` (``Np``, 512) centres uniform in the ``box_size`` (2.2 m) square
    (drawn from ``seed``), width ``place_cell_sigma`` (σ, 0.12 m), ``dog``
    (difference of Gaussians, true) with ``surround_scale`` (2: the surround's variance over
    the centre's), normalised as theirs
    (:func:`~gridnav_agents.supervised.place_cells.place_cell_activity`).

    Data: ``batch_size`` (200) trajectories of ``seq_len`` (20) steps, each from a start drawn
    uniformly in the box, moving by SmoothMotion (``smooth_dt`` s, ``smooth_speed_mean`` m/s,
    the walls repel and reflect); ``substeps`` SmoothMotion steps make one encoder step. The
    defaults (0.05 s, 0.08 m/s, 4) give 0.02 m per step on average, as their trajectory
    generator's (Rayleigh speed of scale 0.13·2π m/s, 0.02 s steps), and the same smooth
    motion the analyses use.

    Loss: the softmax cross-entropy between the readout and the place-cell targets at every
    step, plus ``recurrent_l2`` (1e-4, their ``weight_decay``) times the sum of the squared
    recurrent weights (``rnn`` only).

    Optimisation: ``lr`` (1e-4, Adam; AdamW with ``weight_decay`` 0 is Adam), no gradient
    clipping (``grad_clip`` None), ``n_steps`` (100 epochs of 1000 steps). The pretraining
    loop's ReduceLROnPlateau (``plateau_*``, ``min_lr``) and warm-up (``lr_warmup``) are
    available; with the defaults the learning rate falls only after 10,000 steps without a
    lower mean loss (they keep it constant). Bookkeeping as ``SICConfig``.
    """

    # model
    architecture: str = "rnn"
    n_units: int = 4096
    mlp_hidden: int = 128
    mlp_layers: int = 3
    identity_init: float | None = None
    start_init_gain: float = 1.0
    # place cells
    n_place: int = 512
    place_cell_sigma: float = 0.12
    surround_scale: float = 2.0
    dog: bool = True
    box_size: float = 2.2
    # data
    batch_size: int = 200
    seq_len: int = 20
    smooth_dt: float = 0.05
    smooth_speed_mean: float = 0.08
    substeps: int = 4
    # loss
    recurrent_l2: float = 1e-4
    # optimisation
    lr: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float | None = None
    accumulate: int = 1
    lr_warmup: int = 0
    n_steps: int = 100_000
    plateau_factor: float = 0.1
    plateau_patience: int = 10
    plateau_interval: int = 1000
    min_lr: float = 0.0
    max_bad_steps: int = 5
    # bookkeeping
    seed: int = 0
    device: str = "auto"
    log_every: int = 100
    checkpoint_every: int = 5000

    def __post_init__(self) -> None:
        self._coerce_fields()
        for name in (
            "n_units", "mlp_hidden", "mlp_layers", "batch_size", "seq_len", "substeps",
            "accumulate", "n_steps", "plateau_interval", "max_bad_steps", "log_every",
            "checkpoint_every",
        ):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.n_place < 2:
            raise ValueError(f"n_place must be >= 2 place cells, got {self.n_place!r}")
        for name in ("lr_warmup", "plateau_patience"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}"
            )
        pos = ["place_cell_sigma", "box_size", "smooth_dt", "smooth_speed_mean", "lr"]
        nonneg = ["recurrent_l2", "weight_decay", "min_lr"]
        for name in pos + nonneg:
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0 or (name in pos and v == 0):
                kind = "positive" if name in pos else "non-negative"
                raise ValueError(f"{name} must be a finite {kind} number, got {v!r}")
        for name in ("grad_clip", "identity_init", "start_init_gain"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v > 0):
                what = "" if name == "start_init_gain" else "None or "
                raise ValueError(f"{name} must be {what}a finite positive number, got {v!r}")
        if not (math.isfinite(self.surround_scale) and self.surround_scale > 1):
            raise ValueError(
                f"surround_scale must be a finite number > 1 (the surround's variance over the "
                f"centre's), got {self.surround_scale!r}"
            )
        self._check_magnitudes()
        self._check_shared()
        parts = supervised_memory(self)
        if sum(size for _, size in parts.values()) > MAX_TRAINING_BYTES:
            raise ValueError(describe_need(self, parts, MAX_TRAINING_BYTES, "allowed"))

    @property
    def mean_step(self) -> float:
        """Mean path length of one encoder step, metres (``substeps`` SmoothMotion steps)."""
        return self.substeps * self.smooth_speed_mean * math.sqrt(math.pi / 2) * self.smooth_dt

    @property
    def step_scale(self) -> float:
        """The bound of uniform velocities with the same mean step length as the training
        steps, metres per step (:func:`~gridnav_agents.analysis.runner.step_subsample`'s
        convention: the analyses then merge ``substeps`` default SmoothMotion steps)."""
        return self.mean_step / _UNIFORM_MEAN_STEP

    @property
    def dt(self) -> float:
        """Seconds per encoder step."""
        return self.substeps * self.smooth_dt

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable field values and ``"objective": "supervised"``."""
        return {"objective": "supervised", **super().to_dict()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SupervisedConfig:
        """Build from :meth:`to_dict` output (``objective``, if present, must be
        ``"supervised"``)."""
        values = dict(values)
        objective = values.pop("objective", "supervised")
        if objective != "supervised":
            raise ValueError(f"objective must be 'supervised', got {objective!r}")
        return super().from_dict(values)


def supervised_memory(config: SupervisedConfig) -> dict[str, tuple[tuple[str, ...], int]]:
    """Estimated bytes of one training step, per component (see
    :func:`~gridnav_agents.sic.memory.training_memory`): the parameters with their gradients
    and Adam moments, and the activations of a batch (states, logits, targets)."""
    n, p = config.n_units, config.n_place
    if config.architecture == "rnn":
        core = n * n + 2 * n
    else:
        core = encoder_parameter_count(n, config.mlp_hidden, config.mlp_layers)
    params = 4 * _FLOAT * (2 * n * p + core)
    samples = config.batch_size * config.seq_len
    mats = n * n * samples if config.architecture == "sic" else 0  # W(v) of every step
    return {
        "parameters, gradients and Adam state (~2 · n_units · n_place + n_units²)": (
            ("n_units", "n_place"),
            params,
        ),
        "activations (~batch_size · seq_len · (n_units + n_place))": (
            ("batch_size", "seq_len", "n_units", "n_place"),
            _FLOAT * (samples * (6 * n + 6 * p) + 2 * mats),
        ),
    }


#: ``supervised-paper``: Sorscher et al.'s settings (4096 units, 100,000 steps; a GPU's work).
#: ``supervised``: their recipe on one CPU core, with three changes for speed: 512 units (the
#: recurrent and readout products cost ~N², 1/64 and 1/8 of theirs), ``lr`` 1e-3 and
#: ``start_init_gain`` 512. With 512 units and their init the network starts near silent and
#: the L2 penalty decays the recurrent weights before the readout finds a signal, at their lr
#: and at 1e-3; the start-map gain is what lets it learn within minutes
#: (docs/probes/supervised.md). 3,000 steps, about 16 min on an idle core.
#: docs/results.md ("Generalisation to larger boxes") gives what it grows.
#: ``supervised-smoke``: seconds, to check a setup; it grows no grid cells.
SUPERVISED_PRESETS: dict[str, SupervisedConfig] = {
    "supervised-paper": SupervisedConfig(),
    "supervised": SupervisedConfig(
        n_units=512, start_init_gain=512, lr=1e-3, n_steps=3_000, checkpoint_every=500
    ),
    "supervised-smoke": SupervisedConfig(
        n_units=32, n_place=32, batch_size=16, n_steps=30, log_every=5, checkpoint_every=10
    ),
}
