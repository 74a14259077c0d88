"""Reading one quarter's operations tables (docs/service-system-data.md) from a folder or a database.

A source is one of:

- the folder of quarters, ``data/water/quarters``: ``<source>/<YYYY-Qn>/<table>.csv``
  (or ``.parquet``) holds that quarter's rows;
- one quarter's folder, ``data/water/quarters/2026-Q3`` (named for its quarter), or a
  folder holding the tables themselves with a ``period`` column;
- a database (the URL the engine made of ``connection:NAME``): one table per kind holding
  every quarter, its ``period`` column (``YYYY-Qn``) picks the quarter's rows.

Imported when a task runs (pandas).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from pdcaflow.tasks.sdk.sources import FILE_SUFFIXES, SourceError, is_url, read_table

PERIOD = re.compile(r"^\d{4}-Q[1-4]$")
PERIOD_COLUMN = "period"


def check_period(period: str) -> str:
    """``period`` when it is a quarter written ``YYYY-Qn``.

    Raises:
        ValueError: it is not.
    """
    if not PERIOD.match(str(period)):
        raise ValueError(f"period {period!r} is not a quarter written YYYY-Qn (e.g. 2026-Q3)")
    return str(period)


def shown(source: str) -> str:
    """The source as messages name it (a URL without its password)."""
    if not is_url(source):
        return source
    from sqlalchemy.engine import make_url  # SQLAlchemy only when it is used
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(source).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"//[^@/]*@", "//***@", source)


def latest_period(source: str, tables: Iterable[str]) -> str:
    """The latest quarter the source holds: its last ``YYYY-Qn`` folder, or the largest ``period`` of ``tables``.

    Raises:
        SourceError: the source holds no quarter.
    """
    if not is_url(source):
        folder = Path(source)
        if PERIOD.match(folder.name) and folder.is_dir():
            return folder.name
        quarters = sorted(path.name for path in folder.glob("*") if path.is_dir() and PERIOD.match(path.name))
        if quarters:
            return quarters[-1]
        if not folder.is_dir():
            raise SourceError(f"{source}: no such folder (the operations: one YYYY-Qn folder per quarter)")
    periods: set[str] = set()
    for table in dict.fromkeys(tables):
        try:
            frame = read_table(source, table)
        except SourceError:
            continue  # a table the source lacks holds no quarter; the standards on it are not measurable
        if PERIOD_COLUMN in frame.columns:
            periods.update(str(value) for value in frame[PERIOD_COLUMN].dropna() if PERIOD.match(str(value)))
    if not periods:
        raise SourceError(f"{shown(source)}: no quarter to read: no YYYY-Qn folder, and no `period` column "
                          "holding YYYY-Qn in its tables")
    return max(periods)


def read_quarter(source: str, period: str, table: str) -> tuple[pd.DataFrame, str]:
    """The quarter's rows of ``table`` and where they were read (for messages).

    Raises:
        SourceError: no such quarter or table, or a table holding every quarter without a ``period`` column.
    """
    if not is_url(source):
        folder = Path(source)
        quarter = folder / period
        if quarter.is_dir():
            frame = read_table(str(quarter), table)
            return _in_period(frame, period, _file_of(quarter, table), required=False), _file_of(quarter, table)
        if PERIOD.match(folder.name):
            if folder.name != period:
                raise SourceError(f"{source}: this folder holds {folder.name}, not {period}")
            return read_table(source, table), _file_of(folder, table)
        if not any(path.is_dir() and PERIOD.match(path.name) for path in folder.glob("*")):
            where = _file_of(folder, table)
            return _in_period(read_table(source, table), period, where, required=True), where
        raise SourceError(f"{source}: no folder {period} (the quarter's operations)")
    where = f"{shown(source)} table {table!r}"
    return _in_period(read_table(source, table), period, where, required=True), where


def _file_of(folder: Path, table: str) -> str:
    """The file a folder's table was read from (called once it was read)."""
    files = [folder / f"{table}{suffix}" for suffix in FILE_SUFFIXES]
    return str(next((path for path in files if path.is_file()), folder / table))


def _in_period(frame: pd.DataFrame, period: str, where: str, *, required: bool) -> pd.DataFrame:
    """The rows of ``period`` (by the ``period`` column); a folder's table may lack the column."""
    if PERIOD_COLUMN not in frame.columns:
        if required:
            raise SourceError(f"{where}: no `period` column to pick {period}'s rows from (a table holding "
                              "every quarter needs one, YYYY-Qn)")
        return frame
    return frame.loc[frame[PERIOD_COLUMN].astype(str) == period].reset_index(drop=True)
