"""The file a SQLite URL names, and the read-only URL a review opens it with (pdcaflow.engine.store.sqlite_url)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from pdcaflow.engine.store.sqlite_url import read_only_url, sqlite_file


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:////srv/pdca/pdca.db", "/srv/pdca/pdca.db"),
    ("sqlite:///file:/srv/pdca/pdca.db?mode=ro&uri=true", "/srv/pdca/pdca.db"),
    ("sqlite:///file:///srv/pdca/pdca.db?uri=true", "/srv/pdca/pdca.db"),
    ("sqlite:///file://localhost/srv/pdca/pdca.db?uri=true", "/srv/pdca/pdca.db"),
    ("sqlite:///file:/srv/my%20store%3F.db?uri=true", "/srv/my store?.db"),
    ("sqlite:///file:rel.db?mode=ro&uri=true", str(Path("rel.db").absolute())),
    ("sqlite:///rel.db", str(Path("rel.db").absolute())),
    ("sqlite://", None), ("sqlite:///:memory:", None), ("sqlite:///file:x?mode=memory&uri=true", None),
    ("postgresql+psycopg://u@h/db", None),
])
def test_the_file_a_url_names(url: str, expected: str | None) -> None:
    found = sqlite_file(make_url(url))
    assert (str(found) if found else None) == expected


def test_the_read_only_url_keeps_other_parameters_and_replaces_mode(tmp_path: Path) -> None:
    path = tmp_path / "a b#?.db"
    sqlite3.connect(path).close()
    url = read_only_url(make_url(f"sqlite:///file:{str(path).replace('#', '%23').replace('?', '%3F')}"
                                 "?mode=rwc&cache=private&uri=true&timeout=5"))
    assert url.database == f"file:{str(path).replace(' ', '%20').replace('#', '%23').replace('?', '%3F')}"
    assert dict(url.query) == {"mode": "ro", "cache": "private", "uri": "true", "timeout": "5"}
    assert sqlite_file(url) == path
    plain = read_only_url(make_url(f"sqlite:///{tmp_path / 'x.db'}"))
    assert (plain.database, dict(plain.query)) == (f"file:{tmp_path / 'x.db'}", {"mode": "ro", "uri": "true"})

