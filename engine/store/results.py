"""What CHECK and ACT produce, stored with their events: KPI results, decisions, actions.

Same rules as ``pdcaflow.engine.store.repository`` (which re-exports these): the caller's
session, flush only, head lock first. The input shapes are the JSON forms of the
built-in tasks' records (``pdcaflow.engine.pdca.records.KpiResult`` and ``Decision``,
``pdcaflow.engine.pdca.action_records.Action``), as the step outputs hold them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from pdcaflow.engine.store.action_history import as_due_date, find_action, list_actions, record_action_update
from pdcaflow.engine.store.audit import append_event, lock_head, normalise_json
from pdcaflow.engine.store.errors import StoreError
from pdcaflow.engine.store.tables import (
    ACTION_STATUSES,
    KPI_STATUSES,
    OPEN_ACTION_STATUSES,
    Action,
    Base,
    Cycle,
    Decision,
    KpiResult,
)

ModelT = TypeVar("ModelT", bound=Base)

_KPI_COLUMNS = ("actual", "target", "status", "delta", "unit")
_ACTION_COLUMNS = ("id", "title", "owner", "due", "policy", "kpi", "verify_after")


def live(session: Session, instance: ModelT) -> ModelT:
    """``instance`` as a member of ``session``: re-attached when detached (objects outlive their transaction)."""
    state = inspect(instance)
    if state.session is session:
        return instance
    if state.key is not None and state.key in session.identity_map:
        return session.identity_map[state.key]  # type: ignore[return-value]
    session.add(instance)
    return instance


def record_kpi_results(session: Session, cycle: Cycle, results: Mapping[str, Mapping[str, Any]], actor: str) -> list[KpiResult]:
    """Store each KPI's result (``pdcaflow.engine.pdca.records.KpiResult`` as JSON) with a ``kpi.result`` event.

    ``target`` is ``{"min", "max"}``; keys beyond the columns (``met``, ``signals``,
    ``trend`` ...) are kept in ``details``.
    """
    lock_head(session)
    rows = []
    for kpi_id, result in results.items():
        status = result.get("status")
        if status not in KPI_STATUSES:
            raise StoreError(f"KPI {kpi_id}: unknown status {status!r}; expected one of {', '.join(KPI_STATUSES)}")
        target = result.get("target") or {}
        details = normalise_json({key: value for key, value in result.items() if key not in _KPI_COLUMNS})
        row = KpiResult(cycle_id=cycle.id, kpi_id=kpi_id, actual=result.get("actual"), target_min=target.get("min"),
                        target_max=target.get("max"), status=status, delta=result.get("delta"),
                        unit=result.get("unit") or "", details=details)
        session.add(row)
        rows.append(row)
    session.flush()
    for row in rows:
        append_event(session, kind="kpi.result", actor=actor, process_id=cycle.process_id, cycle_number=cycle.number,
                     payload={"kpi_result_id": row.id, **kpi_result_dict(row)})
    return rows


def record_decisions(session: Session, cycle: Cycle, decisions: Sequence[Mapping[str, Any]], actor: str) -> list[Decision]:
    """Store each policy decision (``policy``, ``kpi``, ``fired``, ``reason``, ``effects``) with a ``decision`` event.

    The event's ``reason`` is the decision's reason; its payload is the whole
    decision, so the numbers the rule fired on are in the chain.
    """
    lock_head(session)
    rows = []
    for decision in decisions:
        missing = [key for key in ("policy", "fired", "reason") if key not in decision]
        if missing:
            raise StoreError(f"decision {dict(decision)!r:.200} lacks {', '.join(missing)}")
        row = Decision(cycle_id=cycle.id, policy_id=str(decision["policy"]), kpi_id=decision.get("kpi"),
                       fired=bool(decision["fired"]), reason=str(decision["reason"]),
                       effects=normalise_json(decision.get("effects", [])))
        session.add(row)
        rows.append((row, decision))
    session.flush()
    for row, decision in rows:
        append_event(session, kind="decision", actor=actor, process_id=cycle.process_id, cycle_number=cycle.number,
                     reason=row.reason, payload={"decision_id": row.id, **decision})
    return [row for row, _ in rows]


def open_actions(session: Session, process_id: str) -> list[Action]:
    """The process's actions whose current status is ``open`` or ``in_progress``, oldest first.

    The current status is the latest ``action_update``'s (``pdcaflow.engine.store.action_history``).
    """
    keys = {state["id"] for state in list_actions(session, process_id=process_id, statuses=OPEN_ACTION_STATUSES)}
    return [row for row in session.scalars(select(Action).where(Action.process_id == process_id)
                                           .order_by(Action.id)) if row.action_key in keys]


def record_actions_opened(session: Session, cycle: Cycle, actions: Sequence[Mapping[str, Any]], actor: str) -> list[Action]:
    """Open corrective actions (``pdcaflow.engine.pdca.action_records.Action`` as JSON) with ``action.opened`` events.

    ``id`` is the action's key: used as is when it already has the form
    ``process#cycle/name``, else made into ``<process>#<cycle number>/<id>``.
    ``due`` is a date or ISO text. Keys beyond the columns are kept in ``details``.
    """
    lock_head(session)
    rows = []
    for action in actions:
        local_key = str(action.get("id") or action.get("policy") or "")
        if not local_key or "title" not in action or "owner" not in action or "due" not in action:
            raise StoreError(f"action {dict(action)!r:.200} needs id, title, owner and due")
        key = local_key if "#" in local_key else f"{cycle.process_id}#{cycle.number}/{local_key}"
        row = Action(action_key=key, process_id=cycle.process_id, opened_cycle=cycle.number,
                     policy_id=str(action.get("policy") or ""), kpi_id=action.get("kpi"), title=str(action["title"]),
                     owner=str(action["owner"]), due=as_due_date(action["due"], key), status="open",
                     verify_after=action.get("verify_after"),
                     details=normalise_json({k: v for k, v in action.items() if k not in _ACTION_COLUMNS}))
        session.add(row)
        rows.append(row)
    session.flush()
    for row in rows:
        append_event(session, kind="action.opened", actor=actor, process_id=cycle.process_id,
                     cycle_number=cycle.number, payload={"action_row_id": row.id, **action_dict(row)})
    return rows


def update_action_status(
    session: Session, action_key: str, status: str, actor: str, *,
    reason: str | None = None, cycle_number: int | None = None, details: Mapping[str, Any] | None = None,
) -> Action:
    """Move an action to ``status`` as a person (an ``action_update`` row and its ``action.status`` event).

    Kept for callers of the first store API; ``pdcaflow.engine.store.action_history.record_action_update``
    also changes owner and due date. A missing reason is recorded as ``(no reason given)``.
    """
    if status not in ACTION_STATUSES:
        raise StoreError(f"unknown action status {status!r}; expected one of {', '.join(ACTION_STATUSES)}")
    record_action_update(session, action_key, actor, reason or "(no reason given)", status=status,
                         cycle_number=cycle_number, details=details)
    return find_action(session, action_key)


def kpi_history(session: Session, process_id: str, limit: int) -> dict[str, list[dict[str, Any]]]:
    """KPI id -> its results in the last ``limit`` completed cycles, oldest first (each with ``cycle``)."""
    numbers = list(session.scalars(select(Cycle.number).where(
        Cycle.process_id == process_id, Cycle.status == "completed").order_by(Cycle.number.desc()).limit(limit)))
    if not numbers:
        return {}
    rows = session.execute(select(Cycle.number, KpiResult).join(KpiResult, KpiResult.cycle_id == Cycle.id).where(
        Cycle.process_id == process_id, Cycle.number.in_(numbers)).order_by(Cycle.number, KpiResult.id))
    history: dict[str, list[dict[str, Any]]] = {}
    for number, result in rows:
        history.setdefault(result.kpi_id, []).append({"cycle": number, **kpi_result_dict(result)})
    return history


def kpi_result_dict(row: KpiResult) -> dict[str, Any]:
    """A stored KPI result in the ``pdcaflow.engine.pdca.records.KpiResult`` JSON shape (details merged back in)."""
    return {**row.details, "kpi": row.kpi_id, "actual": row.actual,
            "target": {"min": row.target_min, "max": row.target_max}, "status": row.status, "delta": row.delta,
            "unit": row.unit}


def action_dict(row: Action) -> dict[str, Any]:
    """A stored action as plain data (what ``StepContext.actions`` and the carry-over hold)."""
    return {**row.details, "id": row.action_key, "process": row.process_id, "opened_cycle": row.opened_cycle,
            "policy": row.policy_id, "kpi": row.kpi_id, "title": row.title, "owner": row.owner,
            "due": row.due.isoformat(), "status": row.status, "verify_after": row.verify_after}
