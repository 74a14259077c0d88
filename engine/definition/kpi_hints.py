"""Hints and messages that fit the KPI they are about: its direction and its unit.

A shape error inside ``kpis[i]`` (a missing ``target:``, ``target: 14``, ``max: 14 days``)
is answered with what to write for *that* KPI: a ``max`` for a KPI where lower is
better, in its own unit, never a stock ``{min: 95}`` in ``%``. The KPI is read from
the raw document, since the model could not be built.
"""

from __future__ import annotations

import re
from typing import Any

from pdcaflow.engine.errors import KeyPath
from pdcaflow.engine.definition.loader import LoadedDocument

_LEADING_NUMBER = re.compile(r"^\s*(?:[<>]=?|=)?\s*([-+]?\d+(?:\.\d+)?)\s*(.*?)\s*$")
# words in a KPI's id or title that name its unit (for a hint when `unit:` is missing)
_UNIT_WORDS = (
    (re.compile(r"(?:^|[\W_])(days?)(?:$|[\W_])", re.IGNORECASE), "days"),
    (re.compile(r"(?:^|[\W_])(hours?|hrs?)(?:$|[\W_])", re.IGNORECASE), "hours"),
    (re.compile(r"(?:^|[\W_])(minutes?|mins?)(?:$|[\W_])", re.IGNORECASE), "minutes"),
    (re.compile(r"(?:^|[\W_])(pct|percent|percentage|share)(?:$|[\W_])|%", re.IGNORECASE), "'%'"),
)


def kpi_at(document: LoadedDocument, loc: KeyPath) -> dict[str, Any] | None:
    """The raw KPI mapping ``loc`` lies in (``kpis[i]...``), if any."""
    if len(loc) < 2 or loc[0] != "kpis" or not isinstance(loc[1], int):
        return None
    kpis = document.data.get("kpis")
    if not isinstance(kpis, list) or loc[1] >= len(kpis) or not isinstance(kpis[loc[1]], dict):
        return None
    return kpis[loc[1]]


def bound_of(kpi: dict[str, Any] | None) -> str | None:
    """Which bound the KPI's target takes: ``min`` (higher is better), ``max``, ``band``, or None (unknown)."""
    if kpi is None:
        return None
    direction = kpi.get("direction")
    if direction in ("higher_is_better", "lower_is_better", "on_target"):
        return {"higher_is_better": "min", "lower_is_better": "max", "on_target": "band"}[direction]
    target = kpi.get("target")
    if isinstance(target, dict) and ("min" in target or "max" in target):
        return "band" if "min" in target and "max" in target else ("min" if "min" in target else "max")
    return None


def _amount(number: str, unit: str) -> str:
    return f"{number} {unit}" if unit else number


def _unit_text(kpi: dict[str, Any] | None) -> str:
    unit = kpi.get("unit") if kpi is not None else None
    return unit.strip() if isinstance(unit, str) else ""


def target_choices(kpi: dict[str, Any] | None, number: str = "N", *, quote: str = "", key: str = "") -> str:
    """``{max: 14} (at most 14 days)``, or both bounds when the KPI's direction is unknown.

    ``quote`` and ``key`` wrap each mapping for a hint: ```target: {max: 14}` (at most 14 days)``.
    """
    unit = _unit_text(kpi)
    at_most = f"{quote}{key}{{max: {number}}}{quote} (at most {_amount(number, unit)})"
    at_least = f"{quote}{key}{{min: {number}}}{quote} (at least {_amount(number, unit)})"
    bound = bound_of(kpi)
    if bound == "max":
        return at_most
    if bound == "min":
        return at_least
    if bound == "band":
        return f"{quote}{key}{{min: LOW, max: HIGH}}{quote} (between LOW and HIGH{' ' + unit if unit else ''})"
    return f"{at_most} or {at_least}"


def bare_target_message(where: str, value: Any, kpi: dict[str, Any] | None) -> str:
    """``target: 14``: say what to write instead, with the KPI's direction and unit."""
    number = _number_in(value) or "N"
    return f"{where}: write the target as {target_choices(kpi, number)}, not {_shown(value)}"


def missing_target_hint(kpi: dict[str, Any] | None) -> str:
    return f"add {target_choices(kpi, quote='`', key='target: ')}, N being the value that still meets the target"


def missing_unit_hint(kpi: dict[str, Any] | None) -> str:
    """``unit:`` from the KPI's own id or title (``resolution_days`` -> days), else the common choices."""
    words = " ".join(str(kpi.get(key, "")) for key in ("id", "title")) if kpi is not None else ""
    for pattern, unit in _UNIT_WORDS:
        if pattern.search(words):
            return f"add `unit: {unit}`: what the KPI's value counts"
    return "add `unit:` naming what the KPI's value counts, e.g. `unit: days`, `unit: '%'` or `unit: orders`"


def not_a_number_hint(key: str, value: Any, kpi: dict[str, Any] | None) -> str:
    """``max: 14 days``: the number alone under ``max:``, the unit in ``unit:``."""
    match = _LEADING_NUMBER.match(value) if isinstance(value, str) else None
    if match is None:
        return f"write `{key}:` as a number alone; the unit belongs in the KPI's `unit:`"
    number, unit = match.group(1), match.group(2)
    current = _unit_text(kpi)
    if not unit or unit == current:
        where = f" (the unit is in `unit: {current}`)" if current else ""
        return f"write `{key}: {number}`{where}"
    shown = f"'{unit}'" if unit == "%" else unit
    return f"write `{key}: {number}` and put the unit in the KPI's `unit: {shown}`"


def _number_in(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return f"{value:g}"
    match = _LEADING_NUMBER.match(value) if isinstance(value, str) else None
    return match.group(1) if match else None


def _shown(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "a bare value"
    if isinstance(value, int | float):
        return "a bare number"
    if isinstance(value, str):
        return f"the text '{value}'"
    return "a list" if isinstance(value, list) else "that value"
