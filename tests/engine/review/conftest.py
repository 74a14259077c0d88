"""Review tests read a small but varied trail (tests/engine/review/trail.py) from a SQLite file or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdcaflow.engine.store import Store, open_store
from tests.engine.review.trail import build_trail
from tests.engine.store.conftest import db_url, pg_database, store  # noqa: F401  (the store tests' fixtures)


@pytest.fixture()
def trail_url(tmp_path: Path) -> str:
    """A SQLite store holding the trail (most CLI tests: one dialect is enough for the reading side)."""
    url = f"sqlite:///{tmp_path / 'trail.db'}"
    opened = open_store(url)
    try:
        build_trail(opened)
    finally:
        opened.dispose()
    return url


@pytest.fixture()
def trail(store: Store) -> Store:  # noqa: F811
    """The trail in each dialect's store (SQLite and PostgreSQL)."""
    build_trail(store)
    return store
