"""Argument checks shared by gridnav: real numbers and counts, with messages naming the argument.

A real number is an ``int``, ``float`` or numpy integer/floating scalar; booleans, strings,
complex numbers and ``None`` are refused rather than converted.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["MAX_METRES", "check_count", "check_real", "is_real"]

#: Bound on coordinates and lengths, metres: beyond it float64 cannot resolve the 1e-9 m margin
#: that keeps reflected points off the walls, and squared distances lose all precision.
MAX_METRES = 1e6


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (not a bool, string, complex number or ``None``)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def check_real(
    name: str,
    value: Any,
    *,
    positive: bool = False,
    nonneg: bool = False,
    below: float | None = None,
    at_most: float | None = None,
    unit: str = "",
) -> float:
    """``value`` as a finite float, or ``ValueError`` naming ``name``.

    ``positive``: > 0; ``nonneg``: >= 0; ``below``: < that bound; ``at_most``: <= that bound.
    ``unit`` (e.g. ``"metres"``) is named in the message.
    """
    kind = "positive " if positive else "non-negative " if nonneg else ""
    of_unit = f" of {unit}" if unit else ""
    if (
        not is_real(value)
        or not math.isfinite(value)
        or (positive and value <= 0)
        or (nonneg and value < 0)
    ):
        raise ValueError(f"{name} must be a finite {kind}number{of_unit}, got {value!r}")
    if below is not None and value >= below:
        raise ValueError(f"{name} must be below {below:g}{unit and ' ' + unit}, got {value!r}")
    if at_most is not None and value > at_most:
        raise ValueError(f"{name} must be at most {at_most:g}{unit and ' ' + unit}, got {value!r}")
    return float(value)


def check_count(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum`` (integral floats such as ``2.0`` accepted), or
    ``ValueError`` naming ``name``."""
    if not is_real(value) or not math.isfinite(value) or int(value) != value or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value)
