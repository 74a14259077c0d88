"""`pdcaflow.connection_url`: a task's own way to a named database, from the config its definition was validated with."""

from __future__ import annotations

from pathlib import Path

import pytest

import pdcaflow
from pdcaflow.tasks.sdk.project_config import ConfigError, find_config


def _project(root: Path, url: str) -> Path:
    root.mkdir()
    (root / "pdca.toml").write_text(f'[connections]\nwarehouse = "{url}"\n', encoding="utf-8")
    return root


def test_the_context_carries_the_config_the_definition_was_validated_with(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    validated_with = find_config(_project(tmp_path / "a", "sqlite:///a.db"))
    monkeypatch.chdir(_project(tmp_path / "b", "sqlite:///b.db"))  # another project's folder
    context = pdcaflow.StepContext(process_id="p", cycle=1, config=validated_with)
    assert pdcaflow.connection_url(context, "warehouse") == f"sqlite:///{tmp_path / 'a' / 'a.db'}"


def test_the_older_form_with_a_process_id_reads_the_working_folders_config(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(_project(tmp_path / "b", "sqlite:///b.db"))
    assert pdcaflow.connection_url("retail-customer-service", "warehouse") == f"sqlite:///{tmp_path / 'b' / 'b.db'}"
    with pytest.raises(ConfigError, match="nowhere"):
        pdcaflow.connection_url("retail-customer-service", "nowhere")


def test_anything_else_is_a_type_error_that_says_what_to_pass() -> None:
    with pytest.raises(TypeError, match="takes the task's StepContext, not int"):
        pdcaflow.connection_url(7, "warehouse")  # type: ignore[arg-type]
