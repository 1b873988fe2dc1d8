"""Supervised path integration, the objective of ``gridnav pretrain --objective supervised``.

Each batch: ``B`` smooth trajectories of ``T`` steps from starts uniform in the training box
(:func:`sample_trajectories`); the encoder starts from the start position's place-cell code,
integrates the velocities, and its linear readout is scored against the place-cell targets at
every step by softmax cross-entropy, plus an L2 penalty on the recurrent weights
(:func:`supervised_losses`). The loop, run directory, checkpoints and resume are those of
SIC pretraining (:func:`gridnav_agents.sic.train.train`, which dispatches on the config).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from gridnav_agents.sic.train import Objective, identity_start
from gridnav_agents.supervised.config import SupervisedConfig, supervised_memory
from gridnav_agents.supervised.model import SupervisedEncoder
from gridnav_agents.supervised.place_cells import place_cell_centres
from gridnav_env.arena import Arena
from gridnav_env.motion import SmoothMotion

__all__ = [
    "LOSS_NAMES",
    "SUPERVISED_OBJECTIVE",
    "build_supervised_encoder",
    "sample_trajectories",
    "supervised_losses",
]

#: Logged per step: the cross-entropy, the weighted L2 penalty and the mean distance between
#: the decoded and the true position (metres, top-3 place cells; not minimised).
LOSS_NAMES = ("cross_entropy", "weight_penalty", "decoding_error_m")


def build_supervised_encoder(
    config: SupervisedConfig, generator: torch.Generator | None = None
) -> SupervisedEncoder:
    """The encoder described by ``config``: place-cell centres, then weights, from
    ``generator`` (``identity_init`` for the ``sic`` architecture, ``start_init_gain``)."""
    gen = generator if generator is not None else torch.Generator().manual_seed(config.seed)
    model = SupervisedEncoder(
        place_cell_centres(config.n_place, config.box_size, gen),
        n_units=config.n_units,
        sigma=config.place_cell_sigma,
        surround_scale=config.surround_scale,
        dog=config.dog,
        architecture=config.architecture,
        step_scale=config.step_scale,
        dt=config.dt,
        mlp_hidden=config.mlp_hidden,
        mlp_layers=config.mlp_layers,
        generator=gen,
    )
    if config.architecture == "sic" and config.identity_init is not None:
        identity_start(model.core, config.identity_init)
    with torch.no_grad():
        model.encoder.weight.mul_(config.start_init_gain)
    return model


@lru_cache(maxsize=8)
def _box(size: float) -> Arena:
    return Arena.box(size)


def sample_trajectories(
    config: SupervisedConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One batch: ``(start (B, 2), velocities (B, T, 2), positions (B, T, 2))``, metres; the
    velocities are displacements per encoder step (``substeps`` SmoothMotion steps summed),
    the positions those after each step."""
    motion = SmoothMotion(dt=config.smooth_dt, speed_mean=config.smooth_speed_mean)
    n = config.batch_size
    traj = motion.rollout(n, config.seq_len * config.substeps, rng, arena=_box(config.box_size))
    pos = traj.positions[:, :: config.substeps]  # (B, T + 1, 2)
    return pos[:, 0], np.diff(pos, axis=1), pos[:, 1:]


def supervised_losses(
    model: SupervisedEncoder,
    config: SupervisedConfig,
    rng: np.random.Generator,
    generator: torch.Generator | None = None,
    step: int = 0,
) -> dict[str, torch.Tensor]:
    """``loss`` = cross-entropy + ``recurrent_l2 · ||W_rec||²`` on a fresh batch from ``rng``
    (``generator`` and ``step`` are unused: every step draws alike), with its parts and the
    decoding error (metres)."""
    device = model.centres.device
    start, vel, pos = (
        torch.as_tensor(a, dtype=torch.float32, device=device)
        for a in sample_trajectories(config, rng)
    )
    states = model(vel, model.start_state(start))
    log_pred = torch.log_softmax(model.readout(states), dim=-1)
    cross_entropy = -(model.place_cells(pos) * log_pred).sum(-1).mean()
    if config.architecture == "rnn":
        penalty = config.recurrent_l2 * model.rnn.weight_hh_l0.square().sum()
    else:
        penalty = torch.zeros((), device=device)
    with torch.no_grad():
        error = torch.linalg.vector_norm(model.decode(states) - pos, dim=-1).mean()
    return {
        "loss": cross_entropy + penalty,
        "cross_entropy": cross_entropy,
        "weight_penalty": penalty,
        "decoding_error_m": error,
    }


def _postfix(mean: dict[str, float]) -> dict[str, str]:
    return {"ce": f"{mean['cross_entropy']:.4g}", "err_m": f"{mean['decoding_error_m']:.3f}"}


SUPERVISED_OBJECTIVE = Objective(
    "supervised",
    LOSS_NAMES,
    build_supervised_encoder,
    supervised_losses,
    supervised_memory,
    _postfix,
)
