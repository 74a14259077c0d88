"""The project sandbox for paths (issue 13, findings 1 and 2): a definition touches nothing outside its project.

Real project folders in tmp_path (a pdca.toml, files, symlinks), the real `pdca
validate` command, and a real cycle on a SQLite store for the run-time check.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TypedDict

import pytest
import sqlalchemy as sa

from pdcaflow.engine.definition.compile import compile_plan
from pdcaflow.engine.runtime.cycle import begin_cycle
from pdcaflow.engine.definition.compile import planned_step
from pdcaflow.engine.definition.model import Step
from pdcaflow.engine.runtime.step_runner import StepError, call_task
from pdcaflow.engine.store import open_store
from pdcaflow.engine.definition.validate import validate_file, validate_paths
from pdcaflow.tasks.sdk.project_config import find_config
from pdcaflow.tasks.sdk.registry import ProjectSource, StepContext, describe, registry
from pdcaflow.tasks.sdk.sources import read_table
from tests.conftest import run_pdca
from tests.engine.store.conftest import db_url, pg_database  # noqa: F401  (real SQLite and PostgreSQL)

DEFINITION = """\
id: sandbox-{name}
title: Paths stay in the project
owner: lab
kpis:
  - id: rows
    unit: rows
    target: {{min: 0}}
    source: count.row_count
steps:
  - id: count
    phase: check
    uses: data.query
    with:
      file: {file}
      aggregate: {{n: {{count: "*"}}}}
  - id: evaluate
    phase: check
    uses: kpi.check
    needs: [count]
  - id: improve
    phase: act
    uses: improve.apply_policies
  - id: tell
    phase: act
    uses: notify.send
    with:
      to: lab-lead
      subject: "cycle ${{{{ cycle.number }}}}"
      outbox: {outbox}
