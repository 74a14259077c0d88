"""Indexes for reviewing the audit trail: filter by process and cycle, kind, actor, step, time.

Each index ends in ``seq`` so that "the last N matching events" (``pdca audit log``)
is a short backwards index read at any size of log. ``ix_audit_event_kind`` is
replaced by ``(kind, seq)``. Indexes only: no row is touched, so the append-only
triggers of 0001 are not involved.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_INDEXES = {
    "ix_audit_event_process_id_cycle_number_seq": ["process_id", "cycle_number", "seq"],
    "ix_audit_event_kind_seq": ["kind", "seq"],
    "ix_audit_event_actor_seq": ["actor", "seq"],
    "ix_audit_event_step_id_seq": ["step_id", "seq"],
    "ix_audit_event_at": ["at"],
}


def upgrade() -> None:
    op.drop_index("ix_audit_event_kind", table_name="audit_event")
    for name, columns in NEW_INDEXES.items():
        op.create_index(name, "audit_event", columns)


def downgrade() -> None:
    for name in NEW_INDEXES:
        op.drop_index(name, table_name="audit_event")
    op.create_index("ix_audit_event_kind", "audit_event", ["kind"])
