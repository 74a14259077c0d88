"""Review never writes: every review command reads a store on a read-only mount, leaves a writable one
byte-for-byte unchanged, never migrates an older schema (it names `pdca db upgrade`), and takes a
user's own read-only SQLite URI (`sqlite:///file:...?mode=ro&uri=true`)."""

from __future__ import annotations

import hashlib
import secrets
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from psycopg import sql
from sqlalchemy import text
from typer.testing import CliRunner

from pdcaflow.engine.cli.app import app
from pdcaflow.engine.store import StoreError, append_event, open_store
from pdcaflow.engine.store.action_history import list_actions
from pdcaflow.engine.store.migrate import SCHEMA_HEAD, alembic_config, current_revision
from pdcaflow.engine.store.sqlite_url import needs_immutable
from tests.engine.review.trail import PROCESS
from tests.engine.store.conftest import PgDatabases, _wipe_rows

runner = CliRunner()


def pdca(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(arg) for arg in args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def review_commands(url: str, action: str, out_dir: Path) -> list[list[str | Path]]:
    """Every command that only reads, each with the store's URL."""
    commands: list[list[str | Path]] = [
        ["audit", "log", "--process", PROCESS], ["audit", "log", "--format", "jsonl", "--limit", "0"],
        ["audit", "show", PROCESS, "2"], ["audit", "kpis", PROCESS], ["audit", "versions", PROCESS],
        ["audit", "diff", PROCESS, "1", "2"], ["audit", "export", "--out", out_dir], ["audit", "verify"],
        ["audit", "checkpoint"], ["status"], ["status", PROCESS], ["actions", "list", "--all"],
        ["actions", "show", action], ["approvals"]]
    return [[*args, "--db", url] for args in commands]


def first_action(url: str) -> str:
    store = open_store(url)
    try:
        with store.read() as session:
            return str(list_actions(session, process_id=PROCESS)[0]["id"])
    finally:
        store.dispose()


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file in the folder by name, with its sha256 (a -wal or -shm that appears shows up too)."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(folder.iterdir())
            if path.is_file()}


def assert_all_answer(url: str, action: str, out: Path) -> None:
    out.mkdir(exist_ok=True)
    for number, args in enumerate(review_commands(url, action, out / "export")):
        code, stdout, stderr = pdca(*args)
        assert (code, stderr) == (0, ""), (number, args, stdout)


# ----- (a) a store on a read-only mount ------------------------------------------------------------

def _run(*args: str | Path) -> str:
    done = subprocess.run([str(arg) for arg in args], capture_output=True, text=True, check=False)
    return "" if done.returncode == 0 else f"{' '.join(map(str, args))}: {done.stderr.strip()}"


