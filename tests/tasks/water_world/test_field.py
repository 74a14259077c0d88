"""The world as the field: ``pdca demo``'s before_task hook, and only on water-world sources."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pdcaflow.tasks.sdk.sources import write_table
from pdcaflow.tasks.water_world import load_info, simulate_before_task
from tests.tasks.water_world.helpers import REFERENCE_VISITS, write_cases, write_plan


def perform_inputs(plan: str, source: str, **given: Any) -> dict[str, Any]:
    """service.perform's inputs as the engine hands them to the hook (defaults filled in)."""
    return {"plan": plan, "source": source, "visits_per_month": REFERENCE_VISITS, "delivery_window_hours": 4.0,
            "channels": ["phone", "online"], "survey_size": None, "period": None, **given}


def handle_inputs(cases: str, source: str, **given: Any) -> dict[str, Any]:
    return {"cases": cases, "source": source, "sla_hours": 48.0, "first_response_hours": 4.0,
            "escalate_after_hours": 24.0, "escalate_to": "service-manager", "confirm_with_customer": True,
            "silence_days": 7, "settle_within_days": 14, **given}


def snapshot(world: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(world.rglob("*")) if p.is_file()}


def test_perform_simulates_the_plans_quarter_and_a_retry_gives_the_same_records(world: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "service_plan.parquet", "2026-Q3")
    active = int((pd.read_csv(world / "customers.csv", keep_default_na=False)["left"] == "").sum())
    simulate_before_task(task="service.perform", inputs=perform_inputs(plan, str(world / "quarters")))
    assert load_info(world).quarters[-1] == "2026-Q3"
    # by default 20 % of the customers active when the quarter starts are invited
    assert len(pd.read_csv(world / "quarters" / "2026-Q3" / "surveys.csv")) == round(active * 20 / 100)
    first = snapshot(world)
    simulate_before_task(task="service.perform", inputs=perform_inputs(plan, str(world)))
    assert snapshot(world) == first
    simulate_before_task(task="service.perform", inputs=perform_inputs(plan, str(world), period="2026-Q3",
                                                                       survey_size=150))
    assert len(pd.read_csv(world / "quarters" / "2026-Q3" / "surveys.csv")) == 150


def test_other_tasks_and_sources_outside_a_water_world_are_left_alone(world: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "service_plan.parquet", "2026-Q3")
    before = snapshot(world)
    (tmp_path / "elsewhere").mkdir()
    simulate_before_task(task="service.deliver", inputs=perform_inputs(plan, str(world)))
    simulate_before_task(task="demand.research", inputs={"source": str(world), "period": None})
    simulate_before_task(task="service.perform", inputs=perform_inputs(plan, str(tmp_path / "elsewhere")))
    simulate_before_task(task="service.perform", inputs=perform_inputs(plan, "connection:operations"))
    simulate_before_task(task="service.perform", inputs=perform_inputs(plan, f"sqlite:///{tmp_path}/ops.db"))
    simulate_before_task(task="complaints.intake", inputs={"source": str(tmp_path / "elsewhere"), "period": None})
    simulate_before_task(task="complaints.intake", inputs={"source": str(world / "world_state"), "period": None})
    assert snapshot(world) == before and list((tmp_path / "elsewhere").iterdir()) == []


def test_a_standalone_complaint_cycle_advances_one_quarter_and_a_retry_none(world: Path, tmp_path: Path) -> None:
    complaints = str(world / "complaints")
    simulate_before_task(task="complaints.intake", inputs={"source": complaints, "period": None})
    assert load_info(world).quarters[-1] == "2026-Q3"       # the history's cases were worked: on to the next
    simulate_before_task(task="complaints.intake", inputs={"source": complaints, "period": None})   # a retry
    assert load_info(world).quarters[-1] == "2026-Q3"
    write_cases(world, "2026-07-01", tmp_path / "cases.parquet")
    simulate_before_task(task="complaints.handle", inputs=handle_inputs(str(tmp_path / "cases.parquet"), complaints))
    assert load_info(world).complaints_handled_through == "2026-Q3"
    simulate_before_task(task="complaints.intake", inputs={"source": complaints, "period": None})
    assert load_info(world).quarters[-1] == "2026-Q4"       # the next cycle
    simulate_before_task(task="complaints.intake", inputs={"source": complaints, "period": "2026-Q4"})
    assert load_info(world).quarters[-1] == "2026-Q4"       # a quarter with contacts is read as it is
    simulate_before_task(task="complaints.intake", inputs={"source": complaints, "period": "2027-Q2"})
    assert load_info(world).quarters[-2:] == ("2027-Q1", "2027-Q2")
    simulate_before_task(task="complaints.intake", inputs={"source": complaints, "period": "2027-08"})
    assert load_info(world).quarters[-1] == "2027-Q3"       # a month: the quarter it falls in
    # the reference plan keeps the offerings in force: the same three are current
    offerings = pd.read_csv(world / "offerings.csv")
    assert sorted(offerings.loc[offerings["status"] == "current", "offering_id"]) == [
        "account_manager_slot", "bucket_exchange", "monthly_statement"]


