"""`pdca init [DIR]`: the project it writes validates as written, and nothing is ever overwritten."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from pdcaflow.engine.cli.init_project import ABOUT, TEMPLATE, template_files
from tests.conftest import run_pdca

FILES = ["README.md", "pdca.toml", "support-requests.yaml", "support_tasks.py", "data/requests.csv",
         ".pdca/schema.json"]


def _written(folder: Path) -> list[str]:
    return sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())


def test_init_writes_a_project_that_validates_with_no_diagnostics(tmp_path: Path) -> None:
    result = run_pdca("init", "demo-project", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    project = tmp_path / "demo-project"
    assert _written(project) == sorted(FILES)
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ") and "." in line]
    assert listed[:len(FILES)] == FILES  # every file named, with what it is for
    assert "  cd demo-project" in result.stdout.splitlines()
    assert max(map(len, result.stdout.splitlines())) <= 80
    checked = run_pdca("validate", "support-requests.yaml", "--format", "json", cwd=project)
    report = json.loads(checked.stdout)
    assert (checked.returncode, report["ok"], report["diagnostics"]) == (0, True, [])
    assert report["files"] == ["support-requests.yaml"]


def test_the_files_are_the_template_and_short_enough_to_read(tmp_path: Path) -> None:
    assert run_pdca("init", cwd=tmp_path).returncode == 0  # no DIR: the current folder
    for name in template_files():
        assert (tmp_path / name).read_bytes() == (TEMPLATE / name).read_bytes()
        too_wide = [line for line in (tmp_path / name).read_text("utf-8").splitlines() if len(line) > 80]
        assert too_wide == [], name
    assert len((tmp_path / "README.md").read_text("utf-8").splitlines()) == 5
    assert set(template_files()) | {".pdca/schema.json"} == set(ABOUT)  # init says what each file is


def test_the_definition_has_every_phase_a_kpi_from_a_csv_without_sql_and_a_policy(tmp_path: Path) -> None:
    assert run_pdca("init", str(tmp_path / "p")).returncode == 0
    definition = yaml.safe_load((tmp_path / "p" / "support-requests.yaml").read_text("utf-8"))

    assert [step["phase"] for step in definition["steps"]] == ["plan", "do", "check", "check", "act"]
    measure = next(step for step in definition["steps"] if step["uses"] == "data.query")
    assert set(measure["with"]) == {"file", "aggregate"}  # file mode: no connection, no SQL
    assert definition["kpis"][0]["source"] == "measure.median_hours"
    assert len(definition["policies"]) == 1
    assert "support.answer_requests" in {step["uses"] for step in definition["steps"]}  # the own task


def test_the_editor_schema_written_for_the_project_accepts_its_definition(tmp_path: Path) -> None:
    assert run_pdca("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "support-requests.yaml").read_text("utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=.pdca/schema.json"
    schema = json.loads((tmp_path / ".pdca/schema.json").read_text("utf-8"))

    jsonschema.validate(yaml.safe_load(text), schema)  # the own task's `uses:` and `with:` included
    broken = yaml.safe_load(text)
    broken["steps"][1]["with"]["agent"] = 2
    assert not jsonschema.validators.validator_for(schema)(schema).is_valid(broken)


def test_init_refuses_a_folder_that_has_any_of_its_files_and_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "requests.csv").write_text("mine\n", encoding="utf-8")
    (tmp_path / "pdca.toml").write_text("tasks = []\n", encoding="utf-8")

    result = run_pdca("init", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: this folder already has files pdca init writes, and it never overwrites one:",
        "  pdca.toml", "  data/requests.csv", "Choose a new or empty folder, e.g. pdca init my-process"]
    assert _written(tmp_path) == ["data/requests.csv", "pdca.toml"]
    assert (tmp_path / "data" / "requests.csv").read_text("utf-8") == "mine\n"


def test_init_twice_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    assert run_pdca("init", "demo", cwd=tmp_path).returncode == 0
    before = {name: (tmp_path / "demo" / name).read_bytes() for name in FILES}

    again = run_pdca("init", "demo", cwd=tmp_path)

    assert again.returncode == 2
    assert again.stderr.startswith("error: demo already has files pdca init writes")
    assert [line.strip() for line in again.stderr.splitlines()[1:-1]] == FILES
    assert {name: (tmp_path / "demo" / name).read_bytes() for name in FILES} == before


def test_init_into_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")

    result = run_pdca("init", "notes.txt", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == ("error: notes.txt is a file, not a folder: name a new or empty folder, "
                                     "e.g. pdca init my-process")
