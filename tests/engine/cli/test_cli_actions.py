"""`pdca actions ...` and `pdca override` in-process on a real store (SQLite and PostgreSQL): exit codes,
refusals that record nothing, the history they leave, and the next cycle's start applying an override."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from pdcaflow.engine.runtime import action_cycle
from pdcaflow.engine.cli.app import app
from pdcaflow.engine.cli.actions import ACTION_STATUSES as CLI_STATUSES
from pdcaflow.engine.store import open_store, verify_chain
from pdcaflow.engine.store.tables import ACTION_STATUSES, ActionUpdate, AuditEvent
from tests.engine.store.seed import PROCESS, run_cycle

ACTION = f"{PROCESS}#1/more_visits"


@pytest.fixture()
def seeded(db_url: str) -> Iterator[str]:
    """A store with one completed cycle that opened ``ACTION`` (owner service-manager, due 2026-12-06)."""
    store = open_store(db_url)
    try:
        run_cycle(store)
    finally:
        store.dispose()
    yield db_url


def pdca(*args: str) -> tuple[int, str, str]:
    outcome = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "PDCA_ACTOR": "tester"})
    return outcome.exit_code, outcome.stdout, outcome.stderr


def counts(url: str) -> tuple[int, int]:
    store = open_store(url)
    try:
        with store.read() as session:
            return (session.scalar(select(func.count()).select_from(AuditEvent)) or 0,
                    session.scalar(select(func.count()).select_from(ActionUpdate)) or 0)
    finally:
        store.dispose()


def test_the_cli_knows_the_stores_statuses() -> None:
    assert CLI_STATUSES == ACTION_STATUSES


def test_update_close_list_and_show_the_history(seeded: str) -> None:
    code, stdout, stderr = pdca("actions", "update", ACTION, "--status", "in_progress", "--owner", "team-lead",
                                "--actor", "alice", "--reason", "taking it on", "--db", seeded)
    assert code == 0, stderr
    assert "open -> in_progress · owner service-manager -> team-lead · due 2026-12-06" in stdout
    code, stdout, _ = pdca("actions", "update", ACTION, "--due", "2026-12-20", "--reason", "waiting on routes",
                           "--db", seeded)
    assert code == 0 and "due 2026-12-20" in stdout
    code, stdout, _ = pdca("actions", "list", "--owner", "team-lead", "--db", seeded)
    assert code == 0 and ACTION in stdout and "in_progress" in stdout
    code, _, _ = pdca("actions", "close", ACTION, "--actor", "bob", "--reason", "routes re-planned", "--db", seeded)
    assert code == 0
    code, stdout, _ = pdca("actions", "list", "--status", "in_progress", "--db", seeded)
    assert (code, stdout.strip()) == (0, "No actions match.")
    code, stdout, _ = pdca("actions", "show", ACTION, "--db", seeded)
    assert code == 0
    assert "status done · owner team-lead · due 2026-12-20" in stdout
    for line in ("alice", "taking it on", "waiting on routes", "bob", "in_progress -> done", "routes re-planned"):
        assert line in stdout
    store = open_store(seeded)
    try:
        with store.read() as session:
            assert verify_chain(session).ok  # the row check covers action and action_update too
            kinds = list(session.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq.desc()).limit(3)))
            done_after = action_cycle.follow_up_actions(session, PROCESS)[0]["done_after_cycle"]
    finally:
        store.dispose()
    assert kinds == ["action.status"] * 3 and done_after == 1


@pytest.mark.parametrize(("args", "message"), [
    (["update", ACTION, "--status", "done"], "needs --reason TEXT"),
    (["close", ACTION, "--reason", "  "], "needs --reason TEXT"),
    (["update", ACTION, "--reason", "r"], "say what changes: --status, --owner and/or --due"),
    (["update", ACTION, "--status", "verified", "--reason", "r"], "not one a person sets"),
    (["update", ACTION, "--due", "next week", "--reason", "r"], "--due next week is not a date"),
    (["close", "nope#1/x", "--reason", "r"], "no action nope#1/x; `pdca actions list --all` shows them"),
    (["show", "nope#1/x"], "no action nope#1/x"),
    (["list", "--status", "closed"], "unknown status closed"),
    (["list", "--process", "nope"], "no process 'nope' in this store"),
])
def test_bad_input_exits_2_and_records_nothing(seeded: str, args: list[str], message: str) -> None:
    before = counts(seeded)
    code, _, stderr = pdca("actions", *args, "--db", seeded)
    assert (code, message in stderr, "Traceback" in stderr) == (2, True, False), stderr
    assert counts(seeded) == before


def test_a_move_the_status_forbids_exits_1(seeded: str) -> None:
    assert pdca("actions", "update", ACTION, "--status", "cancelled", "--reason", "duplicate", "--db", seeded)[0] == 0
    before = counts(seeded)
    code, _, stderr = pdca("actions", "close", ACTION, "--reason", "done after all", "--db", seeded)
    assert code == 1 and "is cancelled: a cancelled action cannot change" in stderr
    assert counts(seeded) == before


def test_an_override_is_recorded_and_applied_once_at_the_next_start(seeded: str) -> None:
    code, stdout, stderr = pdca("override", PROCESS, "--target", "satisfaction", "--min", "4.4", "--actor", "carol",
                                "--reason", "regional directive", "--db", seeded)
    assert code == 0, stderr
    assert "target satisfaction: min 4.4" in stdout
    code, _, _ = pdca("override", PROCESS, "--param", "visits_per_month.B=4", "--reason", "more visits", "--db", seeded)
    assert code == 0
    store = open_store(seeded)
    try:
        with store.transaction() as session:
            params, targets = {"visits_per_month": {"A": 4, "B": 3, "C": 1}}, {"satisfaction": {"min": 4.2, "max": None}}
            applied = action_cycle.apply_overrides(session, PROCESS, params, targets)
    finally:
        store.dispose()
    assert targets == {"satisfaction": {"min": 4.4, "max": None}} and params["visits_per_month"]["B"] == 4
    assert [(entry["actor"], entry["reason"], entry["old"]) for entry in applied] == [
        ("carol", "regional directive", {"min": 4.2, "max": None}), ("tester", "more visits", 3)]
    run_again = open_store(seeded)
    try:
        run_cycle(run_again)  # its cycle.started comes after the overrides: they are no longer pending
        with run_again.read() as session:
            assert action_cycle.pending_overrides(session, PROCESS) == []
    finally:
        run_again.dispose()


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "satisfaction", "--min", "4.4"], "needs --reason TEXT"),
    (["--target", "speed", "--min", "1", "--reason", "r"], "has no KPI 'speed'"),
    (["--target", "satisfaction", "--reason", "r"], "needs --min, --max or both"),
    (["--param", "visits_per_month.Z=1", "--reason", "r"], "has no param 'visits_per_month.Z'"),
    (["--param", "visits_per_month.B", "--reason", "r"], "write PATH=VALUE"),
    (["--reason", "r"], "name exactly one of --target KPI"),
])
def test_override_bad_input_exits_2_and_records_nothing(seeded: str, args: list[str], message: str) -> None:
    before = counts(seeded)
    code, _, stderr = pdca("override", PROCESS, *args, "--db", seeded)
    assert (code, message in stderr) == (2, True), stderr
    assert counts(seeded) == before
