"""Corrective actions' history: every change is an ``action_update`` row with its ``action.status`` event.

Nothing here edits a row. An action's current status, owner and due date are
those of its latest update, or the values it was opened with (the ``action`` row)
when it has none. Same rules as ``pdcaflow.engine.store.repository``: the caller's
session, flush only, head lock first.

Who may move an action where (:data:`PERSON_MOVES`): people set ``in_progress``,
``done`` or ``cancelled`` on an open or in-progress action, and may take a
``done`` action back to ``in_progress``; ``verified`` and ``ineffective`` are
ACT's verdicts; ``verified`` and ``cancelled`` are final.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from pdcaflow.engine.store.audit import append_event, lock_head, normalise_json, utc_now
from pdcaflow.engine.store.errors import StoreError
from pdcaflow.engine.store.tables import ACTION_STATUSES, ACTION_UPDATE_SOURCES, Action, ActionUpdate, Cycle

PERSON_MOVES: dict[str, tuple[str, ...]] = {
    "open": ("in_progress", "done", "cancelled"),
    "in_progress": ("in_progress", "done", "cancelled"),
    "done": ("in_progress",),
}
"""Status -> the statuses a person may set from it (``pdca actions update``)."""
FINAL_STATUSES = ("verified", "cancelled")


class ActionStateError(StoreError):
    """A change an action's current status does not allow (or an unknown action)."""


def find_action(session: Session, action_key: str) -> Action:
    """The action with this key.

    Raises:
        ActionStateError: there is none.
    """
    action = session.scalars(select(Action).where(Action.action_key == action_key)).one_or_none()
    if action is None:
        raise ActionStateError(f"no action {action_key}")
    return action


def _latest_updates(session: Session, actions: Sequence[int] | Select[Any]) -> dict[int, ActionUpdate]:
    """Action id -> its latest update, for the actions given as ids or as a ``SELECT action.id ...``."""
    newest = (select(func.max(ActionUpdate.id)).where(ActionUpdate.action_id.in_(actions))
              .group_by(ActionUpdate.action_id))
    rows = session.scalars(select(ActionUpdate).where(ActionUpdate.id.in_(newest)))
    return {row.action_id: row for row in rows}


def _done_after(session: Session, actions: Sequence[int] | Select[Any]) -> dict[int, int | None]:
    """Action id -> ``after_cycle`` of its latest update to ``done``."""
    newest = (select(func.max(ActionUpdate.id)).where(ActionUpdate.action_id.in_(actions),
                                                      ActionUpdate.status == "done")
              .group_by(ActionUpdate.action_id))
    rows = session.execute(select(ActionUpdate.action_id, ActionUpdate.after_cycle).where(ActionUpdate.id.in_(newest)))
    return {action_id: after for action_id, after in rows}


def current_state(row: Action, latest: ActionUpdate | None, done_after: int | None = None) -> dict[str, Any]:
    """The action as plain data (the carry-over's shape) with its current status, owner and due date."""
    state = {**row.details, "id": row.action_key, "process": row.process_id, "opened_cycle": row.opened_cycle,
             "policy": row.policy_id, "kpi": row.kpi_id, "title": row.title, "owner": row.owner,
             "due": row.due.isoformat(), "status": row.status, "verify_after": row.verify_after}
    if latest is not None:
        state.update(status=latest.status, owner=latest.owner, due=latest.due.isoformat(),
                     updated_at=latest.at.isoformat(), updated_by=latest.actor)
    if state["status"] == "done" and done_after is not None:
        state["done_after_cycle"] = done_after
    return state


def list_actions(session: Session, *, process_id: str | None = None, statuses: Sequence[str] | None = None,
                 owner: str | None = None) -> list[dict[str, Any]]:
    """Actions in their current state, oldest first, filtered by process, current status and current owner."""
    ids = select(Action.id)
    if process_id is not None:
        ids = ids.where(Action.process_id == process_id)
    rows = list(session.scalars(select(Action).where(Action.id.in_(ids)).order_by(Action.id)))
    # the process's actions as a subquery, not a list of ids: no bound-parameter limit however many there are
    latest, done_after = _latest_updates(session, ids), _done_after(session, ids)
    states = [current_state(row, latest.get(row.id), done_after.get(row.id)) for row in rows]
    return [state for state in states if (statuses is None or state["status"] in statuses)
            and (owner is None or state["owner"] == owner)]


