"""`pdca audit log / show / kpis / versions / diff` in-process (typer's CliRunner) on a trail written by the
store API (tests/engine/review/trail.py): what a reviewer reads, and one clear line for every bad input."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app
from tests.engine.review.trail import PROCESS, V1, V2, sha

runner = CliRunner()


def pdca(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def audit(trail_url: str, *args: str) -> tuple[int, str, str]:
    return pdca("audit", *args, "--db", trail_url)


def assert_bad_input(result: tuple[int, str, str], message: str) -> None:
    code, stdout, stderr = result
    assert code == 2, (stdout, stderr)
    assert stderr.strip() == f"error: {message}"
    assert "Traceback" not in stdout + stderr


# ----- log ---------------------------------------------------------------------------------
def test_log_lists_the_last_events_oldest_first_with_who_what_and_why(trail_url: str) -> None:
    code, stdout, _ = audit(trail_url, "log", "--process", PROCESS, "--cycle", "3")
    assert code == 0
    assert "Audit log · process visit-loop, cycle 3" in stdout
    lines = [line for line in stdout.splitlines() if "visit-loop #3" in line]
    kinds = [line.split()[4] for line in lines]
    assert kinds == ["cycle.started", "step.completed", "step.completed", "kpi.result", "decision",
                     "action.status", "carry_over", "cycle.completed"]
    assert "why: re-run after the call-backs" in stdout  # the reason of the run started by hand
    assert "visit-loop#2/call_back: open -> done" in stdout and "why: customers called back" in stdout
    assert "satisfaction 4.2 vs >= 4.2: met" in stdout


@pytest.mark.parametrize("args, expected", [
    (["--kind", "decision"], 5),
    (["--kind", "step.*"], 12),
    (["--actor", "bob"], 8),
    (["--process", "other-process"], 8),
    (["--process", PROCESS, "--step", "serve"], 5),
    (["--since", "2000-01-01", "--until", "2999-12-31"], 44),
    (["--since", "2999-01-01"], 0),
    (["--until", "2000-01-01T00:00:00+02:00"], 0),
    (["--limit", "0"], 44),
    (["--limit", "0", "--process", PROCESS, "--cycle", "2"], 8),
    (["--limit", "3"], 3),
])
def test_log_filters(trail_url: str, args: list[str], expected: int) -> None:
    code, stdout, _ = audit(trail_url, "log", *args, "--format", "jsonl")
    assert code == 0
    assert len(stdout.splitlines()) == expected


def test_log_json_has_every_hashed_field_and_the_hash(trail_url: str) -> None:
    code, stdout, _ = audit(trail_url, "log", "--kind", "cycle.started", "--format", "json")
    assert code == 0
    events = json.loads(stdout)
    assert [event["cycle_number"] for event in events] == [1, 2, 3, 4, 5, 1]
    assert set(events[0]) == {"seq", "at", "actor", "kind", "process_id", "cycle_number", "step_id", "payload",
                              "reason", "prev_hash", "hash"}
    assert events[2]["actor"] == "bob" and events[2]["reason"] == "re-run after the call-backs"
    assert events[0]["at"].endswith("+00:00")


def test_log_csv_has_a_header_and_json_payloads(trail_url: str) -> None:
    code, stdout, _ = audit(trail_url, "log", "--kind", "kpi.result", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert len(rows) == 5  # four cycles of visit-loop, one of other-process
    assert json.loads(rows[0]["payload"])["actual"] == 3.8 and rows[0]["reason"] == ""


@pytest.mark.parametrize("args, message", [
    (["log", "--process", "nope"], "no process 'nope' in this store; it has: other-process, visit-loop"),
    (["log", "--process", PROCESS, "--cycle", "9"], "process 'visit-loop' has no cycle 9 (cycles 1-5)"),
    (["log", "--since", "2026-13-01"], "--since '2026-13-01' is not an ISO date or datetime (e.g. 2026-11-22 or "
                                       "2026-11-22T14:30, UTC unless an offset is given)"),
    (["log", "--since", "2026-02-01", "--until", "2026-01-01"], "--since must be before --until"),
    (["log", "--format", "xml"], "unknown --format 'xml': use table, json, jsonl or csv"),
    (["show", PROCESS, "9"], "process 'visit-loop' has no cycle 9 (cycles 1-5)"),
    (["show", "nope", "1"], "no process 'nope' in this store; it has: other-process, visit-loop"),
    (["kpis", PROCESS, "--kpi", "speed"], "process 'visit-loop' has no results for KPI 'speed'; it has: "
                                          "satisfaction"),
    (["diff", PROCESS, "1", "v7"], f"process 'visit-loop' has no definition version v7; it has v1 ({sha(V1)[:12]}), "
                                   f"v2 ({sha(V2)[:12]})"),
    (["diff", PROCESS, "1", "zz"], f"'zz' is not a version number or a known sha256 prefix (6+ digits); process "
                                   f"'visit-loop' has v1 ({sha(V1)[:12]}), v2 ({sha(V2)[:12]})"),
    (["versions", "nope"], "no process 'nope' in this store; it has: other-process, visit-loop"),
])
def test_bad_input_is_one_line_and_exit_2(trail_url: str, args: list[str], message: str) -> None:
    assert_bad_input(audit(trail_url, *args), message)


def test_a_missing_default_store_is_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PDCA_DATABASE_URL", raising=False)
    assert_bad_input(pdca("audit", "log"), f"no audit store found in {tmp_path.resolve()} or the folders above it "
                                           "(none has .pdca/pdca.db, and no pdca.toml or pyproject.toml marks a "
                                           "project root). Name the store with --db URL or $PDCA_DATABASE_URL, or "
                                           "run this in your project's folder (where `pdca run` keeps it)")
    assert not (tmp_path / ".pdca" / "pdca.db").exists()
    assert_bad_input(pdca("audit", "verify", "--db", f"sqlite:///{tmp_path / 'typo.db'}"),
                     f"no audit store at {tmp_path / 'typo.db'}: the SQLite file does not exist")


# ----- show ------------------------------------------------------------------------------------
def test_show_a_cycle_whole(trail_url: str) -> None:
    code, stdout, _ = audit(trail_url, "show", PROCESS, "2")
    assert code == 0
    assert "visit-loop · cycle 2 completed · trigger manual · definition v1" in stdout
    assert "started by alice at" in stdout and "reason: monthly review" in stdout
    assert "Plan inputs (recorded on its start event; carried over from cycle 1)" in stdout
    assert "planned_in_cycle: 2" in stdout and "visits: 2" in stdout  # a step's outputs, as key: value lines
    assert re.search(r"satisfaction +│ +4\.00 │ >= 4\.2 +│ missed", stdout)  # the KPI table (a score: two decimals)
    assert "more_visits_when_missed │ yes" in stdout and "param visits: 2 -> 3" in stdout  # decision, effect
    assert "satisfaction 4 vs >= 4.2 (missed)" in stdout  # the numbers it fired on
    assert "visit-loop#2/call_back │ opened" in stdout
    diff = stdout[stdout.index("Carry-over in vs out"):]
    assert "│ param         │ visits" in diff and "│ 2  " in diff and "│ 3 " in diff
    assert "action opened │ visit-loop#2/call_back" in diff
    assert "events, seq" in stdout


def test_show_a_cycle_that_closed_an_action_and_one_that_failed(trail_url: str) -> None:
    code, stdout, _ = audit(trail_url, "show", PROCESS, "3")
    assert code == 0
    assert "started by bob" in stdout and "re-run after the call-backs" in stdout
    assert "open -> done" in stdout and "customers called back" in stdout
    assert "action closed │ visit-loop#2/call_back" in stdout
    code, stdout, _ = audit(trail_url, "show", PROCESS, "5")
    assert code == 0
    assert "cycle 5 failed" in stdout and "error: step 'serve': the delivery system was unreachable" in stdout
    assert "No carry-over: the cycle did not complete" in stdout


# ----- kpis, versions, diff ---------------------------------------------------------------------
def test_kpis_across_cycles_with_the_target_in_force(trail_url: str) -> None:
    code, stdout, _ = audit(trail_url, "kpis", PROCESS)
    assert code == 0
    rows = [line.split("│")[1:8] for line in stdout.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row[:1] + row[3:6]] for row in rows] == [
        ["1", "3.80", ">= 4.2", "missed"], ["2", "4.00", ">= 4.2", "missed"], ["3", "4.20", ">= 4.2", "met"],
        ["4", "4.20", ">= 4.3", "missed"]]  # a score (1-5): two decimals
    assert "met 1 of 4 cycle(s); last 3: missed, met, missed" in stdout
    code, stdout, _ = audit(trail_url, "kpis", PROCESS, "--format", "csv")
    assert code == 0 and stdout.splitlines()[0] == ("kpi,cycle,version,finished_at,actual,target_min,target_max,"
                                                    "status,delta,unit,signals")
    code, stdout, _ = audit(trail_url, "kpis", PROCESS, "--format", "json")
    assert [point["version"] for point in json.loads(stdout)] == [1, 1, 1, 2]


def test_versions_list_first_and_last_cycle(trail_url: str) -> None:
    code, stdout, _ = audit(trail_url, "versions", PROCESS)
    assert code == 0
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in stdout.splitlines() if line.startswith("│")]
    assert [(row[0], row[1], row[3], row[4], row[5], row[6]) for row in rows] == [
        ("v1", sha(V1)[:12], "alice", "3", "1", "3"), ("v2", sha(V2)[:12], "alice", "2", "4", "5")]


def test_diff_is_semantic_annotated_with_kpis_and_unified(trail_url: str) -> None:
    code, stdout, _ = audit(trail_url, "diff", PROCESS, "v1", sha(V2)[:8])
    assert code == 0
    changes = [[cell.strip() for cell in line.split("│")[1:-1]] for line in
               stdout[stdout.index("What changed"):stdout.index("KPI results")].splitlines() if line.startswith("│")]
    assert changes == [["step added", "audit_sample", "-", "do · testing.plan_visits"],
                       ["target", "satisfaction", ">= 4.2", ">= 4.3"], ["param", "visits", "1", "2"]]
    assert "#3: 4.2 vs >= 4.2 met" in stdout and "#4: 4.2 vs >= 4.3 missed" in stdout
    assert "--- visit-loop v1" in stdout and "-    target: {min: 4.2}" in stdout and "+    target: {min: 4.3}" in stdout


def test_diff_of_a_version_with_itself(trail_url: str) -> None:
    code, stdout, _ = audit(trail_url, "diff", PROCESS, "2", "2")
    assert code == 0 and "The two versions are identical." in stdout
