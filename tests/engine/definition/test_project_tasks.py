"""Users' own tasks: a project's pdca.toml / [tool.pdca], installed entry points, and what goes wrong with them.

Each test writes a real project folder (config, task module, definition) under
``tmp_path``; module names are unique per test because Python caches imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from pdcaflow.engine.definition.validate import validate_paths
from tests.conftest import FIXTURES, REPO, run_pdca
from tests.wheel_builder import build_wheel

DEFINITION = """\
id: {process}
title: Own task ({process})
owner: lab
kpis:
  - id: score
    unit: points
    target: {{min: 5}}
    source: measure.score
steps:
  - id: measure
    phase: do
    uses: {task}
    with: {{points: 7}}
  - id: evaluate
    phase: check
    uses: kpi.check
    needs: [measure]
  - id: improve
    phase: act
    uses: improve.apply_policies
"""

TASK_MODULE = '''\
from typing import TypedDict

import pdcaflow


class Score(TypedDict):
    score: float


@pdcaflow.task("{task}")
def measure(points: int, bonus: float = 0.0) -> Score:
    """Score the lab's points (a project's own task)."""
    return {{"score": points + bonus}}
'''


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _project(root: Path, module: str, source: str, task: str, config: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / f"{module}.py").write_text(source, encoding="utf-8")
    (root / "pdca.toml").write_text(config or f'tasks = ["{module}"]\npaths = ["."]\n', encoding="utf-8")
    definition = root / "process.yaml"
    definition.write_text(DEFINITION.format(process=module.replace("_", "-"), task=task), encoding="utf-8")
    return definition


def test_a_config_task_validates_lists_and_shows(tmp_path: Path) -> None:
    module = _unique("lab_tasks")
    task = f"{module}.measure"
    definition = _project(tmp_path / "lab", module, TASK_MODULE.format(task=task), task)
    report = validate_paths([definition])
    assert report.ok, report.diagnostics

    listing = run_pdca("tasks", "--project", str(definition))
    assert listing.returncode == 0, listing.stderr
    config = tmp_path / "lab" / "pdca.toml"
    assert f"{task}  (config {config.resolve()}: {module}, any phase)" in listing.stdout
    assert "  with: points, bonus?" in listing.stdout and "  outputs: score" in listing.stdout
    shown = run_pdca("tasks", "show", task, "--project", str(tmp_path / "lab"))
    assert shown.returncode == 0, shown.stderr
    assert "Score the lab's points" in shown.stdout and f"from: config {config.resolve()}" in shown.stdout
    assert "bonus: float  (default 0.0)" in shown.stdout


def test_a_config_task_is_checked_like_a_builtin(tmp_path: Path) -> None:
    module = _unique("lab_checked")
    task = f"{module}.measure"
    definition = _project(tmp_path, module, TASK_MODULE.format(task=task), task)
    definition.write_text(definition.read_text("utf-8").replace("{points: 7}", "{points: seven}")
                          .replace("measure.score", "measure.scores"), "utf-8")
    codes = sorted(d.code for d in validate_paths([definition]).diagnostics)
    assert codes == ["PDCA210", "PDCA214"]  # the parameter's type and the declared outputs


def test_a_task_of_another_project_is_unknown_here(tmp_path: Path) -> None:
    module = _unique("lab_other")
    task = f"{module}.measure"
    theirs = _project(tmp_path / "theirs", module, TASK_MODULE.format(task=task), task)
    assert validate_paths([theirs]).ok
    mine = tmp_path / "mine" / "process.yaml"
    mine.parent.mkdir()
    (mine.parent / "pdca.toml").write_text("", encoding="utf-8")
    mine.write_text(theirs.read_text("utf-8").replace("id: lab-other", "id: mine"), "utf-8")
    assert [d.code for d in validate_paths([mine]).diagnostics] == ["PDCA202"]


@pytest.mark.parametrize(("source", "first_line"), [
    ("import numpy_that_is_not_installed\n", "ModuleNotFoundError: No module named 'numpy_that_is_not_installed'"),
    ("def broken(:\n    pass\n", "SyntaxError: "),
    ("raise RuntimeError('the lab database is down\\nsecond line')\n", "RuntimeError: the lab database is down"),
], ids=["missing-dependency", "syntax-error", "exception-at-import"])
def test_a_module_that_fails_to_import_is_a_located_diagnostic(tmp_path: Path, source: str, first_line: str) -> None:
    module = _unique("lab_broken")
    definition = _project(tmp_path, module, source, "kpi.check")
    report = validate_paths([definition])
    config = (tmp_path / "pdca.toml").resolve()
    problems = [d for d in report.diagnostics if d.code == "PDCA011"]
    assert len(problems) == 1, report.diagnostics
    problem = problems[0]
    assert (problem.path, problem.line, problem.column) == (str(config), 1, 10)  # the module's name in pdca.toml
    assert problem.message.startswith(f"task module '{module}' (config {config}) failed to import: {first_line}")
    assert "second line" not in problem.message and f'import {module}' in problem.hint
    if not first_line.startswith("ModuleNotFoundError"):  # the command line once is enough
        return
    result = run_pdca("validate", str(definition))
    assert result.returncode == 2
    assert f"{config}:1:10: PDCA011 task module '{module}'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    listing = run_pdca("tasks", "--project", str(tmp_path))
    assert listing.returncode == 2 and "PDCA011" in listing.stderr and "kpi.check" in listing.stdout


def test_a_name_clash_names_both_origins(tmp_path: Path) -> None:
    module = _unique("lab_clash")
    definition = _project(tmp_path / "a", module, TASK_MODULE.format(task="kpi.check"), "kpi.check")
    messages = [d.message for d in validate_paths([definition]).diagnostics if d.code == "PDCA013"]
    assert messages == [f"task 'kpi.check' is registered twice: by pdcaflow.engine.pdca.check (builtin) and by {module} "
                        f"(config {(tmp_path / 'a' / 'pdca.toml').resolve()})"]

    first, second = _unique("lab_one"), _unique("lab_two")
    task = f"{first}.measure"
    root = tmp_path / "b"
    _project(root, second, TASK_MODULE.format(task=task), task)
    definition = _project(root, first, TASK_MODULE.format(task=task), task,
                          config=f'tasks = ["{first}", "{second}"]\npaths = ["."]\n')
    clash = [d for d in validate_paths([definition]).diagnostics if d.code == "PDCA013"]
    assert len(clash) == 1 and f"by {first} (config" in clash[0].message and f"by {second} (config" in clash[0].message
    assert clash[0].line == 1 and clash[0].column == len(f'tasks = ["{first}", ') + 1  # the second module's name


def test_an_invalid_task_name_is_reported(tmp_path: Path) -> None:
    module = _unique("lab_badname")
    definition = _project(tmp_path, module, TASK_MODULE.format(task="Lab.Measure"), "kpi.check")
    problems = [d.message for d in validate_paths([definition]).diagnostics if d.code == "PDCA014"]
    assert len(problems) == 1
    assert "'Lab.Measure'" in problems[0] and "is not a valid task name" in problems[0]


@pytest.mark.parametrize(("config", "message", "line"), [
    ('task = ["x"]\n', "unknown key 'task' in the project config", 1),
    ('tasks = "x"\n', "tasks: a list of strings", 1),
    ('paths = ["."]\ntasks = ["a" "b"]\n', "the project config is not valid TOML", 2),
    ('[connections]\naudits = "postgresql://qa:s3cret@db/audits"\n', "the URL holds a password in clear text", 2),
    ('tasks = []\n[connections.audits]\nurl = "env:AUDITS_URL"\nallow_writes = true\n',
     "connections.audits: a table with `url` and optionally allow_write and allow_superuser = true/false", 2),
    ('[connections.audits]\nurl = "env:AUDITS_URL"\nallow_superuser = "yes"\n', "allow_superuser = true/false", 1),
], ids=["unknown-key", "not-a-list", "not-toml", "password-in-url", "connection-key-typo", "trust-not-a-boolean"])
def test_a_malformed_config_is_located(tmp_path: Path, config: str, message: str, line: int) -> None:
    (tmp_path / "pdca.toml").write_text(config, encoding="utf-8")
    definition = tmp_path / "minimal.yaml"
    definition.write_text((FIXTURES / "valid/minimal.yaml").read_text("utf-8"), "utf-8")
    problems = [d for d in validate_paths([definition]).diagnostics]
    assert [(d.code, d.line) for d in problems] == [("PDCA012", line)]
    assert message in problems[0].message and problems[0].path == str((tmp_path / "pdca.toml").resolve())


def test_pyproject_tool_pdca_is_read_and_the_search_stops_at_the_project_root(tmp_path: Path) -> None:
    module = _unique("lab_pyproject")
    task = f"{module}.measure"
    root = tmp_path / "project"
    definition = _project(root / "definitions", module, TASK_MODULE.format(task=task), task)
    (root / "definitions" / "pdca.toml").unlink()
    (root / "definitions" / f"{module}.py").rename(root / f"{module}.py")
    (root / "pyproject.toml").write_text(f'[project]\nname = "x"\n[tool.pdca]\ntasks = ["{module}"]\n', "utf-8")
    assert validate_paths([definition]).ok
    (tmp_path / "pdca.toml").write_text('tasks = ["never_imported"]\n', "utf-8")  # above the root: not read
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n', "utf-8")
    assert [d.code for d in validate_paths([definition]).diagnostics] == ["PDCA202"]


def test_a_definition_cannot_name_an_import_path(write_definition) -> None:  # type: ignore[no-untyped-def]
    text = (FIXTURES / "valid/minimal.yaml").read_text("utf-8")
    for uses in ("os.system", "subprocess.run", "pdcaflow.tasks.sdk.sources.read_table", "builtins.eval"):
        path = write_definition(text.replace("uses: feedback.inspect", f"uses: {uses}"))
        assert [d.code for d in validate_paths([path]).diagnostics] == ["PDCA202"], uses


@pytest.mark.slow
def test_an_installed_entry_point_task_is_listed_and_runs_in_a_cycle(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from pdcaflow.flows.runner import run_cycles

    dist, package = "lab-pdca-tasks", _unique("lab_pdca")
    task = "lab.measure"
    wheel = build_wheel(tmp_path, dist, "1.0", {
        f"{package}/__init__.py": "",
        f"{package}/tasks.py": TASK_MODULE.format(task=task),
    }, {"pdcaflow.tasks": {"lab": f"{package}.tasks"}})
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                    str(site), str(wheel)], check=True, capture_output=True, timeout=120)
    assert (site / f"{dist.replace('-', '_')}-1.0.dist-info" / "entry_points.txt").is_file()
    work = tmp_path / "work"
    work.mkdir()
    (work / "pdca.toml").write_text("", encoding="utf-8")  # a project of its own: nothing but the entry point
    (work / "process.yaml").write_text(DEFINITION.format(process="lab-entry", task=task), "utf-8")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(site), str(REPO))), "COLUMNS": "200"}
    env.pop("PDCA_TASK_MODULES", None)
    listing = subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", "tasks"], cwd=work, env=env, capture_output=True,
                             text=True, timeout=120, check=False)  # the real command, the package on its path
    assert listing.returncode == 0, listing.stderr
    assert f"{task}  (entry point {dist} (lab = {package}.tasks): {package}.tasks, any phase)" in listing.stdout

    # the cycle in this process (a `pdca run` child would start a second embedded Prefect: ~10-30 s more)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr("pdcaflow.tasks.sdk.discovery._ENTRY_POINTS", None)  # read the installed distributions again
    monkeypatch.chdir(work)
    results = run_cycles(work / "process.yaml", 1, actor="tester", db_url=f"sqlite:///{work / 'pdca.db'}",
                         reason="entry-point test")
    assert results[0]["kpi_values"]["score"]["actual"] == 7.0 and results[0]["kpi_values"]["score"]["status"] == "met"


def test_an_entry_point_that_fails_to_import_names_the_distribution(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    package = _unique("lab_broken_plugin")
    wheel = build_wheel(tmp_path, "lab-broken-plugin", "2.0", {
        f"{package}/__init__.py": "",
        f"{package}/tasks.py": "import pdcaflow\nraise ImportError('needs the lab SDK, which is not installed')\n",
    }, {"pdcaflow.tasks": {"broken": f"{package}.tasks"}})
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target",
                    str(site), str(wheel)], check=True, capture_output=True, timeout=120)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr("pdcaflow.tasks.sdk.discovery._ENTRY_POINTS", None)  # read the installed distributions again
    definition = tmp_path / "minimal.yaml"
    definition.write_text((FIXTURES / "valid/minimal.yaml").read_text("utf-8"), "utf-8")
    problems = [d for d in validate_paths([definition]).diagnostics]
    assert [(d.code, d.path, d.line) for d in problems] == [("PDCA011", str(definition), 0)]
    assert problems[0].message == (f"task module '{package}.tasks' (entry point lab-broken-plugin (broken = "
                                   f"{package}.tasks)) failed to import: ImportError: needs the lab SDK, which is "
                                   "not installed")


def test_the_schema_written_in_a_project_knows_its_tasks(tmp_path: Path) -> None:
    module = _unique("lab_schema")
    task = f"{module}.measure"
    _project(tmp_path, module, TASK_MODULE.format(task=task), task)
    result = run_pdca("schema", "--output", str(tmp_path / "process.schema.json"))
    assert result.returncode == 0, result.stderr
    schema = json.loads((tmp_path / "process.schema.json").read_text("utf-8"))
    names = [choice["const"] for choice in schema["$defs"]["Step"]["properties"]["uses"]["anyOf"] if "const" in choice]
    assert task in names and "data.query" in names


def test_pdca_config_names_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _unique("lab_explicit")
    task = f"{module}.measure"
    definition = _project(tmp_path / "project", module, TASK_MODULE.format(task=task), task)
    elsewhere = tmp_path / "settings" / "pdca.toml"
    elsewhere.parent.mkdir()
    (tmp_path / "project" / "pdca.toml").rename(elsewhere)
    elsewhere.write_text(f'tasks = ["{module}"]\npaths = ["../project"]\n', encoding="utf-8")
    assert [d.code for d in validate_paths([definition]).diagnostics] == ["PDCA202"]  # not found by the search
    monkeypatch.setenv("PDCA_CONFIG", str(elsewhere))
    assert validate_paths([definition]).ok


def test_definition_text_without_a_file_uses_the_working_folders_config(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """What a deployment carrying the YAML text (pdca deploy) validates with: the worker's project."""
    from pdcaflow.engine.definition.loader import load_definition_text
    from pdcaflow.engine.definition.validate import validate_document

    module = _unique("lab_text")
    task = f"{module}.measure"
    definition = _project(tmp_path, module, TASK_MODULE.format(task=task), task)
    monkeypatch.chdir(tmp_path)
    validated = validate_document(load_definition_text(definition.read_text("utf-8"), path="<deployment lab>"))
    assert validated.definition.steps[0].uses == task
    assert validated.config is not None and validated.config.path == (tmp_path / "pdca.toml").resolve()
