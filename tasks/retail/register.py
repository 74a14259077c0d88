"""The customer register: one SQL table of customer versions (a type-2 slowly changing dimension).

Each row is one version of one customer: ``customer_id, version`` (the primary
key), the period it was true for (``valid_from`` inclusive, ``valid_to``
exclusive, ``NULL`` while it is the current version), the customer's attributes
as the list gave them, ``change_kind`` (``join``, ``change``, ``leave``,
``rejoin``: why the version was written) and ``recorded_cycle``.

History is never overwritten. Rows are only ever inserted, with one exception:
the single ``UPDATE`` this module makes sets ``valid_to`` of a customer's current
version, from ``NULL`` to the date its successor starts, in the same transaction
that inserts the successor. It touches no other column and no row whose
``valid_to`` is already set, so every attribute a version was written with stays
as written. A correction run on the day a version started closes it on that same
day (an empty period): the corrected version stays in the history, marked by its
``recorded_cycle``.

The comparison runs in pandas (one read of the current versions, one merge), the
writes as two ``executemany`` statements, all in one transaction: a run either
records all of its versions or none. On PostgreSQL the table is locked against
other writers for the run, so two runs at once are applied one after the other;
elsewhere the primary key makes the second of two overlapping runs fail rather
than write a duplicate version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import (CheckConstraint, Column, Date, Integer, MetaData, PrimaryKeyConstraint, String, Table,
                        Text, bindparam, create_engine, inspect, select, text, update)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError

from pdcaflow.tasks.sdk.sources import SourceError, display_source, is_url

ATTRIBUTES = ("name", "licence_no", "business_type", "address", "area", "district", "size", "joined", "left")
DATE_ATTRIBUTES = ("joined", "left")
CHANGE_KINDS = ("join", "change", "leave", "rejoin")
LICENCE = r"\d{12}"


def define_table(name: str) -> Table:
    """The register table ``name`` as SQLAlchemy Core describes it (created when missing)."""
    return Table(
        name, MetaData(),
        Column("customer_id", String(64), nullable=False),
        Column("version", Integer, nullable=False),
        Column("valid_from", Date, nullable=False),
        Column("valid_to", Date, nullable=True),
        *(Column(attribute, Text, nullable=True) for attribute in ATTRIBUTES),
        Column("change_kind", String(8), nullable=False),
        Column("recorded_cycle", Integer, nullable=False),
        PrimaryKeyConstraint("customer_id", "version", name=f"pk_{name}"),
        CheckConstraint("change_kind IN ('join', 'change', 'leave', 'rejoin')", name=f"ck_{name}_change_kind"),
    )


def register_url(register: str) -> str:
    """``register`` as a SQLAlchemy URL: a plain path is a SQLite file; a SQLite file's folder is created."""
    url = register if is_url(register) else f"sqlite:///{register}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return url


# --- reading and checking the list -------------------------------------------------------------


def as_text(column: pd.Series) -> pd.Series:
    """Values as stripped text, ``None`` for empty; whole floats lose their ``.0``, dates print as ISO."""
    if pd.api.types.is_datetime64_any_dtype(column):
        column = column.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_float_dtype(column) and bool(((column % 1 == 0) | column.isna()).all()):
        column = column.astype("Int64")
    texts = column.astype("string").str.strip()
    texts = texts.mask(texts == "")
    return texts.astype(object).where(texts.notna(), None)


@dataclass(frozen=True)
class CheckedList:
    """The customer list after the data-quality checks."""

    valid: pd.DataFrame  # customer_id + ATTRIBUTES, one row per customer, only valid records
    present_ids: frozenset[str]  # every id in the list, valid or not: an invalid row is not a leave
    records: int
    invalid_records: int
    invalid_by_reason: dict[str, int]