"""
FILE_LINE, OUTBOX_LINE = 14, 29  # where `file:` and `outbox:` stand in DEFINITION
SECRET = "SECRET-CONTENT-OF-A-FILE-OUTSIDE"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project folder with a pdca.toml (an allowed folder `shared` outside it) and one data file."""
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    (root / "data" / "audits.csv").write_text("ward,ok\nA,1\nB,0\n", encoding="utf-8")
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "audits.csv").write_text("ward,ok\nC,1\n", encoding="utf-8")
    (root / "pdca.toml").write_text('[folders]\nshared = "../shared"\n', encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.csv").write_text(f"secret\n{SECRET}\n", encoding="utf-8")
    return root


def write(project: Path, file: str = "data/audits.csv", outbox: str = ".pdca/outbox.jsonl", name: str = "p") -> Path:
    path = project / f"{name}.yaml"
    path.write_text(DEFINITION.format(name=name, file=file, outbox=outbox), encoding="utf-8")
    return path


@pytest.mark.parametrize(("file", "outbox", "code", "line", "message"), [
    ("data/audits.csv", "../../outside/x", "PDCA260", OUTBOX_LINE, r"'\.\./\.\./outside/x' resolves to .*outside/x, "
                                                                   r"outside the project .*project or the work folder"),
    ("data/audits.csv", "/tmp/x", "PDCA260", OUTBOX_LINE, r"'/tmp/x' resolves to /tmp/x, outside the project"),
    ("data/audits.csv", "~/.bashrc/../../../../etc/profile", "PDCA260", OUTBOX_LINE, r"resolves to .*/etc/profile, outside the project"),
    ("/etc/passwd", ".pdca/outbox.jsonl", "PDCA260", FILE_LINE, r"'/etc/passwd' resolves to /etc/passwd, outside"),
    ("sqlite:///x.db", ".pdca/outbox.jsonl", "PDCA261", FILE_LINE, r"'sqlite:///x\.db' is a URL or a `scheme:`"),
    ('"postgresql://qa@db/audits"', ".pdca/outbox.jsonl", "PDCA261", FILE_LINE, r"is a URL or a `scheme:`"),
    ("file:data/audits.csv", ".pdca/outbox.jsonl", "PDCA261", FILE_LINE, r"is a URL or a `scheme:`, not a path"),
    ("connection:audits", ".pdca/outbox.jsonl", "PDCA261", FILE_LINE, r"is a URL or a `scheme:`"),
    ("<elsewhere>/audits.csv", ".pdca/outbox.jsonl", "PDCA262", FILE_LINE,
     r"'<elsewhere>/audits\.csv' names no folder of the project config \(allowed: <shared>\)"),
    ("<shared>/../outside/secret.csv", ".pdca/outbox.jsonl", "PDCA260", FILE_LINE,
     r"outside the folder <shared> = .*shared"),
], ids=["outbox-up-and-out", "outbox-absolute", "outbox-tilde-is-no-escape-hatch", "file-etc-passwd",
        "file-sqlite-url", "file-postgresql-url", "file-scheme", "file-connection", "unknown-folder",
        "allowed-folder-left"])
def test_validate_refuses_a_path_outside_the_project_at_its_line(
        project: Path, file: str, outbox: str, code: str, line: int, message: str) -> None:
    path = write(project, file, outbox)
    result = run_pdca("validate", str(path), cwd=project.parent)
    assert result.returncode == 2, result.stdout + result.stderr
    column = 15 if line == OUTBOX_LINE else 13
    assert f"{path}:{line}:{column}: {code} " in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    problems = validate_paths([path]).diagnostics
    assert [(d.code, d.line) for d in problems] == [(code, line)]
    assert re.search(message, problems[0].message), problems[0].message
    assert problems[0].hint


def test_paths_inside_the_project_an_allowed_folder_or_the_work_folder_validate(project: Path) -> None:
    for file in ("data/audits.csv", "./data/../data/audits.csv", str(project / "data" / "audits.csv"),
                 "<shared>/audits.csv"):
        assert validate_paths([write(project, file, "reports/not-yet-there/outbox.jsonl")]).diagnostics == [], file


def test_a_missing_input_file_is_reported_at_its_line_relative_to_the_project_root(
        project: Path, tmp_path: Path) -> None:
    """Issue 15: found by `pdca validate`, not at run time after the approval; the root decides, not the cwd."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "data").mkdir(parents=True)
    (elsewhere / "data" / "claims.csv").write_text("id\n1\n", encoding="utf-8")  # a decoy beside the cwd
    path = write(project, "data/claims.csv", name="missing")
    result = run_pdca("validate", str(path), cwd=elsewhere)
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"{path}:{FILE_LINE}:13: PDCA263 `file` of task 'data.query': 'data/claims.csv' does not exist "
            f"(no {project / 'data' / 'claims.csv'})") in result.stderr, result.stderr
    assert "relative to the project root" in result.stderr
    found = run_pdca("validate", str(write(project, "data/audits.csv", name="found")), cwd=elsewhere)
    assert found.returncode == 0, found.stderr


def test_a_symlink_out_of_the_project_is_refused_at_validation(project: Path) -> None:
    (project / "data" / "linked.csv").symlink_to(project.parent / "outside" / "secret.csv")
    (project / "escape").symlink_to(project.parent / "outside", target_is_directory=True)
    problems = validate_paths([write(project, "data/linked.csv", "escape/new/outbox.jsonl")]).diagnostics
    assert [(d.code, d.line) for d in problems] == [("PDCA260", FILE_LINE), ("PDCA260", OUTBOX_LINE)]
    assert "through a symlink" in problems[0].message and "outside/secret.csv" in problems[0].message


def _trail_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.glob("pdca.db*"))


def test_a_symlink_made_after_validation_fails_the_step_and_records_no_content(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    plan = compile_plan(validate_file(write(project, "data/audits.csv", name="late")))
    (project / "data" / "audits.csv").unlink()  # the definition validated; now the file turns into a way out
    (project / "data" / "audits.csv").symlink_to(tmp_path / "outside" / "secret.csv")
    store_folder = tmp_path / "store"
    store_folder.mkdir()
    store = open_store(f"sqlite:///{store_folder / 'pdca.db'}")
    try:
        cycle = begin_cycle(plan, store, registry(), actor="tester", reason="sandbox test")
        with pytest.raises(StepError, match=r"^step 'count': `with\.file` refused: 'data/audits\.csv' resolves to "
                                            r".*outside/secret\.csv through a symlink, outside the project "):
            cycle.execute_step("count", 1)
        cycle.fail("the step failed")
    finally:
        store.dispose()
    trail = _trail_bytes(store_folder)
    assert b"`with.file` refused" in trail  # the failure is recorded ...
    assert SECRET.encode() not in trail  # ... and nothing of the file's content


def test_an_expression_cannot_carry_a_path_out_at_run_time(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    text = write(project).read_text("utf-8").replace("kpis:", "params:\n  box: ../outside/x.jsonl\nkpis:", 1)
    path = project / "expr.yaml"
    path.write_text(text.replace("outbox: .pdca/outbox.jsonl", "outbox: ${{ params.box }}")
                    .replace("sandbox-p", "sandbox-expr"), encoding="utf-8")
    plan = compile_plan(validate_file(path))
    store = open_store(f"sqlite:///{project / 'pdca.db'}")
    try:
        cycle = begin_cycle(plan, store, registry(), actor="tester", reason="sandbox test")
        for step in ("count", "evaluate", "improve"):
            cycle.execute_step(step, 1)
        with pytest.raises(StepError, match=r"^step 'tell': `with\.outbox` refused: '\.\./outside/x\.jsonl' "
                                            r"resolves to .*outside/x\.jsonl, outside the project"):
            cycle.execute_step("tell", 1)
    finally:
        store.dispose()
    assert not (project.parent / "outside" / "x.jsonl").exists()


def test_an_allowed_folder_is_read_through_its_name(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    plan = compile_plan(validate_file(write(project, "<shared>/audits.csv", name="shared")))
    store = open_store(f"sqlite:///{project / 'pdca.db'}")
    try:
        outputs = begin_cycle(plan, store, registry(), actor="tester", reason="sandbox test").execute_step("count", 1)
    finally:
        store.dispose()
    assert outputs["n"] == 1  # the one row of shared/audits.csv


def test_a_relative_file_is_read_from_the_project_root_whatever_the_working_folder(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 15: one path rule; run time resolves against the project root too, and the task gets the absolute path."""
    plan = compile_plan(validate_file(write(project, "data/audits.csv", name="cwd")))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "data").mkdir(parents=True)
    (elsewhere / "data" / "audits.csv").write_text("ward,ok\nZ,1\n", encoding="utf-8")  # one row: a decoy
    monkeypatch.chdir(elsewhere)
    store = open_store(f"sqlite:///{tmp_path / 'cwd.db'}")
    try:
        outputs = begin_cycle(plan, store, registry(), actor="tester", reason="sandbox test").execute_step("count", 1)
    finally:
        store.dispose()
    assert outputs["n"] == 2  # the two rows of project/data/audits.csv
    spec = describe(count_rows, "lab.count_rows")
    step = Step.model_validate({"id": "count", "phase": "check", "uses": "lab.count_rows",
                                "with": {"source": "data/audits.csv"}})
    counted = call_task(planned_step(step), spec, {}, StepContext("own-task", 1, config=find_config(project)))
    assert counted == {"rows": 2, "source": str(project.resolve() / "data" / "audits.csv")}
    assert os.getcwd() == str(elsewhere)


