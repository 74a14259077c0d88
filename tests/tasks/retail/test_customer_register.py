"""customers.register: a versioned register (type-2 history) on SQLite and PostgreSQL, with data-quality counts."""

from __future__ import annotations

import getpass
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from pdcaflow.tasks.retail.customers import register
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, write_table

COLUMNS = ["customer_id", "name", "licence_no", "business_type", "address", "area", "district", "size", "joined",
           "left"]
C1 = ["C1", "Shop One", "011010100001", "convenience", "1 Road", "urban", "d1", "small", "2020-01-01", None]
C2 = ["C2", "Shop Two", "110101000002", "grocery", "2 Road", "town", "d2", "medium", "2021-03-05", None]
C3 = ["C3", "Shop Three", "110101000003", "supermarket", "3 Road", "rural", "d3", "large", "2019-07-01", None]
C4 = ["C4", "Shop Four", "110101000004", "tobacco_shop", "4 Road", "urban", "d1", "small", "2022-02-02", None]
C5 = ["C5", "Shop Five", "110101000005", "restaurant", "5 Road", "town", "d2", "small", "2026-01-10", None]

FIRST = [C1, C2, C3, C4]  # cycle 1: everyone joins
SECOND = [                 # cycle 2: C1 same, C2 moved, C3 left, C4 gone from the list, C5 new, C6 bad licence
    C1,
    [*C2[:4], "22 New Road", *C2[5:]],
    [*C3[:9], "2026-01-20"],
    C5,
    ["C6", "Shop Six", "1234567890", "grocery", "6 Road", "town", "d2", "small", "2026-01-11", None],
]
THIRD = [                  # cycle 3: C4 back, C3 still gone; three bad records of three kinds
    *SECOND[:4],
    C4,
    ["C7", None, "110101000007", "grocery", "7 Road", "town", "d2", "small", None, None],
    ["C8", "Shop Eight", "110101000008", "bar", "8 Road", "town", "d2", "huge", "2026-02-01", None],
    ["C1", "Shop One again", "110101000009", "grocery", "9 Road", "town", "d2", "small", None, None],
]


def _pg_user() -> str:
    return getpass.getuser()


@pytest.fixture(params=["sqlite", "postgresql"])
def register_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(URL, table): a new SQLite file, or a uniquely named table in PostgreSQL's ``test`` database, dropped after."""
    table = f"register_{secrets.token_hex(4)}"
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'register.db'}", table
        return
    url = f"postgresql+psycopg://{_pg_user()}@127.0.0.1:5432/test"
    try:
        yield url, table
    finally:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}"'))
        engine.dispose()


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))


def _write_list(tmp_path: Path, rows: list[list[str | None]], name: str) -> str:
    path = tmp_path / name
    pd.DataFrame(rows, columns=COLUMNS).to_csv(path, index=False)
    return str(path)


def _run(tmp_path: Path, db: tuple[str, str], rows: list[list[str | None]], cycle: int, as_of: str):  # type: ignore[no-untyped-def]
    source = _write_list(tmp_path, rows, f"customers-{cycle}.csv")
    return register(StepContext("retail", cycle), source=source, register=db[0], register_table=db[1], as_of=as_of)


def _versions(db: tuple[str, str]) -> pd.DataFrame:
    engine = create_engine(db[0])
    try:
        with engine.connect() as connection:
            frame = pd.read_sql(text(f'SELECT * FROM "{db[1]}" ORDER BY customer_id, version'), connection)
    finally:
        engine.dispose()
    for column in ("valid_from", "valid_to"):
        frame[column] = [None if day is None or pd.isna(day) else pd.Timestamp(day).date() for day in frame[column]]
    return frame


def _row(versions: pd.DataFrame, customer_id: str, version: int) -> dict[str, object]:
    [found] = versions[(versions["customer_id"] == customer_id) & (versions["version"] == version)].to_dict("records")
    return found


