"""complaints.handle on the hand-made October of cases_data: clocks, escalation, closure, reopen, claims.

Each test on ``source`` runs on a CSV folder, a Parquet folder, SQLite and
PostgreSQL (the ``source`` fixture); the arithmetic behind every expected number is in cases_data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pdcaflow.tasks.complaints.case_tasks import handle, intake
from pdcaflow.tasks.sdk.registry import StepContext
from tests.tasks.complaints.cases_data import HANDLE, HANDLE_EXPECTED, INTAKE, contacts, events, write_folder

CONTEXT = StepContext(process_id="complaint-handling", cycle=1)


def run(source: str, **changes: Any) -> dict[str, Any]:
    cases = intake(CONTEXT, source=source, **INTAKE)["cases"]
    return dict(handle(CONTEXT, cases=cases, source=source, **{**HANDLE, **changes}))


def test_the_month_in_numbers(source: str) -> None:
    assert run(source) == HANDLE_EXPECTED


def test_escalating_every_18_hours_reaches_higher_levels(source: str) -> None:
    outputs = run(source, escalate_after_hours=18)
    # levels at 18, 36, 54 working hours: A0 resolved at 36 -> 1 (36 is not before 36); B3 66 -> 3; B4 171 -> 3;
    # B9 44 open -> 2; B11 26 open -> 1; B1 and B7 (17 h) stay below 18
    assert outputs["escalations_by_level"] == {"team-lead": 2, "service-manager": 1, "director": 2}
    assert outputs["escalated"] == 5
    assert outputs["overdue_cases"][0]["escalated_to"] == "director"


def test_one_role_to_escalate_to(source: str) -> None:
    outputs = run(source, escalate_to="service-manager")
    # the chain is one level: A0, B3, B4, B9, B11 all reach it
    assert outputs["escalations_by_level"] == {"service-manager": 5}


def test_without_silence_closure_only_confirmation_closes(source: str) -> None:
    outputs = run(source, silence_days=None)
    # B3 was resolved but never confirmed: resolved, no longer closed -> 6 closed
    assert (outputs["resolved"], outputs["closed"]) == (7, 6)


def test_measured_earlier_open_cases_count_at_their_age_then(source: str) -> None:
    outputs = run(source, as_of="2026-10-14 12:00")
    # on Wed 14 Oct 12:00, B3 is reopened (since 14 Oct 10:00) and unresolved: 45 + 9 (Tue 13th) + 3 = 57 working h
    #   past 48 -> overdue with B4 (Tue 6th 9 x 6 days to Tue 13th = 54 + 3 = 57 h, from Tue 6 Oct 09:00);
    # B9 and B11 have not arrived yet: not measured.
    # resolved: A0 B1 B2 B5 B7 B8 = 6; reopened: B3 of the 7 resolved at some time -> 14.29 %
    assert (outputs["resolved"], outputs["open"], outputs["reopened_pct"]) == (6, 2, 14.29)
    assert [(case["case_id"], case["escalated_to"]) for case in outputs["overdue_cases"]] == [
        ("B3", "service-manager"), ("B4", "service-manager")]
    # oldest open: B3 and B4 arrived on 5 Oct at 10:00 and 14:00: 9 days 2 h -> 9.08 days
    assert outputs["oldest_open_days"] == 9.08


def test_without_confirmation_a_case_closes_when_resolved(source: str) -> None:
    outputs = run(source, confirm_with_customer=False)
    # every resolved case is closed: the 7 resolved (B3 at its second resolution)
    assert (outputs["resolved"], outputs["closed"]) == (7, 7)


def test_a_month_without_claims_has_no_settlement_numbers(tmp_path: Path) -> None:
    quiet = contacts().assign(claim_amount=None)
    source = write_folder(tmp_path / "data", {"complaints": quiet, "complaint_events": events()})
    outputs = run(source)
    assert (outputs["claims"], outputs["settlement_days_mean"], outputs["settled_within_promise_pct"]) == (
        0, None, None)


def test_a_resolution_not_confirmed_gives_no_satisfaction(tmp_path: Path) -> None:
    unrated = events().assign(score=None)
    source = write_folder(tmp_path / "data", {"complaints": contacts(), "complaint_events": unrated})
    assert run(source)["resolution_satisfaction"] is None


@pytest.mark.parametrize(("name", "value", "message"), [
    ("sla_hours", 0, r"sla_hours is 0\.0: it must be more than 0"),
    ("escalate_to", (), r"escalate_to is empty"),
    ("as_of", "soon", r"as_of 'soon' is not a time"),
])
def test_wrong_settings_are_refused(tmp_path: Path, name: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run(write_folder(tmp_path / "data"), **{name: value})


def test_a_period_without_complaints_measures_nothing(tmp_path: Path) -> None:
    source = write_folder(tmp_path / "data")
    cases = intake(CONTEXT, source=source, **{**INTAKE, "period": "2026-12"})
    # every case of the data closed or arrived before December, except B4, B9 and B11, still open: carried over
    assert (cases["cases_opened"], cases["carried_over"], cases["received"]) == (0, 3, 0)
    empty = intake(CONTEXT, source=source, **{**INTAKE, "period": "2025-Q1"})
    assert (empty["cases_opened"], empty["carried_over"], empty["assigned_pct"]) == (0, 0, None)
    outputs = handle(CONTEXT, cases=empty["cases"], source=source, **HANDLE)
    assert (outputs["resolution_p90_hours"], outputs["within_sla_pct"], outputs["open_over_sla"],
            outputs["overdue_cases"]) == (None, None, 0, [])
