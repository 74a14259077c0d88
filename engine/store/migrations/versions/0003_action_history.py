"""Corrective and preventive actions (CAPA): every change to an action is a row of ``action_update``.

An action's row keeps the values it was opened with; each later change of status,
owner or due date (by a person with ``pdca actions``, or by ACT verifying or
escalating it) is a new ``action_update`` row, written with its ``action.status``
event. The current state is the latest update. On PostgreSQL both ``action`` and
``action_update`` get the append-only triggers of 0001 (its ``pdca_reject_audit_change``
function). Stores written before this revision keep their actions' current status in
the ``action`` row; it stays valid as the state before any update.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTION_STATUSES = ("open", "in_progress", "done", "verified", "ineffective", "cancelled")
NEW_APPEND_ONLY_TABLES = ("action", "action_update")


def _one_of(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f'"{column}" IN ({quoted})', name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    op.create_table(
        "action_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("after_cycle", sa.Integer(), nullable=True),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("from_owner", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("from_due", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_update")),
        sa.ForeignKeyConstraint(["action_id"], ["action.id"], name=op.f("fk_action_update_action_id_action")),
        _one_of("action_update", "status", ACTION_STATUSES),
        _one_of("action_update", "from_status", ACTION_STATUSES),
        _one_of("action_update", "source", ("person", "act")),
    )
    op.create_index(op.f("ix_action_update_action_id"), "action_update", ["action_id"])
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_APPEND_ONLY_TABLES:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION pdca_reject_audit_change()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION pdca_reject_audit_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in NEW_APPEND_ONLY_TABLES:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.drop_index(op.f("ix_action_update_action_id"), table_name="action_update")
    op.drop_table("action_update")