def check_list(raw: pd.DataFrame, required_fields: tuple[str, ...],
               allowed: Mapping[str, tuple[str, ...]]) -> CheckedList:
    """Normalise the list to text and sort out the records that fail a check (each failure named).

    Checks: every ``required_fields`` column filled in; ``licence_no`` 12 digits;
    the columns of ``allowed`` within their allowed values; ``joined``/``left`` ISO
    dates; ``customer_id`` not repeated (every row of a repeated id is invalid: which
    one is right cannot be told). An empty optional field passes.
    """
    frame = pd.DataFrame(index=raw.index)
    for column in dict.fromkeys(("customer_id", *ATTRIBUTES, *required_fields)):
        frame[column] = as_text(raw[column]) if column in raw.columns else None
    failures: dict[str, pd.Series] = {}
    for field_name in required_fields:
        failures[f"missing {field_name}"] = frame[field_name].isna()
    licence = frame["licence_no"]
    failures["licence_no not 12 digits"] = licence.notna() & ~licence.astype("string").str.fullmatch(LICENCE).fillna(False)
    for column, values in allowed.items():
        failures[f"{column} not one of {', '.join(values)}"] = frame[column].notna() & ~frame[column].isin(values)
    for column in DATE_ATTRIBUTES:
        parsed = pd.to_datetime(frame[column], format="ISO8601", errors="coerce")
        failures[f"{column} not an ISO date"] = frame[column].notna() & parsed.isna()
        frame[column] = as_text(parsed).where(parsed.notna(), frame[column])
    ids = frame["customer_id"]
    failures["duplicate customer_id"] = ids.notna() & ids.duplicated(keep=False)
    invalid = pd.Series(False, index=frame.index)
    for failed in failures.values():
        invalid |= failed.astype(bool)
    return CheckedList(
        valid=frame.loc[~invalid, ["customer_id", *ATTRIBUTES]].reset_index(drop=True),
        present_ids=frozenset(ids.dropna()),
        records=len(frame),
        invalid_records=int(invalid.sum()),
        invalid_by_reason={reason: int(failed.sum()) for reason, failed in failures.items() if failed.any()},
    )


# --- comparing with the register -----------------------------------------------------------------


@dataclass(frozen=True)
class Changes:
    """What one run writes: the versions to close, the versions to insert, and the active snapshot."""

    closes: pd.DataFrame  # customer_id, version, valid_from of the current versions that get a successor
    inserts: pd.DataFrame  # full new rows
    snapshot: pd.DataFrame  # customer_id + ATTRIBUTES + version, valid_from of the active valid customers
    counts: dict[str, int]  # change_kind -> versions written


def compare(checked: CheckedList, current: pd.DataFrame, as_of: date, cycle: int) -> Changes:
    """Decide every version this run writes, comparing the checked list with the current versions.

    A valid record not yet registered joins (or, with ``left`` set, is recorded as
    a ``leave`` version 1 so that no customer the list names is unknown to the
    register); a registered one with other attributes changes; one with ``left``
    set leaves; one whose current version is a leave rejoins. A customer whose
    current version is a leave and whose record still has ``left`` set is not
    touched. An active customer whose id is missing from the list altogether
    leaves, its last attributes repeated. A customer named only by invalid
    records is not touched.
    """
    incoming = checked.valid.merge(current, on="customer_id", how="left", suffixes=("", "_current"))
    registered = incoming["version"].notna()
    was_left = incoming["change_kind"].eq("leave")
    leaving = incoming["left"].notna()
    differs = pd.Series(False, index=incoming.index)
    for attribute in ATTRIBUTES:
        differs |= incoming[attribute].fillna("") != incoming[f"{attribute}_current"].fillna("")
    kind = pd.Series(None, index=incoming.index, dtype=object)
    kind[~registered] = "join"
    kind[~registered & leaving] = "leave"
    kind[registered & ~was_left & ~leaving & differs] = "change"
    kind[registered & ~was_left & leaving] = "leave"
    kind[registered & was_left & ~leaving] = "rejoin"
    incoming["new_kind"] = kind

    gone = current[~current["customer_id"].isin(checked.present_ids) & current["change_kind"].ne("leave")].copy()
    gone["new_kind"] = "leave"

    parts = [part for part in (incoming[incoming["new_kind"].notna()], gone) if len(part)]
    written = pd.concat(parts, ignore_index=True) if parts else incoming.iloc[:0]
    closes = written.loc[written["version"].notna(), ["customer_id", "version", "valid_from"]]
    inserts = pd.DataFrame({
        "customer_id": written["customer_id"],
        "version": written["version"].fillna(0).astype(int) + 1,
        "valid_from": as_of,
        "valid_to": None,
        **{attribute: written[attribute] for attribute in ATTRIBUTES},
        "change_kind": written["new_kind"],
        "recorded_cycle": cycle,
    })
    return Changes(closes=closes.assign(version=closes["version"].astype(int)), inserts=inserts,
                   snapshot=_snapshot(incoming, as_of),
                   counts={change: int((inserts["change_kind"] == change).sum()) for change in CHANGE_KINDS})


