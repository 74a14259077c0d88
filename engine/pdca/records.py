"""The records ACT reads and leaves: overdue complaints in, decisions and corrective actions out.

Shared by ``improve.apply_policies`` and the rules it applies besides the
definition's policies (:mod:`pdcaflow.tasks.retail.complaint_actions`); the engine stores both
as they are (extra action keys are kept with the action and come back with it in
``StepContext.actions`` of later cycles).
"""

from __future__ import annotations

# typing_extensions' TypedDict: pydantic converts `with:` values to these on Python 3.11 only with it.
from typing_extensions import NotRequired, TypedDict


class OverdueComplaint(TypedDict):
    """A complaint still unresolved at the end of the period checked and older than the SLA
    (``feedback.check`` lists them; ACT opens an action for each)."""

    complaint_id: str
    customer_id: str
    age_hours: float
    category: str


class Decision(TypedDict):
    policy: str
    kpi: str | None
    fired: bool
    reason: str
    effects: list[str]


class ActionRecord(TypedDict):
    """A corrective action opened this cycle: ``id`` is ``process#cycle/name``, ``due`` an ISO date.

    ``due_days`` (the policy's) dates the action again when it is reopened; ``escalation``
    is its chain of owners (see :mod:`pdcaflow.engine.pdca.action_followup`). An action opened for one
    complaint also names it: ``complaint_id``, ``customer_id``,
    ``category`` and ``age_hours`` (its age at the end of the period checked).
    """

    id: str
    title: str
    owner: str
    due: str
    policy: str
    kpi: str | None
    verify_after: int | None
    opened_cycle: int
    status: str
    due_days: NotRequired[int]
    escalation: NotRequired[list[str]]
    complaint_id: NotRequired[str]
    customer_id: NotRequired[str]
    category: NotRequired[str]
    age_hours: NotRequired[float]
