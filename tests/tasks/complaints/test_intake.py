"""complaints.intake on the hand-made October of cases_data: routing, load balancing, repeat contacts, due times.

Each test on ``source`` runs on a CSV folder, a Parquet folder, SQLite and
PostgreSQL (the ``source`` fixture).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from pdcaflow.tasks.complaints.case_tasks import intake
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError
from tests.tasks.complaints.cases_data import INTAKE, INTAKE_EXPECTED, OWNERS, contacts, events, write_folder

CONTEXT = StepContext(process_id="complaint-handling", cycle=1)


def run(source: str, **changes: Any) -> dict[str, Any]:
    return dict(intake(CONTEXT, source=source, **{**INTAKE, **changes}))


def cases_of(outputs: dict[str, Any]) -> pd.DataFrame:
    return pd.read_parquet(outputs["cases"]).set_index("case_id")


def test_the_month_in_numbers(source: str) -> None:
    outputs = run(source)
    assert {key: value for key, value in outputs.items() if key != "cases"} == INTAKE_EXPECTED
    assert Path(outputs["cases"]).name == "cases.parquet"


def test_every_case_has_the_owner_of_its_rule_and_the_fewest_open_cases(source: str) -> None:
    cases = cases_of(run(source))
    assert cases["owner"].to_dict() == OWNERS
    assert cases.loc[["A0", "B3", "B5", "B9"], "team"].tolist() == [
        "complaint-desk",  # no rule matches a hotline billing case from the south
        "field-service",  # rule 1, the field channel, before rule 3 (north, delivery)
        "north-delivery",  # rule 3: north and delivery
        "quality-desk"]  # rule 2


def test_a_repeat_contact_joins_the_open_case_and_a_contact_after_closure_opens_a_new_one(source: str) -> None:
    cases = cases_of(run(source))
    # B6 came while B5 was resolved but not yet closed; B4 after B1 closed; B11 after B3 closed (7 quiet days)
    assert cases.loc["B5", ["contacts", "contact_ids"]].tolist() == [2, "B5;B6"]
    assert {"B4", "B11"} <= set(cases.index) and "B6" not in cases.index
    assert cases.loc["B11", "contacts"] == 1


def test_due_times_count_working_hours_across_the_weekend_and_the_holiday(source: str) -> None:
    cases = cases_of(run(source))
    # B2, Fri 2 Oct 16:00: 2 h on Friday; Sat, Sun, the Monday holiday do not count; Tue 6 Oct 09:00 + 2 h
    assert cases.loc["B2", "first_response_due"] == pd.Timestamp("2026-10-06 11:00")
    # 48 h: Fri 2 + Tue 9 (11) + Wed 9 (20) + Thu 9 (29) + Fri 9 (38) + Mon 12th 9 (47) + 1 h on Tue 13th
    assert cases.loc["B2", "resolution_due"] == pd.Timestamp("2026-10-13 10:00")
    # B3 arrived on the holiday: its clock starts Tue 6 Oct 09:00; 5 days x 9 = 45 h, + 3 h on Tue 13th
    assert cases.loc["B3", ["first_response_due", "resolution_due"]].tolist() == [
        pd.Timestamp("2026-10-06 13:00"), pd.Timestamp("2026-10-13 12:00")]


def test_without_a_calendar_the_clocks_count_every_hour(source: str) -> None:
    cases = cases_of(run(source, calendar=None))
    # B2, Fri 2 Oct 16:00 + 4 h and + 48 h
    assert cases.loc["B2", ["first_response_due", "resolution_due"]].tolist() == [
        pd.Timestamp("2026-10-02 20:00"), pd.Timestamp("2026-10-04 16:00")]


def test_the_cases_file_keeps_the_contract_columns(source: str) -> None:
    frame = pd.read_parquet(run(source)["cases"])
    assert list(frame.columns) == ["case_id", "customer_id", "type", "channel", "region", "received_at",
                                   "contacts", "contact_ids", "team", "owner", "first_response_due",
                                   "resolution_due", "claim_amount", "period"]
    assert frame["case_id"].tolist() == ["A0", "B1", "B2", "B3", "B4", "B5", "B7", "B8", "B9", "B11"]
    assert frame.set_index("case_id")["claim_amount"].dropna().to_dict() == {"B2": 200.0, "B5": 500.0, "B8": 100.0}


def test_without_a_period_the_quarter_of_the_latest_contact(source: str) -> None:
    outputs = run(source, period=None)
    # the latest contact taken in is B11, 28 Oct 2026: 2026-Q4; A0 (28 Sep) is carried over into it
    assert (outputs["period"], outputs["cases_opened"], outputs["carried_over"]) == ("2026-Q4", 9, 1)


def test_a_team_without_members_leaves_its_cases_unowned(tmp_path: Path) -> None:
    source = write_folder(tmp_path / "data")
    outputs = run(source, teams={**INTAKE["teams"], "quality-desk": []})
    # B2 and B9 (quality-desk) have no owner: 8 of 10 owned
    assert outputs["assigned_pct"] == 80.0
    assert cases_of(outputs).loc[["B2", "B9"], "owner"].isna().all()


def test_a_rule_naming_an_unknown_team_is_refused(tmp_path: Path) -> None:
    source = write_folder(tmp_path / "data")
    with pytest.raises(ValueError, match=r"routing rule 2 sends cases to team 'billing', which teams does not list"):
        run(source, routing=(INTAKE["routing"][0], {"when": {"type": "billing"}, "team": "billing"}))


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    source = write_folder(tmp_path / "data", {"complaints": contacts().drop(columns=["region"]),
                                              "complaint_events": events()})
    with pytest.raises(SourceError, match=r"complaints\.csv: missing column\(s\) region"):
        run(source)


def test_a_missing_table_is_named(tmp_path: Path) -> None:
    source = write_folder(tmp_path / "data", {"complaints": contacts()})
    with pytest.raises(SourceError, match=r"no complaint_events\.parquet or complaint_events\.csv"):
        run(source)


def test_an_unknown_event_is_named(tmp_path: Path) -> None:
    wrong = events()
    wrong.loc[0, "event"] = "fixed"
    source = write_folder(tmp_path / "data", {"complaints": contacts(), "complaint_events": wrong})
    with pytest.raises(SourceError, match=r"event 'fixed' of contact A00 is not one of answered, resolved"):
        run(source)


def test_a_period_that_is_neither_a_quarter_nor_a_month_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"period '2026-13' is neither a quarter"):
        run(write_folder(tmp_path / "data"), period="2026-13")


def test_a_missing_database_table_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = sa.create_engine(url)
    contacts().to_sql("complaints", engine, index=False)
    engine.dispose()
    with pytest.raises(SourceError, match=r"crm\.db: no table 'complaint_events'"):
        run(url)
