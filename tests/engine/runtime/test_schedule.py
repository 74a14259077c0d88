"""Schedules without a server: run times (`pdca schedule`), catch-up decisions, one cycle per slot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

import tests.sample_tasks  # noqa: F401  (registers the testing.* tasks)
from pdcaflow.engine.cli.app import app
from pdcaflow.engine.definition.compile import compile_plan
from pdcaflow.engine.runtime.cycle import begin_cycle
from pdcaflow.engine.definition.model import Schedule
from pdcaflow.engine.runtime.schedule import (ScheduleError, catch_up, next_times, period_label, scheduled_reason,
                                             slots_between)
from pdcaflow.engine.runtime.slots import SlotTakenError
from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.tables import AuditEvent, Cycle
from pdcaflow.engine.store.repository import complete_cycle
from pdcaflow.engine.definition.validate import validate_file
from pdcaflow.tasks.sdk.registry import registry
from tests.conftest import FIXTURES

NOW = datetime(2026, 3, 10, 12, 0, 30, tzinfo=UTC)


def test_cron_times_follow_the_timezone_across_daylight_saving() -> None:
    schedule = Schedule(cron="30 6 * * *", timezone="America/New_York")
    times = next_times(schedule, datetime(2026, 3, 7, 12, 0, tzinfo=UTC), 3)
    # 06:30 local every day; New York moves to daylight time on 2026-03-08
    assert [t.isoformat() for t in times] == ["2026-03-08T06:30:00-04:00", "2026-03-09T06:30:00-04:00",
                                              "2026-03-10T06:30:00-04:00"]
    assert [t.astimezone(UTC).hour for t in times] == [10, 10, 10]
    assert next_times(Schedule(cron="30 6 * * *", timezone="America/New_York"),
                      datetime(2026, 3, 6, 12, 0, tzinfo=UTC), 1)[0].astimezone(UTC).hour == 11  # before: EST


def test_interval_slots_are_anchored_so_every_server_agrees() -> None:
    schedule = Schedule(interval="15m", timezone="Asia/Shanghai")
    assert [t.isoformat() for t in next_times(schedule, NOW, 2)] == [
        "2026-03-10T20:15:00+08:00", "2026-03-10T20:30:00+08:00"]  # whole quarter hours from the anchor
    assert next_times(schedule, datetime(2026, 3, 10, 12, 15, tzinfo=UTC), 1)[0] == datetime(
        2026, 3, 10, 12, 30, tzinfo=UTC)  # strictly after


def test_an_interval_under_a_second_is_refused() -> None:
    with pytest.raises(ScheduleError, match=r"interval must be at least 1 s, got 0 s"):
        next_times(Schedule(interval=0), NOW, 1)


@pytest.mark.parametrize(("catchup", "expected"), [
    ("none", []),
    ("latest", ["11:45"]),
    ("all", ["11:00", "11:15", "11:30", "11:45"]),
])
def test_catch_up_runs_what_the_policy_says(catchup: str, expected: list[str]) -> None:
    schedule = Schedule(interval="15m", catchup=catchup)
    last_started = datetime(2026, 3, 10, 10, 50, tzinfo=UTC)  # down since 10:50; now 12:00:30
    missed = catch_up(schedule, last_started, NOW - timedelta(minutes=15))
    assert [slot.strftime("%H:%M") for slot in missed] == expected


def test_nothing_is_missed_before_the_first_cycle_or_when_on_time() -> None:
    assert catch_up(Schedule(interval="1h", catchup="all"), None, NOW) == []
    assert catch_up(Schedule(interval="1h", catchup="all"), NOW - timedelta(seconds=20), NOW) == []  # 12:00 ran


def test_catch_up_all_keeps_the_most_recent_slots_only() -> None:
    schedule = Schedule(cron="* * * * *", catchup="all")
    slots = slots_between(schedule, NOW - timedelta(days=2), NOW, limit=3)
    assert [s.strftime("%H:%M") for s in slots] == ["11:58", "11:59", "12:00"]


def test_the_scheduled_reason_names_the_schedule_and_the_slot() -> None:
    slot = datetime(2026, 3, 10, 6, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert scheduled_reason(Schedule(cron="0 6 * * *", timezone="Asia/Shanghai"), slot) == (
        "scheduled: cron '0 6 * * *' (Asia/Shanghai) at 2026-03-09T22:00:00+00:00")
    assert scheduled_reason(Schedule(interval="7d", catchup="all"), slot, catching_up=True) == (
        "catch-up (all): every 1w at 2026-03-09T22:00:00+00:00")


def test_pdca_schedule_prints_local_and_utc_times(write_definition) -> None:  # type: ignore[no-untyped-def]
    text = (FIXTURES / "runnable/loop.yaml").read_text("utf-8")
    path = write_definition(text + "schedule:\n  cron: '0 6 1 * *'\n  timezone: Asia/Shanghai\n  catchup: latest\n")
    result = CliRunner().invoke(app, ["schedule", str(path), "--count", "2", "--after", "2026-01-15T00:00:00+00:00"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "visit-loop: cron '0 6 1 * *' (Asia/Shanghai), catchup latest",
        "2026-02-01T06:00:00+08:00  (Asia/Shanghai)   2026-01-31 22:00:00 UTC",
        "2026-03-01T06:00:00+08:00  (Asia/Shanghai)   2026-02-28 22:00:00 UTC"]


def test_pdca_schedule_refuses_a_definition_without_schedule() -> None:
    result = CliRunner().invoke(app, ["schedule", str(FIXTURES / "runnable/loop.yaml")])
    assert result.exit_code == 2
    assert "has no `schedule:`" in result.output


def test_one_cycle_per_slot_and_catch_up_slots_in_order(db_url: str) -> None:
    plan = compile_plan(validate_file(FIXTURES / "runnable/loop.yaml"))
    store = open_store(db_url)
    slot_1, slot_2 = NOW, NOW + timedelta(minutes=15)
    try:
        first = begin_cycle(plan, store, registry(), actor="scheduler", trigger="schedule", reason="s1",
                            scheduled_for=slot_1)
        with store.transaction() as session:
            complete_cycle(session, session.get(Cycle, first.cycle_id), {"cycle": 1, "params": {"visits": 2, "base": 3.6}},
                           "scheduler")
        with pytest.raises(SlotTakenError, match=r"cycle 1 already covers the slot 2026-03-10T12:00:30\+00:00"):
            begin_cycle(plan, store, registry(), actor="other-server", trigger="schedule", scheduled_for=slot_1)
        second = begin_cycle(plan, store, registry(), actor="scheduler", trigger="schedule", reason="s2",
                             scheduled_for=slot_2)  # a later (catch-up) slot runs, though it started later
        assert (second.number, second.params["visits"]) == (2, 2)
        with store.read() as session:
            payloads = session.scalars(select(AuditEvent.payload).where(AuditEvent.kind == "cycle.started")
                                       .order_by(AuditEvent.seq)).all()
    finally:
        store.dispose()
    assert [p["plan"]["scheduled_for"] for p in payloads] == [slot_1.isoformat(), slot_2.isoformat()]


def test_a_late_scheduled_run_after_a_manual_cycle_is_skipped(db_url: str) -> None:
    plan = compile_plan(validate_file(FIXTURES / "runnable/loop.yaml"))
    store = open_store(db_url)
    try:
        manual = begin_cycle(plan, store, registry(), actor="me", reason="by hand")
        with store.transaction() as session:
            complete_cycle(session, session.get(Cycle, manual.cycle_id), {"cycle": 1}, "me")
        with pytest.raises(SlotTakenError, match=r"already covers the slot"):
            begin_cycle(plan, store, registry(), actor="scheduler", trigger="schedule",
                        scheduled_for=datetime.now(UTC) - timedelta(minutes=1))
    finally:
        store.dispose()


@pytest.mark.parametrize(("schedule", "label"), [
    (Schedule(cron="0 6 1 * *", timezone="Asia/Shanghai"), "2026-03"),  # monthly
    (Schedule(cron="0 7 1 1,4,7,10 *"), "2026-Q1"),  # quarterly
    (Schedule(cron="0 8 * * 1"), "2026-W11"),  # weekly: the ISO week
    (Schedule(interval=7 * 86400.0), "2026-W11"),
    (Schedule(cron="0 8 * * 1-5"), "2026-03-10"),  # every working day: the date
    (Schedule(cron="*/15 * * * *"), "2026-03-10 12:00"),  # more often than daily: date and time
    (Schedule(cron="0 0 1 1 *"), "2026"),
])
def test_a_cycle_is_labelled_with_the_period_its_schedule_gives_it(schedule: Schedule, label: str) -> None:
    assert period_label(schedule, NOW) == label
    assert period_label(None, NOW) is None


def test_the_period_is_read_in_the_schedules_timezone() -> None:
    new_year_in_shanghai = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 2027-01-01 01:00 in Shanghai
    assert period_label(Schedule(cron="0 6 1 * *", timezone="Asia/Shanghai"), new_year_in_shanghai) == "2027-01"
    assert period_label(Schedule(cron="0 6 1 * *"), new_year_in_shanghai) == "2026-12"


def test_a_begun_cycle_carries_the_period_of_its_slot(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    definition = tmp_path / "loop.yaml"
    definition.write_text((FIXTURES / "runnable/loop.yaml").read_text("utf-8").replace(
        "owner: quality-team\n", "owner: quality-team\nschedule: {cron: '0 6 1 * *', timezone: Asia/Shanghai}\n"),
        "utf-8")
    plan = compile_plan(validate_file(definition))
    store = open_store(db_url)
    try:
        cycle_run = begin_cycle(plan, store, registry(), actor="scheduler", trigger="schedule", reason="s1",
                                scheduled_for=datetime(2026, 1, 31, 22, 0, tzinfo=UTC))  # 1 Feb 06:00 in Shanghai
    finally:
        store.dispose()
    assert cycle_run.period == "2026-02"
    assert cycle_run.expression_context()["cycle"]["period"] == "2026-02"  # ${{ cycle.period }} in a notification
