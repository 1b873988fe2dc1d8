"""Provenance of results files: the gridnav version, the command, and which encoder produced them.

Light: importing this module loads no heavy library (torch is imported only to hash torch
tensors or to read a checkpoint's metadata), so the CLI may use it while building parsers.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["encoder_provenance", "gridnav_version", "sha256"]

_CHUNK = 1 << 20


def gridnav_version() -> str:
    """The installed gridnav's version, or ``"unknown (not installed)"``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gridnav")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _array_record(name: str, value: Any) -> bytes:
    """``name\\0dtype\\0shape\\0`` then the raw (C-order) bytes of a torch tensor or array."""
    if hasattr(value, "detach"):  # a torch tensor
        import torch

        t = value.detach().cpu().contiguous()
        dtype, shape = str(t.dtype).removeprefix("torch."), tuple(t.shape)
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes()
    else:
        import numpy as np

        a = np.asarray(value)
        dtype, shape, raw = str(a.dtype), tuple(a.shape), a.tobytes(order="C")
    return f"{name}\0{dtype}\0{list(shape)}\0".encode() + raw


def sha256(source: str | os.PathLike | Mapping[str, Any] | Any) -> str | None:
    """SHA-256 (hex) of a file's bytes or of a model's weights.

    ``source``: a path (the file's bytes are hashed); a model with ``state_dict()``, or a
    mapping of names to torch tensors / numpy arrays (each entry in name order hashed as
    ``name\\0dtype\\0shape\\0`` followed by its C-order bytes, so a tensor and the equal numpy
    array hash alike). Any other object (an encoder without weights) gives None.
    """
    digest = hashlib.sha256()
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest()
    state = source.state_dict() if hasattr(source, "state_dict") else source
    if not isinstance(state, Mapping):
        return None
    for name in sorted(state):
        digest.update(_array_record(str(name), state[name]))
    return digest.hexdigest()


def encoder_provenance(encoder: Any = None, checkpoint: str | os.PathLike | None = None) -> dict:
    """Which encoder produced a result: ``sha256``, ``sha256_of``, ``checkpoint``, ``config``
    and ``encoder_args``.

    With ``checkpoint`` (the file the encoder was loaded from): the SHA-256 of its bytes, its
    path, the ``SICConfig`` dict and the encoder's constructor arguments from its metadata
    (None where absent). Without it: the SHA-256 of ``encoder``'s weights (:func:`sha256`;
    None if it has none), ``config`` None and ``encoder_args`` from ``encoder.config()`` if it
    has that method.
    """
    if checkpoint is not None:
        from gridnav_agents.sic.checkpoint import load_checkpoint

        path = Path(checkpoint)
        meta = load_checkpoint(path, tensors="model").meta
        return {
            "sha256": sha256(path),
            "sha256_of": "checkpoint file",
            "checkpoint": str(path),
            "config": meta.get("config"),
            "encoder_args": meta.get("encoder"),
        }
    digest = sha256(encoder)
    args = encoder.config() if callable(getattr(encoder, "config", None)) else None
    return {
        "sha256": digest,
        "sha256_of": None if digest is None else "weights",
        "checkpoint": None,
        "config": None,
        "encoder_args": args,
    }
