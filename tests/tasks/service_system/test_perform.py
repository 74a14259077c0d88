"""service.perform: a hand-made quarter 2026-Q3 measured from files and from SQLite.

- visits: C1 office 6 planned 6 done, C2 office 6/3, C3 household 0/1, C4 household
  3/4 -> kept min(done, planned) 6 + 3 + 0 + 3 = 12 of 15 planned = 80 %, 14 done;
  office 9/12 = 75 %, household 3/3 = 100 %.
- deliveries: D1 by 12:00 promised 13:00 (on time), D2 14:00 promised 13:00 (late, out
  of water), D3 no promise: ordered 08:00 + 4 h window = 12:00, delivered 11:59 (on
  time), D4 never delivered (out of water) -> on time 2 of 4 = 50 %, 1 undelivered;
  stock-outs 2 of 4 = 50 %.
- hotline: waits 10, 20, 5 (not answered), 45, 15 -> answered within 20 s: 10, 20, 15
  = 3 of 5 = 60 %.
- bucket returns: 10 passed, 5 failed, 5 passed -> 15 of 20 buckets = 75 %.
- plan: scheduled_delivery kept (office, household), hotline_callback new, deposit_app
  retired, retail with nothing -> 2 offerings in force.
- complaints: received 1 July 00:00, 15 August, 30 September 23:59 are Q3; 30 June and
  1 October are not -> 3.
"""

from __future__ import annotations

import getpass
import secrets
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, write_table
from pdcaflow.tasks.service_system.perform import perform
from pdcaflow.tasks.service_system.perform_steps import perform_period

CONTEXT = StepContext(process_id="service-quality-system", cycle=2)
T = pd.Timestamp
VISITS = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4"],
                       "segment": ["office", "office", "household", "household"],
                       "planned": [6, 6, 0, 3], "done": [6, 3, 1, 4]})
DELIVERIES = pd.DataFrame({
    "delivery_id": ["D1", "D2", "D3", "D4"], "customer_id": ["C1", "C2", "C3", "C4"],
    "segment": ["office", "office", "household", "household"], "region": "north",
    "ordered_at": [T("2026-07-01 09:00"), T("2026-07-02 09:00"), T("2026-07-03 08:00"), T("2026-07-04 08:00")],
    "promised_by": [T("2026-07-01 13:00"), T("2026-07-02 13:00"), pd.NaT, T("2026-07-04 12:00")],
    "delivered_at": [T("2026-07-01 12:00"), T("2026-07-02 14:00"), T("2026-07-03 11:59"), pd.NaT],
    "buckets": [2, 1, 1, 3], "out_of_water": [False, True, False, True],
})
CALLS = pd.DataFrame({"call_id": ["H1", "H2", "H3", "H4", "H5"], "customer_id": ["C1", "C2", "C3", "C4", "C1"],
                      "received_at": T("2026-07-05 10:00"), "wait_seconds": [10, 20, 5, 45, 15],
                      "answered": [True, True, False, True, True], "topic": "order"})
RETURNS = pd.DataFrame({"return_id": ["R1", "R2", "R3"], "customer_id": ["C1", "C2", "C4"],
                        "returned_at": T("2026-07-06 10:00"), "buckets": [10, 5, 5],
                        "hygiene_passed": [True, False, True]})
COMPLAINTS = pd.DataFrame({
    "contact_id": ["K1", "K2", "K3", "K4", "K5"], "customer_id": "C1",
    "received_at": [T("2026-07-01 00:00"), T("2026-08-15 10:00"), T("2026-09-30 23:59"), T("2026-06-30 10:00"),
                    T("2026-10-01 00:00")],
    "channel": "hotline", "region": "north", "type": "delivery", "summary": "", "claim_amount": None,
})
PLAN = pd.DataFrame({
    "period": "2026-Q3",
    "segment": ["household", "household", "office", "office", "office", "retail"],
    "service_level": ["bronze", "bronze", "silver", "silver", "silver", "bronze"],
    "offering_id": ["scheduled_delivery", "deposit_app", "scheduled_delivery", "hotline_callback", "deposit_app", None],
    "meets": ["scheduled_delivery", "deposit_refund", "scheduled_delivery", "faster_hotline", "deposit_refund", None],
    "change": ["keep", "retire", "keep", "new", "retire", "keep"],
    "cost_per_customer_month": [2.0, 1.0, 2.0, 1.5, 1.0, 0.0],
})
TABLES = {"visits": VISITS, "deliveries": DELIVERIES, "hotline_calls": CALLS, "bucket_returns": RETURNS}
EXPECTED = {
    "period": "2026-Q3", "visits_planned": 15, "visits_done": 14, "visit_plan_completion": 80.0,
    "visit_plan_completion_by_segment": {"household": 100.0, "office": 75.0},
    "deliveries": 4, "undelivered": 1, "on_time_delivery_rate": 50.0, "stockout_rate": 50.0,
    "hotline_calls": 5, "hotline_answer_rate": 60.0, "buckets_returned": 20, "hygiene_pass_rate": 75.0,
    "offerings_in_force": 2, "complaints_received": 3,
}
PER_MONTH = {"key_account": 4, "office": 2, "retail": 2, "household": 0}


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))


