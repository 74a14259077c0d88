"""Where the task library reads its data from: CSV or Parquet files, or a database by its URL.

Every data-reading task takes a ``source`` string and hands it to
:func:`read_table`. A user points the tasks at their own data by changing only
that string in the YAML:

- ``data/retail/customers.csv`` or ``.csv.gz``: a CSV file (UTF-8, header row);
- ``data/retail/sales.parquet``: a Parquet file;
- ``data/retail/operations``: a directory; ``read_table(source, "visits")`` reads
  ``visits.parquet`` or ``visits.csv`` inside it;
- ``sqlite:///ops.db``, ``postgresql+psycopg://host/db``: a database; the table
  read is the task's ``table`` parameter (or the name passed here), always by
  name through SQLAlchemy, never by formatting SQL text. A URL comes from task
  code or from a named connection (a definition writes ``connection:NAME``, which
  the engine turns into the URL; a URL written in YAML is refused, PDCA261). Paths
  a definition names were checked to lie inside the project before the task ran
  (:mod:`pdcaflow.tasks.sdk.project_paths`).

Relative paths are relative to the working directory the cycle runs in. A
missing file, directory, table or column raises :class:`SourceError`, whose
message names the source: the step fails with that message, never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

_URL = re.compile(r"^[a-z][a-z0-9+]*://", re.IGNORECASE)
FILE_SUFFIXES = (".parquet", ".csv", ".csv.gz")
_TABLE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class SourceError(ValueError):
    """A data source cannot be read: missing, unreadable, or without the expected columns."""


def is_url(source: str) -> bool:
    """True when ``source`` is a SQLAlchemy URL rather than a file path."""
    return bool(_URL.match(source))


def read_table(source: str, table: str | None = None, *, columns: Sequence[str] | None = None,
               parse_dates: Iterable[str] = (), text_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read one table from a file, a directory of files, or a database.

    Args:
        source: a file path, a directory path, or a SQLAlchemy URL (see the module doc).
        table: the table's name; required for a directory or a URL, ignored for a file.
        columns: columns that must be present (a :class:`SourceError` names any missing).
        parse_dates: columns converted to timezone-naive datetimes.
        text_columns: columns a CSV file is read as text, not guessed numbers (keeps the
            leading zeros of codes such as ``licence_no``); Parquet and SQL keep their own types.

    Raises:
        SourceError: the source or the table cannot be read, or a column is missing.
    """
    if is_url(source):
        frame = _read_sql(source, table)
        where = f"{display_source(source)} table {table!r}"
    else:
        path = _resolve_file(Path(source), table)
        frame = _read_file(path, tuple(text_columns))
        where = str(path)
    if columns:
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise SourceError(f"{where}: missing column(s) {', '.join(missing)} "
                              f"(has: {', '.join(map(str, frame.columns)) or 'none'})")
    for column in parse_dates:
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], errors="coerce", utc=True).dt.tz_localize(None)
    return frame


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` (Parquet or CSV by suffix) atomically: a reader never sees half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if target.name.endswith(".parquet"):
        frame.to_parquet(partial, index=False)
    else:
        frame.to_csv(partial, index=False, compression="gzip" if target.name.endswith(".gz") else None)
    partial.replace(target)
    return target


def _resolve_file(path: Path, table: str | None) -> Path:
    if path.is_dir():
        if not table:
            raise SourceError(f"{path} is a directory: name the table to read in it")
        if not _TABLE.fullmatch(table) or table.strip(".") == "":  # a name, never a way out of the folder
            raise SourceError(f"{table!r} is not a table name: a table of a folder is named by letters, digits, "
                              "'_', '-' and '.' (no folders)")
        for suffix in FILE_SUFFIXES:
            candidate = path / f"{table}{suffix}"
            if candidate.is_file():
                return candidate
        raise SourceError(f"{path}: no {table}.parquet or {table}.csv in this directory")
    if not path.exists():
        raise SourceError(f"{path}: no such file" if path.is_absolute()
                          else f"{path}: no such file (a relative path is read from {Path.cwd()})")
    return path


def _read_file(path: Path, text_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    try:
        if path.name.endswith(".parquet"):
            return pd.read_parquet(path)
        return pd.read_csv(path, keep_default_na=True, dtype=dict.fromkeys(text_columns, str) or None)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise SourceError(f"{path}: cannot be read as {'Parquet' if path.suffix == '.parquet' else 'CSV'}: {exc}") from exc


def _read_sql(url: str, table: str | None) -> pd.DataFrame:
    if not table:
        raise SourceError(f"{display_source(url)}: name the table to read")
    from sqlalchemy import MetaData, Table, create_engine, select  # SQLAlchemy only when it is used (start-up speed)
    from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            reflected = Table(table, MetaData(), autoload_with=connection)
            return pd.read_sql(select(reflected), connection)
    except NoSuchTableError as exc:
        raise SourceError(f"{display_source(url)}: no table {table!r}") from exc
    except SQLAlchemyError as exc:
        raise SourceError(f"{display_source(url)}: cannot read table {table!r}: {str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()


def display_source(source: str) -> str:
    """``source`` as messages show it: a database URL without its password, a path as given."""
    if not is_url(source):
        return source
    from sqlalchemy.engine import make_url  # SQLAlchemy only when it is used (start-up speed)

    try:
        return make_url(source).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown as given, minus anything before '@'
        return re.sub(r"//[^@/]*@", "//***@", source)

