"""Checkpoints of SIC pretraining as safetensors (never pickle), written atomically.

One file holds everything needed to resume exactly or to rebuild the encoder:

* tensors ``model.<name>`` (encoder parameters), ``optim.<i>.<key>`` (AdamW state of parameter
  ``i``), ``rng.torch`` (the torch generator state, uint8);
* string metadata (JSON): ``format``, ``encoder_kind`` (``"sic"``, or ``"supervised"`` for a
  :class:`~gridnav_agents.supervised.model.SupervisedEncoder`; absent means ``"sic"``),
  ``encoder`` (constructor arguments), ``config``
  (``SICConfig``), ``step``, ``optim_groups``, ``scheduler``, ``rng_numpy`` (the numpy
  ``bit_generator.state``) and ``train_state`` (loop counters).

A run directory keeps ``last.safetensors`` and ``best.safetensors``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from gridnav_agents.sic.memory import encoder_parameter_shapes
from gridnav_agents.sic.model import TRANSITIONS, SICEncoder

__all__ = [
    "FORMAT",
    "Checkpoint",
    "CheckpointError",
    "load_checkpoint",
    "load_encoder",
    "resolve_checkpoint",
    "save_checkpoint",
]

FORMAT = "gridnav-sic-checkpoint-v1"
LAST, BEST = "last.safetensors", "best.safetensors"
PRETRAINED_NAME = "sic_encoder.safetensors"


class CheckpointError(ValueError):
    """A checkpoint file that exists but is truncated, corrupt or does not match."""


@dataclass
class Checkpoint:
    """The parsed content of a checkpoint file."""

    path: Path
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]
    #: Every tensor's shape, read from the file's header (also those not loaded).
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def model_state(self) -> dict[str, torch.Tensor]:
        return {k[6:]: v for k, v in self.tensors.items() if k.startswith("model.")}


def _atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file (removed if the write fails)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def save_checkpoint(
    path: str | os.PathLike,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    *,
    config: dict[str, Any] | None = None,
    step: int = 0,
    numpy_rng: np.random.Generator | None = None,
    torch_rng: torch.Generator | None = None,
    train_state: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint to ``path`` atomically (a temporary file in its folder, then rename;
    the temporary file is removed if writing fails)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().clone() for k, v in model.state_dict().items()}
    meta: dict[str, Any] = {
        "format": FORMAT,
        "encoder_kind": getattr(model, "kind", "sic"),
        "encoder": model.config(),
        "step": step,
    }
    if optimizer is not None:
        sd = optimizer.state_dict()
        for i, state in sd["state"].items():
            for key, value in state.items():
                if not isinstance(value, torch.Tensor):
                    raise TypeError(f"optimizer state {key!r} is not a tensor; cannot save it")
                tensors[f"optim.{i}.{key}"] = value.detach().cpu().clone()
        meta["optim_groups"] = sd["param_groups"]
    if scheduler is not None:
        meta["scheduler"] = scheduler.state_dict()
    if numpy_rng is not None:
        meta["rng_numpy"] = numpy_rng.bit_generator.state
    if torch_rng is not None:
        tensors["rng.torch"] = torch_rng.get_state()
    for key, value in (("config", config), ("train_state", train_state)):
        if value is not None:
            meta[key] = value
    metadata = {k: json.dumps(v) for k, v in meta.items()}
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # a full disk, an interrupt: leave no partial file behind
        tmp.unlink(missing_ok=True)
        raise
    return path


def resolve_checkpoint(path_or_run_dir: str | os.PathLike, which: str = "last") -> Path:
    """The checkpoint file meant by a file path, a run directory (``which``: last/best) or
    ``"pretrained"`` (the encoder shipped in ``gridnav_agents/pretrained/``)."""
    if which not in ("last", "best"):
        raise ValueError(f"which must be 'last' or 'best', got {which!r}")
    if str(path_or_run_dir) == "pretrained":
        path = Path(__file__).resolve().parents[1] / "pretrained" / PRETRAINED_NAME
        if not path.is_file():
            raise FileNotFoundError(f"no pretrained SIC encoder is installed (looked for {path})")
        return path
    path = Path(path_or_run_dir)
    if path.is_dir() and path.suffix != ".safetensors":
        path = path / (LAST if which == "last" else BEST)
        if not path.exists():
            raise FileNotFoundError(f"run directory {path.parent} has no checkpoint {path.name}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a checkpoint file")
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file or run directory at {path}")
    return path


def load_checkpoint(path: str | os.PathLike, tensors: str = "all") -> Checkpoint:
    """Read and check a checkpoint. ``tensors="model"`` reads only the encoder's tensors,
    ``"none"`` only the metadata and the tensors' shapes (the file's header).

    Raises:
        FileNotFoundError: no such file.
        CheckpointError: unreadable (truncated/corrupt) or not a gridnav SIC checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    if tensors not in ("all", "model", "none"):
        raise ValueError(f"tensors must be 'all', 'model' or 'none', got {tensors!r}")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as fh:
            raw_meta = fh.metadata() or {}
            shapes = {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}  # noqa: SIM118
            keys = [k for k in shapes if tensors == "all" or k.startswith("model.")]
            data = {k: fh.get_tensor(k) for k in keys} if tensors != "none" else {}
    except Exception as exc:  # safetensors raises its own error types for bad headers/data
        raise CheckpointError(
            f"{path} is not a readable safetensors file (truncated or corrupt?): {exc}"
        ) from exc
    if raw_meta.get("format") != json.dumps(FORMAT):
        raise CheckpointError(f"{path} is not a gridnav SIC checkpoint (format {FORMAT} expected)")
    try:
        meta = {k: json.loads(v) for k, v in raw_meta.items()}
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: corrupt metadata: {exc}") from exc
    return Checkpoint(path, data, meta, shapes)