def write_world(root: Path) -> str:
    for name, frame in TABLES.items():
        write_table(frame, root / "quarters" / "2026-Q3" / f"{name}.csv")
    write_table(COMPLAINTS, root / "complaints" / "complaints.csv")
    return str(write_table(PLAN, root / "service_plan.parquet"))


def measured(outputs: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in outputs.items() if key != "operations"}


def test_measures_from_the_water_folder_and_the_quarters_folder(tmp_path: Path) -> None:
    plan = write_world(tmp_path / "water")
    for source in (tmp_path / "water", tmp_path / "water" / "quarters"):
        outputs = perform(CONTEXT, plan=plan, source=str(source), visits_per_month=PER_MONTH,
                          delivery_window_hours=4, channels=("hotline", "wechat"), survey_size=200)
        assert measured(dict(outputs)) == EXPECTED
        assert outputs["operations"] == str(tmp_path / "water" / "quarters")


def test_answer_time_is_a_parameter_and_complaints_may_be_absent(tmp_path: Path) -> None:
    """Within 10 s: waits 10 and 5 (not answered) -> only H1 = 1 of 5 = 20 %; no complaints folder -> None."""
    plan = write_world(tmp_path / "water")
    (tmp_path / "water" / "complaints" / "complaints.csv").unlink()
    outputs = perform(CONTEXT, plan=plan, source=str(tmp_path / "water"), visits_per_month=PER_MONTH,
                      delivery_window_hours=4, answer_within_seconds=10)
    assert (outputs["hotline_answer_rate"], outputs["complaints_received"]) == (20.0, None)


def test_measures_from_a_sqlite_connection(tmp_path: Path) -> None:
    """Every quarter in one table; Q2 rows (a visit plan of 100) are left out; complaints from the same database."""
    url = f"sqlite:///{tmp_path / 'water.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        for name, frame in TABLES.items():
            frame.assign(period="2026-Q3").to_sql(name, connection, index=False)
        VISITS.head(1).assign(period="2026-Q2", planned=100).to_sql("visits", connection, index=False,
                                                                   if_exists="append")
        COMPLAINTS.to_sql("complaints", connection, index=False)
    engine.dispose()
    plan = str(write_table(PLAN, tmp_path / "service_plan.parquet"))
    outputs = perform(CONTEXT, plan=plan, source=url, visits_per_month=PER_MONTH, delivery_window_hours=4)
    assert measured(dict(outputs)) == EXPECTED
    assert outputs["operations"] == url


def test_period_comes_from_the_plan_or_the_step(tmp_path: Path) -> None:
    plan = write_world(tmp_path / "water")
    assert perform_period(plan, None) == "2026-Q3"
    assert perform_period(plan, "2026-Q4") == "2026-Q4"
    with pytest.raises(SourceError, match=r"no operations records for 2026-Q4"):
        perform(CONTEXT, plan=plan, source=str(tmp_path / "water"), visits_per_month=PER_MONTH,
                delivery_window_hours=4, period="2026-Q4")
    with pytest.raises(ValueError, match="'2026-07' is not a quarter"):
        perform_period(plan, "2026-07")


def test_measures_from_postgresql(tmp_path: Path) -> None:
    """The same tables in a schema of their own on PostgreSQL (the connection's search_path) give the same answers."""
    schema = f"perform_{secrets.token_hex(4)}"
    base = f"postgresql+psycopg://{getpass.getuser()}@127.0.0.1:5432/test"
    url = f"{base}?options=-csearch_path%3D{schema}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = create_engine(url)
        with engine.begin() as connection:
            for name, frame in TABLES.items():
                frame.assign(period="2026-Q3").to_sql(name, connection, index=False)
            COMPLAINTS.to_sql("complaints", connection, index=False)
        engine.dispose()
        plan = str(write_table(PLAN, tmp_path / "service_plan.parquet"))
        outputs = perform(CONTEXT, plan=plan, source=url, visits_per_month=PER_MONTH, delivery_window_hours=4)
        assert measured(dict(outputs)) == EXPECTED
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
