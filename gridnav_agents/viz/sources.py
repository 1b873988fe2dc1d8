"""Activity sources: what the viewer shows the firing fields of.

An activity source is anything with ``n_units``, ``reset(position) -> (N,)`` and
``step(position, velocity) -> (N,)`` (:class:`ActivitySource`). Positions are metres, velocities
displacements per step in metres. A path-integrating encoder must ignore ``position`` (it only
ever sees velocities); a synthetic tuning curve may read it.

* :class:`EncoderSource` runs any recurrent encoder with ``initial_state(batch)`` and
  ``step(g, v)`` (e.g. ``SICEncoder``) under ``torch.no_grad()``.
* :class:`FunctionSource` wraps a function of position ``(2,) -> (N,)``, so a test can use a
  unit whose activity is a known function of position.
* :class:`IdealGridSource` is a reference population of ideal grid cells (three cosines).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["ActivitySource", "EncoderSource", "FunctionSource", "IdealGridSource", "as_source"]


@runtime_checkable
class ActivitySource(Protocol):
    """The protocol the viewer needs: ``n_units``, ``reset`` and ``step`` returning ``(N,)``."""

    n_units: int
    name: str

    def reset(self, position: np.ndarray) -> np.ndarray: ...

    def step(self, position: np.ndarray, velocity: np.ndarray) -> np.ndarray: ...


class EncoderSource:
    """A recurrent encoder as an activity source (its state is kept here, batch of one).

    Args:
        encoder: has ``initial_state(batch) -> (batch, N)`` and ``step(g, v) -> g`` (torch).
        name: shown in the viewer (default: the encoder's class name).
        velocity_scale: factor applied to the env's displacements before the encoder sees them.
    """

    def __init__(self, encoder: Any, name: str | None = None, velocity_scale: float = 1.0):
        import torch

        if not (callable(getattr(encoder, "initial_state", None)) and callable(encoder.step)):
            raise TypeError("encoder must have initial_state(batch) and step(g, v)")
        self.encoder, self._torch = encoder, torch
        self.velocity_scale = float(velocity_scale)
        if isinstance(encoder, torch.nn.Module):
            encoder.eval()
        self.name = name or type(encoder).__name__
        with torch.no_grad():
            self._g = self._initial()
        self.n_units = int(self._g.shape[-1])

    def _initial(self):
        return self.encoder.initial_state(1).detach().clone()

    def reset(self, position: np.ndarray) -> np.ndarray:
        with self._torch.no_grad():
            self._g = self._initial()
        return self._g[0].cpu().numpy().astype(float)

    def step(self, position: np.ndarray, velocity: np.ndarray) -> np.ndarray:
        torch = self._torch
        v = np.asarray(velocity, dtype=float).reshape(1, 2) * self.velocity_scale
        with torch.no_grad():
            vt = torch.as_tensor(v, dtype=self._g.dtype, device=self._g.device)
            self._g = self.encoder.step(self._g, vt).detach()
        return self._g[0].cpu().numpy().astype(float)


class FunctionSource:
    """Activity that is a known function of position: ``fn(position (2,)) -> (N,)``.

    Args:
        fn: the tuning function (metres in, any activity units out).
        n_units: its output size; evaluated at the origin when omitted.
        name: shown in the viewer.
    """

    def __init__(
        self,
        fn: Callable[[np.ndarray], np.ndarray],
        n_units: int | None = None,
        name: str = "function of position",
    ):
        self.fn, self.name = fn, name
        self.n_units = int(n_units) if n_units is not None else self._eval(np.zeros(2)).size

    def _eval(self, position: np.ndarray) -> np.ndarray:
        return np.asarray(self.fn(np.asarray(position, dtype=float)), dtype=float).reshape(-1)

    def reset(self, position: np.ndarray) -> np.ndarray:
        return self._eval(position)

    def step(self, position: np.ndarray, velocity: np.ndarray) -> np.ndarray:
        return self._eval(position)


class IdealGridSource(FunctionSource):
    """Ideal grid cells in modules (sum of three cosines, in ``[0, 1]``): a visual reference.

    Args:
        n_units: number of cells; cell ``n`` belongs to module ``n % len(spacings)``.
        spacings: grid spacing of each module, metres (ratio ~1.42 as in the entorhinal cortex).
        seed: draws each module's orientation and each cell's phase.
    """

    def __init__(
        self,
        n_units: int = 128,
        spacings: tuple[float, ...] = (0.35, 0.5, 0.71, 1.0),
        seed: int = 0,
    ):
        rng = np.random.default_rng(seed)
        module = np.arange(n_units) % len(spacings)  # interleaved: every page shows each module
        spacing = np.asarray(spacings, dtype=float)[module]
        orient = np.deg2rad(rng.uniform(0, 60, size=len(spacings))[module])
        ang = orient[:, None] + np.deg2rad(30.0 + 120.0 * np.arange(3))[None, :]  # (N, 3)
        kmag = 4 * np.pi / (np.sqrt(3) * spacing)
        self.wavevectors = kmag[:, None, None] * np.stack([np.cos(ang), np.sin(ang)], -1)
        u = rng.uniform(0, 1, size=(n_units, 2))
        a1 = np.stack([np.cos(orient), np.sin(orient)], -1)
        a2 = np.stack([np.cos(orient + np.pi / 3), np.sin(orient + np.pi / 3)], -1)
        self.offsets = spacing[:, None] * (u[:, :1] * a1 + u[:, 1:] * a2)
        self.phases = np.einsum("nkd,nd->nk", self.wavevectors, self.offsets)
        super().__init__(
            self.rates,
            n_units,
            name=f"ideal grid cells, {len(spacings)} modules (a reference, not learnt)",
        )

    def rates(self, position: np.ndarray) -> np.ndarray:
        """Rates ``(N,)`` in ``[0, 1]`` at ``position (2,)`` metres."""
        arg = self.wavevectors @ np.asarray(position, dtype=float) - self.phases
        return (np.cos(arg).sum(axis=1) + 1.5) / 4.5


def as_source(obj: Any) -> ActivitySource:
    """An :class:`ActivitySource` from a source, an encoder, or a function of position."""
    if isinstance(obj, ActivitySource):
        return obj
    if callable(getattr(obj, "initial_state", None)) and callable(getattr(obj, "step", None)):
        return EncoderSource(obj)
    if callable(obj):
        return FunctionSource(obj)
    raise TypeError(
        "source must be an ActivitySource, an encoder with initial_state/step, or a function "
        f"of position; got {type(obj).__name__}"
    )
