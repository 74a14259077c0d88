"""pdcaflow.tasks.sdk.project_paths on real folders: what a path parameter accepts, and what a task author marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdcaflow.tasks.sdk.project_config import ConfigError, find_config, load_config
from pdcaflow.tasks.sdk.project_paths import PathRefused, path_problem, value_for_run
from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectPath, ProjectSource, describe
from pdcaflow.tasks.sdk.sources import SourceError, read_table

FILE, SOURCE = ProjectPath(), ProjectPath(connections=True)


@pytest.fixture()
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    root = tmp_path / "project"
    root.mkdir()
    (tmp_path / "srv").mkdir()
    (root / "pdca.toml").write_text('[folders]\nshared = "../srv"\n[connections]\nops = "sqlite:///ops.db"\n',
                                    encoding="utf-8")
    monkeypatch.chdir(root)
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))  # the operator's, outside the project
    return load_config(root / "pdca.toml")


def test_a_named_connection_becomes_its_url_only_where_the_task_reads_databases(config, tmp_path: Path) -> None:
    assert value_for_run("connection:ops", SOURCE, config) == f"sqlite:///{tmp_path / 'project' / 'ops.db'}"
    assert path_problem("connection:ops", SOURCE, config) is None
    with pytest.raises(PathRefused, match=r"^'connection:ops' is a URL or a `scheme:`, not a path$"):
        value_for_run("connection:ops", FILE, config)
    with pytest.raises(ConfigError, match=r"^no connection named 'crm' "):
        value_for_run("connection:crm", SOURCE, config)
    refused = path_problem("sqlite:///ops.db", SOURCE, config)
    assert refused is not None and refused.code == "PDCA261" and "write connection:NAME here" in refused.hint


def test_allowed_folders_and_the_work_folder(config, tmp_path: Path) -> None:
    assert value_for_run("<shared>/a/b.csv", FILE, config) == str(tmp_path / "srv" / "a" / "b.csv")
    assert value_for_run(str(tmp_path / "work" / "p" / "cycle-0001" / "plan.parquet"), FILE, config)
    assert path_problem(str(tmp_path / "srv" / "b.csv"), FILE, config) is not None  # by its name only
    with pytest.raises(PathRefused, match=r"^'<shared>/\.\./project/x' resolves to .*project/x, outside the folder "
                                         r"<shared> = .*srv$"):
        value_for_run("<shared>/../project/x", FILE, config)
    for value in ("<Shared>/x", "<>/x", "<shared", "\x00"):
        assert path_problem(value, FILE, config) is not None, value


def test_a_task_author_marks_path_parameters_with_the_type(config) -> None:
    def own_task(register: ProjectFile, source: ProjectSource | None = None, title: str = "") -> dict[str, str]:
        return {}

    spec = describe(own_task, "lab.own_task")
    assert [(p.name, p.path, p.type_name) for p in spec.params] == [
        ("register", FILE, "str"), ("source", SOURCE, "str | None"), ("title", None, "str")]


def test_a_folders_entry_must_be_a_folder_path(tmp_path: Path) -> None:
    (tmp_path / "pdca.toml").write_text('[folders]\nshared = "postgresql://db/x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"^folders\.shared: the path of a folder \(relative to this file\)$"):
        load_config(tmp_path / "pdca.toml")


def test_a_named_connections_url_handed_on_by_a_step_is_accepted_at_run_time(config, tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    url = value_for_run("connection:ops", SOURCE, config)
    assert value_for_run(url, SOURCE, config) == url  # e.g. service.deliver's `operations` output read by feedback.check
    monkeypatch.setenv("PDCA_CONNECTION_CRM", "postgresql+psycopg://crm@db/crm")
    assert value_for_run("postgresql+psycopg://crm@db/crm", SOURCE, config) == "postgresql+psycopg://crm@db/crm"
    for other in ("sqlite:////etc/shadow.db", "postgresql+psycopg://crm@db/other"):
        with pytest.raises(PathRefused, match=r"is a URL or a `scheme:`, not a path"):
            value_for_run(other, SOURCE, config)
    with pytest.raises(PathRefused, match=r"is a URL or a `scheme:`, not a path"):
        value_for_run(url, FILE, config)


def test_a_table_name_cannot_walk_out_of_its_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "secret.csv").write_text("secret\nSECRET\n", encoding="utf-8")
    for table in ("../secret", "sub/../../secret", "/tmp/secret", "..", "a\\b"):
        with pytest.raises(SourceError, match=r"is not a table name: a table of a folder is named by letters, "
                                             r"digits, '_', '-' and '\.' \(no folders\)$"):
            read_table(str(tmp_path / "data"), table)
    (tmp_path / "data" / "visits.2026-05.csv").write_text("a\n1\n", encoding="utf-8")
    assert read_table(str(tmp_path / "data"), "visits.2026-05")["a"].tolist() == [1]


def test_the_project_root_is_the_config_files_folder_else_the_definitions(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PDCA_CONFIG", raising=False)
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "defs" / "sub").mkdir(parents=True)
    definition = tmp_path / "repo" / "defs" / "sub" / "p.yaml"
    definition.write_text("id: p\n", encoding="utf-8")
    assert find_config(definition).root == definition.parent  # no config up to the .git folder
    (tmp_path / "repo" / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")
    assert find_config(definition).root == tmp_path / "repo"  # a pyproject.toml without [tool.pdca] marks it too
    (tmp_path / "repo" / "defs" / "pdca.toml").write_text("tasks = []\n", encoding="utf-8")
    assert find_config(definition).root == tmp_path / "repo" / "defs"
