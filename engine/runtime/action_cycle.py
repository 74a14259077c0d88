"""What a cycle does with corrective actions and manual overrides (called from ``pdcaflow.engine.runtime.cycle``).

- ACT sees every action of the process still ``open``, ``in_progress`` or ``done`` in its
  current state, read from the store when the cycle begins (so changes people made with
  ``pdca actions`` between cycles count), and each policy's ``open_action`` carries its
  escalation chain (its own ``escalate_to``, else the process's ``escalation``).
- ACT's follow-up changes (verified, ineffective, reopened, escalated) are stored as the
  actions' history in the same transaction as its decisions.
- The carry-over lists the actions still followed up, in their state after ACT.
- A manual override (``pdca override``) is an ``plan.override`` event; every override
  recorded since the process's last ``cycle.started`` / ``cycle.resumed`` applies to the
  next cycle's starting params and targets, and that cycle's start event lists them
  under ``plan.overrides``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pdcaflow.engine.definition.model import ProcessDefinition
from pdcaflow.engine.store.action_history import list_actions, record_act_updates
from pdcaflow.engine.store.tables import FOLLOW_UP_ACTION_STATUSES, AuditEvent, Cycle

OVERRIDE_EVENT = "plan.override"


def follow_up_actions(session: Session, process_id: str) -> list[dict[str, Any]]:
    """The process's actions ACT still follows up (open, in progress, done), in their current state."""
    return list_actions(session, process_id=process_id, statuses=FOLLOW_UP_ACTION_STATUSES)


def policies_for_act(definition: ProcessDefinition) -> list[dict[str, Any]]:
    """The policies as ACT reads them, each ``open_action`` with its effective escalation chain."""
    policies = [policy.model_dump(mode="json", exclude_none=True) for policy in definition.policies]
    if definition.escalation:
        for policy in policies:
            action = policy.get("open_action")
            if action is not None and not action.get("escalate_to"):
                action["escalate_to"] = list(definition.escalation)
    return policies


def carried_actions(before: Sequence[Mapping[str, Any]], opened: Sequence[Mapping[str, Any]],
                    updates: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The actions the next cycle follows up: those it began with and those opened, after ACT's changes."""
    actions = {str(action.get("id")): dict(action) for action in [*before, *opened]}
    for update in updates:
        action = actions.get(str(update.get("id")))
        if action is not None:
            action.update({key: update[key] for key in ("status", "owner", "due") if key in update})
    return [action for action in actions.values() if action.get("status", "open") in FOLLOW_UP_ACTION_STATUSES]


def pending_overrides(session: Session, process_id: str) -> list[dict[str, Any]]:
    """The ``plan.override`` events recorded since the process's last cycle start or resume, oldest first."""
    last_start = session.scalar(select(func.max(AuditEvent.seq)).where(
        AuditEvent.process_id == process_id, AuditEvent.kind.in_(("cycle.started", "cycle.resumed"))))
    events = session.scalars(select(AuditEvent).where(
        AuditEvent.process_id == process_id, AuditEvent.kind == OVERRIDE_EVENT,
        AuditEvent.seq > (last_start or 0)).order_by(AuditEvent.seq))
    return [{"seq": event.seq, "actor": event.actor, "reason": event.reason, **event.payload} for event in events]


def apply_overrides(session: Session, process_id: str, params: dict[str, Any],
                    targets: dict[str, Any]) -> list[dict[str, Any]]:
    """Apply the pending overrides to ``params`` and ``targets`` (in place); return them as applied.

    An override naming a KPI or param the definition no longer declares is skipped and
    listed with ``skipped`` saying why, so the start event still shows it.
    """
    applied = []
    for override in pending_overrides(session, process_id):
        entry = dict(override)
        if override.get("target") is not None:
            kpi = str(override["target"])
            if kpi in targets:
                entry["old"] = dict(targets[kpi])
                targets[kpi] = {"min": override.get("min"), "max": override.get("max")}
            else:
                entry["skipped"] = f"the definition declares no KPI '{kpi}'"
        else:
            path = str(override.get("param"))
            container, leaf = _locate(params, path)
            if container is None:
                entry["skipped"] = f"the definition declares no param '{path}'"
            else:
                entry["old"] = container[leaf]
                container[leaf] = override.get("value")
        applied.append(entry)
    return applied


def _locate(params: dict[str, Any], path: str) -> tuple[dict[str, Any] | None, str]:
    container: Any = params
    parts = path.split(".")
    for part in parts[:-1]:
        container = container.get(part) if isinstance(container, dict) else None
    if not isinstance(container, dict) or parts[-1] not in container:
        return None, parts[-1]
    return container, parts[-1]
