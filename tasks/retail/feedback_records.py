"""Reading one month's CHECK records (complaints, surveys, inspections) from a directory or a database.

A directory source is the operations folder of the data contract
(``docs/retail-data.md``): ``<source>/<YYYY-MM>/<table>.parquet`` (or ``.csv``)
holds that month's records. A database holds every month in one table per kind,
so the month's rows are picked out here:

- ``complaints`` by time: every complaint open at some moment of the month
  (opened before the month ends, and not closed before it began), so that
  complaints carried over from earlier months and still open are seen;
- ``surveys`` by their ``month`` column when they have one, else by ``surveyed_at``;
- ``inspections`` by their ``month`` column (``YYYY-MM``): the contract gives
  inspection records no time of their own, so a database table needs one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pdcaflow.tasks.sdk.periods import check_month, is_month, period_bounds
from pdcaflow.tasks.sdk.sources import SourceError, display_source, is_url, read_table

TABLES = ("complaints", "surveys", "inspections")
COLUMNS = {
    "complaints": ("complaint_id", "customer_id", "category", "opened_at", "closed_at", "contacts"),
    "surveys": ("customer_id", "class", "score", "surveyed_at"),
    "inspections": ("record_id", "customer_id", "level", "score"),
}
DATES = {"complaints": ("opened_at", "closed_at"), "surveys": ("surveyed_at",), "inspections": ()}


@dataclass(frozen=True)
class Period:
    """A month as text and the half-open time range ``[start, end)`` it covers (timezone-naive)."""

    name: str
    start: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def parse(cls, period: str) -> Period:
        start, end = period_bounds(check_month(period))
        return cls(period, pd.Timestamp(start), pd.Timestamp(end))


def resolve_period(source: str, period: str | None) -> Period:
    """The period named, or for a directory source without one, its latest ``YYYY-MM`` folder."""
    if period is not None:
        return Period.parse(period)
    if is_url(source):
        raise ValueError(f"name the period to check (YYYY-MM): {source.split('://')[0]} sources hold every month")
    folders = sorted(path.name for path in Path(source).glob("*") if path.is_dir() and is_month(path.name))
    if not folders:
        raise SourceError(f"{source}: no month folders (YYYY-MM) to check")
    return Period.parse(folders[-1])


def table_names(tables: Mapping[str, str] | None) -> dict[str, str]:
    """The name of each record table, with any renamed in ``tables``."""
    unknown = sorted(set(tables or {}) - set(TABLES))
    if unknown:
        raise ValueError(f"tables: no record table {', '.join(map(repr, unknown))}; the tables are "
                         f"{', '.join(TABLES)}")
    return {kind: str((tables or {}).get(kind, kind)) for kind in TABLES}


def read_records(source: str, period: Period, kind: str, table: str) -> tuple[pd.DataFrame, str]:
    """The period's records of one kind, and a description of where they came from (for messages)."""
    columns: Sequence[str] = COLUMNS[kind]
    if not is_url(source):
        folder = Path(source) / period.name
        if not folder.is_dir():
            raise SourceError(f"{folder}: no records for {period.name} (no such directory)")
        frame = read_table(str(folder), table, columns=columns, parse_dates=DATES[kind])
        return frame, str(_file_of(folder, table))
    frame = read_table(source, table, columns=columns, parse_dates=DATES[kind])
    where = f"{display_source(source)} table {table!r}"
    return _in_period(frame, period, kind, where), where


def _in_period(frame: pd.DataFrame, period: Period, kind: str, where: str) -> pd.DataFrame:
    if kind == "complaints":
        began = frame["opened_at"] < period.end
        still_open = frame["closed_at"].isna() | (frame["closed_at"] >= period.start)
        return frame.loc[began & still_open].reset_index(drop=True)
    if "month" in frame.columns:
        return frame.loc[frame["month"].astype(str).str.slice(0, 7) == period.name].reset_index(drop=True)
    if kind == "surveys":
        inside = (frame["surveyed_at"] >= period.start) & (frame["surveyed_at"] < period.end)
        return frame.loc[inside].reset_index(drop=True)
    raise SourceError(f"{where}: no month column to pick {period.name}'s {kind} from "
                      "(a database table holds every month: add month as YYYY-MM)")


def _file_of(folder: Path, table: str) -> Path:
    return next((folder / f"{table}{suffix}" for suffix in (".parquet", ".csv", ".csv.gz")
                 if (folder / f"{table}{suffix}").is_file()), folder / table)
