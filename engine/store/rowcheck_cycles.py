"""Cycles and carry-overs against their events: a changed, deleted or added row is named.

A ``carry_over`` row is written with its ``carry_over`` event (the payload is the whole
carry-over) and never changes. A ``cycle`` row changes as the cycle moves on, and every
such change is an event: ``cycle.started`` (id, definition version, trigger, actor, start
time, owner), ``cycle.resumed`` (running again, new owner), ``cycle.completed`` and
``cycle.failed`` (status, finish time, error). Folding a cycle's events in sequence order
gives what its row must hold now; the latest of them is the truth about its status.
``flow_run_id`` (Prefect's id of the run, attached after the start event) is the one
column no event records, and the one this check leaves out.

Neither event names its row by id, so rows and events are merge-joined on
``(process_id, number)``, both streamed in that order by the database (``COLLATE "C"`` on
PostgreSQL: byte order, which is Python's order of the same text), in constant memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, String, Text, cast, select, type_coerce
from sqlalchemy.orm import InstrumentedAttribute, Session

from pdcaflow.engine.store.tables import AuditEvent, CarryOver, Cycle
from pdcaflow.engine.store.rowdiff import RowProblem, at_text, differences, json_value, loads

_BATCH = 2000
LIFECYCLE_KINDS = ("cycle.started", "cycle.resumed", "cycle.completed", "cycle.failed")
"""The events that change a cycle row (``cycle.suspended`` does not: the cycle stays ``running``)."""
STATUS_OF = {"cycle.started": "running", "cycle.resumed": "running", "cycle.completed": "completed",
             "cycle.failed": "failed"}
_CYCLE_COLUMNS = ("id", "definition_version_id", "trigger", "actor", "started_at", "status", "owner_host",
                  "owner_pid", "error", "finished_at")

Key = tuple[str, int]


class _Side(NamedTuple):
    """One row, or the events of one row, with its merge key."""

    key: Key
    seq: int | None  # the event's (for rows: None)
    values: Any


def first_cycle_problem(session: Session, process_id: str | None = None, *,
                        carry_over_from: int = 0, owners: bool = True) -> RowProblem | None:
    """The cycle or carry-over row problem with the lowest event sequence number, or ``None``.

    Args:
        process_id: only this process's rows and events (``pdcaflow.engine.runtime.cycle.begin_cycle``); all by default.
        carry_over_from: only carry-overs of cycles numbered from this one on.
        owners: also compare ``owner_host`` and ``owner_pid`` (which process runs the cycle: they
            decide only whether it looks busy, never what a cycle starts from).
    """
    compare = _compare_cycle if owners else _compare_cycle_without_owners
    problems = [problem for problem in (
        _merge("cycle", _cycle_states(session, process_id), _cycle_rows(session, process_id), compare),
        _merge("carry_over", _carry_over_events(session, process_id, carry_over_from),
               _carry_over_rows(session, process_id, carry_over_from), _compare_carry_over),
    ) if problem is not None]
    if not problems:
        return None
    return min(problems, key=lambda problem: (problem.seq is None, problem.seq or 0))


Compare = Callable[[_Side, _Side], tuple[int | None, dict[str, tuple[Any, Any]]]]


def _merge(table: str, events: Iterator[_Side], rows: Iterator[_Side], compare: Compare) -> RowProblem | None:
    worst: RowProblem | None = None

    def keep(problem: RowProblem) -> None:
        nonlocal worst
        if worst is None or (problem.seq is not None and (worst.seq is None or problem.seq < worst.seq)):
            worst = problem

    event, row = next(events, None), next(rows, None)
    while event is not None or row is not None:
        if row is None or (event is not None and event.key < row.key):
            assert event is not None
            keep(RowProblem(event.seq, f"{table} row of {_cycle(event.key)} (event seq {event.seq}) is missing: "
                                       "deleted behind the API"))
            event = next(events, None)
        elif event is None or row.key < event.key:
            keep(RowProblem(None, f"{table} row {row.values[0]} ({_cycle(row.key)}) has no event: written "
                                  "behind the API"))
            row = next(rows, None)
        else:
            seq, found = compare(row, event)
            if found:
                keep(RowProblem(seq, f"{table} row {row.values[0]} ({_cycle(row.key)}, event seq {seq}) was "
                                     "changed: " + "; ".join(f"{name} is {mine!r} in the row, {theirs!r} in the event"
                                                             for name, (mine, theirs) in found.items())))
            event, row = next(events, None), next(rows, None)
    return worst


def _cycle(key: Key) -> str:
    return f"{key[0]} cycle {key[1]}"


def _ordered(session: Session, column: InstrumentedAttribute[str]) -> ColumnElement[str] | InstrumentedAttribute[str]:
    """``column`` sorted by bytes, as Python sorts text (PostgreSQL's default collation would not)."""
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


def _stream(session: Session, statement: Select[Any]) -> Iterator[Any]:
    result = session.connection().execute(statement.execution_options(yield_per=_BATCH))
    try:
        yield from result
    finally:
        result.close()


def _cycle_states(session: Session, process_id: str | None) -> Iterator[_Side]:
    """Per cycle, in key order: what its row must hold, each column with the seq of the event that set it."""
    statement = (select(AuditEvent.process_id, AuditEvent.cycle_number, AuditEvent.seq, AuditEvent.kind,
                        AuditEvent.actor, cast(AuditEvent.payload, Text))
                 .where(AuditEvent.kind.in_(LIFECYCLE_KINDS), AuditEvent.cycle_number.is_not(None))
                 .order_by(_ordered(session, AuditEvent.process_id), AuditEvent.cycle_number, AuditEvent.seq))
    if process_id is not None:
        statement = statement.where(AuditEvent.process_id == process_id)
    key: Key | None = None
    first_seq = 0
    state: dict[str, tuple[Any, int]] = {}
    for process, number, seq, kind, actor, payload_text in _stream(session, statement):
        if (process, number) != key:
            if key is not None:
                yield _Side(key, first_seq, state)
            key, first_seq, state = (process, number), seq, {}
        payload = loads(payload_text)  # the chain verified: it is the JSON that was written
        _apply(state, seq, kind, actor, payload if isinstance(payload, dict) else {})
    if key is not None:
        yield _Side(key, first_seq, state)


def _apply(state: dict[str, tuple[Any, int]], seq: int, kind: str, actor: str, payload: dict[str, Any]) -> None:
    """One lifecycle event's effect on its cycle's row (only the columns the event records)."""
    recorded: dict[str, Any] = {"status": STATUS_OF[kind]}
    if kind == "cycle.started":
        recorded.update(actor=actor, id=payload.get("cycle_id"), **{
            name: payload[name] for name in ("definition_version_id", "trigger", "started_at") if name in payload})
    if kind in ("cycle.started", "cycle.resumed"):
        recorded.update(error=None, finished_at=None, **{
            column: payload[name] for column, name in (("owner_host", "host"), ("owner_pid", "pid")) if name in payload})
    else:
        recorded.update(error=payload.get("error"), **({"finished_at": payload["finished_at"]}
                                                       if "finished_at" in payload else {}))
    for column, value in recorded.items():
        state[column] = (value, seq)


def _cycle_rows(session: Session, process_id: str | None) -> Iterator[_Side]:
    statement = (select(Cycle.process_id, Cycle.number, Cycle.id, Cycle.definition_version_id, Cycle.trigger,
                        Cycle.actor, type_coerce(Cycle.started_at, String), Cycle.status, Cycle.owner_host,
                        Cycle.owner_pid, Cycle.error, type_coerce(Cycle.finished_at, String))
                 .order_by(_ordered(session, Cycle.process_id), Cycle.number))
    if process_id is not None:
        statement = statement.where(Cycle.process_id == process_id)
    for process, number, *values in _stream(session, statement):
        yield _Side((process, number), None, values)


def _compare_cycle(row: _Side, event: _Side, *, skip: tuple[str, ...] = ()) -> tuple[int | None,
                                                                                   dict[str, tuple[Any, Any]]]:
    mine = dict(zip(_CYCLE_COLUMNS, row.values, strict=True))
    mine["started_at"], mine["finished_at"] = at_text(mine["started_at"]), at_text(mine["finished_at"])
    state = {name: recorded for name, recorded in event.values.items() if name not in skip}
    found = differences({name: mine[name] for name in state}, {name: value for name, (value, _) in state.items()})
    return min((state[name][1] for name in found), default=event.seq), found


def _compare_cycle_without_owners(row: _Side, event: _Side) -> tuple[int | None, dict[str, tuple[Any, Any]]]:
    return _compare_cycle(row, event, skip=("owner_host", "owner_pid"))


def _carry_over_events(session: Session, process_id: str | None, from_number: int) -> Iterator[_Side]:
    statement = (select(AuditEvent.process_id, AuditEvent.cycle_number, AuditEvent.seq, cast(AuditEvent.payload, Text))
                 .where(AuditEvent.kind == "carry_over", AuditEvent.cycle_number >= from_number)
                 .order_by(_ordered(session, AuditEvent.process_id), AuditEvent.cycle_number, AuditEvent.seq))
    if process_id is not None:
        statement = statement.where(AuditEvent.process_id == process_id)
    for process, number, seq, payload_text in _stream(session, statement):
        yield _Side((process, number), seq, loads(payload_text))


def _carry_over_rows(session: Session, process_id: str | None, from_number: int) -> Iterator[_Side]:
    statement = (select(Cycle.process_id, Cycle.number, CarryOver.cycle_id, cast(CarryOver.payload, Text))
                 .join(Cycle, Cycle.id == CarryOver.cycle_id).where(Cycle.number >= from_number)
                 .order_by(_ordered(session, Cycle.process_id), Cycle.number))
    if process_id is not None:
        statement = statement.where(Cycle.process_id == process_id)
    for process, number, cycle_id, payload_text in _stream(session, statement):
        yield _Side((process, number), None, (cycle_id, json_value(payload_text)))


def _compare_carry_over(row: _Side, event: _Side) -> tuple[int | None, dict[str, tuple[Any, Any]]]:
    mine, theirs = row.values[1], event.values
    if not isinstance(mine, dict) or not isinstance(theirs, dict):
        mine, theirs = {"payload": mine}, {"payload": theirs}
    return event.seq, differences(mine, theirs)