def test_after_perform_the_parents_intake_reads_that_quarter_without_advancing(world: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "service_plan.parquet", "2026-Q3")
    simulate_before_task(task="service.perform", inputs=perform_inputs(plan, str(world)))
    simulate_before_task(task="complaints.intake", inputs={"source": str(world / "complaints"), "period": None})
    assert load_info(world).quarters[-1] == "2026-Q3"


def test_handle_writes_the_cases_events_in_place_of_earlier_ones(world: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "service_plan.parquet", "2026-Q3")
    simulate_before_task(task="service.perform", inputs=perform_inputs(plan, str(world)))
    cases = write_cases(world, "2026-07-01", tmp_path / "cases.parquet")
    events_file = world / "complaints" / "complaint_events.csv"
    history = pd.read_csv(events_file)
    # a case carried over from 2026-Q2, still open at the quarter's start: worked then, it keeps its events
    carried = pd.read_parquet(tmp_path / "cases.parquet").iloc[:1].assign(
        case_id="K-C20262-00001", contact_ids="C20262-00001", received_at=pd.Timestamp("2026-04-01 09:00"))
    write_table(pd.concat([carried, pd.read_parquet(tmp_path / "cases.parquet")]), tmp_path / "cases.parquet")
    assert (history["contact_id"] == "C20262-00001").any()
    inputs = handle_inputs(str(tmp_path / "cases.parquet"), str(world / "complaints"))
    simulate_before_task(task="complaints.handle", inputs=inputs)
    first = events_file.read_bytes()
    simulate_before_task(task="complaints.handle", inputs=inputs)           # a retried step
    assert events_file.read_bytes() == first
    events = pd.read_csv(events_file)
    mine = events.loc[events["contact_id"].isin(set(cases["contact_ids"]))]
    # every case answered and resolved at least once; no event twice
    assert set(mine.loc[mine["event"] == "answered", "contact_id"]) == set(cases["contact_ids"])
    assert set(mine.loc[mine["event"] == "resolved", "contact_id"]) == set(cases["contact_ids"])
    assert not events.duplicated().any()
    # the history's events are untouched
    pd.testing.assert_frame_equal(events.loc[~events["contact_id"].isin(set(cases["contact_ids"]))]
                                  .reset_index(drop=True), history.reset_index(drop=True))
    # every claim settled, for at most what was claimed, never before the case was resolved
    settled = mine.loc[mine["event"] == "settled"].set_index("contact_id")
    claimed = cases.set_index("contact_ids")["claim_amount"].dropna()
    assert set(settled.index) == set(claimed.index)
    assert (settled["amount"] <= claimed.reindex(settled.index)).all()
    resolved = mine.loc[mine["event"] == "resolved"].groupby("contact_id")["at"].min()
    assert (pd.to_datetime(settled["at"]) >= pd.to_datetime(resolved.reindex(settled.index))).all()
    # some events fall after the quarter's end
    assert (pd.to_datetime(mine["at"]) >= pd.Timestamp("2026-10-01")).any()


def test_with_a_calendar_the_desk_answers_and_resolves_in_working_hours(world: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "service_plan.parquet", "2026-Q3")
    simulate_before_task(task="service.perform", inputs=perform_inputs(plan, str(world)))
    cases = write_cases(world, "2026-07-01", tmp_path / "cases.parquet")
    calendar = {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-18:00", "holidays": ["2026-10-01"]}
    simulate_before_task(task="complaints.handle", inputs=handle_inputs(
        str(tmp_path / "cases.parquet"), str(world / "complaints"), calendar=calendar))
    events = pd.read_csv(world / "complaints" / "complaint_events.csv", parse_dates=["at"])
    desk = events.loc[events["contact_id"].isin(set(cases["contact_ids"]))
                      & events["event"].isin(["answered", "resolved"]), "at"]
    assert (desk.dt.weekday < 5).all() and (desk.dt.date.astype(str) != "2026-10-01").all()
    minutes = desk.dt.hour * 60 + desk.dt.minute
    assert minutes.between(9 * 60, 18 * 60).all()
