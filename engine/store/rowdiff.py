"""Comparing a row with the event written with it: the differences, in words a reviewer can read.

Shared by ``pdcaflow.engine.store.rowcheck`` (the append-only tables) and
``pdcaflow.engine.store.rowcheck_cycles`` (cycles and carry-overs).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

from pdcaflow.engine.store.audit import canonical_at


class RowProblem(NamedTuple):
    """A row that disagrees with its event; ``seq`` is the event's (``None``: the row has no event)."""

    seq: int | None
    what: str


def differences(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    if mine == theirs:  # the common case, at C speed; but 1 == True, hence the look at booleans
        for name, value in mine.items():
            if (value.__class__ is bool) is not (theirs[name].__class__ is bool):
                break
        else:
            return {}
    names = sorted(set(mine) | set(theirs))
    return dict(_named_difference(name, mine.get(name), theirs.get(name)) for name in names
                if not same(mine.get(name), theirs.get(name)))


def _named_difference(name: str, mine: Any, theirs: Any) -> tuple[str, tuple[Any, Any]]:
    """A difference too long to show whole is named by the path to where it lies (``params.visits.A``)."""
    while isinstance(mine, dict) and isinstance(theirs, dict) and (short(mine) != mine or short(theirs) != theirs):
        inner = differences(mine, theirs)
        if len(inner) != 1:
            break
        (key, _), = inner.items()
        name, mine, theirs = f"{name}.{key}", mine.get(key), theirs.get(key)
    return name, (short(mine), short(theirs))


def same(mine: Any, theirs: Any) -> bool:
    # 4 and 4.0 are the same number (an int target is stored in a float column); True is not 1 here.
    if isinstance(mine, bool) or isinstance(theirs, bool):
        return type(mine) is type(theirs) and mine == theirs
    return bool(mine == theirs)


def number_value(value: Any) -> Any:
    """A float column's value as stored (text on SQLite read raw): a number when it is one."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def json_value(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return loads(text)
    except ValueError:
        return text


# JSONDecoder.__init__ sets scan_once; typeshed does not declare it.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def loads(text: str) -> Any:
    """``json.loads`` for the compact JSON the store writes, without its whitespace passes (any other text
    goes to ``json.loads``, which decides).

    Raises:
        ValueError: not JSON.
    """
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 60 else f"{text[:57]}..."


def at_text(value: Any) -> Any:
    """A datetime column's value as the events record it (ISO 8601 UTC), or as stored when it is not one."""
    if value is None:
        return None
    try:
        return canonical_at(value)
    except ValueError:
        return value
