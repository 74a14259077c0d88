"""Periods as the task data writes them: quarters ``2026-Q3`` and months ``2026-07``.

One place for the period arithmetic every task library needs: checking a
period, where it starts and ends, the period ``n`` after it, and the period a
date or time falls in. Standard library only (no pandas): a task module may use
it at validation time, and a ``*_steps.py`` module turns the datetimes into
``pd.Timestamp`` where it compares them with a column.

A period covers the half-open range ``[start, end)``: ``start`` is midnight of
its first day, ``end`` the midnight the next period starts (both naive
datetimes). A quarter is also an integer *index* (:func:`quarter_index`,
``year * 4 + quarter - 1``), so that consecutive quarters are consecutive
numbers; ``period_bounds``, ``add_periods`` and ``next_period`` take either kind
and keep it (``next_period("2026-12")`` is ``2027-01``).

A period is read as written: ``" 2026-Q3"`` (a blank before it) or ``2026-Q03``
is no period, so that a period checked here matches folder names and ``period``
columns exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

_QUARTER = re.compile(r"(\d{4})-Q([1-4])", re.ASCII)  # matched whole (fullmatch): no blank, no line break around it
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])", re.ASCII)
QUARTER_HINT = "a quarter written YYYY-Qn (e.g. 2026-Q3)"
MONTH_HINT = "a month written YYYY-MM (e.g. 2026-07)"


# --- checking -------------------------------------------------------------------------------------


def is_quarter(period: object) -> bool:
    """Whether ``period`` is a quarter written ``YYYY-Qn``."""
    return bool(_QUARTER.fullmatch(str(period)))


def is_month(period: object) -> bool:
    """Whether ``period`` is a month written ``YYYY-MM``."""
    return bool(_MONTH.fullmatch(str(period)))


def check_quarter(period: object, what: str = "period") -> str:
    """``period`` when it is a quarter written ``YYYY-Qn``.

    ``what`` names the value in the message (``"period"``, ``"plan.csv: period"``).

    Raises:
        ValueError: it is not, e.g. "period '2026-Q5' is not a quarter written YYYY-Qn (e.g. 2026-Q3)".
    """
    return _checked(period, is_quarter(period), what, f"is not {QUARTER_HINT}")


def check_month(period: object, what: str = "period") -> str:
    """``period`` when it is a month written ``YYYY-MM``.

    Raises:
        ValueError: it is not, e.g. "period '2026-13' is not a month written YYYY-MM (e.g. 2026-07)".
    """
    return _checked(period, is_month(period), what, f"is not {MONTH_HINT}")


def check_period(period: object, what: str = "period") -> str:
    """``period`` when it is a quarter (``YYYY-Qn``) or a month (``YYYY-MM``).

    Raises:
        ValueError: it is neither.
    """
    return _checked(period, is_quarter(period) or is_month(period), what,
                    "is neither a quarter (YYYY-Qn, e.g. 2026-Q3) nor a month (YYYY-MM, e.g. 2026-07)")


# --- quarters -------------------------------------------------------------------------------------


def quarter_index(quarter: str) -> int:
    """``"2026-Q3"`` -> ``2026 * 4 + 2``.

    Raises:
        ValueError: ``quarter`` is not written ``YYYY-Qn``.
    """
    return _QUARTERS.index(check_quarter(quarter))


def quarter_text(index: int) -> str:
    """The inverse of :func:`quarter_index`: ``2026 * 4 + 2`` -> ``"2026-Q3"``."""
    return _QUARTERS.text(index)


def add_quarters(quarter: str, count: int) -> str:
    """The quarter ``count`` quarters after ``quarter`` (before it when negative)."""
    return quarter_text(quarter_index(quarter) + count)


def next_quarter(quarter: str) -> str:
    """The quarter after ``quarter`` (``2026-Q4`` -> ``2027-Q1``)."""
    return add_quarters(quarter, 1)


def quarter_start(quarter: str) -> datetime:
    """Midnight of the quarter's first day."""
    return _QUARTERS.start(quarter_index(quarter))


