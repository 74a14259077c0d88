"""Quarters and where one quarter's records are (docs/service-system-data.md), for the service-system tasks.

A folder source holds one folder per quarter (``<quarters>/<YYYY-Qn>/<table>.csv``);
a database (a URL, from ``connection:NAME``) holds every quarter in one table per
kind, told apart by its ``period`` column. Imported by the task bodies only
(pandas).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from pdcaflow.tasks.sdk.sources import FILE_SUFFIXES, SourceError, is_url, read_table

QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
QUARTERS_DIR = "quarters"  # data/water/quarters/<YYYY-Qn>/


def check_quarter(period: str, what: str = "period") -> str:
    """``period`` when it is a quarter written ``YYYY-Qn``.

    Raises:
        ValueError: it is not.
    """
    if not QUARTER.match(str(period)):
        raise ValueError(f"{what} {period!r} is not a quarter: write it YYYY-Qn, e.g. 2026-Q3")
    return str(period)


def next_quarter(period: str) -> str:
    """The quarter after ``period`` (``2026-Q4`` -> ``2027-Q1``)."""
    match = QUARTER.match(check_quarter(period))
    assert match is not None  # check_quarter raised otherwise
    year, quarter = int(match.group(1)), int(match.group(2))
    return f"{year + 1}-Q1" if quarter == 4 else f"{year}-Q{quarter + 1}"


def quarter_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first moment of ``period`` and the first moment of the next quarter."""
    match = QUARTER.match(check_quarter(period))
    assert match is not None
    start = pd.Timestamp(year=int(match.group(1)), month=3 * int(match.group(2)) - 2, day=1)
    return start, start + pd.DateOffset(months=3)


def quarters_root(source: str) -> str:
    """The quarters source: a URL as given; ``<source>/quarters`` when ``source`` holds one; else ``source``."""
    if is_url(source):
        return source
    nested = Path(source) / QUARTERS_DIR
    return str(nested) if nested.is_dir() else source


def latest_quarter(source: str, table: str) -> str:
    """The last quarter under ``source``: its last ``YYYY-Qn`` folder, or the highest ``period`` of ``table``.

    Raises:
        SourceError: the folder has no quarter folders, or the table no period.
    """
    root = quarters_root(source)
    if is_url(root):
        periods = read_table(root, table, columns=("period",))["period"].dropna().astype(str)
        found = sorted(period for period in periods.unique() if QUARTER.match(period))
        if not found:
            raise SourceError(f"{table} at {source}: no period written YYYY-Qn in its period column")
        return found[-1]
    folder = Path(root)
    if not folder.is_dir():
        raise SourceError(f"{root}: no such folder of quarters (a relative path is read from {Path.cwd()})")
    quarters = sorted(path.name for path in folder.iterdir() if path.is_dir() and QUARTER.match(path.name))
    if not quarters:
        raise SourceError(f"{root}: no quarter folders (YYYY-Qn) in it")
    return quarters[-1]


def has_table(source: str, period: str, table: str) -> bool:
    """True when the quarter's folder holds ``table`` (a URL is asked when the table is read)."""
    if is_url(source):
        return True
    folder = Path(quarters_root(source)) / period
    return any((folder / f"{table}{suffix}").is_file() for suffix in FILE_SUFFIXES)


def read_quarter(source: str, period: str, table: str, columns: Sequence[str],
                 parse_dates: Sequence[str] = ()) -> pd.DataFrame:
    """The rows of ``table`` for ``period``: its quarter folder's file, or the table's rows of that period.

    Raises:
        SourceError: the quarter folder, the table or a column is missing.
    """
    root = quarters_root(source)
    if is_url(root):
        frame = read_table(root, table, columns=(*columns, "period"), parse_dates=parse_dates,
                           text_columns=("customer_id",))
        return frame[frame["period"].astype(str) == period].reset_index(drop=True)
    folder = Path(root) / period
    if not folder.is_dir():
        raise SourceError(f"{root}: no folder {period} (the quarter's records)")
    return read_table(str(folder), table, columns=columns, parse_dates=parse_dates, text_columns=("customer_id",))


def flags(column: pd.Series) -> pd.Series:
    """A true/false column read from CSV, Parquet or SQL as booleans; empty is False."""
    if column.dtype == bool:
        return column
    text = column.astype(str).str.strip().str.lower()
    return text.isin(("true", "1", "1.0", "yes", "t"))


def percent(part: float, whole: float) -> float | None:
    """``part`` as % of ``whole``, 2 decimals; None when ``whole`` is 0."""
    return round(100.0 * part / whole, 2) if whole else None
