"""Actions in every cycle's report: the KPI table's `actions` column and the table of actions until closed."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from pdcaflow.engine.cli.cycles import actions_table, summary_renderable
from pdcaflow.engine.review.cycle_report import cycle_summary, kpi_rows


def action(number: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"p#1/a{number}", "status": "open", "owner": "team-lead", "due": "2026-12-01",
            "title": f"fix {number}", "kpi": None, **extra}


def text(renderable: Any) -> str:
    console = Console(width=200, record=True)
    console.print(renderable)
    return console.export_text()


CARRY = {"cycle": 3, "kpis": {"satisfaction": {"actual": 4.0, "target": {"min": 4.2}, "status": "missed",
                                               "unit": "score"}},
         "actions": [action(1, kpi="satisfaction", status="done"), action(2, complaint_id="K1")], "decisions": []}


def test_a_kpis_actions_until_closed_are_in_its_row() -> None:
    [row] = kpi_rows(CARRY)
    assert row["actions"] == "p#1/a1 (done, team-lead)" and row["actions_brief"] == "1 done"
    assert kpi_rows({**CARRY, "actions": []})[0]["actions"] == "-"
    assert kpi_rows({**CARRY, "actions": []})[0]["actions_brief"] == "-"


def test_the_cycle_summary_shows_the_actions_below_the_kpis() -> None:
    shown = text(summary_renderable(cycle_summary("p", 3, False, CARRY)))
    kpi_line = next(line for line in shown.splitlines() if "satisfaction" in line)
    assert kpi_line.split("│")[-2].strip() == "1 done"  # the KPI table counts its actions
    assert "p#1/a1" in shown and "Actions until closed" in shown and "fix 2" in shown  # the actions table names them


def test_kpi_names_are_never_cut_in_a_narrow_terminal() -> None:
    console = Console(width=80, record=True)
    long_kpi = {"complaint_resolution_p90": {**CARRY["kpis"]["satisfaction"], "unit": "hours"}}
    console.print(summary_renderable(cycle_summary("p", 3, False, {**CARRY, "kpis": long_kpi})))
    assert "complaint_resolution_p90" in console.export_text()


def test_a_long_list_is_cut_with_a_pointer_to_pdca_actions_list() -> None:
    actions = [action(number, complaint_id=f"K{number}") for number in range(20)] + [action(99, kpi="x")]
    table = actions_table(actions, limit=5)
    assert not isinstance(table, str)
    assert str(table.title).endswith(": 5 of 21 shown, `pdca actions list` lists them all")
    shown = text(table)
    assert "p#1/a99" in shown and "p#1/a5 " not in shown  # the policies' actions come first
    assert actions_table([]) == "No open actions."