class Counted(TypedDict):
    rows: int
    source: str


def count_rows(*, source: ProjectSource, table: str = "audits") -> Counted:
    """A project's own task: it marks `source` as a path or a named database and gets the sandbox too."""
    return {"rows": len(read_table(source, table)), "source": source}


def test_a_users_own_task_reads_a_named_connection_on_each_dialect(
        db_url: str, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.chdir(project)
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE audits (ward VARCHAR(8), ok INTEGER)")
        connection.exec_driver_sql("INSERT INTO audits VALUES ('A', 1), ('B', 0), ('C', 1)")
    engine.dispose()
    monkeypatch.setenv("PDCA_CONNECTION_AUDITS", db_url)
    spec = describe(count_rows, "lab.count_rows")
    context = StepContext("own-task", 1, config=find_config(project))
    step = Step.model_validate({"id": "count", "phase": "check", "uses": "lab.count_rows",
                                "with": {"source": "connection:audits"}})
    assert call_task(planned_step(step), spec, {}, context) == {"rows": 3, "source": db_url}
    for value, refused in ((db_url + "x", "is a URL or a `scheme:`, not a path"),
                           ("connection:crm", "no connection named 'crm'"),
                           ("../outside/secret.csv", "resolves to .*outside/secret.csv, outside the project")):
        step = Step.model_validate({"id": "count", "phase": "check", "uses": "lab.count_rows",
                                    "with": {"source": value}})
        with pytest.raises(StepError, match=rf"^step 'count': `with\.source` refused: .*{refused}"):
            call_task(planned_step(step), spec, {}, context)
    step = Step.model_validate({"id": "count", "phase": "check", "uses": "lab.count_rows",
                                "with": {"source": "data", "table": "audits"}})
    assert call_task(planned_step(step), spec, {}, context)["rows"] == 2  # data/audits.csv, inside the project
