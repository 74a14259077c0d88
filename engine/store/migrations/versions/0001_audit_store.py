"""The audit store: definition versions, cycles, step runs, KPI results, decisions,
actions, carry-overs, the hash-chained event log and its head row.

Written by hand from engine/store/tables.py (tests/engine/store/test_migrations.py checks
that autogenerate finds no difference). On PostgreSQL it also installs a trigger
that refuses UPDATE, DELETE and TRUNCATE of the append-only tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY_TABLES = ("audit_event", "decision", "kpi_result", "definition_version")
COMPLETED_ONLY = sa.text("status = 'completed'")

REJECT_FUNCTION = """
CREATE FUNCTION pdca_reject_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'audit rows are append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused',
        ERRCODE = 'insufficient_privilege';
END
$$
"""


def _status_check(table: str, values: tuple[str, ...], column: str = "status") -> sa.CheckConstraint:
    quoted = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f'"{column}" IN ({quoted})', name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    op.create_table(
        "definition_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition_version")),
        sa.UniqueConstraint("process_id", "sha256", name=op.f("uq_definition_version_process_id_sha256")),
    )
    op.create_table(
        "cycle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.Text(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("definition_version_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("flow_run_id", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("owner_host", sa.Text(), nullable=False),
        sa.Column("owner_pid", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle")),
        sa.ForeignKeyConstraint(["definition_version_id"], ["definition_version.id"],
                                name=op.f("fk_cycle_definition_version_id_definition_version")),
        sa.UniqueConstraint("process_id", "number", name=op.f("uq_cycle_process_id_number")),
        _status_check("cycle", ("running", "completed", "failed")),
        _status_check("cycle", ("manual", "schedule", "resume"), column="trigger"),
    )
    op.create_index(op.f("ix_cycle_definition_version_id"), "cycle", ["definition_version_id"])
    op.create_table(
        "step_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("output", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_step_run")),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"], name=op.f("fk_step_run_cycle_id_cycle")),
        _status_check("step_run", ("completed", "failed", "skipped")),
    )
    op.create_index(op.f("ix_step_run_cycle_id_step_id"), "step_run", ["cycle_id", "step_id"])
    # At most one completed row per (cycle, step); failed attempts may repeat.
    op.create_index(op.f("uq_step_run_cycle_id_step_id_completed"), "step_run", ["cycle_id", "step_id"],
                    unique=True, sqlite_where=COMPLETED_ONLY, postgresql_where=COMPLETED_ONLY)
    op.create_table(
        "kpi_result",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.Text(), nullable=False),
        sa.Column("actual", sa.Float(), nullable=True),
        sa.Column("target_min", sa.Float(), nullable=True),
        sa.Column("target_max", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("delta", sa.Float(), nullable=True),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_result")),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"], name=op.f("fk_kpi_result_cycle_id_cycle")),
        sa.UniqueConstraint("cycle_id", "kpi_id", name=op.f("uq_kpi_result_cycle_id_kpi_id")),
        _status_check("kpi_result", ("met", "missed", "no_data")),
    )
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("kpi_id", sa.Text(), nullable=True),
        sa.Column("fired", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("effects", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision")),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"], name=op.f("fk_decision_cycle_id_cycle")),
    )
    op.create_index(op.f("ix_decision_cycle_id"), "decision", ["cycle_id"])
    op.create_table(
        "action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_key", sa.Text(), nullable=False),
        sa.Column("process_id", sa.Text(), nullable=False),
        sa.Column("opened_cycle", sa.Integer(), nullable=False),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("kpi_id", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verify_after", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action")),
        sa.UniqueConstraint("action_key", name=op.f("uq_action_action_key")),
        _status_check("action", ("open", "in_progress", "done", "verified", "ineffective", "cancelled")),
    )
    op.create_index(op.f("ix_action_process_id"), "action", ["process_id"])
    op.create_table(
        "carry_over",
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("cycle_id", name=op.f("pk_carry_over")),
        sa.ForeignKeyConstraint(["cycle_id"], ["cycle.id"], name=op.f("fk_carry_over_cycle_id_cycle")),
    )
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("process_id", sa.Text(), nullable=False),
        sa.Column("cycle_number", sa.Integer(), nullable=True),
        sa.Column("step_id", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
    )
    op.create_index(op.f("ix_audit_event_process_id_seq"), "audit_event", ["process_id", "seq"])
    op.create_index(op.f("ix_audit_event_kind"), "audit_event", ["kind"])
    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
    )
    op.bulk_insert(audit_head, [{"id": 1, "seq": 0, "hash": "0" * 64}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(REJECT_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION pdca_reject_audit_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION pdca_reject_audit_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION pdca_reject_audit_change()")
    for table in ("audit_head", "audit_event", "carry_over", "action", "decision", "kpi_result",
                  "step_run", "cycle", "definition_version"):
        op.drop_table(table)
