"""Step runs, carry-overs and cycles guarded like the rest of the record (issue 13, finding 4).

PostgreSQL only (SQLite has no such triggers: ``pdca audit verify`` compares these rows
with their events there, and on PostgreSQL too should a superuser switch the triggers off):

- ``step_run`` and ``carry_over`` become append-only: the triggers of 0001 (its
  ``pdca_reject_audit_change`` function) refuse UPDATE, DELETE and TRUNCATE.
- ``cycle`` rows change as a cycle moves on (running, failed, resumed, completed), each
  change written with its event, so the table cannot be append-only. Its trigger
  (``pdca_guard_cycle_change``, defined here) refuses DELETE and TRUNCATE, any change to a
  column that never changes (id, process_id, number, definition_version_id, trigger, actor,
  started_at), and any change at all to a completed cycle (completed is final).

No table or column changes: the SQL is written out here, not imported, so that this
revision stays what it was when stores were upgraded with it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NEW_APPEND_ONLY_TABLES = ("step_run", "carry_over")

GUARD_CYCLE_FUNCTION = """
CREATE FUNCTION pdca_guard_cycle_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION USING
            MESSAGE = 'cycle rows: ' || TG_OP || ' on cycle refused (a cycle is never removed)',
            ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.status = 'completed' THEN
        RAISE EXCEPTION USING
            MESSAGE = 'cycle rows: UPDATE of completed cycle ' || OLD.process_id || ' #' || OLD.number
                      || ' refused (a completed cycle is final)',
            ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.id IS DISTINCT FROM OLD.id OR NEW.process_id IS DISTINCT FROM OLD.process_id
            OR NEW.number IS DISTINCT FROM OLD.number
            OR NEW.definition_version_id IS DISTINCT FROM OLD.definition_version_id
            OR NEW.trigger IS DISTINCT FROM OLD.trigger OR NEW.actor IS DISTINCT FROM OLD.actor
            OR NEW.started_at IS DISTINCT FROM OLD.started_at THEN
        RAISE EXCEPTION USING
            MESSAGE = 'cycle rows: UPDATE of a column that never changes (id, process_id, number, '
                      || 'definition_version_id, trigger, actor, started_at) refused',
            ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in NEW_APPEND_ONLY_TABLES:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION pdca_reject_audit_change()")
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION pdca_reject_audit_change()")
    op.execute(GUARD_CYCLE_FUNCTION)
    op.execute("CREATE TRIGGER cycle_guard BEFORE UPDATE OR DELETE ON cycle "
               "FOR EACH ROW EXECUTE FUNCTION pdca_guard_cycle_change()")
    op.execute("CREATE TRIGGER cycle_no_truncate BEFORE TRUNCATE ON cycle "
               "FOR EACH STATEMENT EXECUTE FUNCTION pdca_guard_cycle_change()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER cycle_no_truncate ON cycle")
    op.execute("DROP TRIGGER cycle_guard ON cycle")
    op.execute("DROP FUNCTION pdca_guard_cycle_change()")
    for table in NEW_APPEND_ONLY_TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
