"""The hand-made month of cases_data in a CSV folder, a SQLite file and a PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.store.conftest import _empty_schema, pg_database  # noqa: F401  (the session's PostgreSQL)
from tests.tasks.complaints.cases_data import write_database, write_folder

SOURCE_KINDS = ("csv", "parquet", "sqlite", "postgresql")


@pytest.fixture(params=SOURCE_KINDS)
def source(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """``complaints`` and ``complaint_events``: a folder of CSV or Parquet files, SQLite or PostgreSQL tables."""
    if request.param in ("csv", "parquet"):
        return write_folder(tmp_path / "complaints", suffix=f".{request.param}")
    if request.param == "sqlite":
        return write_database(f"sqlite:///{tmp_path / 'complaints.db'}")
    databases = request.getfixturevalue("pg_database")
    _empty_schema(databases)
    return write_database(databases.url(databases.empty))


@pytest.fixture(autouse=True)
def _work_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's cases file in its own work folder."""
    monkeypatch.setenv("PDCA_WORK_DIR", str(tmp_path / "work"))
