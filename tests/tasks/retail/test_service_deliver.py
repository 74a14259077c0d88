"""service.deliver: the month's DO records measured against the plan, from files, SQLite, PostgreSQL or a world.

The hand-made month below has known answers:

- visits: C1 (A) 4 planned 4 done, C2 (B) 2 planned 1 done, C3 (C) 1 planned 0 done,
  C4 (D) 1 planned 2 done -> kept 4 + 1 + 0 + 1 = 6 of 8 planned = 75 %, 7 done,
  3 of 4 customers visited = 75 % coverage; labels checked at C1 (ok), C2 (not ok),
  C4 (ok) -> 2 of 3 = 66.67 %.
- orders: O1 (2 lines, on time), O2 (late), O3 (supplementary, on time, one line
  short), O4 (nothing delivered: not counted for on-time), O5 (``on_time`` empty:
  delivered 30 h after ordering, late against 24 h) -> on time 2 of 4 delivered
  orders = 50 %; lines short: O3's P2 and O4's P1 -> 2 of 6 lines = 33.33 %.
- complaints: K1 (after-sales) and K2 opened this month, K0 carried from last month.
"""

from __future__ import annotations

import getpass
import secrets
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.retail.service import deliver
from pdcaflow.tasks.sdk.sources import SourceError, write_table
from pdcaflow.tasks.sample_world import generate_world, reference_plan

PERIOD = "2025-03"
CONTEXT = StepContext(process_id="retail", cycle=3)
VISITS = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"], "class": ["A", "B", "C", "D"],
                       "planned": [4, 2, 1, 1], "done": [4, 1, 0, 2],
                       "price_labels_ok": pd.array([True, False, None, True], dtype="boolean")})
T = pd.Timestamp
ORDERS = pd.DataFrame({
    "order_id": ["O1", "O1", "O2", "O3", "O4", "O5"],
    "customer_id": ["C1", "C1", "C2", "C1", "C3", "C4"],
    "product_id": ["P1", "P2", "P1", "P2", "P1", "P1"],
    "channel": ["visit", "visit", "phone", "phone", "online", "phone"],
    "requested": [10, 5, 3, 4, 2, 1], "allocated": [10.0, 5.0, 3.0, 2.0, 0.0, 1.0],
    "delivered": [10, 5, 3, 2, 0, 1], "supplementary": [False, False, False, True, False, False],
    "ordered_at": [T("2025-03-03 09:00"), T("2025-03-03 09:00"), T("2025-03-04 10:00"), T("2025-03-05 11:00"),
                   T("2025-03-06 12:00"), T("2025-03-07 08:00")],
    "delivered_at": [T("2025-03-03 20:00"), T("2025-03-03 20:00"), T("2025-03-06 10:00"), T("2025-03-05 23:00"),
                     pd.NaT, T("2025-03-08 14:00")],
    "on_time": pd.array([True, True, False, True, None, None], dtype="boolean"),
})
COMPLAINTS = pd.DataFrame({
    "complaint_id": ["K0", "K1", "K2"], "customer_id": ["C2", "C1", "C3"],
    "category": ["delivery", "after_sales", "stockout"],
    "opened_at": [T("2025-02-25 10:00"), T("2025-03-02 09:00"), T("2025-03-20 15:00")],
    "closed_at": [T("2025-03-03 10:00"), pd.NaT, T("2025-03-21 15:00")], "contacts": [2, 1, 1],
})
EXPECTED = {
    "period": PERIOD, "visits_planned": 8, "visits_done": 7, "visit_plan_completion": 75.0,
    "visit_plan_completion_by_class": {"A": 100.0, "B": 50.0, "C": 0.0, "D": 100.0}, "coverage": 75.0,
    "orders": 5, "supplementary_orders": 1, "on_time_delivery_rate": 50.0, "stockout_rate": 33.33,
    "price_label_compliance": 66.67, "complaints_opened": 2, "after_sales_cases": 1,
}
INITIAL_VISITS = {"A": 4, "B": 2, "C": 1, "D": 1}


