"""Opening the store: the URL, unreachable and locked databases, transactions."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.store import Store, StoreError, append_event, open_store, resolve_url, verify_chain
from pdcaflow.engine.store.db import display_url
from pdcaflow.engine.store.tables import AuditEvent, DefinitionVersion, StepRun
from pdcaflow.engine.store.repository import record_definition_version
from tests.engine.store.conftest import dialect_of


def test_resolve_url_prefers_the_option_then_the_environment_then_the_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDCA_DATABASE_URL", "postgresql+psycopg://team@db/pdca")
    assert resolve_url("sqlite:///explicit.db", tmp_path) == "sqlite:///explicit.db"
    assert resolve_url(None, tmp_path) == "postgresql+psycopg://team@db/pdca"
    monkeypatch.delenv("PDCA_DATABASE_URL")
    assert not (tmp_path / ".pdca").exists()
    assert resolve_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/.pdca/pdca.db"
    assert (tmp_path / ".pdca").is_dir()


def test_display_url_hides_the_password() -> None:
    assert display_url("postgresql+psycopg://alice:s3cret@db:5432/pdca") == "postgresql+psycopg://alice:***@db:5432/pdca"


@pytest.mark.parametrize("url, expected", [
    ("postgresql+psycopg://root:s3cret@127.0.0.1:1/nowhere",
     r"^cannot open the database postgresql\+psycopg://root:\*\*\*@127\.0\.0\.1:1/nowhere: .*"),
    ("postgresql://root:s3cret@127.0.0.1:1/nowhere",
     r"^cannot open the database postgresql://root:\*\*\*@127\.0\.0\.1:1/nowhere: .*"),
    ("sqlite:///{tmp}/no/such/folder/pdca.db",
     r"^cannot open the database sqlite:///.*/no/such/folder/pdca\.db: unable to open database file$"),
])
def test_an_unreachable_database_is_one_clear_error_without_the_password(
        url: str, expected: str, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=expected) as caught:
        open_store(url.format(tmp=tmp_path))
    assert "s3cret" not in str(caught.value)
    assert isinstance(caught.value, PdcaError)
    assert caught.value.__cause__ is not None


def test_a_malformed_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"^not a database URL: <unparseable database URL>"):
        open_store("definitely not a url")


def _hold_write_lock(store: Store) -> sqlite3.Connection | psycopg.Connection:
    """Another writer, outside pdca, that holds the lock every pdca writer needs."""
    if dialect_of(store) == "sqlite":
        blocker = sqlite3.connect(store.url.removeprefix("sqlite:///"), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        return blocker
    url = store.engine.url
    blocker_pg = psycopg.connect(host=url.host, port=url.port, dbname=url.database, user=url.username)
    blocker_pg.execute("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE")
    return blocker_pg


def test_a_lock_held_beyond_the_timeout_is_a_store_error_naming_the_database(store: Store) -> None:
    impatient = open_store(store.url, busy_timeout=0.2)
    blocker = _hold_write_lock(store)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError, match=r"^the database .* is locked by another writer and stayed locked "
                                             r"for more than 0\.2 s; try again when the other pdca process"):
            with impatient.transaction() as session:
                append_event(session, kind="test.blocked", actor="tester", process_id="p", payload={})
        assert 0.15 < time.monotonic() - started < 10
    finally:
        blocker.rollback()
        blocker.close()
        impatient.dispose()
    with store.read() as session:
        assert verify_chain(session).count == 0


def test_opening_a_locked_sqlite_file_waits_then_fails_clearly(store: Store) -> None:
    if dialect_of(store) != "sqlite":
        # On PostgreSQL opening a current schema takes no lock a writer holds (see the test above).
        reopened = open_store(store.url, busy_timeout=0.2)
        reopened.dispose()
        assert reopened.display_url == store.url
        return
    blocker = _hold_write_lock(store)
    try:
        with pytest.raises(StoreError, match=r"^the database sqlite:///.* is locked by another writer"):
            open_store(store.url, busy_timeout=0.2)
    finally:
        blocker.rollback()
        blocker.close()


def test_a_transaction_that_raises_leaves_no_trace(store: Store) -> None:
    with pytest.raises(RuntimeError, match="engine crashed"):
        with store.transaction() as session:
            append_event(session, kind="test.lost", actor="tester", process_id="p", payload={"n": 1})
            raise RuntimeError("engine crashed mid-cycle")
    with store.transaction() as session:
        kept = append_event(session, kind="test.kept", actor="tester", process_id="p", payload={"n": 2})
    assert kept.seq == 1
    with store.read() as session:
        assert verify_chain(session).ok


def test_readers_do_not_take_the_write_lock(store: Store) -> None:
    with store.transaction() as session:
        append_event(session, kind="test.one", actor="tester", process_id="p", payload={})
    blocker = _hold_write_lock(store)
    try:
        with store.read() as session:
            assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1
    finally:
        blocker.rollback()
        blocker.close()


def test_the_orm_refuses_to_change_or_delete_append_only_rows(store: Store) -> None:
    with store.transaction() as session:
        append_event(session, kind="test.one", actor="tester", process_id="p", payload={"n": 1})
        record_definition_version(session, "p", "id: p\n", "a" * 64, "tester")
    with pytest.raises(StoreError, match=r"^audit rows are append-only: refusing to change a row of audit_event$"):
        with store.transaction() as session:
            event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "test.one")).one()
            event.payload = {"n": 2}
    with pytest.raises(StoreError, match=r"^audit rows are append-only: refusing to delete a row of definition_version$"):
        with store.transaction() as session:
            session.delete(session.scalars(select(DefinitionVersion)).one())
    with store.read() as session:
        assert verify_chain(session).ok


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_the_busy_timeout(store: Store) -> None:
    if dialect_of(store) != "sqlite":
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW lock_timeout").scalar() == "30s"
        return
    with store.engine.connect() as connection:
        pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000, "synchronous": 2}


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(StoreError, match=r"refused a write that breaks one of its rules: .*(FOREIGN KEY|foreign key)"):
        with store.transaction() as session:
            session.add(StepRun(cycle_id=999, step_id="s", status="completed", attempts=1))


def test_a_plain_postgresql_url_means_psycopg(store: Store) -> None:
    if dialect_of(store) != "postgresql":
        return
    plain = open_store(store.url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        assert plain.engine.url.drivername == "postgresql+psycopg"
        with plain.read() as session:
            assert verify_chain(session).ok
    finally:
        plain.dispose()
