"""feedback.check: complaint times against the SLA, overdue complaints, satisfaction, inspections.

One hand-made month (March 2025, SLA 48 h) with every number worked out below,
read from a directory, from SQLite and from PostgreSQL tables holding several
months, plus the older task name ``feedback.inspect``.
"""

from __future__ import annotations

import getpass
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from pdcaflow.tasks.retail.feedback import check, inspect
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, write_table

PERIOD = "2025-03"
T = pd.Timestamp
NAT = pd.NaT
# Handling times (closed in March: opening to closing; open on 1 April 00:00: age then):
#   K1 12 h, K2 24 h, K3 48 h, K4 84 h (closed); K5 48 h, K6 168 h, K7 960 h, K9 4 h (open at the end).
# Sorted: 4 12 24 48 48 84 168 960 -> p50 = 48, p90 = 168 + 0.3 x (960 - 168) = 405.6; 5 of 8 within 48 h.
# K8 was closed in February: not March's. K7 was opened in February: March's only as an open case.
# K9 closes on 1 April, after the period: it counts as open at the end (nothing after the period is used).
COMPLAINTS = pd.DataFrame([
    ("K1", "C1", "delivery", T("2025-03-02 08:00"), T("2025-03-02 20:00"), 1),
    ("K2", "C2", "delivery", T("2025-03-05"), T("2025-03-06"), 2),
    ("K3", "C3", "quality", T("2025-03-10"), T("2025-03-12"), 1),
    ("K4", "C1", "price", T("2025-03-20"), T("2025-03-23 12:00"), 3),
    ("K5", "C4", "quality", T("2025-03-30"), NAT, 1),
    ("K6", "C5", "price", T("2025-03-25"), NAT, 2),
    ("K7", "C6", "delivery", T("2025-02-20"), NAT, 1),
    ("K8", "C6", "delivery", T("2025-02-25"), T("2025-02-27"), 1),
    ("K9", "C2", "service", T("2025-03-31 20:00"), T("2025-04-01 10:00"), 1),
], columns=["complaint_id", "customer_id", "category", "opened_at", "closed_at", "contacts"])
# Mean 23 / 6 = 3.83; A 4.5, B 3.0, C 5.0.
SURVEYS = pd.DataFrame({"customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
                        "class": ["A", "A", "B", "B", "B", "C"], "score": [5, 4, 3, 4, 2, 5],
                        "surveyed_at": pd.date_range("2025-03-03", periods=6, freq="4D")})
# Level means: self 85, department 70, company 95.
INSPECTIONS = pd.DataFrame({"record_id": ["R1", "R2", "R3", "R4", "R5", "R6"],
                            "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
                            "level": ["self", "self", "department", "company", "company", "company"],
                            "score": [80, 90, 70, 100, 90, 95]})
EXPECTED = {
    "period": PERIOD, "complaints": 7, "complaints_open": 4,
    "complaint_p50_hours": 48.0, "complaint_p90_hours": 405.6, "within_sla_rate": 62.5,
    "unresolved_over_sla": 2,
    "overdue_complaints": [
        {"complaint_id": "K7", "customer_id": "C6", "age_hours": 960.0, "category": "delivery"},
        {"complaint_id": "K6", "customer_id": "C5", "age_hours": 168.0, "category": "price"}],
    "repeat_contact_rate": 42.86,     # K2, K4, K6 of the 7 opened in March
    "satisfaction_mean": 3.83, "satisfaction_by_class": {"A": 4.5, "B": 3.0, "C": 5.0}, "responses": 6,
    "inspection_score": 83.33, "inspection_by_level": {"self": 85.0, "department": 70.0, "company": 95.0},
}
CONTEXT = StepContext(process_id="retail", cycle=2)


def operations(root: Path, complaints: pd.DataFrame = COMPLAINTS, surveys: pd.DataFrame = SURVEYS,
               inspections: pd.DataFrame = INSPECTIONS, period: str = PERIOD) -> str:
    folder = root / "operations" / period
    write_table(complaints, folder / "complaints.parquet")
    write_table(surveys, folder / "surveys.parquet")
    write_table(inspections, folder / "inspections.csv")
    return str(root / "operations")


