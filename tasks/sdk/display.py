"""Numbers, durations and lists as a person reads them: KPI values with the KPI's decimals, ``3 days``, ``a, b``.

What a definition, a report or a notification shows a person goes through these
helpers; the records keep the exact values (a KPI result's ``actual``, a target's
bounds, a timeout in seconds), and only their text is rounded.

How many decimals a KPI's numbers get: its ``decimals:`` when the definition gives
one, else a default by its unit (:func:`default_decimals`):

- ``%``, ``percent``, ``pct``, ``pp``: 1
- a time (``seconds``, ``minutes``, ``hours``, ``days``, ``weeks``, ``months``; ``s``, ``min``, ``h``, ``d``): 1
- a count (``count``, ``number``, or one plural word: ``customers``, ``cases``, ``complaints``): 0
- a scale ``(LOW-HIGH)``: 2 when HIGH <= 10 (``score (1-5)``), else 1 (``points (0-100)``)
- anything else (``score``, ``ratio``, ``kg``): 2
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from pdcaflow.tasks.sdk.numbers import finite, tidy

MAX_DECIMALS = 6
"""The most decimals a KPI may ask for (``decimals:`` is 0..6)."""

_PERCENT = {"%", "percent", "percentage", "pct", "pp"}
_TIME = {"s", "sec", "secs", "second", "seconds", "min", "mins", "minute", "minutes", "h", "hr", "hrs", "hour",
         "hours", "d", "day", "days", "w", "wk", "week", "weeks", "month", "months", "year", "years"}
_COUNT = {"count", "number", "n"}
_FIRST_WORD = re.compile(r"%|[^\W\d_]+")
_SCALE = re.compile(r"\(\s*-?\d+(?:\.\d+)?\s*[-–]\s*(-?\d+(?:\.\d+)?)\s*\)")
_PLURAL_WORD = re.compile(r"[^\W\d_]+s")


def default_decimals(unit: str | None) -> int:
    """The decimals a KPI in ``unit`` is shown with when its definition gives none (the module's table)."""
    text = (unit or "").strip().lower()
    first = _FIRST_WORD.search(text)
    word = first.group(0) if first else ""
    if word in _PERCENT:
        return 1
    if word in _TIME and text.split("(")[0].strip() == word:
        return 1
    scale = _SCALE.search(text)
    if scale is not None:
        return 2 if float(scale.group(1)) <= 10 else 1
    if (word in _COUNT and text == word) or _PLURAL_WORD.fullmatch(text):
        return 0
    return 2


def decimals_for(unit: str | None, decimals: int | None = None) -> int:
    """``decimals`` when given (a KPI's ``decimals:``), else :func:`default_decimals` of ``unit``."""
    return default_decimals(unit) if decimals is None else max(0, min(int(decimals), MAX_DECIMALS))


def fixed(value: Any, decimals: int) -> str:
    """A KPI value with exactly ``decimals`` decimals (``4.06``, ``98.0``, ``12``); ``-`` when there is none."""
    number = finite(value)
    if number is None:
        return "-" if value is None else str(value)
    text = f"{number:.{decimals}f}"
    return text[1:] if _is_negative_zero(text) else text


def rounded(value: Any, decimals: int) -> str:
    """A KPI value inside a sentence: at most ``decimals`` decimals, no trailing zeros (``4.3``, ``2.06``, ``80``)."""
    text = fixed(value, decimals)
    if "." in text and finite(value) is not None:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def signed(value: Any, decimals: int, *, trim: bool = False) -> str:
    """A change with its sign and the KPI's decimals (``+0.02``, ``-1.3``, ``0.00``); ``-`` when there is none.

    ``trim``: inside a sentence, without trailing zeros (``-0.5``, ``0``), as :func:`rounded`.
    """
    number = finite(value)
    if number is None:
        return "-"
    text = f"{number:+.{decimals}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text[1:] if float(text) == 0 else text


def bound(value: Any) -> str:
    """A target bound as the number it is, in the fewest decimals that hold it exactly: ``48``, ``4.2``, ``4.284``.

    Never rounded to the KPI's decimals: a target must read as the number a value is
    compared with (``4.284`` shown as ``4.28`` would make ``4.282`` look met).
    """
    number = finite(value)
    if number is None:
        return "-" if value is None else str(value)
    number = tidy(number)
    for places in range(0, 11):
        text = f"{number:.{places}f}"
        if float(text) == number:
            return text[1:] if _is_negative_zero(text) else text
    return f"{number:.10g}"


def against(value: float, other: float, decimals: int) -> str:
    """``value`` as :func:`rounded` shows it, with more decimals where fewer would make it read equal to ``other``.

    A comparison ``4.196 < min 4.2`` must never read ``4.2 < min 4.2``.
    """
    for places in range(decimals, decimals + MAX_DECIMALS + 1):
        text = rounded(value, places)
        if value == other or float(text) != other:
            return text
    return f"{value:.10g}"


def _is_negative_zero(text: str) -> bool:
    return text.startswith("-") and float(text) == 0


_DURATION_UNITS = (("week", 604800), ("day", 86400), ("hour", 3600), ("min", 60), ("s", 1))


def human_duration(seconds: float | None) -> str:
    """A duration in the units a person would use: ``3 days``, ``1 day 12 hours``, ``2 hours 30 min``, ``45 s``.

    At most two units, the largest first; weeks only for a whole number of them
    (``2 weeks``, but ``10 days``). ``None``: ``none``.
    """
    if seconds is None:
        return "none"
    if not math.isfinite(seconds):
        return str(seconds)
    if seconds < 0:
        return "-" + human_duration(-seconds)
    if seconds < 60:
        return f"{seconds:g} s" if seconds < 1 or seconds != int(seconds) else f"{int(seconds)} s"
    whole = round(seconds)
    units = _DURATION_UNITS if whole % 604800 == 0 else _DURATION_UNITS[1:]
    parts: list[str] = []
    rest = whole
    for name, size in units:
        count, rest = divmod(rest, size)
        if count and len(parts) < 2:
            parts.append(_unit(count, name))
        elif parts:
            break  # two units, or a zero between them: the smaller ones are rounded away
    return " ".join(parts)


def _unit(count: int, name: str) -> str:
    return f"{count} {name}" if count == 1 or name in ("min", "s") else f"{count} {name}s"


def as_text(value: Any) -> str:
    """A value inside a sentence: lists as ``a, b``, mappings as ``a: 1, b: 2``, ``true``/``false``, nothing for
    ``None`` (never Python's ``['a', 'b']``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return ", ".join(f"{key}: {as_text(item)}" for key, item in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return text_list(value)
    return str(value)


def text_list(values: Any) -> str:
    """``a, b, c`` (each item as :func:`as_text` shows it); an empty list is ``none``."""
    items = sorted(values, key=str) if isinstance(values, set | frozenset) else list(values)
    return ", ".join(as_text(item) for item in items) or "none"
