"""SIC self-supervised pretraining, top to bottom (CleanRL style).

Each optimizer step: ``accumulate`` fresh batches (B permutations of T velocities, Fig. 3d) ->
encoder states -> the four losses (eq. 8) -> backward; then norm clipping, AdamW, and every
``plateau_interval`` steps ReduceLROnPlateau on the interval's mean loss. A run directory holds
``config.json``, ``metrics.jsonl`` (one JSON line per logged step) and the safetensors
checkpoints ``last.safetensors`` / ``best.safetensors`` (best: lowest mean loss between
checkpoints) and the writer's lock file ``.lock`` (see ``rundir.py``). ``resume=True``
continues bit-for-bit where the last checkpoint stopped.

Loss inputs (documented choices): the states the losses see are ``g_1..g_T`` of every
trajectory plus the shared start state ``g_0`` once (position = the start); the conformal
isometry loss sees every transition ``g_{t-1} -> g_t`` (``g_0 -> g_1`` included).
"""

from __future__ import annotations

import json
import math
import signal
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from gridnav_agents.sic import checkpoint as ckpt_io
from gridnav_agents.sic.config import SICConfig
from gridnav_agents.sic.losses import (
    capacity_loss,
    conformal_isometry_loss,
    nonnegativity_loss,
    pairwise_losses,
    sparsity_loss,
)
from gridnav_agents.sic.memory import describe_need, device_memory_bytes, training_memory
from gridnav_agents.sic.model import SICEncoder
from gridnav_agents.sic.rundir import (
    CONFIG,
    METRICS,
    RunWriter,
    check_resumable,
    last_step,
    stored_config,
    truncate_metrics,
)
from gridnav_env.motion import SmoothMotion, UniformVelocity
from gridnav_env.rollouts import PermutedRollout, independent_rollouts, permuted_rollouts

__all__ = [
    "LOSS_NAMES",
    "SIC_OBJECTIVE",
    "NonFiniteLossError",
    "Objective",
    "batch_states",
    "build_encoder",
    "compute_losses",
    "objective_for",
    "sample_batch",
    "start_state",
    "train",
]

LOSS_NAMES = (
    "separation",
    "invariance",
    "capacity",
    "conformal_isometry",
    "nonnegativity",
    "sparsity",
)


class NonFiniteLossError(RuntimeError):
    """Raised when ``max_bad_steps`` consecutive steps had a non-finite loss or gradient."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    return torch.device(name)


def identity_start(model: SICEncoder, scale: float) -> None:
    """Scale the MLP's last layer by ``scale`` and add the identity to its bias, so every block
    of ``W(v)`` starts as ``I + scale·(its initial value)`` (``SICConfig.identity_init``)."""
    last = model.mlp[-1]
    with torch.no_grad():
        last.weight.mul_(scale)
        eye = torch.eye(model.block_size).flatten().repeat(model.n_blocks)
        last.bias.mul_(scale).add_(eye)


def build_encoder(config: SICConfig, generator: torch.Generator | None = None) -> SICEncoder:
    """The encoder described by ``config`` (weights from ``generator``, ``identity_init``,
    ``init_gain_spread``)."""
    model = SICEncoder(
        n_units=config.n_units,
        mlp_hidden=config.mlp_hidden,
        mlp_layers=config.mlp_layers,
        step_scale=config.step_scale,
        dt=config.dt,
        n_blocks=config.n_blocks,
        block_gains=config.block_gains,
        transition=config.transition,
        generator=generator,
    )
    if config.transition != "mlp":
        return model
    last, n, size = model.mlp[-1], config.n_units, model.block_size
    with torch.no_grad():
        if config.init_gain_spread != 1:  # unit i's row of its block is outputs i·n .. i·n + n - 1
            gain = config.init_gain_spread ** (torch.arange(n) / max(n - 1, 1) - 0.5)
            rows = gain.repeat_interleave(size)
            last.weight.mul_(rows[:, None])
            last.bias.mul_(rows)
    if config.identity_init is not None:
        identity_start(model, config.identity_init)
    return model


def _motion(config: SICConfig) -> UniformVelocity | SmoothMotion:
    if config.velocity == "uniform":
        return UniformVelocity(
            config.max_step, drift=config.velocity_drift, scale_spread=config.step_scale_spread
        )
    return SmoothMotion(dt=config.smooth_dt, speed_mean=config.smooth_speed_mean)


def sample_batch(config: SICConfig, rng: np.random.Generator, step: int = 0) -> PermutedRollout:
    """One batch for optimizer step ``step``: ``B`` trajectories of ``T`` steps from the origin,
    ``(B, T) = config.batch_shape(step)``."""
    sampler = permuted_rollouts if config.permute else independent_rollouts
    n_traj, n_steps = config.batch_shape(step)
    return sampler(n_traj, n_steps, rng, motion=_motion(config))


def start_state(
    model: SICEncoder, config: SICConfig, rng: np.random.Generator
) -> torch.Tensor | None:
    """The shared start state of the next batch: ``None`` (the learnt ``g0``) unless
    ``config.start_walk`` is set, then the state ``(N,)`` the encoder reaches from ``g0`` after
    that many steps drawn from ``rng`` like the batch's (no gradient flows through it)."""
    if config.start_walk == 0:
        return None
    walk = _motion(config).rollout(1, config.start_walk, rng).velocities
    v = torch.as_tensor(walk, dtype=torch.float32, device=model.g0_param.device)
    with torch.no_grad():
        return model(v)[0, -1]