def test_three_cycles_of_joins_changes_leaves_and_a_rejoin(tmp_path: Path, register_db: tuple[str, str]) -> None:
    first = _run(tmp_path, register_db, FIRST, 1, "2026-01-01")
    assert {key: first[key] for key in ("customers_active", "joins", "leaves", "changes", "rejoins")} == {
        "customers_active": 4, "joins": 4, "leaves": 0, "changes": 0, "rejoins": 0}
    assert (first["data_quality_rate"], first["invalid_records"], first["invalid_by_reason"]) == (100.0, 0, {})

    second = _run(tmp_path, register_db, SECOND, 2, "2026-02-01")
    assert {key: second[key] for key in ("customers_active", "joins", "leaves", "changes", "rejoins")} == {
        "customers_active": 3, "joins": 1, "leaves": 2, "changes": 1, "rejoins": 0}
    assert (second["data_quality_rate"], second["invalid_records"]) == (80.0, 1)
    assert second["invalid_by_reason"] == {"licence_no not 12 digits": 1}

    versions = _versions(register_db)
    assert [(row["customer_id"], row["version"], row["change_kind"]) for row in versions.to_dict("records")] == [
        ("C1", 1, "join"), ("C2", 1, "join"), ("C2", 2, "change"), ("C3", 1, "join"), ("C3", 2, "leave"),
        ("C4", 1, "join"), ("C4", 2, "leave"), ("C5", 1, "join")]
    jan, feb = date(2026, 1, 1), date(2026, 2, 1)
    old_c2, new_c2 = _row(versions, "C2", 1), _row(versions, "C2", 2)
    assert (old_c2["valid_from"], old_c2["valid_to"], old_c2["address"], old_c2["recorded_cycle"]) == (jan, feb, "2 Road", 1)
    assert (new_c2["valid_from"], new_c2["valid_to"], new_c2["address"], new_c2["recorded_cycle"]) == (feb, None, "22 New Road", 2)
    assert (_row(versions, "C3", 2)["left"], _row(versions, "C3", 2)["valid_to"]) == ("2026-01-20", None)
    assert _row(versions, "C4", 2)["address"] == "4 Road"  # gone from the list: the last attributes repeated
    assert (_row(versions, "C1", 1)["valid_to"], _row(versions, "C1", 1)["licence_no"]) == (None, "011010100001")
    assert "C6" not in set(versions["customer_id"])

    snapshot = pd.read_parquet(second["snapshot"])
    assert Path(second["snapshot"]).name == "register_snapshot.parquet"
    assert snapshot[["customer_id", "version", "valid_from"]].values.tolist() == [
        ["C1", 1, "2026-01-01"], ["C2", 2, "2026-02-01"], ["C5", 1, "2026-02-01"]]
    assert snapshot.loc[0, "licence_no"] == "011010100001"  # read as text: the leading zero survives the CSV

    third = _run(tmp_path, register_db, THIRD, 3, "2026-03-01")
    assert {key: third[key] for key in ("customers_active", "joins", "leaves", "changes", "rejoins")} == {
        "customers_active": 3, "joins": 0, "leaves": 0, "changes": 0, "rejoins": 1}
    assert (third["invalid_records"], third["data_quality_rate"]) == (4, 50.0)  # C1 twice, C7, C8 of 8
    assert third["invalid_by_reason"] == {
        "missing name": 1,
        "business_type not one of convenience, grocery, supermarket, chain_store, tobacco_shop, restaurant": 1,
        "size not one of small, medium, large": 1, "duplicate customer_id": 2}
    versions = _versions(register_db)
    assert (_row(versions, "C4", 2)["valid_to"], _row(versions, "C4", 3)["change_kind"]) == (date(2026, 3, 1), "rejoin")
    assert _row(versions, "C1", 1)["valid_to"] is None  # a repeated id is a data problem, not a change or a leave
    assert len(versions) == 9
    assert sorted(pd.read_parquet(third["snapshot"])["customer_id"]) == ["C2", "C4", "C5"]


def test_the_same_list_twice_adds_nothing(tmp_path: Path, register_db: tuple[str, str]) -> None:
    _run(tmp_path, register_db, FIRST, 1, "2026-01-01")
    _run(tmp_path, register_db, SECOND, 2, "2026-02-01")
    before = _versions(register_db)
    again = _run(tmp_path, register_db, SECOND, 2, "2026-02-01")
    assert (again["joins"], again["leaves"], again["changes"], again["rejoins"], again["customers_active"]) == (0, 0, 0, 0, 3)
    pd.testing.assert_frame_equal(_versions(register_db), before)
    later = _run(tmp_path, register_db, SECOND, 3, "2026-03-01")  # unchanged next month: still nothing
    assert (later["joins"], later["leaves"], later["changes"]) == (0, 0, 0)
    pd.testing.assert_frame_equal(_versions(register_db), before)


def test_a_customer_first_seen_as_left_is_recorded_as_a_leave(tmp_path: Path) -> None:
    db = (str(tmp_path / "reg.db"), "customer_register")  # a plain path is a SQLite file
    result = _run(tmp_path, db, [C1, [*C2[:9], "2025-12-31"]], 1, "2026-01-01")
    assert (result["joins"], result["leaves"], result["customers_active"]) == (1, 1, 1)
    assert _row(_versions(("sqlite:///" + db[0], db[1])), "C2", 1)["change_kind"] == "leave"


