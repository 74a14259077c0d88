"""The `pdca` command as users run it: exit codes, output forms, and no prefect on the fast path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import DEFINITIONS, REPO, run_pdca


def test_validate_shipped_definitions() -> None:
    result = run_pdca("validate", "definitions/")
    assert result.returncode == 0, result.stderr
    for name in ("retail-customer-service.yaml", "service-quality-system.yaml", "complaint-handling.yaml"):
        assert f"ok  definitions/{name}" in result.stdout
    assert "files valid" in result.stdout


def test_validate_defaults_to_definitions_folder() -> None:
    result = run_pdca("validate")
    assert result.returncode == 0, result.stderr
    assert "retail-customer-service" in result.stdout


def test_validate_json_lists_every_problem(write_definition) -> None:  # type: ignore[no-untyped-def]
    text = (REPO / "tests/fixtures/valid/minimal.yaml").read_text(encoding="utf-8")
    broken = text.replace("phase: do\n", "phase: doo\n").replace("add: 1", "add: one")
    path = write_definition(broken)
    result = run_pdca("validate", "--format", "json", str(path))
    assert result.returncode == 2
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["invalid_files"] == [str(path)]
    found = {(d["code"], d["line"], d["column"], d["key"]) for d in payload["diagnostics"]}
    assert found == {("PDCA104", 14, 12, "steps[0].phase"), ("PDCA109", 34, 46, "policies[0].change.add")}


def test_shape_and_semantic_problems_of_different_files_are_all_reported(tmp_path: Path) -> None:
    good = (REPO / "tests/fixtures/valid/minimal.yaml").read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(good.replace("uses: feedback.inspect", "uses: feedback.inspct"), "utf-8")
    (tmp_path / "b.yaml").write_text(good.replace("id: minimal", "id: other").replace("phase: do", "phase: doo"), "utf-8")
    result = run_pdca("validate", str(tmp_path))
    assert result.returncode == 2
    assert "a.yaml:22:11: PDCA202 step 'check_feedback' uses unknown task 'feedback.inspct'" in result.stderr
    assert "hint: did you mean 'feedback.inspect'?" in result.stderr
    assert "b.yaml:14:12: PDCA104" in result.stderr
    assert "2 errors in 2 of 2 files" in result.stderr


def test_bad_arguments_exit_2_without_traceback(tmp_path: Path) -> None:
    for args in (["validate", str(tmp_path / "missing.yaml")], ["validate", str(tmp_path)],
                 ["validate", "--format", "xml"], ["graph", str(tmp_path)], ["tasks", "show", "no.such"]):
        result = run_pdca(*args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr and result.stderr.strip(), args


def test_tasks_lists_and_shows() -> None:
    listing = run_pdca("tasks")
    assert listing.returncode == 0
    assert "customers.register" in listing.stdout and "kpi.check" in listing.stdout
    shown = run_pdca("tasks", "show", "demand.forecast")
    assert shown.returncode == 0
    assert "outputs:" in shown.stdout and "wape" in shown.stdout


# Never imported by `pdca validate`, `graph`, `schema` or `tasks`: Prefect and the audit store, and the
# task library's data stack (pandas, numpy and pyarrow take about 0.45 s to import; reading a task's
# signature needs none of them, so each task module imports its work only when the task runs).
FAST_PATH_NEVER_IMPORTS = ("prefect", "sqlalchemy", "flows", "pandas", "numpy", "pyarrow", "matplotlib")


def test_fast_commands_never_import_prefect_or_the_store() -> None:
    probe = (
        "import sys\n"
        "from pdcaflow.engine.cli.app import app\n"
        "from pdcaflow.tasks.sdk.registry import registry\n"
        "for args in (['validate', 'definitions'], ['graph', 'definitions/retail-customer-service.yaml'],"
        " ['schema', '--output', '-'], ['tasks']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit as exit_:\n"
        "        assert exit_.code in (0, None), (args, exit_.code)\n"
        "assert registry()\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({FAST_PATH_NEVER_IMPORTS!r}))\n"
        "print('HEAVY-MODULES', loaded)\n"
    )
    environment = {name: value for name, value in os.environ.items() if name != "PDCA_TASK_MODULES"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False,
                            env=environment)
    assert result.returncode == 0, result.stderr
    loaded = next(line for line in result.stdout.splitlines() if line.startswith("HEAVY-MODULES"))
    assert loaded == "HEAVY-MODULES []"  # neither Prefect, the store nor pandas/numpy/pyarrow on the fast path


def test_installed_console_script_runs() -> None:
    script = Path(sys.executable).parent / "pdca"
    result = subprocess.run([str(script), "validate", str(DEFINITIONS)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_github_annotations(write_definition) -> None:  # type: ignore[no-untyped-def]
    text = (REPO / "tests/fixtures/valid/minimal.yaml").read_text(encoding="utf-8")
    path = write_definition(text.replace("uses: feedback.inspect", "uses: feedback.inspct"))
    result = run_pdca("validate", "--format", "github", str(path))
    assert result.returncode == 2
    line = result.stdout.strip()
    assert line.startswith(f"::error file={path},line=22,col=11,title=PDCA202::step 'check_feedback'")
    assert "%0Ahint: did you mean 'feedback.inspect'?" in line


def test_run_requires_a_reason_and_records_nothing_without_one(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from pdcaflow.engine.cli.app import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PDCA_REASON", raising=False)
    definition = str(REPO / "tests/fixtures/runnable/loop.yaml")
    for args in (["run", definition], ["run", definition, "--reason", "   "]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2
        assert result.stderr.strip() == ('error: pdca run needs --reason TEXT (or $PDCA_REASON): say why these '
                                         'cycles are run, e.g. --reason "monthly review"')
    assert not (tmp_path / ".pdca").exists()  # no store opened, nothing recorded
    accepted = CliRunner().invoke(app, ["run", str(tmp_path / "missing.yaml")], env={"PDCA_REASON": "from the env"})
    assert accepted.exit_code == 2 and "--reason" not in accepted.stderr  # past the reason, stopped at the file