def run(source: str, **with_: Any) -> dict[str, Any]:
    with_.setdefault("period", PERIOD)
    return dict(check(CONTEXT, source=source, complaint_sla_hours=48, **with_))


def test_a_month_from_the_operations_directory(tmp_path: Path) -> None:
    assert run(operations(tmp_path)) == EXPECTED


def test_without_a_period_the_latest_month_folder_is_checked(tmp_path: Path) -> None:
    source = operations(tmp_path)
    operations(tmp_path, period="2025-02")
    assert run(source, period=None)["period"] == PERIOD


def test_a_complaint_exactly_at_the_sla_is_not_overdue_and_a_longer_sla_clears_the_list(tmp_path: Path) -> None:
    source = operations(tmp_path)
    assert "K5" not in [entry["complaint_id"] for entry in run(source)["overdue_complaints"]]   # 48 h, not > 48
    relaxed = check(CONTEXT, source=source, period=PERIOD, complaint_sla_hours=1000)
    assert relaxed["unresolved_over_sla"] == 0 and relaxed["overdue_complaints"] == []
    assert relaxed["within_sla_rate"] == 100.0


def test_the_overdue_list_is_capped_but_the_count_is_not(tmp_path: Path) -> None:
    outputs = run(operations(tmp_path), overdue_limit=1)
    assert outputs["unresolved_over_sla"] == 2
    assert [entry["complaint_id"] for entry in outputs["overdue_complaints"]] == ["K7"]   # the oldest first


@pytest.mark.parametrize(("levels", "score", "by_level"), [
    ({"self": 1, "department": 2, "company": 3}, 85.0, {"self": 85.0, "department": 70.0, "company": 95.0}),
    (("self", "company"), 90.0, {"self": 85.0, "company": 95.0}),
    ({"company": 1, "department": 0}, 95.0, {"company": 95.0, "department": 70.0}),
])
def test_the_inspection_score_weights_the_level_means(tmp_path: Path, levels: Any, score: float,
                                                      by_level: dict[str, float]) -> None:
    outputs = run(operations(tmp_path), levels=levels)
    assert (outputs["inspection_score"], outputs["inspection_by_level"]) == (score, by_level)


def test_a_level_without_records_shows_none_and_the_others_score(tmp_path: Path) -> None:
    source = operations(tmp_path, inspections=INSPECTIONS[INSPECTIONS["level"] != "department"])
    outputs = run(source)
    assert outputs["inspection_by_level"] == {"self": 85.0, "department": None, "company": 95.0}
    assert outputs["inspection_score"] == 90.0


def test_more_answers_than_calls_are_sampled_the_same_way_whatever_their_order(tmp_path: Path) -> None:
    first = run(operations(tmp_path / "a"), sample_size=3)
    shuffled = run(operations(tmp_path / "b", surveys=SURVEYS.sample(frac=1, random_state=7)), sample_size=3)
    assert first["responses"] == 3
    assert (first["satisfaction_mean"], first["satisfaction_by_class"]) == (
        shuffled["satisfaction_mean"], shuffled["satisfaction_by_class"])
    assert run(operations(tmp_path / "a"), sample_size=3) == first


def test_an_empty_month_has_no_rates(tmp_path: Path) -> None:
    source = operations(tmp_path, complaints=COMPLAINTS.head(0), surveys=SURVEYS.head(0),
                        inspections=INSPECTIONS.head(0))
    outputs = run(source)
    assert outputs["complaints"] == 0 and outputs["complaint_p90_hours"] is None
    assert outputs["within_sla_rate"] is None and outputs["repeat_contact_rate"] is None
    assert outputs["satisfaction_mean"] is None and outputs["inspection_score"] is None


def test_the_older_name_reports_the_same_numbers_under_its_output_names(tmp_path: Path) -> None:
    outputs = inspect(CONTEXT, source=operations(tmp_path), period=PERIOD, levels=("team", "department", "company"),
                      complaint_sla_hours=48)
    assert outputs == {"inspection_score": 83.33, "satisfaction_mean": 3.83, "satisfaction_responses": 6,
                       "complaints_received": 7, "complaints_open": 4, "complaint_p90_hours": 405.6,
                       "complaints_within_sla_pct": 62.5}


