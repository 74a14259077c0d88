"""Months as the retail data writes them (``YYYY-MM``) and the little arithmetic the world needs.

A month is text in the tables and an integer *index* inside the world
(``year * 12 + month - 1``), so that consecutive months are consecutive numbers.
:func:`next_month` is the rule every task uses for the period a cycle plans: the
month after the last month in the sales history.

The season of the retail tobacco trade is here too: sales peak in the weeks
before the Spring Festival (gifts and family visits), dip in the weeks after it,
and rise a little for the Mid-Autumn Festival and National Day.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pdcaflow.tasks.sdk.sources import SourceError, is_url, read_table

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

# First day of the lunar new year (Spring Festival), for the years the world may simulate.
SPRING_FESTIVAL = {
    2018: date(2018, 2, 16), 2019: date(2019, 2, 5), 2020: date(2020, 1, 25), 2021: date(2021, 2, 12),
    2022: date(2022, 2, 1), 2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26), 2029: date(2029, 2, 13),
    2030: date(2030, 2, 3), 2031: date(2031, 1, 23), 2032: date(2032, 2, 11), 2033: date(2033, 1, 31),
    2034: date(2034, 2, 19), 2035: date(2035, 2, 8), 2036: date(2036, 1, 28), 2037: date(2037, 2, 15),
}
PRE_FESTIVAL_DAYS = 28   # the gift-buying weeks before the festival
POST_FESTIVAL_DAYS = 21  # the quiet weeks after it
PRE_FESTIVAL_LIFT = 0.25  # extra demand per day in those weeks
POST_FESTIVAL_DIP = 0.12  # demand per day lost in the weeks after
# Small calendar effects by month number: summer lull, Mid-Autumn Festival and National Day.
CALENDAR_EFFECT = {6: -0.03, 7: -0.04, 8: -0.02, 9: 0.05, 10: 0.06}


def month_index(month: str) -> int:
    """``"2024-03"`` -> ``2024 * 12 + 2``.

    Raises:
        ValueError: ``month`` is not written ``YYYY-MM``.
    """
    match = _MONTH.match(str(month).strip())
    if not match:
        raise ValueError(f"{month!r} is not a month written YYYY-MM")
    return int(match[1]) * 12 + int(match[2]) - 1


def month_text(index: int) -> str:
    """The inverse of :func:`month_index`."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def add_months(month: str, count: int) -> str:
    """The month ``count`` months after ``month`` (before it when negative)."""
    return month_text(month_index(month) + count)


def months_between(first: str, last: str) -> int:
    """How many months ``last`` is after ``first`` (negative when before)."""
    return month_index(last) - month_index(first)


def month_range(first: str, count: int) -> list[str]:
    """``count`` consecutive months starting with ``first``."""
    start = month_index(first)
    return [month_text(start + offset) for offset in range(count)]


def first_day(month: str) -> date:
    """The first day of ``month``."""
    index = month_index(month)
    return date(index // 12, index % 12 + 1, 1)


def days_in(month: str) -> int:
    """Days in ``month``."""
    index = month_index(month)
    return calendar.monthrange(index // 12, index % 12 + 1)[1]


def month_start(month: str) -> pd.Timestamp:
    """Midnight at the start of ``month`` (timezone-naive)."""
    return pd.Timestamp(first_day(month))


def season_factor(month: str) -> float:
    """Demand in ``month`` relative to an average 30.4-day month, from the festival calendar and month length.

    Each day has demand 1 (times the month's calendar effect), each day of the four
    weeks before the Spring Festival ``1 + PRE_FESTIVAL_LIFT``, each of the three
    weeks after it ``1 - POST_FESTIVAL_DIP``; so a late festival moves the peak from
    January to February.
    """
    start = first_day(month)
    length = days_in(month)
    festival = SPRING_FESTIVAL.get(start.year) or date(start.year, 2, 5)
    if start.month == 12:  # the weeks before next year's festival can begin in December
        festival = SPRING_FESTIVAL.get(start.year + 1) or date(start.year + 1, 2, 5)
    pre = _overlap(start, length, festival - timedelta(days=PRE_FESTIVAL_DAYS), PRE_FESTIVAL_DAYS)
    post = _overlap(start, length, festival, POST_FESTIVAL_DAYS)
    days = length * (1.0 + CALENDAR_EFFECT.get(start.month, 0.0)) + PRE_FESTIVAL_LIFT * pre - POST_FESTIVAL_DIP * post
    return days / 30.4


def _overlap(start: date, length: int, window_start: date, window_days: int) -> int:
    """Days of the window ``[window_start, window_start + window_days)`` inside the month."""
    month_end = start + timedelta(days=length)
    window_end = window_start + timedelta(days=window_days)
    return max(0, (min(month_end, window_end) - max(start, window_start)).days)


def last_month(sales_source: str | Path) -> str:
    """The last month in a sales table (a file, a directory holding ``sales``, or a database URL).

    Raises:
        SourceError: the table cannot be read, has no ``month`` column or no rows,
            or holds a month not written ``YYYY-MM``.
    """
    source = str(sales_source)
    path = Path(source)
    if not is_url(source) and path.is_dir() and (path / "sales.parquet").is_file():
        path = path / "sales.parquet"
    if not is_url(source) and path.name.endswith(".parquet") and path.is_file():
        try:  # only the one column: the history of a large world is millions of rows
            months = pq.read_table(path, columns=["month"], read_dictionary=["month"])["month"].to_pandas()
        except (OSError, ValueError, KeyError) as exc:
            raise SourceError(f"{path}: cannot read the month column: {exc}") from exc
        where = str(path)
    else:
        months = read_table(source, "sales", columns=["month"])["month"]
        where = source
    if months.empty:
        raise SourceError(f"{where}: the sales history has no rows, so it has no last month")
    texts = pd.Series(months.astype(str).str.strip().unique())
    bad = texts[~texts.str.match(_MONTH)]
    if len(bad):
        raise SourceError(f"{where}: column month holds {bad.iloc[0]!r}, not a month written YYYY-MM")
    return str(texts.max())


def next_month(sales_source: str | Path) -> str:
    """The month after the last month in the sales history: the period a cycle plans and carries out.

    Raises:
        SourceError: see :func:`last_month`.
    """
    return add_months(last_month(sales_source), 1)