@pytest.fixture()
def read_only_view(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(the store's real folder, the same folder seen through a read-only bind mount).

    Tests run as root, so file modes stop nothing: a read-only mount is what refuses root's
    writes ("Read-only file system"), as it does for a store on a read-only medium or volume.
    """
    source, view = tmp_path / "store", tmp_path / "read-only"
    source.mkdir()
    view.mkdir()
    problem = _run("mount", "--bind", source, view)
    if problem:
        pytest.skip(f"this machine cannot make a read-only bind mount: {problem}")
    try:
        problem = _run("mount", "-o", "remount,ro,bind", view)
        if problem:
            pytest.skip(f"this machine cannot make a bind mount read-only: {problem}")
        yield source, view
    finally:
        subprocess.run(["umount", str(view)], check=True)


def test_every_review_command_reads_a_store_on_a_read_only_mount(read_only_view: tuple[Path, Path],
                                                                 trail_url: str, tmp_path: Path) -> None:
    source, view = read_only_view
    shutil.copyfile(trail_url.removeprefix("sqlite:///"), source / "pdca.db")  # a WAL-mode store, as pdca run leaves it
    action = first_action(f"sqlite:///{source / 'pdca.db'}")
    with pytest.raises(OSError, match="Read-only file system"):
        (view / "probe").touch()
    before = fingerprint(source)
    # Before the fix every command failed: "cannot open the database ...: unable to open database file".
    assert_all_answer(f"sqlite:///{view / 'pdca.db'}", action, tmp_path / "out")
    code, stdout, _ = pdca("audit", "log", "--process", PROCESS, "--db", f"sqlite:///{view / 'pdca.db'}")
    assert code == 0 and "cycle.completed" in stdout
    assert fingerprint(source) == before


def test_a_review_on_a_read_only_mount_sees_the_commits_of_a_store_being_written(
        read_only_view: tuple[Path, Path], trail_url: str) -> None:
    source, view = read_only_view
    shutil.copyfile(trail_url.removeprefix("sqlite:///"), source / "pdca.db")
    writer = open_store(f"sqlite:///{source / 'pdca.db'}")  # a running cycle: its -wal and -shm are there
    try:
        with writer.transaction() as session:
            append_event(session, kind="correction", actor="tester", process_id=PROCESS, payload={"n": 1},
                         reason="not yet checkpointed into the database file")
        assert (source / "pdca.db-wal").stat().st_size > 0
        # Read through the -shm (never immutable, which would miss the commit still in the -wal).
        code, stdout, _ = pdca("audit", "verify", "--db", f"sqlite:///{view / 'pdca.db'}")
    finally:
        writer.dispose()
    assert code == 0 and stdout.startswith("ok: 45 events verified"), stdout


def test_immutable_only_for_a_wal_store_nobody_has_open_that_cannot_be_written(
        read_only_view: tuple[Path, Path]) -> None:
    source, view = read_only_view
    with sqlite3.connect(source / "wal.db") as connection:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("CREATE TABLE t (x)")
    connection.close()
    sqlite3.connect(source / "journal.db").execute("CREATE TABLE t (x)").connection.close()
    assert not needs_immutable(source / "wal.db")  # writable: mode=ro makes its -shm
    assert needs_immutable(view / "wal.db")
    assert not needs_immutable(view / "journal.db")  # a rollback journal needs no -shm: mode=ro keeps its locks
    (source / "wal.db-shm").touch()
    assert not needs_immutable(view / "wal.db")  # somebody has it open: read through the -shm


# ----- (b) a writable store in rollback-journal mode stays byte-for-byte the same ------------------

def test_review_commands_leave_a_rollback_journal_store_byte_for_byte_unchanged(trail_url: str,
                                                                                tmp_path: Path) -> None:
    path = Path(trail_url.removeprefix("sqlite:///"))
    action = first_action(trail_url)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode = DELETE").fetchone() == ("delete",)
    connection.close()
    before = fingerprint(path.parent)
    assert set(before) == {path.name}
    # Before the fix `pdca audit log` switched the file to WAL (its header changed) and left -wal and -shm.
    code, _, stderr = pdca("audit", "log", "--db", trail_url)
    assert (code, stderr) == (0, "")
    assert fingerprint(path.parent) == before
    assert_all_answer(trail_url, action, tmp_path / "out")
    assert fingerprint(path.parent) == before


# ----- (c) an older (or newer) schema is never migrated by a review --------------------------------

def _revision(url: str) -> str | None:
    store = open_store(url, migrate=False)
    try:
        with store.engine.connect() as connection:
            return current_revision(connection)
    finally:
        store.dispose()


def test_an_older_store_is_not_migrated_by_a_review_and_db_upgrade_migrates_it(db_url: str) -> None:
    from tests.engine.store.seed import run_cycle

    store = open_store(db_url, migrate=False)
    try:
        with store.engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")
        run_cycle(store)
    finally:
        store.dispose()
    shown = db_url
    for args in (["audit", "log"], ["audit", "verify"], ["status"], ["actions", "list"], ["approvals"]):
        code, stdout, stderr = pdca(*args, "--db", db_url)
        assert code == 2, (args, stdout, stderr)
        assert " ".join(stderr.split()) == (
            f"error: this store ({shown}) is at schema revision 0002, older than this pdcaflow's {SCHEMA_HEAD}; "
            f"review commands never change a store: run `pdca db upgrade --db {shown}` to upgrade it")
        assert _revision(db_url) == "0002"
    code, stdout, _ = pdca("db", "status", "--db", db_url)
    assert code == 1 and stdout.strip() == (f"{shown}: schema revision 0002; this pdcaflow's is {SCHEMA_HEAD}: run "
                                            f"`pdca db upgrade --db {shown}` to upgrade it")
    code, stdout, stderr = pdca("db", "upgrade", "--db", db_url)
    assert (code, stderr) == (0, ""), stdout
    assert stdout.strip() == f"upgraded {shown} from schema revision 0002 to {SCHEMA_HEAD}"
    assert _revision(db_url) == SCHEMA_HEAD
    code, stdout, _ = pdca("audit", "verify", "--db", db_url)
    assert code == 0 and "ok: 11 events verified" in stdout
    assert pdca("db", "upgrade", "--db", db_url)[1].strip() == f"{shown} is already at schema revision {SCHEMA_HEAD}"
    assert pdca("db", "status", "--db", db_url)[:2] == (
        0, f"{shown}: schema revision {SCHEMA_HEAD}, this pdcaflow's newest: up to date\n")


def test_a_newer_store_is_named_as_such_and_left_alone(db_url: str) -> None:
    open_store(db_url).dispose()
    store = open_store(db_url, migrate=False)
    try:
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        store.dispose()
    code, _, stderr = pdca("audit", "log", "--db", db_url)
    assert code == 2
    assert " ".join(stderr.split()) == (
        f"error: this store ({db_url}) is at schema revision 9999, newer than this pdcaflow knows (its newest "
        f"is {SCHEMA_HEAD}): a newer pdcaflow wrote it; upgrade pdcaflow to review it")
    assert _revision(db_url) == "9999"
    code, _, stderr = pdca("db", "upgrade", "--db", db_url)
    assert code == 1 and "has schema revision 9999, which this pdcaflow does not know" in stderr
    assert _revision(db_url) == "9999"


def test_a_read_only_store_refuses_writes_on_both_dialects(db_url: str) -> None:
    open_store(db_url).dispose()
    store = open_store(db_url, read_only=True)
    try:
        with pytest.raises(StoreError, match=r"read-?only"), store.transaction() as session:
            session.execute(text("UPDATE audit_head SET seq = seq"))
    finally:
        store.dispose()


# ----- (d) the user's own read-only SQLite URI -------------------------------------------------------

def test_a_mode_ro_uri_works_with_every_review_command(trail_url: str, tmp_path: Path) -> None:
    path = Path(trail_url.removeprefix("sqlite:///"))
    action = first_action(trail_url)
    before = fingerprint(path.parent)[path.name]
    # Before the fix: "no audit store at file:/...: the SQLite file does not exist" (exit 2).
    assert_all_answer(f"sqlite:///file:{path}?mode=ro&uri=true", action, tmp_path / "out")
    assert fingerprint(path.parent)[path.name] == before


# ----- PostgreSQL: a role that may only SELECT (as on a read replica) reviews everything ----------------

def test_every_review_command_works_with_a_postgresql_role_that_may_only_select(pg_database: PgDatabases,
                                                                                  tmp_path: Path) -> None:
    from tests.engine.review.trail import build_trail

    _wipe_rows(pg_database)
    writer = open_store(pg_database.url(pg_database.migrated))
    try:
        build_trail(writer)
    finally:
        writer.dispose()
    action = first_action(pg_database.url(pg_database.migrated))
    role = f"pdca_reader_{secrets.token_hex(4)}"
    with pg_database.connect(pg_database.migrated) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(role)))
    try:
        url = pg_database.url(pg_database.migrated).replace(f"//{pg_database.user}@", f"//{role}@")
        assert_all_answer(url, action, tmp_path / "out")
    finally:
        with pg_database.connect(pg_database.migrated) as admin:
            admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_status_in_a_folder_without_a_store_creates_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PDCA_DATABASE_URL", raising=False)
    code, _, stderr = pdca("status")
    # Before the fix `pdca status` created .pdca/pdca.db (migrated, empty) and said "no cycles recorded".
    assert code == 2 and stderr.startswith(f"error: no audit store found in {tmp_path.resolve()} or the folders "
                                           "above it (none has .pdca/pdca.db"), stderr
    assert not (tmp_path / ".pdca" / "pdca.db").exists()
