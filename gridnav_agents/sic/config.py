"""Hyperparameters of SIC pretraining: one frozen, validated dataclass and two presets."""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gridnav_agents.sic.memory import MAX_TRAINING_BYTES, describe_need, training_memory

__all__ = ["PRESETS", "RESUMABLE_FIELDS", "SICConfig"]

#: Fields that may differ between a run and its resumption (they do not change the trajectory).
RESUMABLE_FIELDS = frozenset({"n_steps", "device", "checkpoint_every"})

_VELOCITIES = ("uniform", "smooth")
_TRANSITIONS = ("mlp", "rotation")
_INT_MAX = 2**63 - 1  # integers go to numpy and torch as int64
_FLOAT_MAX = 1e6  # beyond any useful value; keeps squares and sums finite in float32
# 2 × SmoothMotion's default rotational_velocity_coherence_time (0.08 s): the Euler step of
# its OU process diverges for dt >= 2 tau.
_SMOOTH_DT_BOUND = 0.16


@dataclass(frozen=True)
class SICConfig:
    """Everything that defines a pretraining run (defaults: the paper's Table 1).

    Model: ``n_units`` (N, 128), ``mlp_hidden`` (not in the paper: 128, the same width as the
    state, so the MLP's last layer ``hidden -> N²`` holds 2.1M of its 2.1M+ parameters),
    ``mlp_layers`` (3 Linear layers), ``identity_init`` (``None``: PyTorch's default init, as
    the paper; a number ``s``: the MLP's last layer is scaled by ``s`` and the identity added
    to its bias, so ``W(v)`` starts as ``I + s·(default init)``: the state persists and every
    unit is active from the first step). ``init_gain_spread`` (not in the paper; default 1:
    every unit alike): the MLP's initial output for unit ``i``'s row of ``W(v)`` (weights and
    the bias's random part) is scaled by ``spread ** (i / (N - 1) - 1/2)``, so at the start
    the units' velocity gains rise smoothly by that factor across the population, a gradient
    that breaks the symmetry between units without choosing any period or grouping. Nothing
    is drawn for it. ``n_blocks`` (not in the paper; default 1): K > 1 makes the state K blocks of
    ``N/K`` units with a block-diagonal ``W(v)`` and a NormReLU per block
    (:class:`~gridnav_agents.sic.model.SICEncoder`): K modules built in, their periods learnt.
    ``block_gain_ratio`` (default 1): block k's head sees the velocity scaled by
    ``ratio ** (k - (K - 1) / 2)``, a fixed geometric gradient of velocity gains across the
    blocks that is never learnt. ``transition`` (not in the paper; default ``"mlp"``):
    ``"rotation"`` makes ``W(v) = Q R(v) Qᵀ``, plane rotations by ``k_j · v`` in a learnt basis
    with learnt wavevectors (:class:`~gridnav_agents.sic.rotation.RotationTransition`): exact
    path integration built in, frequencies learnt; with ``n_blocks`` its basis is
    block-diagonal; ``identity_init``, ``init_gain_spread`` and ``block_gain_ratio`` do not
    apply to it and must keep their defaults.

    Data: ``batch_size`` (B, 130) trajectories of ``seq_len`` (T, 60) steps; ``permute`` (paper:
    the B trajectories are permutations of one velocity sequence; ``False``: B independent
    trajectories); ``velocity`` ``"uniform"`` (paper: i.i.d. Uniform²(-max_step, max_step) metres
    per step, ``max_step`` 0.15) or ``"smooth"`` (``gridnav_env.motion.SmoothMotion`` with
    ``smooth_dt`` seconds and ``smooth_speed_mean`` m/s, on the open plane). ``velocity_drift``
    (not in the paper; uniform velocities only; default 0): every sequence's steps get a mean of
    that many metres per step in a direction drawn per sequence, so the batch's trajectories
    spread along a line of ``velocity_drift · T`` metres while still sharing start and end
    (``gridnav_env.motion.UniformVelocity``'s ``drift``). ``step_scale_spread`` (not in the
    paper; uniform velocities only; default 1): every step is multiplied by a factor drawn
    log-uniformly in ``[1/spread, spread]``, so one batch holds steps of several scales and its
    positions spread over a wider area while σx stays small (``UniformVelocity``'s
    ``scale_spread``). ``start_walk`` (not in the paper;
    default 0: every batch starts at the learnt ``g0``): each batch starts instead from the state
    the encoder reaches from ``g0`` after that many steps drawn like the batch's, without
    gradient, so the start state differs from batch to batch and the code cannot anchor to one
    origin state.
    Curriculum (not in the paper): from optimizer step ``curriculum_step`` on (``None``: never),
    batches hold ``curriculum_batch_size`` permutations of ``curriculum_seq_len`` steps, e.g.
    longer rollouts whose pair distances reach past a lattice grown on short ones (see
    :meth:`batch_shape`). The plateau scheduler and the best-loss record restart at the switch.

    Losses (per-pair means, see ``gridnav_agents.sic.losses``): ``sigma_x`` (0.05 m),
    ``sigma_g`` (0.4), ``lambda_sep`` (1.0), ``lambda_inv`` (0.1), ``lambda_cap`` (0.5) and
    ``lambda_coniso`` (not in the paper) and ``lambda_nonneg`` (not in the paper; default 0:
    off): the share of each pre-activation's norm the ReLU removes
    (:func:`~gridnav_agents.sic.losses.nonnegativity_loss`), and ``lambda_sparse`` (not in the
    paper; default 0: off): the states' mean L1 norm over ``sqrt(N)``
    (:func:`~gridnav_agents.sic.losses.sparsity_loss`). Any λ may be 0 (that loss is then not
    computed).
    ``coniso_scale_free`` divides the conformal-isometry variance by the squared mean ratio
    (see :func:`~gridnav_agents.sic.losses.conformal_isometry_loss`; eq. 7 as printed when
    ``False``).
    ``coniso_max_step`` (metres per step; None: ``sigma_x``, as in eq. 7): the steps the
    conformal-isometry loss averages over are those with ``0 < ||v|| < coniso_max_step``. With
    a ``sigma_x`` well below ``max_step`` almost no step qualifies (``sigma_x`` 0.025 m: ~2 %
    of Uniform²(±0.15 m) steps, ~1 of the T = 40 distinct velocities) and the term vanishes.

    ``lambda_coniso`` (default 0.01) weighs the conformal-isometry loss, a variance of ratios
    ``||Δg|| / ||v||`` (m⁻¹) whose natural size is ``(σg/σx)² = 64`` times a squared coefficient
    of variation; docs/probes/recipe.md gives the measurements behind the default.

    Optimisation: AdamW (``lr`` 2e-5, ``weight_decay`` 0: Table 1 says "None"), gradients
    accumulated over ``accumulate`` (2) batches per optimizer step, L2-norm clipping at
    ``grad_clip`` (0.1; Table 1's "gradient clip value" is PyTorch Lightning's
    ``gradient_clip_val`` whose default algorithm is norm clipping), ``n_steps`` (2e6) optimizer
    steps, the first ``lr_warmup`` (default 0) of them with the learning rate ramped linearly
    from ``lr/lr_warmup`` to ``lr``. ReduceLROnPlateau (the paper gives no parameters): every
    ``plateau_interval`` optimizer steps it sees the mean total loss of that interval;
    ``plateau_factor`` and ``plateau_patience`` (in intervals) are PyTorch's defaults (0.1, 10),
    ``min_lr`` its floor.

    Exactness: ``pair_subsample`` (default ``None``: all pairs, exact) draws that many states per
    batch for the separation/invariance losses, an approximation for quick experiments.
    ``loss_block`` rows are streamed at a time (memory ~ 4·loss_block·B·T bytes).

    Robustness: a step whose loss or gradient is not finite is skipped; ``max_bad_steps`` in a
    row stop the run. Bookkeeping: ``seed`` (all randomness), ``device`` (``"auto"``: CUDA if
    available), ``log_every`` (steps per metrics line), ``checkpoint_every``.

    Limits (checked at construction): ``seed`` in [0, 2**64 - 1]; other integers at most
    2**63 - 1; every float at most 1e6 in magnitude; ``smooth_dt`` below 0.16 s (where
    SmoothMotion's updates diverge); the estimated memory of a training step
    (:func:`~gridnav_agents.sic.memory.training_memory`) at most 1 TiB, and ``train`` refuses
    a setting that needs more than its device has.
    """

    # model
    n_units: int = 128
    mlp_hidden: int = 128
    mlp_layers: int = 3
    identity_init: float | None = None
    init_gain_spread: float = 1.0
    n_blocks: int = 1
    block_gain_ratio: float = 1.0
    transition: str = "mlp"
    # data
    batch_size: int = 130
    seq_len: int = 60
    permute: bool = True
    velocity: str = "uniform"
    max_step: float = 0.15
    smooth_dt: float = 0.05
    smooth_speed_mean: float = 0.08
    velocity_drift: float = 0.0
    step_scale_spread: float = 1.0
    start_walk: int = 0
    curriculum_step: int | None = None
    curriculum_batch_size: int = 16
    curriculum_seq_len: int = 160
    # losses
    sigma_x: float = 0.05
    sigma_g: float = 0.4
    lambda_sep: float = 1.0
    lambda_inv: float = 0.1
    lambda_cap: float = 0.5
    lambda_coniso: float = 0.01
    lambda_nonneg: float = 0.0
    lambda_sparse: float = 0.0
    coniso_scale_free: bool = False
    coniso_max_step: float | None = None
    pair_subsample: int | None = None
    loss_block: int = 1024
    # optimisation
    lr: float = 2e-5
    weight_decay: float = 0.0
    grad_clip: float = 0.1
    accumulate: int = 2
    lr_warmup: int = 0
    n_steps: int = 2_000_000
    plateau_factor: float = 0.1
    plateau_patience: int = 10
    plateau_interval: int = 1000
    min_lr: float = 0.0
    max_bad_steps: int = 5
    # bookkeeping
    seed: int = 0
    device: str = "auto"
    log_every: int = 100
    checkpoint_every: int = 10_000

    def __post_init__(self) -> None:
        hints = _hints()
        for f in _fields():
            value = getattr(self, f.name)
            object.__setattr__(self, f.name, _coerce(f.name, value, hints[f.name]))
        pos_int = [
            "n_units",
            "n_blocks",
            "mlp_hidden",
            "mlp_layers",
            "batch_size",
            "seq_len",
            "curriculum_batch_size",
            "curriculum_seq_len",
            "loss_block",
            "accumulate",
            "n_steps",
            "plateau_interval",
            "max_bad_steps",
            "log_every",
            "checkpoint_every",
        ]
        for name in pos_int:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.lr_warmup < 0:
            raise ValueError(f"lr_warmup must be >= 0 steps, got {self.lr_warmup!r}")
        if self.start_walk < 0:
            raise ValueError(f"start_walk must be >= 0 steps, got {self.start_walk!r}")
        if self.identity_init is not None and not (
            math.isfinite(self.identity_init) and self.identity_init >= 0
        ):
            raise ValueError(
                f"identity_init must be None or a finite number >= 0, got {self.identity_init!r}"
            )
        if not (math.isfinite(self.init_gain_spread) and self.init_gain_spread >= 1):
            raise ValueError(
                f"init_gain_spread must be a finite number >= 1, got {self.init_gain_spread!r}"
            )
        if self.n_units % self.n_blocks or self.n_units // self.n_blocks < 2:
            raise ValueError(
                f"n_blocks must divide n_units into blocks of at least 2 units, got n_blocks "
                f"{self.n_blocks!r} for n_units {self.n_units!r}"
            )
        if self.transition not in _TRANSITIONS:
            raise ValueError(
                f"transition must be one of {_TRANSITIONS}, got {self.transition!r}"
            )
        if self.transition == "rotation":
            if self.n_units % 2:
                raise ValueError(
                    f"n_units must be even with transition 'rotation', got {self.n_units!r}"
                )
            if (self.n_units // self.n_blocks) % 2:
                raise ValueError(
                    f"n_units / n_blocks must be even with transition 'rotation', got n_units "
                    f"{self.n_units!r}, n_blocks {self.n_blocks!r}"
                )
            for name, default in (
                ("identity_init", None),
                ("init_gain_spread", 1.0),
                ("block_gain_ratio", 1.0),
            ):
                if getattr(self, name) != default:
                    raise ValueError(
                        f"{name} does not apply to transition 'rotation'; got {name} "
                        f"{getattr(self, name)!r} (leave it at {default!r})"
                    )
        if not (math.isfinite(self.block_gain_ratio) and self.block_gain_ratio > 0):
            raise ValueError(
                f"block_gain_ratio must be a finite positive number, got {self.block_gain_ratio!r}"
            )
        spread = abs(math.log(self.block_gain_ratio)) * (self.n_blocks - 1) / 2
        if spread > math.log(_FLOAT_MAX):  # the outer blocks' gains ratio ** ±(K - 1) / 2
            raise ValueError(
                f"block_gain_ratio {self.block_gain_ratio!r} with n_blocks {self.n_blocks} gives "
                f"velocity gains beyond [1e-6, 1e6]"
            )
        if self.coniso_max_step is not None and not (
            math.isfinite(self.coniso_max_step) and self.coniso_max_step > 0
        ):
            raise ValueError(
                f"coniso_max_step must be None or a finite positive number, got "
                f"{self.coniso_max_step!r}"
            )
        if self.curriculum_step is not None and self.curriculum_step < 0:
            raise ValueError(
                f"curriculum_step must be None or >= 0 steps, got {self.curriculum_step!r}"
            )
        if self.plateau_patience < 0:
            raise ValueError(f"plateau_patience must be >= 0, got {self.plateau_patience!r}")
        pos = [
            "max_step",
            "smooth_dt",
            "smooth_speed_mean",
            "sigma_x",
            "sigma_g",
            "lr",
            "grad_clip",
        ]
        nonneg = [
            "velocity_drift",
            "lambda_sep",
            "lambda_inv",
            "lambda_cap",
            "lambda_coniso",
            "lambda_nonneg",
            "lambda_sparse",
            "weight_decay",
            "min_lr",
        ]
        for name in pos + nonneg:
            v = getattr(self, name)
            if not math.isfinite(v) or v < 0 or (name in pos and v == 0):
                kind = "positive" if name in pos else "non-negative"
                raise ValueError(f"{name} must be a finite {kind} number, got {v!r}")
        if not 0 < self.plateau_factor < 1:
            raise ValueError(f"plateau_factor must be in (0, 1), got {self.plateau_factor!r}")
        if self.velocity not in _VELOCITIES:
            raise ValueError(f"velocity must be one of {_VELOCITIES}, got {self.velocity!r}")
        if not (math.isfinite(self.step_scale_spread) and self.step_scale_spread >= 1):
            raise ValueError(
                f"step_scale_spread must be a finite number >= 1, got {self.step_scale_spread!r}"
            )
        if self.step_scale_spread > 1 and self.velocity != "uniform":
            raise ValueError(
                f"step_scale_spread applies to velocity 'uniform' only, got step_scale_spread "
                f"{self.step_scale_spread!r} with velocity {self.velocity!r}"
            )
        if self.velocity_drift > 0 and self.velocity != "uniform":
            raise ValueError(
                f"velocity_drift applies to velocity 'uniform' only, got velocity_drift "
                f"{self.velocity_drift!r} with velocity {self.velocity!r}"
            )
        if self.pair_subsample is not None and self.pair_subsample < 2:
            raise ValueError(f"pair_subsample must be >= 2 or None, got {self.pair_subsample!r}")
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be in [0, 2**64 - 1] (64 bits), got {self.seed!r}")
        for f in _fields():
            value, base = getattr(self, f.name), _base(hints[f.name])[0]
            if base is int and value is not None and value > _INT_MAX and f.name != "seed":
                raise ValueError(f"{f.name} must be at most 2**63 - 1, got {value!r}")
            if base is float and value is not None and abs(value) > _FLOAT_MAX:
                raise ValueError(f"{f.name} must be at most {_FLOAT_MAX:g}, got {value!r}")
        if self.max_step * self.step_scale_spread > _FLOAT_MAX:
            raise ValueError(
                f"max_step · step_scale_spread (the longest step) must be at most {_FLOAT_MAX:g} m,"
                f" got max_step {self.max_step!r}, step_scale_spread {self.step_scale_spread!r}"
            )
        if self.smooth_dt >= _SMOOTH_DT_BOUND:
            raise ValueError(
                f"smooth_dt must be below {_SMOOTH_DT_BOUND:g} s (twice SmoothMotion's "
                f"rotational velocity coherence time; its updates diverge beyond), got "
                f"{self.smooth_dt!r}"
            )
        dev = self.device
        if not (dev in ("auto", "cpu", "cuda") or (dev.startswith("cuda:") and dev[5:].isdigit())):
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {dev!r}")
        if self.lambda_sep == self.lambda_inv == self.lambda_cap == self.lambda_coniso == 0:
            raise ValueError("lambda_sep, lambda_inv, lambda_cap, lambda_coniso are all 0")
        parts = training_memory(self)
        if sum(size for _, size in parts.values()) > MAX_TRAINING_BYTES:
            raise ValueError(describe_need(self, parts, MAX_TRAINING_BYTES, "allowed"))

    @property
    def step_scale(self) -> float:
        """The velocity scale, metres per step: ``max_step`` (uniform) or the mean smooth step."""
        if self.velocity == "uniform":
            return self.max_step
        return self.smooth_speed_mean * math.sqrt(math.pi / 2) * self.smooth_dt

    def batch_shape(self, step: int) -> tuple[int, int]:
        """``(B, T)`` of the batches of optimizer step ``step`` (0-based): the curriculum's
        from ``curriculum_step`` on, else ``(batch_size, seq_len)``."""
        if self.curriculum_step is not None and step >= self.curriculum_step:
            return self.curriculum_batch_size, self.curriculum_seq_len
        return self.batch_size, self.seq_len

    @property
    def block_gains(self) -> tuple[float, ...]:
        """The fixed velocity gain of each block: ``block_gain_ratio ** (k - (K - 1) / 2)``."""
        k = self.n_blocks
        return tuple(self.block_gain_ratio ** (b - (k - 1) / 2) for b in range(k))

    @property
    def dt(self) -> float | None:
        """Seconds per step (``None`` for the paper's unitless uniform steps)."""
        return self.smooth_dt if self.velocity == "smooth" else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable field values."""
        return {f.name: getattr(self, f.name) for f in _fields()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SICConfig:
        """Build from :meth:`to_dict` output; unknown keys are an error, missing keys default."""
        unknown = set(values) - {f.name for f in _fields()}
        if unknown:
            raise ValueError(f"unknown SICConfig field(s): {', '.join(sorted(unknown))}")
        return cls(**values)

    def with_overrides(self, assignments: Iterable[str]) -> SICConfig:
        """A copy with ``"key=value"`` strings applied, values parsed by the field's type.

        ``None``/``none`` sets an optional field to ``None``; booleans accept
        true/false/1/0/yes/no; integers accept ``2e6``-style values when integral.
        """
        hints, names = _hints(), {f.name for f in _fields()}
        changes: dict[str, Any] = {}
        for item in assignments:
            key, sep, text = item.partition("=")
            key = key.strip()
            if not sep:
                raise ValueError(f"override {item!r} is not of the form key=value")
            if key not in names:
                raise ValueError(f"unknown SICConfig field {key!r} in override {item!r}")
            changes[key] = _parse(key, text.strip(), hints[key])
        return dataclasses.replace(self, **changes)

    def diff(self, other: SICConfig) -> list[str]:
        """Names of the fields whose values differ."""
        return [f.name for f in _fields() if getattr(self, f.name) != getattr(other, f.name)]


def _fields() -> list[dataclasses.Field]:
    return list(dataclasses.fields(SICConfig))


def _hints() -> dict[str, Any]:
    return typing.get_type_hints(SICConfig)


def _base(tp: Any) -> tuple[type, bool]:
    """``(type, optional)`` for ``T`` or ``T | None``."""
    args = typing.get_args(tp)
    if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union:
        return next(a for a in args if a is not type(None)), True
    return tp, False


def _coerce(name: str, value: Any, tp: Any) -> Any:
    base, optional = _base(tp)
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name} must not be None")
    if base is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a bool, got {value!r}")
        return value
    if base is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        return value
    if base is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(f"{name} must be a number, got {value!r}")
        return float(value)
    if base is str and not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


def _parse(name: str, text: str, tp: Any) -> Any:
    base, optional = _base(tp)
    if optional and text.lower() == "none":
        return None
    try:
        if base is bool:
            lowered = text.lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValueError
        if base is int:
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if base is float:
            return float(text)
    except ValueError:
        raise ValueError(f"cannot parse {text!r} as {base.__name__} for field {name!r}") from None
    return text


#: ``paper``: Table 1 exactly (2e6 steps). ``cpu``: grid cells on one CPU core (B 64 × T 40,
#: lr 2e-3 with a 200-step warm-up, ``identity_init`` 0.1, the scale-free conformal-isometry
#: term with λ 0.1; 7,000 steps). ``quick``: the ``cpu`` recipe stopped at 1,200 steps, about
#: 5 minutes on one core. ``smoke``: 300 small steps, seconds in all, to check a setup; it grows
#: no grid cells. docs/results.md gives what each preset grows.
PRESETS: dict[str, SICConfig] = {
    "paper": SICConfig(),
    "smoke": SICConfig(
        batch_size=32,
        seq_len=20,
        lr=1e-3,
        accumulate=1,
        n_steps=300,
        plateau_interval=50,
        log_every=10,
        checkpoint_every=100,
    ),
    "cpu": SICConfig(
        identity_init=0.1,
        batch_size=64,
        seq_len=40,
        lambda_coniso=0.1,
        coniso_scale_free=True,
        lr=2e-3,
        accumulate=1,
        lr_warmup=200,
        n_steps=7_000,
        plateau_interval=200,
        log_every=20,
        checkpoint_every=500,
    ),
}
PRESETS["quick"] = dataclasses.replace(PRESETS["cpu"], n_steps=1_200, checkpoint_every=200)
