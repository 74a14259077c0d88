"""Recorded values (JSON data: step outputs, rules, event payloads) as people read them, never cut short.

``readable`` gives ``key: value`` lines, nested keys dotted (``segments.A.customers: 65``),
a list of plain values comma-separated, and a list of mappings as indented
``- key: value`` blocks. ``pairs`` gives the same on one line (``a: 1; b: x, y``),
as many whole pairs as fit and then how many were left out. Numbers are shown
as recorded.
"""

from __future__ import annotations

from typing import Any

from pdcaflow.engine.review.cycle_view import flatten


def readable(value: Any) -> str:
    """``value`` as ``key: value`` lines (see the module docstring)."""
    return "\n".join(_lines(value))


def pairs(value: Any, width: int) -> str:
    """``value`` on one line: the ``key: value`` pairs that fit in about ``width`` characters (always the
    first), then ``(and N more)``; never a pair cut short."""
    if not isinstance(value, dict) or not value:
        return _plain(value)
    every = [f"{key}: {_plain(inner)}" for key, inner in flatten(value).items()]
    shown = every[:1]
    for pair in every[1:]:
        if len("; ".join(shown)) + 2 + len(pair) > width:
            break
        shown.append(pair)
    left = len(every) - len(shown)
    return "; ".join(shown) + (f" (and {left} more)" if left else "")


def _lines(value: Any) -> list[str]:
    if isinstance(value, list) and any(isinstance(item, dict | list) for item in value):
        return [("  - " if number == 0 else "    ") + line for item in value
                for number, line in enumerate(_lines(item))]
    if not isinstance(value, dict) or not value:
        return [_plain(value)]
    lines = []
    for key, inner in flatten(value).items():
        below = _lines(inner)
        lines.extend([f"{key}:", *below] if below[0].startswith("  - ") else [f"{key}: {below[0]}", *below[1:]])
    return lines


def _plain(value: Any) -> str:
    if isinstance(value, dict) and value:
        return "{" + ", ".join(f"{key}: {_plain(inner)}" for key, inner in flatten(value).items()) + "}"
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value) or "none"
    if value is None or value == {}:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
