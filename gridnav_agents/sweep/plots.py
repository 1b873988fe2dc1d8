"""``summary.png``: each summary metric of a sweep against each swept key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from gridnav_agents.sweep.results import SUMMARY_FIELDS, box_column, summarise

__all__ = ["plot_summary"]

_CHANCE = {"decoding_error_m": "decoding_chance_m"}


def plot_summary(
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    boxes: Sequence[float],
    fields: Sequence[str] = SUMMARY_FIELDS,
) -> Figure:
    """One panel per (field, key): every trial's value (dots) and the mean ± sample standard
    deviation over the trials sharing that key value (squares and bars), one colour per box;
    the key's values sit at evenly spaced positions in order of first appearance. Decoding
    errors show their chance level as a dashed line per box."""
    fig = Figure(figsize=(3.2 * len(keys) + 0.8, 2.6 * len(fields)), layout="constrained")
    axes = fig.subplots(len(fields), len(keys), squeeze=False)
    columns = [box_column(f, b) for f in (*fields, *_CHANCE.values()) for b in boxes]
    for col, key in enumerate(keys):
        groups = summarise(rows, [key], columns)
        labels = [repr(g[key]) for g in groups]
        where = np.array([labels.index(repr(row.get(key))) for row in rows])
        x = np.arange(len(labels))
        for r, field in enumerate(fields):
            ax = axes[r, col]
            for i, box in enumerate(boxes):
                colour, shift = f"C{i}", (i - (len(boxes) - 1) / 2) * 0.12
                column = box_column(field, box)
                values = np.array([_number(row.get(column)) for row in rows])
                ok = np.isfinite(values)
                ax.plot(where[ok] + shift, values[ok], "o", color=colour, alpha=0.35, ms=4)
                mean, std = _stat(groups, column, 0), _stat(groups, column, 1)
                ax.errorbar(x + shift, mean, yerr=np.nan_to_num(std), fmt="s", color=colour,
                            capsize=3, label=f"{box:g} m box")  # fmt: skip
                if field in _CHANCE:
                    chance = _stat(groups, box_column(_CHANCE[field], box), 0)
                    ax.plot(x + shift, chance, "--", color=colour, lw=1)
            ax.set_xticks(x, [label.strip("'") for label in labels])
            ax.set_xlim(-0.5, len(labels) - 0.5)
            if r == len(fields) - 1:
                ax.set_xlabel(key)
            if col == 0:
                ax.set_ylabel(f"{field}\n(dashed: chance)" if field in _CHANCE else field)
    axes[0, 0].legend(fontsize="small")
    return fig


def _number(value: Any) -> float:
    return np.nan if value is None else float(value)


def _stat(groups: list[dict[str, Any]], column: str, i: int) -> np.ndarray:
    """Entry ``i`` (0: mean, 1: std) of each group's summary of ``column`` (NaN for None)."""
    return np.array([_number(g[column][i]) for g in groups])
