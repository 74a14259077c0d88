"""The append-only tables against their events: a changed, deleted or added row is named.

KPI results, decisions, definition versions, actions, action updates and step
runs are written in the same transaction as an event whose payload holds the
row's id and values. Once the
chain verifies, those payloads are authentic, so each row must still say what
its event says. PostgreSQL's trigger refuses such edits; on SQLite (or when a
superuser disabled the trigger) this check is what finds them.

Each table is merge-joined with its events on the row id, both streamed in id
order by the database, so memory stays constant however large the store. Cycles
and carry-overs, whose events do not all name a row id, are checked by
``pdcaflow.engine.store.rowcheck_cycles``; :func:`first_row_problem` reports both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from sqlalchemy import Integer, Select, String, Text, cast, select, type_coerce
from sqlalchemy.orm import Session

from pdcaflow.engine.store.audit import canonical_at
from pdcaflow.engine.store.tables import (
    Action,
    ActionUpdate,
    AuditEvent,
    Cycle,
    Decision,
    DefinitionVersion,
    KpiResult,
    StepRun,
)
from pdcaflow.engine.store.rowcheck_cycles import first_cycle_problem
from pdcaflow.engine.store.rowdiff import RowProblem, at_text, differences, json_value, loads, number_value

__all__ = ["RowProblem", "first_row_problem", "loads"]

_BATCH = 2000


class _Event(NamedTuple):
    row_id: int
    seq: int
    process_id: str
    cycle_number: int | None
    payload: dict[str, Any]
    step_id: str | None = None


STEP_KINDS = ("step.completed", "step.failed", "step.skipped")
Compare = Callable[[tuple[Any, ...], _Event], dict[str, tuple[Any, Any]]]


def first_row_problem(session: Session) -> RowProblem | None:
    """The row problem with the lowest event sequence number over the checked tables, or ``None``."""
    problems = [problem for problem in (
        _check(session, "kpi_result", "kpi.result", "kpi_result_id", _kpi_rows(), _compare_kpi),
        _check(session, "decision", "decision", "decision_id", _decision_rows(), _compare_decision),
        _check(session, "definition_version", "definition.version", "definition_version_id", _version_rows(),
               _compare_version),
        _check(session, "action", "action.opened", "action_row_id", _action_rows(), _compare_action,
               skip_unnamed=True, skip_row=_legacy_actions(session)),
        _check(session, "action_update", "action.status", "action_update_id", _action_update_rows(),
               _compare_action_update, skip_unnamed=True),
        _check(session, "step_run", STEP_KINDS, "step_run_id", _step_rows(), _compare_step),
        first_cycle_problem(session),
    ) if problem is not None]
    if not problems:
        return None
    return min(problems, key=lambda problem: (problem.seq is None, problem.seq or 0))


def _check(session: Session, table: str, kind: str | tuple[str, ...], id_key: str, rows: Select[Any], compare: Compare, *,
           skip_unnamed: bool = False, skip_row: Callable[[Any], bool] | None = None) -> RowProblem | None:
    """Merge the table's rows and its events by row id; keep the problem of the lowest sequence number.

    Events are first read in sequence order, which is row id order whenever the rows were
    written the way the store writes them (under the head lock, events after their rows):
    no sort needed. If an event's row id ever goes down, the merge starts again with the
    events sorted by row id in the database. ``skip_unnamed`` leaves out events that name
    no row, and ``skip_row`` the rows it is true of (both: actions written before the
    store recorded row ids in their events, see :func:`_legacy_actions`).
    """
    try:
        return _merge(session, table, _events(session, kind, id_key, by_seq=True, skip_unnamed=skip_unnamed),
                      rows, compare, skip_row)
    except _OutOfOrder:
        return _merge(session, table, _events(session, kind, id_key, by_seq=False, skip_unnamed=skip_unnamed),
                      rows, compare, skip_row)


class _OutOfOrder(Exception):
    """Events in sequence order are not in row id order."""


def _merge(session: Session, table: str, events: Iterator[_Event], rows: Select[Any],
           compare: Compare, skip_row: Callable[[Any], bool] | None = None) -> RowProblem | None:
    worst: RowProblem | None = None

    def keep(problem: RowProblem) -> None:
        nonlocal worst
        if worst is None or (problem.seq is not None and (worst.seq is None or problem.seq < worst.seq)):
            worst = problem

    result = session.execute(rows.execution_options(yield_per=_BATCH))
    stored = (row for row in result if skip_row is None or not skip_row(row))
    try:
        event, row = next(events, None), next(stored, None)
        while event is not None or row is not None:
            if row is None or (event is not None and event.row_id < row[0]):
                assert event is not None
                keep(RowProblem(event.seq, f"{table} row {event.row_id} (event seq {event.seq}) is missing: "
                                           "deleted behind the API"))
                event = next(events, None)
            elif event is None or row[0] < event.row_id:
                keep(RowProblem(None, f"{table} row {row[0]} has no event: written behind the API"))
                row = next(stored, None)
            else:
                found = compare(tuple(row), event)
                if found:
                    keep(RowProblem(event.seq, f"{table} row {event.row_id} (event seq {event.seq}) was changed: "
                                               + "; ".join(f"{name} is {mine!r} in the row, {theirs!r} in the event"
                                                           for name, (mine, theirs) in found.items())))
                event, row = next(events, None), next(stored, None)
    finally:
        result.close()
    return worst


def _events(session: Session, kind: str | tuple[str, ...], id_key: str, *, by_seq: bool,
            skip_unnamed: bool = False) -> Iterator[_Event]:
    """The events of ``kind`` (or kinds) with the row id their payload names, in row id order (else ``_OutOfOrder``)."""
    statement = (select(AuditEvent.seq, AuditEvent.process_id, AuditEvent.cycle_number, cast(AuditEvent.payload, Text),
                        AuditEvent.step_id)
                 .where(AuditEvent.kind == kind if isinstance(kind, str) else AuditEvent.kind.in_(kind)))
    if by_seq:
        statement = statement.order_by(AuditEvent.seq)
    else:
        statement = statement.order_by(AuditEvent.payload[id_key].as_integer(), AuditEvent.seq)
    result = session.connection().execute(statement.execution_options(yield_per=_BATCH))
    last_id = None
    try:
        for seq, process_id, cycle_number, payload_text, step_id in result:
            payload = loads(payload_text)  # the chain verified: it is the JSON that was written
            row_id = payload.get(id_key) if isinstance(payload, dict) else None
            if not isinstance(row_id, int):
                if skip_unnamed:
                    continue
                row_id = -1  # an event naming no row: reported as a missing row
            if by_seq and last_id is not None and row_id < last_id:
                raise _OutOfOrder
            last_id = row_id
            yield _Event(row_id, seq, process_id, cycle_number, payload if isinstance(payload, dict) else {}, step_id)
    finally:
        result.close()


def _kpi_rows() -> Select[Any]:
    return (select(KpiResult.id, Cycle.process_id, Cycle.number, KpiResult.kpi_id, type_coerce(KpiResult.actual, String),
                   KpiResult.target_min, KpiResult.target_max, KpiResult.status, KpiResult.delta, KpiResult.unit,
                   cast(KpiResult.details, Text))
            .outerjoin(Cycle, Cycle.id == KpiResult.cycle_id).order_by(KpiResult.id))


def _decision_rows() -> Select[Any]:
    return (select(Decision.id, Cycle.process_id, Cycle.number, Decision.policy_id, Decision.kpi_id,
                   type_coerce(Decision.fired, Integer), Decision.reason, cast(Decision.effects, Text))
            .outerjoin(Cycle, Cycle.id == Decision.cycle_id).order_by(Decision.id))


def _version_rows() -> Select[Any]:
    return select(DefinitionVersion.id, DefinitionVersion.process_id, DefinitionVersion.sha256,
                  DefinitionVersion.yaml_text, type_coerce(DefinitionVersion.first_seen_at, String)
                  ).order_by(DefinitionVersion.id)


def _legacy_actions(session: Session) -> Callable[[Any], bool] | None:
    """Actions opened before ``action.opened`` events named their row (revision 0003): their rows are left
    out of the row check, as are the ``action.status`` events of that time, which name no ``action_update``
    row. Their events still verify in the chain. ``None`` when the store has none (the usual case)."""
    statement = (select(cast(AuditEvent.payload, Text)).where(AuditEvent.kind == "action.opened")
                 .execution_options(yield_per=_BATCH))
    legacy = set()
    for (payload_text,) in session.connection().execute(statement):
        payload = loads(payload_text)
        if isinstance(payload, dict) and not isinstance(payload.get("action_row_id"), int):
            legacy.add(payload.get("id"))
    if not legacy:
        return None
    return lambda row: row[3] in legacy  # the action_key column of _action_rows()


def _action_rows() -> Select[Any]:
    return select(Action.id, Action.process_id, Action.opened_cycle, Action.action_key, Action.policy_id,
                  Action.kpi_id, Action.title, Action.owner, type_coerce(Action.due, String), Action.status,
                  Action.verify_after, cast(Action.details, Text)).order_by(Action.id)


def _action_update_rows() -> Select[Any]:
    return (select(ActionUpdate.id, Action.process_id, Action.action_key, ActionUpdate.source,
                   ActionUpdate.after_cycle, ActionUpdate.from_status, ActionUpdate.status, ActionUpdate.from_owner,
                   ActionUpdate.owner, type_coerce(ActionUpdate.from_due, String),
                   type_coerce(ActionUpdate.due, String), cast(ActionUpdate.details, Text))
            .outerjoin(Action, Action.id == ActionUpdate.action_id).order_by(ActionUpdate.id))


def _compare_action(row: tuple[Any, ...], event: _Event) -> dict[str, tuple[Any, Any]]:
    row_id, process_id, opened, key, policy, kpi, title, owner, due, status, verify_after, details = row
    mine = {**json_value(details), "action_row_id": row_id, "id": key, "process": process_id, "opened_cycle": opened,
            "policy": policy, "kpi": kpi, "title": title, "owner": owner, "due": str(due)[:10], "status": status,
            "verify_after": verify_after}
    return {**_cycle_differences(process_id, opened, event), **differences(mine, event.payload)}


def _compare_action_update(row: tuple[Any, ...], event: _Event) -> dict[str, tuple[Any, Any]]:
    row_id, process_id, key, source, after, from_status, status, from_owner, owner, from_due, due, details = row
    mine = {"action_update_id": row_id, "action_key": key, "source": source, "after_cycle": after,
            "from": from_status, "to": status, "owner": {"from": from_owner, "to": owner},
            "due": {"from": str(from_due)[:10], "to": str(due)[:10]}, "details": json_value(details)}
    found = differences(mine, event.payload)
    if process_id != event.process_id:
        found["process"] = (process_id, event.process_id)
    return found


def _step_rows() -> Select[Any]:
    return (select(StepRun.id, Cycle.process_id, Cycle.number, StepRun.step_id, StepRun.status, StepRun.attempts,
                   type_coerce(StepRun.started_at, String), type_coerce(StepRun.finished_at, String),
                   cast(StepRun.output, Text), StepRun.error)
            .outerjoin(Cycle, Cycle.id == StepRun.cycle_id).order_by(StepRun.id))


def _compare_step(row: tuple[Any, ...], event: _Event) -> dict[str, tuple[Any, Any]]:
    row_id, process_id, number, step_id, status, attempts, started_at, finished_at, output, error = row
    payload = event.payload
    mine = {"step": step_id, "step_run_id": row_id, "status": status, "attempts": attempts,
            "started_at": at_text(started_at), "finished_at": at_text(finished_at), "output": json_value(output),
            "error": error}
    theirs = {"step": event.step_id, **{name: payload.get(name) for name in mine if name != "step"}}
    return {**_cycle_differences(process_id, number, event), **differences(mine, theirs)}



def _compare_kpi(row: tuple[Any, ...], event: _Event) -> dict[str, tuple[Any, Any]]:
    row_id, process_id, number, kpi_id, actual, target_min, target_max, status, delta, unit, details = row
    mine = {**json_value(details), "kpi_result_id": row_id, "kpi": kpi_id, "actual": number_value(actual),
            "target": {"min": target_min, "max": target_max}, "status": status, "delta": delta, "unit": unit}
    return {**_cycle_differences(process_id, number, event), **differences(mine, event.payload)}


def _compare_decision(row: tuple[Any, ...], event: _Event) -> dict[str, tuple[Any, Any]]:
    row_id, process_id, number, policy_id, kpi_id, fired, reason, effects = row
    fired = bool(fired) if fired in (0, 1) else fired  # SQLite keeps booleans as 0/1
    payload = event.payload
    mine = {"policy": policy_id, "kpi": kpi_id, "fired": fired, "reason": reason, "effects": json_value(effects)}
    theirs = {"policy": str(payload.get("policy")), "kpi": payload.get("kpi"), "fired": bool(payload.get("fired")),
              "reason": str(payload.get("reason")), "effects": payload.get("effects", [])}
    return {**_cycle_differences(process_id, number, event), **differences(mine, theirs)}


def _compare_version(row: tuple[Any, ...], event: _Event) -> dict[str, tuple[Any, Any]]:
    _row_id, process_id, sha256, yaml_text, first_seen_at = row
    payload = event.payload
    mine: dict[str, Any] = {"process_id": process_id, "sha256": sha256, "yaml_text": yaml_text}
    theirs: dict[str, Any] = {"process_id": event.process_id, "sha256": payload.get("sha256"),
                              "yaml_text": payload.get("yaml_text")}
    if "first_seen_at" in payload:  # events written before it was recorded do not have it
        try:
            mine["first_seen_at"] = canonical_at(first_seen_at)
        except ValueError:
            mine["first_seen_at"] = first_seen_at
        theirs["first_seen_at"] = payload["first_seen_at"]
    return differences(mine, theirs)


def _cycle_differences(process_id: Any, number: Any, event: _Event) -> dict[str, tuple[Any, Any]]:
    if (process_id, number) == (event.process_id, event.cycle_number):
        return {}
    return {"cycle": (f"{process_id}#{number}", f"{event.process_id}#{event.cycle_number}")}
