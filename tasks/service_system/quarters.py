"""Quarters and reading one quarter's operations tables (docs/service-system-data.md).

A source is one of:

- the folder of quarters, ``data/water/quarters``: ``<source>/<YYYY-Qn>/<table>.csv``
  (or ``.parquet``) holds that quarter's rows; a folder holding such a ``quarters``
  folder (``data/water``) is read as that folder;
- one quarter's folder, ``data/water/quarters/2026-Q3`` (named for its quarter), or a
  folder holding the tables themselves with a ``period`` column;
- a database (the URL the engine made of ``connection:NAME``): one table per kind holding
  every quarter, its ``period`` column (``YYYY-Qn``) picks the quarter's rows.

Imported when a task runs (pandas).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

# check_quarter and next_quarter are the SDK's, imported from here by the steps.
from pdcaflow.tasks.sdk.periods import check_quarter as check_quarter
from pdcaflow.tasks.sdk.periods import is_quarter, period_bounds
from pdcaflow.tasks.sdk.periods import next_quarter as next_quarter
from pdcaflow.tasks.sdk.sources import FILE_SUFFIXES, SourceError, display_source, is_url, read_table

QUARTERS_DIR = "quarters"  # data/water/quarters/<YYYY-Qn>/
PERIOD_COLUMN = "period"
TEXT_COLUMNS = ("customer_id",)  # ids read from CSV as text (W005 stays W005, 007 stays 007)


def quarter_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first moment of ``period`` and the first moment of the next quarter."""
    start, end = period_bounds(check_quarter(period))
    return pd.Timestamp(start), pd.Timestamp(end)


def quarters_root(source: str) -> str:
    """The quarters source: a URL as given; ``<source>/quarters`` when ``source`` holds one; else ``source``."""
    if is_url(source):
        return source
    nested = Path(source) / QUARTERS_DIR
    return str(nested) if nested.is_dir() else source


def latest_quarter(source: str, *tables: str) -> str:
    """The latest quarter ``source`` holds: its last ``YYYY-Qn`` folder, or the largest ``period`` of ``tables``.

    A table the source lacks holds no quarter and is passed over.

    Raises:
        SourceError: the folder does not exist, or the source holds no quarter.
    """
    root = quarters_root(source)
    if not is_url(root):
        folder = Path(root)
        if is_quarter(folder.name) and folder.is_dir():
            return folder.name
        quarters = sorted(path.name for path in folder.glob("*") if path.is_dir() and is_quarter(path.name))
        if quarters:
            return quarters[-1]
        if not folder.is_dir():
            raise _no_folder(folder)
    periods: set[str] = set()
    unread: list[str] = []
    for table in dict.fromkeys(tables):
        try:
            frame = read_table(root, table)
        except SourceError as exc:
            unread.append(str(exc))
            continue
        if PERIOD_COLUMN in frame.columns:
            periods.update(str(value) for value in frame[PERIOD_COLUMN].dropna() if is_quarter(str(value)))
    if not periods:
        folders = "" if is_url(root) else "no YYYY-Qn folder, and "
        raise SourceError(f"{display_source(root)}: no quarter to read: {folders}no `period` column holding YYYY-Qn "
                          f"in {', '.join(dict.fromkeys(tables)) or 'no table'}"
                          + "".join(f" ({reason})" for reason in unread[:1]))
    return max(periods)


def has_table(source: str, period: str, table: str) -> bool:
    """True when the quarter's folder holds ``table`` (a URL is asked when the table is read)."""
    root = quarters_root(source)
    if is_url(root):
        return True
    try:
        folder, _ = _locate(root, period)
    except SourceError:
        return False
    return any((Path(folder) / f"{table}{suffix}").is_file() for suffix in FILE_SUFFIXES)


def read_quarter(source: str, period: str, table: str, columns: Sequence[str] = (),
                 parse_dates: Sequence[str] = ()) -> pd.DataFrame:
    """The rows of ``table`` for ``period``: its quarter folder's file, or the table's rows of that period.

    ``columns`` are the columns the table must have (every column is read).

    Raises:
        SourceError: the quarter folder, the table or a column is missing, or a table holding every
            quarter has no ``period`` column.
    """
    root = quarters_root(source)
    where, every_quarter = _locate(root, period)
    frame = read_table(where, table, columns=columns, parse_dates=parse_dates, text_columns=TEXT_COLUMNS)
    if PERIOD_COLUMN not in frame.columns:
        if every_quarter:
            raise SourceError(f"{quarter_location(source, period, table)}: no `period` column to pick {period}'s "
                              "rows from (a table holding every quarter needs one, YYYY-Qn)")
        return frame
    return frame.loc[frame[PERIOD_COLUMN].astype(str) == period].reset_index(drop=True)


def quarter_location(source: str, period: str, table: str) -> str:
    """Where :func:`read_quarter` reads ``table`` of ``period``, for messages: the file, or the database table."""
    root = quarters_root(source)
    if is_url(root):
        return f"{display_source(root)} table {table!r}"
    folder = Path(_locate(root, period)[0])
    files = [folder / f"{table}{suffix}" for suffix in FILE_SUFFIXES]
    return str(next((path for path in files if path.is_file()), folder / table))


def _locate(root: str, period: str) -> tuple[str, bool]:
    """Where ``period``'s tables are under ``root``, and whether they hold every quarter (rows picked by period).

    Raises:
        SourceError: ``root`` holds other quarters but not ``period``, or is no folder.
    """
    if is_url(root):
        return root, True
    folder = Path(root)
    if (folder / period).is_dir():
        return str(folder / period), False
    if not folder.is_dir():
        raise _no_folder(folder)
    if is_quarter(folder.name):
        if folder.name != period:
            raise SourceError(f"{root}: this folder holds {folder.name}, not {period}")
        return root, False
    if any(path.is_dir() and is_quarter(path.name) for path in folder.iterdir()):
        raise SourceError(f"{root}: no folder {period} (the quarter's operations)")
    return root, True


def _no_folder(folder: Path) -> SourceError:
    return SourceError(f"{folder}: no such folder (the operations: one YYYY-Qn folder per quarter)"
                       + ("" if folder.is_absolute() else f"; a relative path is read from {Path.cwd()}"))


def flags(column: pd.Series) -> pd.Series:
    """A true/false column read from CSV, Parquet or SQL as booleans; empty is False."""
    if column.dtype == bool:
        return column
    text = column.astype(str).str.strip().str.lower()
    return text.isin(("true", "1", "1.0", "yes", "t"))


def percent(part: float, whole: float) -> float | None:
    """``part`` as % of ``whole``, 2 decimals; None when ``whole`` is 0."""
    return round(100.0 * part / whole, 2) if whole else None
