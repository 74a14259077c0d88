"""complaints.overdue_actions: an owned, dated action for every complaint or case left past its SLA.

The ACT answer to feedback that reaches nobody (``DOMAIN.md`` §3): each
overdue case (``complaints.handle``'s ``overdue_cases``) or complaint (the
retail ``feedback.check``'s ``overdue_complaints``) becomes a corrective action
with an owner and a due date, carried from cycle to cycle by the CAPA
machinery until it is done. The work is in
:mod:`pdcaflow.tasks.complaints.complaint_actions`.
"""

from __future__ import annotations

from typing import TypedDict

from pdcaflow.engine.pdca.records import JsonObject
from pdcaflow.tasks.complaints.complaint_actions import (ComplaintAction, OverdueCase, OverdueComplaint,
                                                          complaint_actions)
from pdcaflow.tasks.sdk.registry import StepContext, task


class OverdueActionsResult(TypedDict):
    decisions: list[JsonObject]  # each a Decision as JSON (Decision.to_json)
    actions_opened: list[ComplaintAction]


@task("complaints.overdue_actions", phases=("act",))
def overdue_actions(
    context: StepContext,
    *,
    overdue: tuple[OverdueCase | OverdueComplaint, ...],
    total: int | None = None,
    owner: str = "service-manager",
    due_days: int = 3,
) -> OverdueActionsResult:
    """Open an owned, dated action for every complaint or case left unresolved past the SLA, once.

    Each case or complaint listed (``overdue``) opens an action due ``due_days``
    after the cycle started, unless an action for it is still open; each leaves
    a decision (policy ``overdue-complaint``). A case's action goes to the case's
    own owner when the record names one, else to ``owner``; its title says whom
    the case was escalated to. Those counted but not listed (``total`` above the
    list's length) share one more action for ``owner``. Hand both outputs to
    ``improve.apply_policies`` (``extra_decisions``, ``extra_actions``), which
    records them after its own and carries the actions over.

    Args:
        context: the cycle this step runs in (passed by the engine): the actions open before it.
        overdue: the overdue cases (``steps.<handle step>.overdue_cases``: ``case_id,
            customer_id, type, owner, age_hours, escalated_to`` each) or complaints
            (``steps.<check step>.overdue_complaints``: ``complaint_id, customer_id,
            age_hours, category`` each).
        total: how many there were in all (``overdue_total`` / ``unresolved_over_sla``);
            when given, a cycle without any records a decision saying so.
        owner: who an action goes to when its case names no owner (and every complaint's).
        due_days: days after the cycle's start the actions are due.

    Returns:
        ``decisions`` (one per case or complaint, policy ``overdue-complaint``) and
        ``actions_opened`` (each names its case, ``case_id, customer_id, type,
        escalated_to, age_hours``, or its complaint, ``complaint_id, customer_id,
        category, age_hours``).
    """
    decisions, opened = complaint_actions(context, overdue, total, owner, due_days)
    return OverdueActionsResult(decisions=[decision.to_json() for decision in decisions], actions_opened=opened)
