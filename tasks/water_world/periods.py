"""Quarters as the water data writes them (``2026-Q3``) and the little arithmetic the world needs.

A quarter is text in the tables and an integer *index* inside the world
(``year * 4 + quarter - 1``), so that consecutive quarters are consecutive numbers.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def quarter_index(quarter: str) -> int:
    """``"2026-Q3"`` -> ``2026 * 4 + 2``.

    Raises:
        ValueError: ``quarter`` is not written ``YYYY-Qn``.
    """
    match = _QUARTER.match(str(quarter).strip())
    if not match:
        raise ValueError(f"{quarter!r} is not a quarter written YYYY-Qn (e.g. 2026-Q3)")
    return int(match[1]) * 4 + int(match[2]) - 1


def quarter_text(index: int) -> str:
    """The inverse of :func:`quarter_index`."""
    return f"{index // 4:04d}-Q{index % 4 + 1}"


def add_quarters(quarter: str, count: int) -> str:
    return quarter_text(quarter_index(quarter) + count)


def quarter_start(quarter: str) -> datetime:
    """Midnight of the quarter's first day."""
    index = quarter_index(quarter)
    return datetime(index // 4, 3 * (index % 4) + 1, 1)


def quarter_days(quarter: str) -> int:
    """Days in the quarter (90 to 92)."""
    return (quarter_start(add_quarters(quarter, 1)) - quarter_start(quarter)).days


def quarter_of(moment: datetime | date) -> str:
    """The quarter a date or time falls in."""
    return quarter_text(moment.year * 4 + (moment.month - 1) // 3)


def quarter_for(period: str) -> str:
    """The quarter of a period written ``YYYY-Qn`` or ``YYYY-MM`` (a month: the quarter it falls in).

    Raises:
        ValueError: ``period`` is neither.
    """
    month = _MONTH.match(str(period).strip())
    if month:
        return quarter_text(int(month[1]) * 4 + (int(month[2]) - 1) // 3)
    return quarter_text(quarter_index(period))