def action_history(session: Session, action_key: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An action's current state and every change to it, oldest first (each: who, when, why, from -> to)."""
    row = find_action(session, action_key)
    updates = list(session.scalars(select(ActionUpdate).where(ActionUpdate.action_id == row.id)
                                   .order_by(ActionUpdate.id)))
    done_after = _done_after(session, [row.id]).get(row.id)
    history = [{"at": update.at.isoformat(), "actor": update.actor, "source": update.source, "reason": update.reason,
                "after_cycle": update.after_cycle, "status": [update.from_status, update.status],
                "owner": [update.from_owner, update.owner],
                "due": [update.from_due.isoformat(), update.due.isoformat()], "details": update.details}
               for update in updates]
    return current_state(row, updates[-1] if updates else None, done_after), history


def latest_cycle_number(session: Session, process_id: str) -> int:
    """The process's highest cycle number, whatever its status (0 before its first cycle)."""
    return int(session.scalar(select(func.max(Cycle.number)).where(Cycle.process_id == process_id)) or 0)


def record_action_update(
    session: Session, action_key: str, actor: str, reason: str, *, source: str = "person",
    status: str | None = None, owner: str | None = None, due: date | str | None = None,
    after_cycle: int | None = None, cycle_number: int | None = None, details: Mapping[str, Any] | None = None,
) -> ActionUpdate:
    """Append one change to an action (any of status, owner, due) with its ``action.status`` event.

    Args:
        source: ``person`` (checked against :data:`PERSON_MOVES`) or ``act`` (ACT's verdicts
            and escalations; any move from a non-final status).
        after_cycle: the process's highest cycle number at the change (default: read now).
        cycle_number: the cycle the event belongs to (ACT's changes), else none.

    Raises:
        ActionStateError: unknown action, unknown status, no reason, or a move its status forbids.
    """
    if status is not None and status not in ACTION_STATUSES:
        raise ActionStateError(f"unknown action status {status!r}; expected one of {', '.join(ACTION_STATUSES)}")
    if source not in ACTION_UPDATE_SOURCES:
        raise ActionStateError(f"unknown source {source!r}; expected one of {', '.join(ACTION_UPDATE_SOURCES)}")
    lock_head(session)
    row = find_action(session, action_key)
    if not reason or not reason.strip():
        raise ActionStateError(f"a change to action {action_key} needs a reason")
    before = current_state(row, _latest_updates(session, [row.id]).get(row.id))
    new_status = status or before["status"]
    new_owner = owner if owner is not None else before["owner"]
    new_due = as_due_date(due, action_key, ActionStateError) if due is not None else date.fromisoformat(before["due"])
    _check_move(action_key, before["status"], new_status, source, status is not None)
    update = ActionUpdate(
        action_id=row.id, at=utc_now(), actor=actor, source=source, reason=reason.strip(),
        after_cycle=after_cycle if after_cycle is not None else latest_cycle_number(session, row.process_id),
        from_status=before["status"], status=new_status, from_owner=before["owner"], owner=new_owner,
        from_due=date.fromisoformat(before["due"]), due=new_due, details=normalise_json(dict(details or {})))
    session.add(update)
    session.flush()
    append_event(session, kind="action.status", actor=actor, process_id=row.process_id, cycle_number=cycle_number,
                 reason=update.reason, payload=update_payload(action_key, update))
    return update


def update_payload(action_key: str, update: ActionUpdate) -> dict[str, Any]:
    """The ``action.status`` event's payload for an update row (what ``pdca audit verify`` compares it with)."""
    return {"action_update_id": update.id, "action_key": action_key, "source": update.source,
            "after_cycle": update.after_cycle, "from": update.from_status, "to": update.status,
            "owner": {"from": update.from_owner, "to": update.owner},
            "due": {"from": update.from_due.isoformat(), "to": update.due.isoformat()},
            "details": update.details}


def _check_move(action_key: str, current: str, new: str, source: str, status_given: bool) -> None:
    if current in FINAL_STATUSES:
        raise ActionStateError(f"action {action_key} is {current}: a {current} action cannot change")
    if source == "act":
        return
    if current == "ineffective":
        raise ActionStateError(f"action {action_key} is ineffective: ACT reopens it")
    if status_given and new not in PERSON_MOVES.get(current, ()):
        allowed = ", ".join(PERSON_MOVES.get(current, ())) or "nothing"
        raise ActionStateError(f"action {action_key} is {current}: a person may set it to {allowed}, not {new}")


def record_act_updates(session: Session, cycle: Cycle, updates: Sequence[Mapping[str, Any]],
                       actor: str) -> list[ActionUpdate]:
    """ACT's changes to actions (``pdcaflow.engine.pdca.action_records.ActionUpdate`` as JSON), in order, as ``source=act``."""
    rows = []
    for change in updates:
        details = {key: value for key, value in change.items()
                   if key not in ("id", "status", "owner", "due", "reason")}
        rows.append(record_action_update(
            session, str(change["id"]), actor, str(change["reason"]), source="act", status=change.get("status"),
            owner=change.get("owner"), due=change.get("due"), after_cycle=cycle.number, cycle_number=cycle.number,
            details=details))
    return rows


def as_due_date(value: Any, key: str, error: type[StoreError] = StoreError) -> date:
    """An action's due date from a date or ISO text; ``error`` names what is wrong with it otherwise."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise error(f"action {key}: due {value!r} is not a date (YYYY-MM-DD)") from exc
