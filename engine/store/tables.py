"""The audit store's tables as typed SQLAlchemy 2 models (the source of truth for the migrations).

``audit_event`` is the append-only, hash-chained record; the other tables are the
same facts in a shape that is easy to query, written in the same transaction as
their events. ``audit_head`` is a single row holding the chain's last sequence
number and hash: every append locks it, which is what serialises writers.

Columns that hold a choice (``status``, ``trigger``) are short strings guarded by
a CHECK constraint rather than a database enum, so adding a value later is a
one-line migration on every dialect.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of event 1 and the head's hash while the log is empty."""

CYCLE_STATUSES = ("running", "completed", "failed")
CYCLE_TRIGGERS = ("manual", "schedule", "resume")
STEP_STATUSES = ("completed", "failed", "skipped")
KPI_STATUSES = ("met", "missed", "no_data")
ACTION_STATUSES = ("open", "in_progress", "done", "verified", "ineffective", "cancelled")
OPEN_ACTION_STATUSES = ("open", "in_progress")
FOLLOW_UP_ACTION_STATUSES = ("open", "in_progress", "done")
"""Actions ACT still follows up: open ones (overdue escalation) and done ones (verification)."""
ACTION_UPDATE_SOURCES = ("person", "act")

COMPLETED_STEP_ONLY = text("status = 'completed'")


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK constraint that ``column`` holds one of ``values``."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f'"{column}" IN ({quoted})'


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every dialect (SQLite keeps no offset, so it is stored as UTC).

    Naive datetimes are refused: a time without a zone cannot be audited.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given to the audit store; use a UTC-aware one")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the constraint naming convention the migrations spell out."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DefinitionVersion(Base):
    """The exact YAML a cycle ran, stored once per (process, sha256)."""

    __tablename__ = "definition_version"
    __table_args__ = (UniqueConstraint("process_id", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    yaml_text: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Cycle(Base):
    """One PDCA cycle of a process; ``number`` counts from 1 per process."""

    __tablename__ = "cycle"
    __table_args__ = (
        UniqueConstraint("process_id", "number"),
        CheckConstraint(one_of("status", CYCLE_STATUSES), name="status"),
        CheckConstraint(one_of("trigger", CYCLE_TRIGGERS), name="trigger"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process_id: Mapped[str] = mapped_column(Text)
    number: Mapped[int] = mapped_column(Integer)
    definition_version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    owner_host: Mapped[str] = mapped_column(Text)
    owner_pid: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class StepRun(Base):
    """One attempt group of a step: failed rows accumulate, at most one row per (cycle, step) is completed."""

    __tablename__ = "step_run"
    __table_args__ = (
        CheckConstraint(one_of("status", STEP_STATUSES), name="status"),
        Index("ix_step_run_cycle_id_step_id", "cycle_id", "step_id"),
        Index(
            "uq_step_run_cycle_id_step_id_completed", "cycle_id", "step_id", unique=True,
            sqlite_where=COMPLETED_STEP_ONLY, postgresql_where=COMPLETED_STEP_ONLY,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"))
    step_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    output: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)
    error: Mapped[str | None] = mapped_column(Text)


class KpiResult(Base):
    """One KPI of one cycle against the target in force that cycle."""

    __tablename__ = "kpi_result"
    __table_args__ = (
        UniqueConstraint("cycle_id", "kpi_id"),
        CheckConstraint(one_of("status", KPI_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"))
    kpi_id: Mapped[str] = mapped_column(Text)
    actual: Mapped[float | None] = mapped_column(Float)
    target_min: Mapped[float | None] = mapped_column(Float)
    target_max: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    delta: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class Decision(Base):
    """One improvement policy tested in a cycle's ACT, fired or not, with its reason."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), index=True)
    policy_id: Mapped[str] = mapped_column(Text)
    kpi_id: Mapped[str | None] = mapped_column(Text)
    fired: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    effects: Mapped[Any] = mapped_column(JSON)


class Action(Base):
    """A corrective action as it was opened; ``opened_cycle`` is the cycle *number* that opened it.

    ``status``, ``owner`` and ``due`` are the values at opening; every later change is
    an ``action_update`` row (stores written before revision 0003 may hold a changed status here).
    """

    __tablename__ = "action"
    __table_args__ = (
        UniqueConstraint("action_key"),
        CheckConstraint(one_of("status", ACTION_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_key: Mapped[str] = mapped_column(Text)
    process_id: Mapped[str] = mapped_column(Text, index=True)
    opened_cycle: Mapped[int] = mapped_column(Integer)
    policy_id: Mapped[str] = mapped_column(Text)
    kpi_id: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(Text)
    due: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    verify_after: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class ActionUpdate(Base):
    """One change to an action (status, owner or due date), never edited: the action's history.

    An action's current status, owner and due date are those of its latest update
    (highest ``id``), or the ``action`` row's own (the values it was opened with) when
    it has none. ``after_cycle`` is the process's highest cycle number when the change
    was made, so cycles numbered above it started after the change (what verifying a
    ``done`` action counts). ``source`` says whether a person (``person``) or ACT
    (``act``) made it. Each row is written with its ``action.status`` event.
    """

    __tablename__ = "action_update"
    __table_args__ = (
        CheckConstraint(one_of("status", ACTION_STATUSES), name="status"),
        CheckConstraint(one_of("from_status", ACTION_STATUSES), name="from_status"),
        CheckConstraint(one_of("source", ACTION_UPDATE_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    after_cycle: Mapped[int | None] = mapped_column(Integer)
    from_status: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    from_owner: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(Text)
    from_due: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class CarryOver(Base):
    """What a completed cycle hands the next one: params, targets, kpis, actions, decisions, cycle."""

    __tablename__ = "carry_over"

    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycle.id"), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuditEvent(Base):
    """One link of the hash chain. Never updated or deleted (a PostgreSQL trigger enforces it)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # The review filters of `pdca audit log` (pdcaflow.engine.review.events): each ends in seq, so
        # "the last N matching events" is an index range read backwards, at any size.
        Index("ix_audit_event_process_id_seq", "process_id", "seq"),
        Index("ix_audit_event_process_id_cycle_number_seq", "process_id", "cycle_number", "seq"),
        Index("ix_audit_event_kind_seq", "kind", "seq"),
        Index("ix_audit_event_actor_seq", "actor", "seq"),
        Index("ix_audit_event_step_id_seq", "step_id", "seq"),
        Index("ix_audit_event_at", "at"),
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    process_id: Mapped[str] = mapped_column(Text)
    cycle_number: Mapped[int | None] = mapped_column(Integer)
    step_id: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row (``id = 1``) holding the chain's last ``seq`` and ``hash``; appends lock it."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


APPEND_ONLY_TABLES = ("audit_event", "decision", "kpi_result", "definition_version", "action", "action_update",
                      "step_run", "carry_over")
"""Tables whose rows are never changed once written (PostgreSQL: trigger; ORM: a flush guard). ``cycle`` is
guarded differently (migration 0004): its lifecycle columns change, each change with its event."""
APPEND_ONLY_MODELS: tuple[type[Base], ...] = (AuditEvent, Decision, KpiResult, DefinitionVersion, Action,
                                              ActionUpdate, StepRun, CarryOver)
