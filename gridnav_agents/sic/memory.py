"""Memory that an encoder or a pretraining setting needs, computed from sizes alone (no torch
import, nothing allocated), and the memory a device has.

Used to refuse settings that cannot fit before anything is allocated or written: the
configuration (``SICConfig``), the encoder's constructor, checkpoints whose metadata asks for
an encoder larger than the tensors they hold, and ``train`` (against the device's memory).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gridnav_agents.sic.config import SICConfig

__all__ = [
    "MAX_TRAINING_BYTES",
    "describe_need",
    "device_memory_bytes",
    "encoder_parameter_count",
    "encoder_parameter_shapes",
    "format_bytes",
    "training_memory",
]

#: Largest estimated training footprint any configuration may have, bytes (1 TiB), whatever
#: the machine; ``train`` also refuses a setting larger than its device's memory.
MAX_TRAINING_BYTES = 2**40

_FLOAT = 4  # bytes per float32


def encoder_parameter_shapes(
    n_units: int, mlp_hidden: int, mlp_layers: int, n_blocks: int = 1, transition: str = "mlp"
) -> dict[str, tuple[int, ...]]:
    """Names and shapes of an ``SICEncoder``'s tensors (its ``state_dict``): the MLP's Linear
    layers ``2 -> mlp_hidden -> ... -> n_blocks·(n_units/n_blocks)²`` (ReLUs between them)
    and ``g0_param``; with the rotation transition, its wavevectors, skew and fixed basis."""
    if transition == "rotation":
        size = n_units // n_blocks
        return {
            "rotation.wavevectors": (n_units // 2, 2),
            "rotation.skew": (n_blocks, size, size),
            "rotation.basis0": (n_blocks, size, size),
            "g0_param": (n_units,),
        }
    widths = [2] + [mlp_hidden] * (mlp_layers - 1) + [_head_width(n_units, n_blocks)]
    shapes: dict[str, tuple[int, ...]] = {}
    for i in range(mlp_layers):
        shapes[f"mlp.{2 * i}.weight"] = (widths[i + 1], widths[i])
        shapes[f"mlp.{2 * i}.bias"] = (widths[i + 1],)
    shapes["g0_param"] = (n_units,)
    return shapes


def encoder_parameter_count(
    n_units: int, mlp_hidden: int, mlp_layers: int, n_blocks: int = 1
) -> int:
    """Number of an ``SICEncoder``'s parameters (exact, an int of any size)."""
    out, h = _head_width(n_units, n_blocks), mlp_hidden
    if mlp_layers == 1:
        return 3 * out + n_units
    return 3 * h + (mlp_layers - 2) * (h * h + h) + (h + 1) * out + n_units


def _head_width(n_units: int, n_blocks: int) -> int:
    """Outputs of the MLP's last layer: the ``n_blocks`` diagonal blocks of ``W(v)``."""
    return n_blocks * (n_units // n_blocks) ** 2


def training_memory(config: SICConfig) -> dict[str, tuple[tuple[str, ...], int]]:
    """Estimated bytes of one pretraining step, per component: ``{description: (fields that
    set it, bytes)}``. Float32 tensors; the larger of the normal and the curriculum batch shape.

    Parameters hold 4 copies (weights, gradients, AdamW's two moments). A transition matrix
    ``W(v)`` holds ``n_units² / n_blocks`` entries (its diagonal blocks): ``seq_len``
    distinct ones for permuted batches (plus a ``batch_size``-deep gather buffer), one per step
    of every trajectory otherwise. The recurrent states and their gradients are ~8 copies of
    ``(B·T, N)``; the streamed pairwise losses hold a ``loss_block × M`` block
    (``M = B·T + 1`` states, or ``pair_subsample``).
    """
    n, h, n_layers, k = config.n_units, config.mlp_hidden, config.mlp_layers, config.n_blocks
    n2 = _head_width(n, k)  # entries of one W(v): n_units² / n_blocks
    params = 4 * _FLOAT * encoder_parameter_count(n, h, n_layers, k)
    parts = {
        "encoder parameters, gradients and AdamW state (~n_units² · mlp_hidden / n_blocks)": (
            ("n_units", "mlp_hidden", "mlp_layers", "n_blocks"),
            params,
        )
    }
    shapes = [("batch_size", "seq_len", config.batch_size, config.seq_len)]
    if config.curriculum_step is not None:
        shapes.append(
            (
                "curriculum_batch_size",
                "curriculum_seq_len",
                config.curriculum_batch_size,
                config.curriculum_seq_len,
            )
        )
    for b_name, t_name, b, t in shapes:
        m = b * t + 1
        if config.pair_subsample is not None:
            m = min(m, config.pair_subsample)
        hidden = 2 * b * t * h * (n_layers - 1) * (1 if config.block_gain_ratio == 1 else k)
        if config.permute:
            what = "transition matrices (~(seq_len + batch_size) · n_units² / n_blocks)"
            mats = (what, 3 * t + 2 * b)
        else:
            mats = (
                "transition matrices (~batch_size · seq_len · n_units² / n_blocks)",
                b * t + 2 * b,
            )
        sizes = {
            mats[0]: ((t_name, b_name, "n_units"), _FLOAT * (mats[1] * n2 + hidden)),
            "recurrent states (~batch_size · seq_len · n_units)": (
                (b_name, t_name, "n_units"),
                8 * _FLOAT * b * t * n,
            ),
            "pairwise losses (~loss_block · batch_size · seq_len)": (
                ("loss_block", b_name, t_name),
                _FLOAT * (min(config.loss_block, m) * m + 3 * m * (n + 2)),
            ),
        }
        for k, v in sizes.items():
            if k not in parts or v[1] > parts[k][1]:
                parts[k] = v
    if config.start_walk:
        parts["start walk (~start_walk · n_units)"] = (
            ("start_walk", "n_units"),
            config.start_walk * (_FLOAT * n + 64),
        )
    return parts


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units, 3 significant digits: ``'1.5 GiB'``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def describe_need(
    config: SICConfig, parts: dict[str, tuple[tuple[str, ...], int]], available: int, where: str
) -> str:
    """One line: the settings behind the two largest ``parts`` (name=value), the total they
    would need, and that it is more than ``available`` bytes ``where``."""
    total = sum(size for _, size in parts.values())
    largest = sorted(parts.items(), key=lambda kv: -kv[1][1])[:2]
    names = dict.fromkeys(name for _, (fields, _) in largest for name in fields)
    settings = ", ".join(f"{name}={getattr(config, name)}" for name in names)
    detail = "; ".join(f"{what}: {format_bytes(size)}" for what, (_, size) in largest)
    return (
        f"{settings} would need about {format_bytes(total)} of memory to train, more than the "
        f"{format_bytes(available)} {where} ({detail})"
    )


def device_memory_bytes(device: str) -> int | None:
    """Total memory of ``device`` (``"cpu"``: physical RAM; ``"cuda[:i]"``: the GPU's), bytes;
    ``None`` when it cannot be read."""
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return None
        return int(torch.cuda.get_device_properties(torch.device(device)).total_memory)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None
