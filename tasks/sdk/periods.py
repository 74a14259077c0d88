"""Periods as the task data writes them: quarters ``2026-Q3`` and months ``2026-07``.

One place for the period arithmetic every task library needs: checking a
period, where it starts and ends, the period ``n`` after it, and the period a
date or time falls in. Standard library only (no pandas): a task module may use
it at validation time, and a ``*_steps.py`` module turns the datetimes into
``pd.Timestamp`` where it compares them with a column.

A period covers the half-open range ``[start, end)``: ``start`` is midnight of
its first day, ``end`` the midnight the next period starts (both naive
datetimes). Inside the arithmetic a quarter is an integer *index*
(``year * 4 + quarter - 1``) and a month one too (``year * 12 + month - 1``),
so that consecutive periods are consecutive numbers.

A period is read as written: ``" 2026-Q3"`` (a blank before it) or ``2026-Q03``
is no period, so that a period checked here matches folder names and ``period``
columns exactly.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
QUARTER_HINT = "a quarter written YYYY-Qn (e.g. 2026-Q3)"
MONTH_HINT = "a month written YYYY-MM (e.g. 2026-07)"


# --- checking -------------------------------------------------------------------------------------


def is_quarter(period: object) -> bool:
    """Whether ``period`` is a quarter written ``YYYY-Qn``."""
    return bool(_QUARTER.match(str(period)))


def is_month(period: object) -> bool:
    """Whether ``period`` is a month written ``YYYY-MM``."""
    return bool(_MONTH.match(str(period)))


def check_quarter(period: object, what: str = "period") -> str:
    """``period`` when it is a quarter written ``YYYY-Qn``.

    ``what`` names the value in the message (``"period"``, ``"plan.csv: period"``).

    Raises:
        ValueError: it is not, e.g. "period '2026-Q5' is not a quarter written YYYY-Qn (e.g. 2026-Q3)".
    """
    if not is_quarter(period):
        raise ValueError(f"{what} {_quoted(period)} is not {QUARTER_HINT}")
    return str(period)


def check_month(period: object, what: str = "period") -> str:
    """``period`` when it is a month written ``YYYY-MM``.

    Raises:
        ValueError: it is not, e.g. "period '2026-13' is not a month written YYYY-MM (e.g. 2026-07)".
    """
    if not is_month(period):
        raise ValueError(f"{what} {_quoted(period)} is not {MONTH_HINT}")
    return str(period)


def check_period(period: object, what: str = "period") -> str:
    """``period`` when it is a quarter (``YYYY-Qn``) or a month (``YYYY-MM``).

    Raises:
        ValueError: it is neither.
    """
    if not (is_quarter(period) or is_month(period)):
        raise ValueError(f"{what} {_quoted(period)} is neither a quarter (YYYY-Qn, e.g. 2026-Q3) "
                         "nor a month (YYYY-MM, e.g. 2026-07)")
    return str(period)


# --- quarters -------------------------------------------------------------------------------------


def quarter_index(quarter: str) -> int:
    """``"2026-Q3"`` -> ``2026 * 4 + 2``.

    Raises:
        ValueError: ``quarter`` is not written ``YYYY-Qn``.
    """
    match = _QUARTER.match(check_quarter(quarter))
    assert match is not None  # check_quarter raised otherwise
    return int(match[1]) * 4 + int(match[2]) - 1


def quarter_text(index: int) -> str:
    """The inverse of :func:`quarter_index`: ``2026 * 4 + 2`` -> ``"2026-Q3"``."""
    return f"{index // 4:04d}-Q{index % 4 + 1}"


def add_quarters(quarter: str, count: int) -> str:
    """The quarter ``count`` quarters after ``quarter`` (before it when negative)."""
    return quarter_text(quarter_index(quarter) + count)


def next_quarter(quarter: str) -> str:
    """The quarter after ``quarter`` (``2026-Q4`` -> ``2027-Q1``)."""
    return add_quarters(quarter, 1)


def quarter_start(quarter: str) -> datetime:
    """Midnight of the quarter's first day."""
    index = quarter_index(quarter)
    return datetime(index // 4, 3 * (index % 4) + 1, 1)


def quarter_end(quarter: str) -> datetime:
    """Midnight the next quarter starts (the quarter's range ends just before it)."""
    return quarter_start(next_quarter(quarter))


def quarter_days(quarter: str) -> int:
    """Days in the quarter (90 to 92)."""
    return (quarter_end(quarter) - quarter_start(quarter)).days


def quarter_of(moment: datetime | date) -> str:
    """The quarter a date or time falls in (``2026-09-30 23:59`` -> ``2026-Q3``)."""
    return quarter_text(moment.year * 4 + (moment.month - 1) // 3)


def quarter_for(period: str) -> str:
    """The quarter of a period written ``YYYY-Qn``, or of a month ``YYYY-MM`` (the quarter it falls in).

    Raises:
        ValueError: ``period`` is neither.
    """
    if is_month(period):
        return quarter_of(month_start(period))
    return quarter_text(quarter_index(check_period(period)))


# --- months ---------------------------------------------------------------------------------------


def month_index(month: str) -> int:
    """``"2026-07"`` -> ``2026 * 12 + 6``.

    Raises:
        ValueError: ``month`` is not written ``YYYY-MM``.
    """
    match = _MONTH.match(check_month(month))
    assert match is not None  # check_month raised otherwise
    return int(match[1]) * 12 + int(match[2]) - 1


def month_text(index: int) -> str:
    """The inverse of :func:`month_index`: ``2026 * 12 + 6`` -> ``"2026-07"``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_months(month: str, count: int) -> str:
    """The month ``count`` months after ``month`` (before it when negative)."""
    return month_text(month_index(month) + count)


def next_month(month: str) -> str:
    """The month after ``month`` (``2026-12`` -> ``2027-01``)."""
    return add_months(month, 1)


def month_start(month: str) -> datetime:
    """Midnight of the month's first day."""
    index = month_index(month)
    return datetime(index // 12, index % 12 + 1, 1)


def month_end(month: str) -> datetime:
    """Midnight the next month starts."""
    return month_start(next_month(month))


def month_of(moment: datetime | date) -> str:
    """The month a date or time falls in."""
    return month_text(moment.year * 12 + moment.month - 1)


# --- either kind ----------------------------------------------------------------------------------


def add_periods(period: str, count: int) -> str:
    """The period of the same kind ``count`` periods after ``period`` (``2026-Q4``, 1 -> ``2027-Q1``).

    Raises:
        ValueError: ``period`` is neither a quarter nor a month.
    """
    return add_months(period, count) if is_month(period) else add_quarters(check_period(period), count)


def next_period(period: str) -> str:
    """The period of the same kind after ``period``."""
    return add_periods(period, 1)


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """``(start, end)`` of a quarter or a month: its first moment and the first moment of the next one.

    Raises:
        ValueError: ``period`` is neither a quarter nor a month.
    """
    if is_month(period):
        return month_start(period), month_end(period)
    quarter = check_period(period)
    return quarter_start(quarter), quarter_end(quarter)


def period_start(period: str) -> datetime:
    """Midnight of the first day of a quarter or a month."""
    return period_bounds(period)[0]


def period_end(period: str) -> datetime:
    """Midnight the period after a quarter or a month starts."""
    return period_bounds(period)[1]


def _quoted(value: object) -> str:
    return repr(value) if isinstance(value, str) else repr(str(value))
