"""The results table of a sweep: one row per trial, written as CSV and JSON, and its summary
over seeds (mean ± sample standard deviation).

A row holds ``trial`` (its name), every swept key and ``seed``, ``steps`` (optimizer steps
trained), ``train_s`` (training time summed over resumptions, seconds), ``wall_s`` (``train_s``
plus the analysis, seconds), then per analysed box of side ``L`` metres the columns
``<field>_box<L>`` for every field of :data:`BOX_FIELDS` and ``module_spacings_m_box<L>`` (the
spacing of every module found, metres), and ``encoder_sha256`` (of the analysed checkpoint).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "BOX_FIELDS",
    "SUMMARY_FIELDS",
    "best_row",
    "box_column",
    "format_summary",
    "summarise",
    "trial_row",
    "write_results",
]

#: Scalar fields of ``analyze``'s per-box report copied into the rows (``None`` where a report
#: lacks one): add a field here to add its column.
BOX_FIELDS = ("frac_grid", "n_independent_modules", "decoding_error_m", "decoding_chance_m")
#: The fields the printed summary and ``summary.png`` show for every box.
SUMMARY_FIELDS = ("frac_grid", "n_independent_modules", "decoding_error_m")
#: The per-box column of module spacings (a list of metres; ``;``-separated in the CSV).
SPACINGS = "module_spacings_m"


def box_column(field: str, box: float | str) -> str:
    """The column of ``field`` for the box of side ``box`` metres, e.g. ``frac_grid_box2``."""
    return f"{field}_box{float(box):g}"


def trial_row(
    spec: dict[str, Any],
    report: dict[str, Any],
    steps: int,
    train_s: float,
    encoder_sha256: str,
) -> dict[str, Any]:
    """The results row of one trial from its spec and its ``analyze`` report."""
    row: dict[str, Any] = {"trial": spec["name"], **spec["swept"], "steps": int(steps)}
    row["train_s"] = round(float(train_s), 3)
    row["wall_s"] = round(float(train_s) + float(report.get("analysis_time_s") or 0.0), 3)
    for box, b in report["boxes"].items():
        for field in BOX_FIELDS:
            row[box_column(field, box)] = b.get(field)
        row[box_column(SPACINGS, box)] = [
            round(m["spacing_m"], 4) for m in b.get("modules", []) if m.get("spacing_m") is not None
        ]
    row["encoder_sha256"] = encoder_sha256
    return row


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it to ``path``."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return "" if value is None else value


def write_results(out: str | Path, rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> None:
    """Write ``out/results.csv`` and ``out/results.json`` (``meta`` plus ``columns`` and
    ``rows``), each atomically."""
    out = Path(out)
    columns = _columns(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(row.get(k)) for k in columns})
    atomic_write_text(out / "results.csv", buffer.getvalue())
    document = {**meta, "columns": columns, "rows": list(rows)}
    atomic_write_text(out / "results.json", json.dumps(document, indent=1, allow_nan=False) + "\n")


def _numbers(rows: Sequence[dict[str, Any]], column: str) -> list[float]:
    values = (row.get(column) for row in rows)
    return [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def best_row(rows: Sequence[dict[str, Any]], column: str) -> dict[str, Any] | None:
    """The row with the largest finite value in ``column`` (``None`` if there is none)."""
    scored = [row for row in rows if _numbers([row], column)]
    return max(scored, key=lambda row: row[column]) if scored else None


def summarise(
    rows: Sequence[dict[str, Any]], keys: Sequence[str], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows grouped by the values of ``keys`` (in order of first appearance): per group the key
    values, ``n`` (trials) and for each column ``(mean, std, count)`` over its finite values
    (std: sample standard deviation, ``None`` with fewer than two values; ``(None, None, 0)``
    with none)."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(repr(row.get(k)) for k in keys), []).append(row)
    summary = []
    for members in groups.values():
        entry: dict[str, Any] = {k: members[0].get(k) for k in keys}
        entry["n"] = len(members)
        for column in columns:
            values = _numbers(members, column)
            mean = math.fsum(values) / len(values) if values else None
            std = None
            if len(values) > 1:
                std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))
            entry[column] = (mean, std, len(values))
        summary.append(entry)
    return summary


def format_summary(
    summary: Sequence[dict[str, Any]], keys: Sequence[str], columns: Sequence[str]
) -> str:
    """:func:`summarise`'s output as an aligned text table (``mean ± std``)."""

    def cell(stat: tuple[float | None, float | None, int]) -> str:
        mean, std, _ = stat
        if mean is None:
            return "-"
        return f"{mean:.3g}" if std is None else f"{mean:.3g} ± {std:.2g}"

    header = [*keys, "n", *columns]
    lines = [[str(e[k]) for k in keys] + [str(e["n"])] + [cell(e[c]) for c in columns]
             for e in summary]  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
                     for r in [header, *lines])  # fmt: skip