def _snapshot(incoming: pd.DataFrame, as_of: date) -> pd.DataFrame:
    active = incoming[incoming["left"].isna()]
    written = active["new_kind"].notna()
    version = active["version"].fillna(0).astype(int) + written.astype(int)
    valid_from = active["valid_from"].where(~written, as_of)
    return active[["customer_id", *ATTRIBUTES]].assign(
        version=version, valid_from=[day.isoformat() for day in valid_from]).reset_index(drop=True)


# --- the database -----------------------------------------------------------------------------


def apply(url: str, table_name: str, checked: CheckedList, as_of: date, cycle: int) -> Changes:
    """Compare the checked list with the register in ``url`` and write the new versions, in one transaction.

    Raises:
        SourceError: the database cannot be reached or written, or the table is not a register.
        ValueError: ``as_of`` is before the start of a version this run would close.
    """
    table = define_table(table_name)
    where = f"register {display_source(url)} table {table_name!r}"
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            table.metadata.create_all(connection)
            _check_columns(connection, table, where)
            if connection.dialect.name == "postgresql":
                quoted = connection.dialect.identifier_preparer.format_table(table)
                connection.execute(text(f"LOCK TABLE {quoted} IN SHARE ROW EXCLUSIVE MODE"))
            current = pd.read_sql(select(table).where(table.c.valid_to.is_(None)), connection)
            current = _current_as_text(current, where)
            changes = compare(checked, current, as_of, cycle)
            _check_forward(changes.closes, as_of, where)
            _write(connection, table, changes, as_of, where)
    except SQLAlchemyError as exc:
        raise SourceError(f"{where}: {str(exc).splitlines()[0]}") from exc
    finally:
        engine.dispose()
    return changes


def _check_columns(connection: Connection, table: Table, where: str) -> None:
    found = {column["name"] for column in inspect(connection).get_columns(table.name)}
    missing = [column.name for column in table.columns if column.name not in found]
    if missing:
        raise SourceError(f"{where}: the table exists but is not a customer register "
                          f"(missing column(s) {', '.join(missing)}); name another table")


def _current_as_text(current: pd.DataFrame, where: str) -> pd.DataFrame:
    repeated = current["customer_id"][current["customer_id"].duplicated()]
    if len(repeated):
        raise SourceError(f"{where}: customer {repeated.iloc[0]} has more than one current version "
                          "(valid_to empty); the table was changed outside customers.register")
    for attribute in ATTRIBUTES:
        current[attribute] = current[attribute].astype(object).where(current[attribute].notna(), None)
    current["version"] = current["version"].astype("int64")
    current["valid_from"] = [day if type(day) is date else pd.Timestamp(day).date() for day in current["valid_from"]]
    return current.drop(columns=["valid_to", "recorded_cycle"])


def _check_forward(closes: pd.DataFrame, as_of: date, where: str) -> None:
    later = closes[closes["valid_from"] > as_of]
    if len(later):
        first = later.iloc[0]
        raise ValueError(f"{where}: as_of {as_of.isoformat()} is before version {first['version']} of "
                         f"{first['customer_id']} (valid from {first['valid_from'].isoformat()}) and "
                         f"{len(later) - 1} other(s): history only moves forward")


def _write(connection: Connection, table: Table, changes: Changes, as_of: date, where: str) -> None:
    if len(changes.closes):
        close = (update(table)
                 .where(table.c.customer_id == bindparam("b_customer_id"), table.c.version == bindparam("b_version"),
                        table.c.valid_to.is_(None))
                 .values(valid_to=bindparam("b_valid_to")))
        keys = [{"b_customer_id": customer_id, "b_version": int(version), "b_valid_to": as_of}
                for customer_id, version in zip(changes.closes["customer_id"], changes.closes["version"], strict=True)]
        result = connection.execute(close, keys)
        if result.supports_sane_multi_rowcount() and result.rowcount != len(keys):
            raise SourceError(f"{where}: {len(keys) - result.rowcount} current version(s) were closed by "
                              "another run meanwhile; run the step again")
    if len(changes.inserts):
        # A plain executemany: psycopg pipelines it, faster here than SQLAlchemy's multi-row VALUES batches.
        connection.execute(table.insert(), _records(changes.inserts))


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as plain Python values for the driver: ``None`` for missing, ``int`` not ``numpy.int64``."""
    columns = [frame[name].astype(object).where(frame[name].notna(), None).tolist() for name in frame.columns]
    return [dict(zip(frame.columns, values, strict=True)) for values in zip(*columns, strict=True)]