def test_the_date_defaults_to_the_local_day_the_cycle_started(tmp_path: Path) -> None:
    source = _write_list(tmp_path, FIRST, "customers.csv")
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    context = StepContext("retail", 1, started_at="2026-03-01T06:00:00+08:00")  # still Feb 28 in UTC
    register(context, source=source, register=url)
    assert set(_versions((url, "customer_register"))["valid_from"]) == {date(2026, 3, 1)}


def test_history_only_moves_forward(tmp_path: Path) -> None:
    db = (f"sqlite:///{tmp_path / 'reg.db'}", "customer_register")
    _run(tmp_path, db, FIRST, 1, "2026-02-01")
    with pytest.raises(ValueError, match=r"as_of 2026-01-01 is before version 1 of C2 \(valid from 2026-02-01\) "
                                         r"and 2 other\(s\): history only moves forward"):
        _run(tmp_path, db, SECOND, 2, "2026-01-01")
    with pytest.raises(ValueError, match=r"as_of '1 March' is not a date written YYYY-MM-DD"):
        _run(tmp_path, db, SECOND, 2, "1 March")


def test_bad_sources_and_databases_are_named(tmp_path: Path) -> None:
    context = StepContext("retail", 1)
    empty = tmp_path / "empty.csv"
    pd.DataFrame(columns=COLUMNS).to_csv(empty, index=False)
    with pytest.raises(SourceError, match=r"empty\.csv: the customer list is empty"):
        register(context, source=str(empty), register=str(tmp_path / "reg.db"))
    no_address = tmp_path / "no_address.parquet"
    write_table(pd.DataFrame([C1], columns=COLUMNS).drop(columns="address"), no_address)
    with pytest.raises(SourceError, match=r"no_address\.parquet: missing column\(s\) address"):
        register(context, source=str(no_address), register=str(tmp_path / "reg.db"))
    source = _write_list(tmp_path, FIRST, "customers.csv")
    url = f"sqlite:///{tmp_path / 'other.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE customers_old (customer_id TEXT)"))
    engine.dispose()
    with pytest.raises(SourceError, match=r"table 'customers_old': the table exists but is not a customer register "
                                          r"\(missing column\(s\) version, valid_from"):
        register(context, source=source, register=url, register_table="customers_old")
    with pytest.raises(SourceError, match=r"^register postgresql\+psycopg://someone:\*\*\*@127\.0\.0\.1:1/nowhere "
                                          r"table 'customer_register': ") as raised:
        register(context, source=source, register="postgresql+psycopg://someone:secret@127.0.0.1:1/nowhere")
    assert "secret" not in str(raised.value)


def test_two_runs_at_once_on_postgresql_write_the_changes_once(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://{_pg_user()}@127.0.0.1:5432/test"
    db = (url, f"register_{secrets.token_hex(4)}")
    try:
        _run(tmp_path, db, FIRST, 1, "2026-01-01")
        source = _write_list(tmp_path, SECOND, "customers-2.csv")
        with ThreadPoolExecutor(max_workers=2) as pool:
            # Separate processes (work dirs): only the register is shared. Without the table lock one run
            # would fail (its update finds the version already closed, or its insert hits the key).
            runs = list(pool.map(lambda name: register(StepContext(name, 2), source=source, register=url,
                                                       register_table=db[1], as_of="2026-02-01"), ["a", "b"]))
        assert sorted((run["joins"], run["leaves"], run["changes"]) for run in runs) == [(0, 0, 0), (1, 2, 1)]
        assert len(_versions(db)) == 8
    finally:
        engine = create_engine(url)
        with engine.begin() as connection:
            connection.execute(text(f'DROP TABLE IF EXISTS "{db[1]}"'))
        engine.dispose()


def test_a_register_changed_by_hand_is_refused(tmp_path: Path) -> None:
    db = (f"sqlite:///{tmp_path / 'reg.db'}", "customer_register")
    _run(tmp_path, db, FIRST, 1, "2026-01-01")
    engine = create_engine(db[0])
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO customer_register (customer_id, version, valid_from, change_kind, "
                                "recorded_cycle) VALUES ('C2', 7, '2026-01-15', 'change', 9)"))
    engine.dispose()
    with pytest.raises(SourceError, match=r"customer C2 has more than one current version"):
        _run(tmp_path, db, SECOND, 2, "2026-02-01")