def _start_and_states(
    model: SICEncoder, batch: PermutedRollout, g_start: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The batch's start state ``(N,)``, its states ``(B, T, N)`` and its velocities as a
    tensor."""
    device = model.g0_param.device
    v = torch.as_tensor(batch.velocities, dtype=torch.float32, device=device)
    # With the learnt g0 the encoder builds its own start states (None): the same values, and
    # g0's gradient summed in the order of the runs documented in docs/results.md.
    starts = None if g_start is None else g_start.expand(len(batch.positions), -1)
    if batch.perms is not None:  # MLP on the T distinct velocities only
        states = model.forward_indexed(v, torch.as_tensor(batch.perms, device=device), starts)
    else:
        states = model(v, starts)
    return (model.g0 if g_start is None else g_start), states, v


def batch_states(
    model: SICEncoder, batch: PermutedRollout, g_start: torch.Tensor | None = None
) -> tuple[torch.Tensor, np.ndarray]:
    """Every state of a batch and where it was: ``g (1 + B·T, N)`` and ``x (1 + B·T, 2)`` metres.

    Row 0 is the shared start state at ``batch.start`` (``g_start``, default the learnt ``g0``),
    then each trajectory's ``T`` states.
    """
    g0, states, _ = _start_and_states(model, batch, g_start)
    g_all = torch.cat([g0[None], states.reshape(-1, states.shape[-1])])
    x_all = np.concatenate([np.asarray(batch.start)[None], batch.positions.reshape(-1, 2)])
    return g_all, x_all


def compute_losses(
    model: SICEncoder,
    batch: PermutedRollout,
    config: SICConfig,
    generator: torch.Generator | None = None,
    g_start: torch.Tensor | None = None,
) -> dict[str, torch.Tensor | None]:
    """The four losses and their weighted sum ``"loss"`` for one batch (eq. 8, per-pair means).

    A loss whose λ is 0 is skipped if expensive (separation: ``None``), else still reported.
    ``generator`` draws the states kept when ``config.pair_subsample`` is set; ``g_start`` is
    the batch's start state (:func:`start_state`; default the learnt ``g0``).
    """
    g0, states, v = _start_and_states(model, batch, g_start)
    n_traj, n_steps, n = states.shape
    g_all = torch.cat([g0[None], states.reshape(-1, n)])
    x_all = np.concatenate([np.asarray(batch.start)[None], batch.positions.reshape(-1, 2)])
    v_steps = v[torch.as_tensor(batch.perms, device=g_all.device)] if batch.perms is not None else v
    g_pair, x_pair = g_all, x_all
    if config.pair_subsample is not None and config.pair_subsample < len(x_all):
        keep = torch.randperm(len(x_all), generator=generator)[: config.pair_subsample]
        g_pair, x_pair = g_all[keep.to(g_all.device)], x_all[keep.numpy()]
    sep, inv = pairwise_losses(
        g_pair,
        x_pair,
        config.sigma_x,
        config.sigma_g,
        separation=config.lambda_sep > 0,
        block=config.loss_block,
    )
    g_prev = torch.cat([g0.expand(n_traj, 1, n), states[:, :-1]], dim=1)
    coniso = conformal_isometry_loss(
        g_prev.reshape(-1, n),
        states.reshape(-1, n),
        v_steps.reshape(-1, 2),
        config.sigma_x if config.coniso_max_step is None else config.coniso_max_step,
        scale_free=config.coniso_scale_free,
    )
    cap = capacity_loss(g_all)
    loss = config.lambda_inv * inv + config.lambda_cap * cap + config.lambda_coniso * coniso
    if config.lambda_sep > 0:
        loss = loss + config.lambda_sep * sep
    nonneg = None
    if config.lambda_nonneg > 0:
        perms = None if batch.perms is None else torch.as_tensor(batch.perms, device=v.device)
        nonneg = nonnegativity_loss(model.preactivations(v, perms, g_prev))
        loss = loss + config.lambda_nonneg * nonneg
    sparse = None
    if config.lambda_sparse > 0:
        sparse = sparsity_loss(g_all)
        loss = loss + config.lambda_sparse * sparse
    return {
        "loss": loss,
        "separation": sep if config.lambda_sep > 0 else None,
        "invariance": inv,
        "capacity": cap,
        "conformal_isometry": coniso,
        "nonnegativity": nonneg,
        "sparsity": sparse,
    }


def _sic_losses(
    model: SICEncoder,
    config: SICConfig,
    rng: np.random.Generator,
    generator: torch.Generator,
    step: int,
) -> dict[str, torch.Tensor | None]:
    """The losses of one fresh batch for optimizer step ``step``."""
    batch = sample_batch(config, rng, step)
    g_start = start_state(model, config, rng)
    return compute_losses(model, batch, config, generator, g_start)


def _sic_postfix(mean: dict[str, float]) -> dict[str, str]:
    short = {"separation": "sep", "invariance": "inv", "capacity": "cap"}
    short["conformal_isometry"] = "coniso"
    return {name: f"{mean[k]:.3g}" for k, name in short.items()}


@dataclass(frozen=True)
class Objective:
    """What a pretraining objective gives :func:`train`'s loop.

    ``build(config, generator)``: the model; ``losses(model, config, rng, generator, step)``:
    a dict of 0-d tensors, the total ``"loss"`` (minimised) and each of ``loss_names``
    (logged; ``None`` for one not computed) for one fresh batch; ``memory(config)``: the
    estimated bytes of a step (:func:`~gridnav_agents.sic.memory.training_memory`'s form);
    ``postfix(mean)``: the progress bar's short texts of the logged means.
    """

    name: str
    loss_names: tuple[str, ...]
    build: Callable[[Any, torch.Generator], torch.nn.Module]
    losses: Callable[..., dict[str, torch.Tensor | None]]
    memory: Callable[[Any], dict[str, tuple[tuple[str, ...], int]]]
    postfix: Callable[[dict[str, float]], dict[str, str]]


def _sic_build(config: SICConfig, generator: torch.Generator) -> SICEncoder:
    return build_encoder(config, generator)  # looked up when called (tests replace it)


SIC_OBJECTIVE = Objective(
    "sic", LOSS_NAMES, _sic_build, _sic_losses, training_memory, _sic_postfix
)


def objective_for(config: Any) -> Objective:
    """The objective a configuration trains: SIC for ``SICConfig``, supervised place-cell
    prediction for ``SupervisedConfig``."""
    if isinstance(config, SICConfig):
        return SIC_OBJECTIVE
    from gridnav_agents.supervised.config import SupervisedConfig

    if isinstance(config, SupervisedConfig):
        from gridnav_agents.supervised.train import SUPERVISED_OBJECTIVE

        return SUPERVISED_OBJECTIVE
    raise TypeError(f"no pretraining objective for a {type(config).__name__}")


def _finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _check_device_memory(config: Any, device: torch.device) -> None:
    """``ValueError`` when ``config``'s estimated training memory exceeds ``device``'s."""
    parts = objective_for(config).memory(config)
    available = device_memory_bytes(str(device))
    if available is not None and sum(size for _, size in parts.values()) > available:
        raise ValueError(describe_need(config, parts, available, f"of memory on {device}"))


def _finished(out: Path, step: int, config: Any) -> dict[str, Any]:
    return {"out_dir": str(out), "step": step, "n_steps": config.n_steps, "already_finished": True}


def train(
    config: Any,
    out_dir: str | Path,
    resume: bool = False,
    progress: bool = True,
    stop_after: int | None = None,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Pretrain an encoder with the objective of ``config`` (:func:`objective_for`: an
    ``SICConfig`` or a ``SupervisedConfig``); returns a summary dict.

    One writer per run directory: ``train`` holds the directory's lock
    (:mod:`~gridnav_agents.sic.runlock`) from its start to its return, fresh or resumed, and
    released by the kernel if the process dies. A fresh run writes its step-0 checkpoint, then
    ``config.json``; a start that fails before both are on disk (a full disk, an interrupt, a
    bad checkpoint) removes what it created, so the directory is as it was found.

    Args:
        config: hyperparameters (``SICConfig`` or ``SupervisedConfig``).
        out_dir: run directory (created). Must not hold a run unless ``resume``.
        resume: continue from ``out_dir/last.safetensors`` (model, optimizer, scheduler, RNGs,
            counters). Only :data:`RESUMABLE_FIELDS` of the config may differ; ``config.json``
            is rewritten only if one of them did. A finished run (step >= ``n_steps``) is
            left untouched, without taking the lock.
        progress: show a tqdm bar with the losses.
        stop_after: stop (with a checkpoint) after this many optimizer steps in this call.
        max_seconds: stop (with a checkpoint) before the first step that would start once the
            run's training time, summed over resumptions, has reached this many seconds.

    Raises:
        RunLockedError: another writer holds ``out_dir`` (an ``OSError``; the message names
            its pid).
        FileExistsError: ``out_dir`` holds a run and ``resume`` is false.
        ValueError: the estimated training memory exceeds the device's, or the config cannot
            resume the stored run.
        NonFiniteLossError: ``max_bad_steps`` consecutive non-finite steps; the checkpoints on
            disk are those of the last good state.
    """
    _check_max_seconds(max_seconds)
    out = Path(out_dir)
    objective = objective_for(config)
    device = resolve_device(config.device)
    _check_device_memory(config, device)
    if resume:  # a finished run is only read, so a read-only run dir can be "resumed"
        stored = stored_config(out)
        if stored is not None:
            check_resumable(out, config, stored)
        step = last_step(out)
        if step is not None and step >= config.n_steps:
            return _finished(out, step, config)

    writer = RunWriter(out)  # the lock: one writer per run dir, until writer.release()
    try:
        np_rng = np.random.default_rng(config.seed)
        torch_gen = torch.Generator().manual_seed(config.seed)
        model = objective.build(config, torch_gen).to(device)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer,
            factor=config.plateau_factor,
            patience=config.plateau_patience,
            min_lr=config.min_lr,
        )
        state = {
            "step": 0,
            "bad_total": 0,
            "bad_run": 0,
            "plateau_sum": 0.0,
            "plateau_n": 0,
            "ckpt_sum": 0.0,
            "ckpt_n": 0,
            "best": math.inf,
            "elapsed_s": 0.0,
        }

        def save(name: str) -> Path:
            return ckpt_io.save_checkpoint(
                out / name,
                model,
                optimizer,
                scheduler,
                config=config.to_dict(),
                step=state["step"],
                numpy_rng=np_rng,
                torch_rng=torch_gen,
                train_state=state,
            )

        metrics_path = out / METRICS
        stored = stored_config(out)  # again, now that this writer holds the lock
        if stored is not None and not resume:
            raise FileExistsError(f"{out} already holds a run; resume it or choose a new dir")
        if stored is not None:
            check_resumable(out, config, stored)
        if resume and (out / ckpt_io.LAST).exists():
            ckpt = ckpt_io.load_checkpoint(out / ckpt_io.LAST)
            model.load_state_dict(ckpt.model_state())
            ckpt_io.restore_optimizer(ckpt, optimizer)
            scheduler.load_state_dict(ckpt.meta["scheduler"])
            ckpt_io.restore_rngs(ckpt, np_rng, torch_gen)
            state.update(ckpt.meta["train_state"])
            if state["step"] >= config.n_steps:  # finished meanwhile: leave the run as it is
                writer.abandon()
                return _finished(out, state["step"], config)
            truncate_metrics(metrics_path, state["step"])
            if not (out / CONFIG).is_file() or stored.to_dict() != config.to_dict():
                ckpt_io._atomic_write_json(out / CONFIG, config.to_dict())
        else:
            if resume:
                warnings.warn(f"{out} has no checkpoint yet; starting from scratch", stacklevel=2)
            # The step-0 checkpoint first, config.json once it is on disk: a dir with a
            # config.json can always be resumed. Until then a failure undoes the start.
            writer.creates(out / ckpt_io.LAST, out / CONFIG, metrics_path)
            save(ckpt_io.LAST)
            ckpt_io._atomic_write_json(out / CONFIG, config.to_dict())
            metrics_path.write_text("")
        writer.started()
    except BaseException:
        writer.abandon()
        raise

    interrupted = out_of_time = False
    old_handler = None
    bar = None
    try:
        if threading.current_thread() is threading.main_thread():

            def on_sigint(signum: int, frame: Any) -> None:  # 1st Ctrl-C: stop at the step's end
                nonlocal interrupted
                if interrupted:
                    raise KeyboardInterrupt
                interrupted = True

            old_handler = signal.signal(signal.SIGINT, on_sigint)

        t_start, done = time.perf_counter() - state["elapsed_s"], 0
        bar = tqdm(
            total=config.n_steps, initial=state["step"], disable=not progress, desc="pretrain"
        )
        with open(metrics_path, "a") as metrics:
            while state["step"] < config.n_steps and not interrupted:
                if stop_after is not None and done >= stop_after:
                    break
                if max_seconds is not None and time.perf_counter() - t_start >= max_seconds:
                    out_of_time = True
                    break
                if state["step"] == getattr(config, "curriculum_step", None):  # new batches
                    _restart_records(scheduler, state)
                optimizer.zero_grad(set_to_none=True)
                sums = dict.fromkeys(("loss", *objective.loss_names), 0.0)
                finite = True
                for _ in range(config.accumulate):
                    losses = objective.losses(model, config, np_rng, torch_gen, state["step"])
                    if not torch.isfinite(losses["loss"]).item():
                        finite = False
                        break
                    (losses["loss"] / config.accumulate).backward()
                    for k in sums:
                        value = losses[k]
                        sums[k] += float("nan") if value is None else value.item()
                grad_norm = math.nan
                if finite:
                    clip = math.inf if config.grad_clip is None else config.grad_clip
                    grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip).item()
                    finite = math.isfinite(grad_norm)
                state["step"] += 1
                done += 1
                step = state["step"]
                mean = {k: v / config.accumulate if finite else math.nan for k, v in sums.items()}
                if finite:
                    _warmed_up_step(optimizer, state["step"], config.lr_warmup)
                    state["bad_run"] = 0
                    state["plateau_sum"] += mean["loss"]
                    state["plateau_n"] += 1
                    state["ckpt_sum"] += mean["loss"]
                    state["ckpt_n"] += 1
                else:
                    optimizer.zero_grad(set_to_none=True)
                    state["bad_total"] += 1
                    state["bad_run"] += 1
                    warnings.warn(
                        f"step {step}: non-finite loss or gradient; update skipped "
                        f"({state['bad_run']} in a row, {state['bad_total']} in total)",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                    if state["bad_run"] >= config.max_bad_steps:
                        raise NonFiniteLossError(
                            f"stopped at step {step}: {state['bad_run']} consecutive steps had "
                            f"a non-finite loss or gradient. The last good checkpoint in {out} "
                            "is intact; try a lower lr or grad_clip, then resume."
                        )
                if step % config.plateau_interval == 0 and state["plateau_n"] > 0:
                    scheduler.step(state["plateau_sum"] / state["plateau_n"])
                    state["plateau_sum"], state["plateau_n"] = 0.0, 0
                state["elapsed_s"] = time.perf_counter() - t_start
                if step % config.log_every == 0:
                    line = {"step": step, **{k: _finite_or_none(v) for k, v in mean.items()}}
                    line.update(
                        grad_norm=_finite_or_none(grad_norm),
                        lr=optimizer.param_groups[0]["lr"],
                        bad_steps=state["bad_total"],
                        elapsed_s=round(state["elapsed_s"], 3),
                    )
                    metrics.write(json.dumps(line) + "\n")
                    metrics.flush()
                    bar.set_postfix(**objective.postfix(mean))
                bar.update(1)
                if step % config.checkpoint_every == 0 or step == config.n_steps:
                    _checkpoint(state, save)
            stopped = interrupted or out_of_time
            if done and (stopped or (stop_after is not None and done >= stop_after)):
                _checkpoint(state, save)
    finally:
        if bar is not None:
            bar.close()
        if old_handler is not None:
            signal.signal(signal.SIGINT, old_handler)
        writer.release()
    return {
        "out_dir": str(out),
        "step": state["step"],
        "n_steps": config.n_steps,
        "best_loss": _finite_or_none(state["best"]),
        "bad_steps": state["bad_total"],
        "interrupted": interrupted,
        "out_of_time": out_of_time,
        "elapsed_s": round(state["elapsed_s"], 3),
    }


def _check_max_seconds(max_seconds: float | None) -> None:
    if max_seconds is None:
        return
    ok = isinstance(max_seconds, (int, float)) and not isinstance(max_seconds, bool)
    if not ok or not math.isfinite(max_seconds) or max_seconds <= 0:
        raise ValueError(f"max_seconds must be a positive number of seconds, got {max_seconds!r}")


def _warmed_up_step(optimizer: torch.optim.Optimizer, step: int, warmup: int) -> None:
    """``optimizer.step()`` with the learning rate scaled by ``step / warmup`` while
    ``step < warmup`` (1-based); the scheduler's learning rate is restored afterwards."""
    if step >= warmup:
        optimizer.step()
        return
    lrs = [group["lr"] for group in optimizer.param_groups]
    for group in optimizer.param_groups:
        group["lr"] *= step / warmup
    try:
        optimizer.step()
    finally:
        for group, lr in zip(optimizer.param_groups, lrs, strict=True):
            group["lr"] = lr


def _restart_records(scheduler: Any, state: dict[str, Any]) -> None:
    """Forget the plateau scheduler's best loss and the best checkpoint's loss (not the lr)."""
    scheduler.best, scheduler.num_bad_epochs = scheduler.mode_worse, 0
    state.update(plateau_sum=0.0, plateau_n=0, ckpt_sum=0.0, ckpt_n=0, best=math.inf)


def _checkpoint(state: dict[str, Any], save: Any) -> None:
    """Save ``last`` and, if the mean loss since the previous checkpoint is the lowest, ``best``."""
    is_best = False
    if state["ckpt_n"] > 0:
        mean = state["ckpt_sum"] / state["ckpt_n"]
        state["ckpt_sum"], state["ckpt_n"] = 0.0, 0
        if mean < state["best"]:
            state["best"], is_best = mean, True
    save(ckpt_io.LAST)
    if is_best:
        save(ckpt_io.BEST)