def write_plan(folder: Path, month: str | None = PERIOD) -> str:
    plan = pd.DataFrame({"customer_id": ["C1", "C2"], "class": ["A", "B"], "product_id": ["P1", "P1"],
                         "demand": [10, 3], "quota": [None, None], "allocated": [10, 3]})
    if month is not None:
        plan.insert(3, "month", month)
    return str(write_table(plan, folder / "plan.parquet"))


def write_month(folder: Path) -> None:
    for name, frame in (("visits", VISITS), ("orders", ORDERS), ("complaints", COMPLAINTS)):
        write_table(frame, folder / f"{name}.parquet")


def measured(outputs: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in outputs.items() if key != "operations"}


def test_a_hand_made_month_gives_the_known_rates(tmp_path: Path) -> None:
    write_month(tmp_path / "data" / "operations" / PERIOD)
    outputs = deliver(CONTEXT, plan=write_plan(tmp_path), source=str(tmp_path / "data"),
                      visits_per_month=INITIAL_VISITS)
    assert measured(dict(outputs)) == EXPECTED
    assert outputs["operations"] == str(tmp_path / "data" / "operations")


def test_the_operations_folder_itself_and_csv_files_work_too(tmp_path: Path) -> None:
    folder = tmp_path / "operations" / PERIOD
    for name, frame in (("visits", VISITS), ("orders", ORDERS), ("complaints", COMPLAINTS)):
        write_table(frame, folder / f"{name}.csv")
    outputs = deliver(CONTEXT, plan=write_plan(tmp_path), source=str(tmp_path / "operations"),
                      visits_per_month=INITIAL_VISITS)
    assert measured(dict(outputs)) == EXPECTED


def test_the_period_can_be_given_when_the_plan_has_no_month(tmp_path: Path) -> None:
    write_month(tmp_path / PERIOD)
    plan = write_plan(tmp_path, month=None)
    with pytest.raises(SourceError, match="the plan has no month column: give the step's period"):
        deliver(CONTEXT, plan=plan, source=str(tmp_path), visits_per_month=INITIAL_VISITS)
    outputs = deliver(CONTEXT, plan=plan, source=str(tmp_path), visits_per_month=INITIAL_VISITS, period=PERIOD)
    assert outputs["visit_plan_completion"] == 75.0


def test_an_empty_month_has_no_rates(tmp_path: Path) -> None:
    folder = tmp_path / PERIOD
    write_table(VISITS.iloc[0:0], folder / "visits.parquet")
    write_table(ORDERS.iloc[0:0], folder / "orders.parquet")
    write_table(COMPLAINTS.iloc[0:0], folder / "complaints.parquet")
    outputs = deliver(CONTEXT, plan=write_plan(tmp_path), source=str(tmp_path), visits_per_month=INITIAL_VISITS)
    assert (outputs["visit_plan_completion"], outputs["coverage"], outputs["on_time_delivery_rate"],
            outputs["stockout_rate"], outputs["price_label_compliance"]) == (None, None, None, None, None)
    assert (outputs["orders"], outputs["complaints_opened"]) == (0, 0)


def test_missing_or_broken_records_are_named(tmp_path: Path) -> None:
    plan = write_plan(tmp_path)
    with pytest.raises(SourceError, match=f"no operations records for {PERIOD}: expected .*operations/{PERIOD}"):
        deliver(CONTEXT, plan=plan, source=str(tmp_path), visits_per_month=INITIAL_VISITS)
    folder = tmp_path / PERIOD
    write_month(folder)
    write_table(VISITS.drop(columns="done"), folder / "visits.parquet")
    with pytest.raises(SourceError, match=r"visits.parquet: missing column\(s\) done"):
        deliver(CONTEXT, plan=plan, source=str(tmp_path), visits_per_month=INITIAL_VISITS)
    write_table(VISITS.assign(planned=[4, -2, 1, 1]), folder / "visits.parquet")
    with pytest.raises(SourceError, match="visits.parquet: column planned: 1 value\\(s\\) are not counts of 0 "
                                          "or more \\(first: '-2'\\)"):
        deliver(CONTEXT, plan=plan, source=str(tmp_path), visits_per_month=INITIAL_VISITS)
    with pytest.raises(SourceError, match="no such file"):
        deliver(CONTEXT, plan=str(tmp_path / "nowhere.parquet"), source=str(tmp_path),
                visits_per_month=INITIAL_VISITS)