@pytest.mark.parametrize(("change", "message"), [
    ({"period": "March"}, r"period 'March' is not a month written YYYY-MM"),
    ({"period": "2025-04"}, r"operations/2025-04: no records for 2025-04 \(no such directory\)"),
    ({"levels": {"self": 0}}, r"levels \{'self': 0\}: name at least one inspection level"),
    ({"tables": {"complaint": "x"}}, r"tables: no record table 'complaint'; the tables are complaints, "),
    ({"sample_size": 0}, r"sample_size is 0: score at least one follow-up answer"),
])
def test_bad_settings_are_named(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run(operations(tmp_path), **change)


@pytest.mark.parametrize(("tables", "message"), [
    ({"surveys": SURVEYS.assign(score=[5, 4, 3, 4, 2, 7])}, r"surveys\.parquet: survey score 7 of customer C6 "
                                                             r"is not between 1 and 5"),
    ({"inspections": INSPECTIONS.assign(score=[80, 90, 70, 100, 90, 101])}, r"inspections\.csv: inspection "
                                                                             r"record R6 has score 101, not 0-100"),
    ({"complaints": COMPLAINTS.assign(closed_at=COMPLAINTS["closed_at"].where(COMPLAINTS["complaint_id"] != "K1",
                                                                              T("2025-03-01")))},
     r"complaints\.parquet: complaint K1 is closed before it was opened"),
    ({"complaints": COMPLAINTS.drop(columns="contacts")}, r"complaints\.parquet: missing column\(s\) contacts"),
])
def test_bad_records_are_named_with_their_file(tmp_path: Path, tables: dict[str, pd.DataFrame],
                                               message: str) -> None:
    with pytest.raises(SourceError, match=message):
        run(operations(tmp_path, **tables))


# --- databases: one table per kind, every month in it ---------------------------------------------

def database_tables() -> dict[str, pd.DataFrame]:
    """March's records plus April's, and surveys/inspections of February, that the month filter leaves out."""
    april = pd.DataFrame([("K10", "C1", "price", T("2025-04-02"), NAT, 5)], columns=COMPLAINTS.columns)
    other_surveys = SURVEYS.assign(score=1, surveyed_at=SURVEYS["surveyed_at"] + pd.Timedelta(days=31))
    other_inspections = INSPECTIONS.assign(score=0, month="2025-02", record_id=INSPECTIONS["record_id"] + "x")
    return {"complaints": pd.concat([COMPLAINTS, april], ignore_index=True),
            "surveys": pd.concat([SURVEYS, other_surveys], ignore_index=True),
            "inspections": pd.concat([INSPECTIONS.assign(month=PERIOD), other_inspections], ignore_index=True)}


def test_a_sqlite_database_gives_the_same_month(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    engine = create_engine(url)
    for name, frame in database_tables().items():
        frame.to_sql(name, engine, index=False)
    engine.dispose()
    assert run(url) == EXPECTED
    with pytest.raises(ValueError, match=r"name the period to check \(YYYY-MM\): sqlite sources hold every month"):
        run(url, period=None)


def test_a_database_table_of_inspections_needs_a_month(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    engine = create_engine(url)
    for name, frame in {**database_tables(), "inspections": INSPECTIONS}.items():
        frame.to_sql(name, engine, index=False)
    engine.dispose()
    with pytest.raises(SourceError, match=r"ops\.db table 'inspections': no month column to pick 2025-03's "
                                          r"inspections from"):
        run(url)


@pytest.fixture()
def postgres_tables() -> Iterator[tuple[str, dict[str, str]]]:
    """The records in PostgreSQL tables with names of their own, dropped afterwards."""
    url = f"postgresql+psycopg://{getpass.getuser()}@127.0.0.1:5432/test"
    suffix = secrets.token_hex(4)
    names = {kind: f"feedback_{kind}_{suffix}" for kind in ("complaints", "surveys", "inspections")}
    engine = create_engine(url)
    try:
        for kind, frame in database_tables().items():
            frame.to_sql(names[kind], engine, index=False)
        yield url, names
    finally:
        with engine.begin() as connection:
            for name in names.values():
                connection.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
        engine.dispose()


def test_a_postgresql_database_gives_the_same_month(postgres_tables: tuple[str, dict[str, str]]) -> None:
    url, names = postgres_tables
    assert run(url, tables=names) == EXPECTED
