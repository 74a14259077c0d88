"""What people read of a recorded process: KPIs in the YAML's order with their titles and decimals, each cycle's
period, decisions that changed nothing left out unless --all (a trail written by the store API, read by `pdca`)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console
from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app
from pdcaflow.engine.cli.cycles import decisions_table
from pdcaflow.engine.cli.demo import closing_summary
from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.audit import utc_now
from pdcaflow.engine.store.repository import (complete_cycle, record_definition_version, record_kpi_results,
                                              start_cycle)
from tests.engine.review.trail import sha

PROCESS = "claims"
YAML = """id: claims
title: Claims handling
owner: claims-team
schedule: {cron: "0 6 1 * *", timezone: Europe/Berlin}
kpis:
  - id: settled_on_time
    title: Claims settled on time
    unit: "%"
    target: {min: 90}
    source: settle.on_time
  - id: backlog
    unit: cases
    target: {max: 40}
    source: settle.backlog
  - id: csat
    title: Customer satisfaction
    unit: score (1-5)
    decimals: 1
    target: {min: 4.2}
    source: survey.csat
steps:
  - {id: settle, phase: do, uses: testing.serve}
  - {id: check, phase: check, uses: kpi.check}
"""
RESULTS = {  # alphabetical here and in the stored carry-over; the YAML's order differs
    "backlog": {"actual": 37.0, "target": {"min": None, "max": 40}, "status": "met", "delta": -3.0, "unit": "cases"},
    "csat": {"actual": 4.057636888, "target": {"min": 4.2, "max": None}, "status": "missed", "delta": -0.02267,
             "unit": "score (1-5)", "decimals": 1},
    "settled_on_time": {"actual": 91.2345678, "target": {"min": 90, "max": None}, "status": "met", "delta": 1.5,
                        "unit": "%"},
}
runner = CliRunner()


def record(url: str, slot: datetime | None, yaml_text: str = YAML) -> None:
    """One completed cycle of ``claims``, scheduled for ``slot`` (None: started by hand)."""
    store = open_store(url)
    try:
        with store.transaction() as session:
            version = record_definition_version(session, PROCESS, yaml_text, sha(yaml_text), "alice")
            plan: dict[str, Any] = {"params": {}, "targets": {}}
            if slot is not None:
                plan["scheduled_for"] = slot.isoformat()
            cycle = start_cycle(session, PROCESS, version, "schedule" if slot else "manual", "alice", "host", 1,
                                reason="monthly review", plan_inputs=plan)
        with store.transaction() as session:
            record_kpi_results(session, cycle, RESULTS, "alice")
            complete_cycle(session, cycle, {"cycle": cycle.number, "params": {}, "targets": {}, "kpis": RESULTS,
                                            "decisions": [], "actions": []}, "alice")
    finally:
        store.dispose()


@pytest.fixture()
def claims_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    record(url, datetime(2026, 4, 30, 22, 0, tzinfo=UTC))  # 1 May 00:00 in Berlin: the May cycle
    return url


def pdca(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout


def kpi_rows(stdout: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.split("│")[1:7]] for line in stdout.splitlines() if line.startswith("│")]


def test_status_lists_kpis_in_the_yaml_order_with_titles_and_their_decimals(claims_url: str) -> None:
    stdout = pdca("status", PROCESS, "--db", claims_url)
    assert "claims: cycle 1 (2026-05) completed" in stdout
    assert "KPIs of cycle 1 (2026-05) (the last completed)" in stdout
    assert kpi_rows(stdout) == [
        ["Claims settled on time", "91.2", ">= 90", "met", "+1.5", "%"],  # a percentage: one decimal
        ["backlog", "37", "<= 40", "met", "-3", "cases"],  # a count: none; no title, so the id
        ["Customer satisfaction", "4.1", ">= 4.2", "missed", "0.0", "score (1-5)"],  # its own decimals: 1
    ]


def test_audit_lists_each_cycle_with_its_period_and_each_kpi_with_title_and_id(claims_url: str) -> None:
    record(claims_url, None)  # started by hand now: the month of today in Berlin
    stdout = pdca("audit", "kpis", PROCESS, "--db", claims_url)
    titles = [line for line in stdout.splitlines() if line.startswith("claims · ")]
    assert titles == ["claims · Claims settled on time (settled_on_time) (%)", "claims · backlog (cases)",
                      "claims · Customer satisfaction (csat) (score (1-5))"]
    cycles = [row[0] for row in kpi_rows(stdout)]
    assert cycles[:2] == ["1 (2026-05)", f"2 ({_berlin_month(utc_now())})"]
    stdout = pdca("audit", "show", PROCESS, "1", "--db", claims_url)
    assert "claims · cycle 1 · 2026-05 completed" in stdout
    assert "Customer satisfaction (csat)" in stdout


def _berlin_month(moment: datetime) -> str:
    return f"{moment.astimezone(ZoneInfo('Europe/Berlin')):%Y-%m}"


def test_a_process_without_schedule_has_no_period(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    record(url, None, YAML.replace('schedule: {cron: "0 6 1 * *", timezone: Europe/Berlin}\n', ""))
    stdout = pdca("status", PROCESS, "--db", url)
    assert "claims: cycle 1 completed" in stdout and "(20" not in stdout


# ----- decisions that changed nothing ---------------------------------------------------------
FIRED_WITHOUT_EFFECT = {"policy": "review_backlog", "kpi": "backlog", "fired": True, "effects": [],
                        "reason": "backlog missed (41 > max 40); action claims#1/review_backlog from this policy is "
                                  "still open, so no second action was opened"}
FIRED = {"policy": "more_staff", "kpi": "backlog", "fired": True, "effects": ["param staff: 3 -> 4"],
         "reason": "backlog missed (41 > max 40)"}


def render(renderable: Any) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_decisions_that_changed_nothing_are_hidden_unless_all() -> None:
    shown = render(decisions_table([FIRED, FIRED_WITHOUT_EFFECT]))
    assert "more_staff" in shown and "review_backlog" not in shown
    assert "1 decision(s) that fired without changing the plan not shown; --all shows them" in shown
    shown = render(decisions_table([FIRED, FIRED_WITHOUT_EFFECT], show_all=True))
    assert "review_backlog" in shown and "(no effect)" in shown and "not shown" not in shown


def test_what_changed_the_plan_hides_no_effect_rows_unless_all() -> None:
    results = [{"process": PROCESS, "cycle": number, "kpis": [], "open_actions": [],
                "kpi_values": {"backlog": {"actual": 41.0, "status": "missed", "unit": "cases"}},
                "decisions": [FIRED, FIRED_WITHOUT_EFFECT]} for number in (1, 2)]
    _, changes, _ = closing_summary(results)
    text = render(changes)
    assert "(no effect)" not in text and "review_backlog" not in text and "param staff: 3 -> 4" in text
    assert "2 decision(s) that fired without changing the plan not shown; --all shows them" in text
    _, changes, _ = closing_summary(results, show_all=True)
    assert render(changes).count("(no effect)") == 2


def test_run_and_demo_take_all() -> None:
    for command in ("run", "demo"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert "--all" in result.stdout and "without changing the plan" in result.stdout
