"""What `pdca audit` and `pdca status` print at 80 columns (a saved log's width): no line wider, no number
or id cut short (`…`), step outputs as key: value lines, on the trail of tests/engine/review/trail.py."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app
from tests.engine.review.trail import PROCESS

ACTION = "visit-loop#2/call_back"


def pdca_at_80(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.stdout


def assert_fits_80(stdout: str) -> None:
    wide = [line for line in stdout.splitlines() if len(line) > 80]
    assert not wide, "\n".join(wide)
    assert "…" not in stdout, stdout


@pytest.mark.parametrize("command", [("audit", "show", PROCESS, "2"), ("audit", "show", PROCESS, "3"),
                                     ("audit", "show", PROCESS, "5"), ("audit", "log", "--limit", "0"),
                                     ("audit", "kpis", PROCESS), ("audit", "versions", PROCESS),
                                     ("audit", "diff", PROCESS, "1", "2"), ("status",), ("actions", "list", "--all")])
def test_every_table_fits_80_columns_without_cutting_a_value(trail_url: str, command: tuple[str, ...]) -> None:
    assert_fits_80(pdca_at_80(*command, "--db", trail_url))


def test_audit_show_keeps_ids_whole_and_outputs_readable(trail_url: str) -> None:
    stdout = pdca_at_80("audit", "show", PROCESS, "2", "--db", trail_url)
    lines = [line.strip() for line in stdout.splitlines()]
    assert "planned_in_cycle: 2" in stdout and '{"planned_in_cycle"' not in stdout  # not JSON sliced into a column
    assert any(line.startswith(ACTION) for line in lines)  # the action id whole, on one line
    assert "definition v1 (" in stdout and "(seq 9)" in stdout  # the header wrapped between words


def test_actions_list_heads_each_action_with_its_whole_id(trail_url: str) -> None:
    stdout = pdca_at_80("actions", "list", "--all", "--db", trail_url)
    assert ACTION in stdout.splitlines()[1]
