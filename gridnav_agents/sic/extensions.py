"""Which settings of a run go beyond the paper, in words, for every report and figure title.

A run's ``config.json`` (an :class:`~gridnav_agents.sic.config.SICConfig` dict) says what it
was trained with; :func:`extensions` turns the settings that change what the model or its
data build in into short labels, e.g. ``["rotation transition (exact path integration built
in)", "step scales x16"]``. Settings at their defaults give no label.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["extensions", "extensions_note"]

#: field -> (default, label of a non-default value).
_LABELS: dict[str, tuple[Any, Callable[[Any], str]]] = {
    "transition": (
        "mlp",
        lambda v: (
            f"{v} transition (exact path integration built in)"
            if v == "rotation"
            else f"{v} transition"
        ),
    ),
    "n_blocks": (1, lambda v: f"{v} blocks (modules built in, periods learnt)"),
    "block_gain_ratio": (1.0, lambda v: f"fixed block gain ratio {v:g}"),
    "init_gain_spread": (1.0, lambda v: f"initial gain spread x{v:g}"),
    "step_scale_spread": (1.0, lambda v: f"step scales x{v:g}"),
    "velocity_drift": (0.0, lambda v: f"velocity drift {v:g} m/step"),
    "start_walk": (0, lambda v: f"start walk {v} steps"),
    "lambda_nonneg": (0.0, lambda v: f"non-negativity penalty {v:g}"),
    "lambda_sparse": (0.0, lambda v: f"sparsity penalty {v:g}"),
}


def extensions(config: Mapping[str, Any] | Any | None) -> list[str]:
    """Labels of ``config``'s settings beyond the paper (a dict or a config object; None or a
    config without these fields gives ``[]``), in a fixed order."""
    if config is None:
        return []
    get = config.get if isinstance(config, Mapping) else lambda k: getattr(config, k, None)
    out = []
    for field, (default, label) in _LABELS.items():
        value = get(field)
        if value is not None and value != default:
            out.append(label(value))
    return out


def extensions_note(labels: list[str]) -> str:
    """``" [beyond the paper: a; b]"`` for figure titles, ``""`` without labels."""
    return f" [beyond the paper: {'; '.join(labels)}]" if labels else ""
