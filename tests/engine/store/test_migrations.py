"""Migrations from an empty database, from 0001 and 0003 with rows, back down, and in step with the models."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, Text, inspect, select, text

from pdcaflow.engine.store import StoreError, open_store, verify_chain
from pdcaflow.engine.store.migrate import SCHEMA_HEAD, alembic_config, current_revision, head_revision, upgrade_to_head
from pdcaflow.engine.store.tables import APPEND_ONLY_TABLES, GENESIS_HASH, AuditHead, Base

TABLES = {"definition_version", "cycle", "step_run", "kpi_result", "decision", "action", "action_update", "carry_over",
          "audit_event", "audit_head"}


def test_upgrade_from_empty_creates_every_table_and_the_head_row(db_url: str) -> None:
    store = open_store(db_url, migrate=False)
    try:
        with store.engine.begin() as connection:
            assert set(inspect(connection).get_table_names()) == set()
            upgrade_to_head(connection)
        with store.engine.begin() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES | {"alembic_version"}
            assert current_revision(connection) == head_revision() == SCHEMA_HEAD
            head = connection.execute(select(AuditHead.id, AuditHead.seq, AuditHead.hash)).all()
            assert [tuple(row) for row in head] == [(1, 0, GENESIS_HASH)]
    finally:
        store.dispose()


def test_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    store = open_store(db_url)
    try:
        with store.engine.begin() as connection:
            command.downgrade(alembic_config(connection), "base")
        with store.engine.begin() as connection:
            assert set(inspect(connection).get_table_names()) == {"alembic_version"}
            assert current_revision(connection) is None
            upgrade_to_head(connection)
        with store.engine.begin() as connection:
            assert set(inspect(connection).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        store.dispose()


def test_opening_twice_is_a_no_op(db_url: str) -> None:
    first = open_store(db_url)
    second = open_store(db_url)
    try:
        with second.engine.begin() as connection:
            assert current_revision(connection) == SCHEMA_HEAD
    finally:
        first.dispose()
        second.dispose()


def test_autogenerate_finds_no_difference_between_models_and_migration(db_url: str) -> None:
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["cycle"].append_column(Column("extra", Text()))
    store = open_store(db_url)
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "compare_server_default": True})
            differences = compare_metadata(context, Base.metadata)
            # The comparison is live: a column the migration lacks is found.
            assert [diff[0] for diff in compare_metadata(context, changed)] == ["add_column"]
    finally:
        store.dispose()
    assert differences == []


def test_postgresql_gets_the_append_only_triggers(db_url: str) -> None:
    store = open_store(db_url)
    try:
        with store.engine.connect() as connection:
            if connection.dialect.name != "postgresql":
                assert connection.dialect.name == "sqlite"  # SQLite has no such trigger: verify catches edits
                return
            rows = connection.execute(text(
                "SELECT event_object_table, string_agg(DISTINCT event_manipulation, ',' ORDER BY event_manipulation) "
                "FROM information_schema.triggers WHERE trigger_name LIKE '%append_only' "
                "GROUP BY event_object_table")).all()
    finally:
        store.dispose()
    assert dict(rows) == {table: "DELETE,UPDATE" for table in APPEND_ONLY_TABLES}


def test_a_store_from_a_newer_pdcaflow_is_refused_clearly(db_url: str) -> None:
    open_store(db_url).dispose()
    store = open_store(db_url, migrate=False)
    try:
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        store.dispose()
    with pytest.raises(StoreError, match=r"^the database .* has schema revision 9999, which this pdcaflow does not "
                                         rf"know \(its newest is {SCHEMA_HEAD}\): a newer pdcaflow wrote it; upgrade pdcaflow"):
        open_store(db_url)


def test_upgrading_a_0001_store_with_rows_adds_the_review_indexes_and_keeps_the_chain(db_url: str) -> None:
    from tests.engine.store.seed import run_cycle

    store = open_store(db_url, migrate=False)
    try:
        with store.engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
        run_cycle(store)
        with store.engine.begin() as connection:
            upgrade_to_head(connection)
        with store.engine.connect() as connection:
            indexes = {index["name"] for index in inspect(connection).get_indexes("audit_event")}
        with store.read() as session:
            report = verify_chain(session)
    finally:
        store.dispose()
    assert {"ix_audit_event_process_id_seq", "ix_audit_event_process_id_cycle_number_seq", "ix_audit_event_kind_seq",
            "ix_audit_event_actor_seq", "ix_audit_event_step_id_seq", "ix_audit_event_at"} <= indexes
    assert "ix_audit_event_kind" not in indexes
    assert report.ok and report.count == 11


def test_the_schema_head_constant_is_alembics_head() -> None:
    # Opening a current store compares with SCHEMA_HEAD and never imports Alembic; they must agree.
    assert SCHEMA_HEAD == head_revision()


def test_upgrading_a_0003_store_with_rows_guards_the_cycle_tables(db_url: str) -> None:
    """0004 adds only triggers (PostgreSQL): an existing store keeps its rows and verifies, rows included."""
    from tests.engine.store.seed import run_cycle

    store = open_store(db_url, migrate=False)
    try:
        with store.engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0003")
        run_cycle(store)
        with store.engine.begin() as connection:
            upgrade_to_head(connection)
            assert current_revision(connection) == "0004"
        with store.read() as session:
            assert verify_chain(session).ok
        if store.engine.dialect.name == "postgresql":
            for statement in ("UPDATE carry_over SET payload = CAST('{}' AS json)", "DELETE FROM step_run",
                              "UPDATE cycle SET status = 'failed'"):
                with pytest.raises(StoreError, match=r"refused"):
                    with store.transaction() as session:
                        session.execute(text(statement))
    finally:
        store.dispose()