def check_model_shapes(
    ckpt: Checkpoint, expected: dict[str, tuple[int, ...]], sizes: dict[str, Any]
) -> None:
    """``CheckpointError`` unless the file's ``model.*`` tensors are exactly ``expected``
    (names and shapes), the shapes the encoder description ``sizes`` needs."""
    shapes = {k[6:]: v for k, v in ckpt.shapes.items() if k.startswith("model.")}
    missing, unexpected = set(expected) - set(shapes), set(shapes) - set(expected)
    if missing or unexpected:
        raise CheckpointError(
            f"{ckpt.path}: encoder tensors do not match its description "
            f"(missing {sorted(missing)}, unexpected {sorted(unexpected)})"
        )
    for k, shape in expected.items():
        if shapes[k] != shape:
            described = ", ".join(f"{name}={value}" for name, value in sizes.items())
            raise CheckpointError(
                f"{ckpt.path}: tensor model.{k} has shape {shapes[k]}, but the encoder "
                f"description ({described}) needs shape {shape}"
            )


def encoder_from_checkpoint(ckpt: Checkpoint) -> Any:
    """Rebuild the encoder stored in ``ckpt`` (train mode, CPU): an :class:`SICEncoder`, or
    a ``SupervisedEncoder`` when its ``encoder_kind`` is ``"supervised"``.

    The encoder's description in the metadata is checked against the shapes of the tensors
    in the file's header before the encoder is built, so a checkpoint cannot make it allocate
    more than the file holds.
    """
    desc = ckpt.meta.get("encoder")
    if not isinstance(desc, dict):
        raise CheckpointError(f"{ckpt.path}: no encoder description in the metadata")
    kind = ckpt.meta.get("encoder_kind", "sic")
    if kind == "supervised":
        from gridnav_agents.supervised.model import supervised_encoder_from_checkpoint

        return supervised_encoder_from_checkpoint(ckpt)
    if kind != "sic":
        raise CheckpointError(f"{ckpt.path}: unknown encoder_kind {kind!r}")
    shapes = {k[6:]: v for k, v in ckpt.shapes.items() if k.startswith("model.")}
    sizes = {k: desc.get(k) for k in ("n_units", "mlp_hidden", "mlp_layers")}
    sizes["n_blocks"] = desc.get("n_blocks", 1)
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes.values()):
        raise CheckpointError(f"{ckpt.path}: bad encoder description {desc!r}")
    if sizes["mlp_layers"] > len(shapes):  # also bounds the work of listing the expected shapes
        raise CheckpointError(
            f"{ckpt.path}: the encoder description says mlp_layers={sizes['mlp_layers']}, the "
            f"file holds {len(shapes)} encoder tensors"
        )
    transition = desc.get("transition", "mlp")
    if transition not in TRANSITIONS:
        raise CheckpointError(f"{ckpt.path}: unknown transition {transition!r}")
    expected = encoder_parameter_shapes(**sizes, transition=transition)
    check_model_shapes(ckpt, expected, sizes)
    try:
        model = SICEncoder(**desc)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{ckpt.path}: bad encoder description: {exc}") from exc
    model.load_state_dict(ckpt.model_state())
    return model


def load_encoder(
    path_or_run_dir: str | os.PathLike = "pretrained",
    which: str = "last",
    device: str | torch.device = "cpu",
) -> Any:
    """A ready encoder in eval mode (an :class:`SICEncoder`, or a ``SupervisedEncoder`` from a
    supervised run), from a checkpoint file, a run directory (``which`` = ``"last"`` or
    ``"best"``) or ``"pretrained"``.

    Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointError` (a
    ``ValueError``) for a truncated, corrupt or mismatched one.
    """
    ckpt = load_checkpoint(resolve_checkpoint(path_or_run_dir, which), tensors="model")
    return encoder_from_checkpoint(ckpt).to(device).eval()


def restore_optimizer(ckpt: Checkpoint, optimizer: torch.optim.Optimizer) -> None:
    """Load the optimizer state saved in ``ckpt``."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in ckpt.tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    if "optim_groups" not in ckpt.meta:
        raise CheckpointError(f"{ckpt.path} holds no optimizer state")
    try:
        optimizer.load_state_dict({"state": state, "param_groups": ckpt.meta["optim_groups"]})
    except (ValueError, KeyError) as exc:
        raise CheckpointError(f"{ckpt.path}: optimizer state does not match: {exc}") from exc


def restore_rngs(ckpt: Checkpoint, numpy_rng: np.random.Generator, torch_rng: torch.Generator):
    """Set both generators to the states saved in ``ckpt``."""
    numpy_rng.bit_generator.state = ckpt.meta["rng_numpy"]
    torch_rng.set_state(ckpt.tensors["rng.torch"])
