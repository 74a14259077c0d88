"""The project root (issue 15, problem 1): one store per project, whatever folder a command starts in.

The rule (pdcaflow.tasks.sdk.project_root): a definition's root is the folder of the nearest
pdca.toml / pyproject.toml upwards from it, else its own folder; a command without a definition
looks the same way from the working folder, then for a folder upwards that holds .pdca/pdca.db,
else takes the working folder. Read-only commands never create a store. Real folders, the real
`pdca` command (typer's CliRunner), a real SQLite store.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app
from pdcaflow.engine.cli.common import note_other_store, use_project_prefect_home
from pdcaflow.engine.store import open_store, resolve_url
from pdcaflow.flows.settings import embedded_environment
from pdcaflow.tasks.sdk.project_root import definition_root, folder_root
from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.project_config import find_config
from pdcaflow.tasks.sdk.workspace import cycle_dir, work_root
from tests.engine.review.trail import build_trail


def pdca(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "400"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _no_store_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PDCA_DATABASE_URL", "PDCA_CONFIG", "PDCA_WORK_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project folder (pdca.toml) with definitions in a subfolder and a store holding two processes."""
    root = tmp_path / "claims"
    (root / "definitions" / "deep").mkdir(parents=True)
    (root / "pdca.toml").write_text("# the claims project\n", encoding="utf-8")
    store = open_store(resolve_url(None, root))
    try:
        build_trail(store)
    finally:
        store.dispose()
    return root


def test_a_definitions_root_is_its_nearest_config_folder_else_its_own_folder(project: Path, tmp_path: Path) -> None:
    assert definition_root(project / "definitions" / "deep" / "claims.yaml") == project.resolve()
    (tmp_path / "loose").mkdir()
    assert definition_root(tmp_path / "loose" / "p.yaml") == (tmp_path / "loose").resolve()
    pyproject = tmp_path / "py"
    (pyproject / "defs").mkdir(parents=True)
    (pyproject / "pyproject.toml").write_text("[tool.pdca]\ntasks = []\n", encoding="utf-8")
    assert definition_root(pyproject / "defs" / "p.yaml") == pyproject.resolve()
    assert find_config(pyproject / "defs" / "p.yaml").root == definition_root(pyproject / "defs" / "p.yaml")


def test_a_folders_root_is_the_config_then_a_store_above_then_the_folder(project: Path, tmp_path: Path) -> None:
    assert folder_root(project / "definitions" / "deep") == project.resolve()
    old = tmp_path / "old-project"  # no config, but a store (made by an earlier pdca run there)
    (old / "reports").mkdir(parents=True)
    resolve_url(None, old)  # creates .pdca/
    (old / ".pdca" / "pdca.db").write_bytes(b"")
    assert folder_root(old / "reports") == old.resolve()
    (tmp_path / "empty").mkdir()
    assert folder_root(tmp_path / "empty") == (tmp_path / "empty").resolve()


def test_work_files_and_prefect_home_go_under_the_root_whatever_the_working_folder(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    context = StepContext("claims", 3, config=find_config(project / "definitions" / "claims.yaml"))
    assert cycle_dir(context) == project.resolve() / ".pdca" / "work" / "claims" / "cycle-0003"
    monkeypatch.setenv("PDCA_WORK_DIR", "scratch")  # the operator's setting still wins (from the working folder)
    assert work_root(project) == tmp_path.resolve() / "scratch"
    assert embedded_environment({}, project)["PREFECT_HOME"] == str(project / ".pdca" / "prefect")
    monkeypatch.delenv("PREFECT_HOME", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    use_project_prefect_home(project)
    assert os.environ["PREFECT_HOME"] == str(project / ".pdca" / "prefect")
    assert (project / ".pdca" / "prefect").is_dir()


def test_status_in_a_subfolder_of_the_project_reads_the_projects_store(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project / "definitions" / "deep")
    code, stdout, stderr = pdca("status")
    assert code == 0, stderr
    assert "visit-loop: cycle" in stdout and "other-process" in stdout
    assert not (project / "definitions" / "deep" / ".pdca").exists()


@pytest.mark.parametrize("command", [["status"], ["actions", "list"], ["audit", "verify"], ["audit", "log"],
                                     ["approvals"]], ids=" ".join)
def test_read_only_commands_in_an_empty_folder_exit_2_say_where_they_looked_and_create_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    code, stdout, stderr = pdca(*command)
    assert code == 2, (stdout, stderr)
    assert stderr.strip() == (
        f"error: no audit store found in {empty.resolve()} or the folders above it (none has .pdca/pdca.db, and no "
        "pdca.toml or pyproject.toml marks a project root). Name the store with --db URL or $PDCA_DATABASE_URL, or "
        "run this in your project's folder (where `pdca run` keeps it)")
    assert "events verified" not in stdout
    assert list(empty.iterdir()) == []


def test_a_project_without_a_store_yet_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = tmp_path / "fresh"
    (fresh / "sub").mkdir(parents=True)
    (fresh / "pdca.toml").write_text("", encoding="utf-8")
    monkeypatch.chdir(fresh / "sub")
    code, _, stderr = pdca("audit", "verify")
    assert code == 2
    assert stderr.startswith(f"error: no audit store at {fresh.resolve() / '.pdca' / 'pdca.db'} (the project root, "
                             "where pdca.toml is; no cycle has run there yet). Name the store with --db URL")
    assert sorted(path.name for path in fresh.iterdir()) == ["pdca.toml", "sub"]


@pytest.mark.parametrize("command", [["status", "nosuch"], ["approvals", "nosuch"], ["actions", "list", "--process",
                                                                                       "nosuch"]], ids=" ".join)
def test_an_unknown_process_exits_2_listing_the_known_ones(
        project: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    monkeypatch.chdir(project)
    code, stdout, stderr = pdca(*command)
    assert code == 2, (stdout, stderr)
    assert stderr.strip() == "error: no process 'nosuch' in this store; it has: other-process, visit-loop"


def test_a_run_says_so_when_the_working_folder_has_another_store(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old"  # a store made before the project got its pdca.toml, in another folder
    old.mkdir()
    resolve_url(None, old)
    (old / ".pdca" / "pdca.db").write_bytes(b"")
    monkeypatch.chdir(old)
    note_other_store(project, None)
    assert capsys.readouterr().err.replace("\n", " ").startswith(
        f"note: this run records into {project.resolve() / '.pdca' / 'pdca.db'} (its definition's project root), "
        f"not into {old.resolve() / '.pdca' / 'pdca.db'} of the working folder")
    note_other_store(project, "sqlite:///elsewhere.db")  # a store named: nothing to say
    monkeypatch.chdir(project)
    note_other_store(project, None)  # the same store: nothing to say
    assert capsys.readouterr().err == ""
