"""Small number helpers shared by the CHECK and ACT tasks: reading, tidying and showing KPI values.

KPI values and targets arrive as plain data (numbers that went through JSON or
YAML). These helpers decide what counts as a usable number, strip the float noise
that arithmetic leaves behind (``4.2 * 1.02`` is ``4.284000000000001``) so that
stored targets and audit reasons read as a person would write them, and format
numbers for those reasons.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any


def finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite real number (not a bool), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number that arithmetic may change (bools are not numbers here)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def tidy(value: float) -> float:
    """Round away binary float noise: twelve significant digits are far beyond any KPI's precision."""
    return float(f"{value:.12g}")


def show(value: Any) -> str:
    """A number as a reason shows it (``4.2``, ``48``, ``0.0012``); anything else as ``repr``."""
    if value is None:
        return "none"
    if is_number(value):
        return f"{float(value):.10g}"
    return repr(value)


def bounds(target: Mapping[str, Any] | None) -> tuple[float | None, float | None]:
    """A target mapping's ``(min, max)``, each ``None`` when absent."""
    if not target:
        return None, None
    return finite(target.get("min")), finite(target.get("max"))


def show_target(target: Mapping[str, Any] | None) -> str:
    """``min 4.2``, ``max 48``, ``min 4, max 6``, or ``no target``."""
    low, high = bounds(target)
    parts = [f"{name} {show(value)}" for name, value in (("min", low), ("max", high)) if value is not None]
    return ", ".join(parts) or "no target"