def database_tables(prefix: str = "") -> dict[str, pd.DataFrame]:
    """The month's tables plus other months' rows, as a database holding every month has them."""
    other_visits = VISITS.assign(month="2025-02", done=[0, 0, 0, 0])
    other_orders = ORDERS.assign(ordered_at=ORDERS["ordered_at"] - pd.Timedelta(days=31), order_id="X",
                                 delivered=0, delivered_at=pd.NaT)
    return {
        f"{prefix}visits": pd.concat([VISITS.assign(month=PERIOD), other_visits], ignore_index=True),
        f"{prefix}orders": pd.concat([ORDERS, other_orders], ignore_index=True),
        f"{prefix}complaints": COMPLAINTS,
    }


def test_a_sqlite_database_gives_the_same_answers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    engine = create_engine(url)
    for name, frame in database_tables().items():
        frame.to_sql(name, engine, index=False)
    engine.dispose()
    outputs = deliver(CONTEXT, plan=write_plan(tmp_path), source=url, visits_per_month=INITIAL_VISITS)
    assert measured(dict(outputs)) == EXPECTED and outputs["operations"] == url


def test_a_postgresql_database_gives_the_same_answers(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://{getpass.getuser()}@127.0.0.1:5432/test"
    prefix = f"deliver_{secrets.token_hex(4)}_"
    tables = database_tables(prefix)
    engine = create_engine(url)
    try:
        for name, frame in tables.items():
            frame.to_sql(name, engine, index=False)
        outputs = deliver(CONTEXT, plan=write_plan(tmp_path), source=url, visits_per_month=INITIAL_VISITS,
                          table_prefix=prefix)
        assert measured(dict(outputs)) == EXPECTED
        with pytest.raises(SourceError, match="no table 'nope_visits'"):
            deliver(CONTEXT, plan=write_plan(tmp_path), source=url, visits_per_month=INITIAL_VISITS,
                    table_prefix="nope_")
    finally:
        with engine.begin() as connection:
            for name in tables:
                connection.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
        engine.dispose()


def test_a_database_visits_table_needs_a_month_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    engine = create_engine(url)
    for name, frame in database_tables().items():
        (frame.drop(columns="month") if name == "visits" else frame).to_sql(name, engine, index=False)
    engine.dispose()
    with pytest.raises(SourceError, match="table 'visits': no month column to pick 2025-03's visits from"):
        deliver(CONTEXT, plan=write_plan(tmp_path), source=url, visits_per_month=INITIAL_VISITS)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("deliver") / "retail"
    generate_world(directory, customers=200, seed=5)
    return directory


def test_a_world_source_is_only_read_never_simulated(small_world: Path, tmp_path: Path) -> None:
    """The retail library never simulates: ``pdca demo`` has the world do it first (tests/tasks/sample_world/test_field.py)."""
    world = tmp_path / "retail"
    shutil.copytree(small_world, world)
    plan = str(write_table(reference_plan(world, "2026-01"), tmp_path / "plan.parquet"))
    with pytest.raises(SourceError, match="no operations records for 2026-01: expected .*operations/2026-01"):
        deliver(CONTEXT, plan=plan, source=str(world), visits_per_month=INITIAL_VISITS, complaint_handlers=2)
    assert not (world / "operations" / "2026-01").exists()