def quarter_end(quarter: str) -> datetime:
    """Midnight the next quarter starts (the quarter's range ends just before it)."""
    return _QUARTERS.start(quarter_index(quarter) + 1)


def quarter_days(quarter: str) -> int:
    """Days in the quarter (90 to 92)."""
    return (quarter_end(quarter) - quarter_start(quarter)).days


def quarter_of(moment: datetime | date) -> str:
    """The quarter a date or time falls in (``2026-09-30 23:59`` -> ``2026-Q3``)."""
    return _QUARTERS.text(_QUARTERS.index_of(moment))


def month_of(moment: datetime | date) -> str:
    """The month a date or time falls in (``2026-12-31 23:59`` -> ``2026-12``)."""
    return _MONTHS.text(_MONTHS.index_of(moment))


def quarter_for(period: str) -> str:
    """The quarter of a period written ``YYYY-Qn``, or of a month ``YYYY-MM`` (the quarter it falls in).

    Raises:
        ValueError: ``period`` is neither.
    """
    return quarter_of(period_start(period))


# --- either kind: a quarter or a month -------------------------------------------------------------


def add_periods(period: str, count: int) -> str:
    """The period of the same kind ``count`` periods after ``period`` (``2026-12``, 1 -> ``2027-01``).

    Raises:
        ValueError: ``period`` is neither a quarter nor a month.
    """
    kind = _kind_of(period)
    return kind.text(kind.index(period) + count)


def next_period(period: str) -> str:
    """The period of the same kind after ``period`` (``2026-Q4`` -> ``2027-Q1``)."""
    return add_periods(period, 1)


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """``(start, end)`` of a quarter or a month: its first moment and the first moment of the next one.

    Raises:
        ValueError: ``period`` is neither a quarter nor a month.
    """
    kind = _kind_of(period)
    index = kind.index(period)
    return kind.start(index), kind.start(index + 1)


def period_start(period: str) -> datetime:
    """Midnight of the first day of a quarter or a month."""
    return period_bounds(period)[0]


def period_end(period: str) -> datetime:
    """Midnight the period after a quarter or a month starts."""
    return period_bounds(period)[1]


# --- the arithmetic of both kinds -----------------------------------------------------------------


@dataclass(frozen=True)
class _Kind:
    """Quarters or months: how one is written and how many make a year."""

    pattern: re.Pattern[str]  # two groups: the year and the number within it
    written: str  # str.format of the year and the number
    per_year: int

    def index(self, period: str) -> int:
        """The consecutive number of a period already checked to be of this kind."""
        match = self.pattern.fullmatch(period)
        assert match is not None  # the callers checked the period
        return int(match[1]) * self.per_year + int(match[2]) - 1

    def text(self, index: int) -> str:
        return self.written.format(index // self.per_year, index % self.per_year + 1)

    def start(self, index: int) -> datetime:
        return datetime(index // self.per_year, 12 // self.per_year * (index % self.per_year) + 1, 1)

    def index_of(self, moment: datetime | date) -> int:
        return moment.year * self.per_year + (moment.month - 1) * self.per_year // 12


_QUARTERS = _Kind(_QUARTER, "{0:04d}-Q{1}", 4)
_MONTHS = _Kind(_MONTH, "{0:04d}-{1:02d}", 12)


def _kind_of(period: str) -> _Kind:
    return _QUARTERS if is_quarter(check_period(period)) else _MONTHS


def _checked(period: object, good: bool, what: str, problem: str) -> str:
    """``period`` as text when ``good``; else a ValueError: ``what``, the value and ``problem``."""
    if not good:
        shown = repr(period) if isinstance(period, str) else repr(str(period))
        raise ValueError(f"{what} {shown} {problem}")
    return str(period)
