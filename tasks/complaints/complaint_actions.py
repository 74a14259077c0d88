"""The answer to complaints left waiting: an owned, dated action for each one past the SLA.

Feedback that reaches nobody, or gets no answer, is the failure the service
studies name first (``DOMAIN.md`` §1, §3). So besides the definition's policies,
the ACT-phase task ``complaints.overdue_actions`` (registered in
:mod:`pdcaflow.tasks.complaints.overdue`) opens one corrective action for every
complaint or case found unresolved at the end of the period and older than the
SLA, with an owner and a due date, and records a decision for each saying why.
It takes two kinds of record: the retail ``feedback.check``'s
``overdue_complaints`` (:class:`OverdueComplaint`) and ``complaints.handle``'s
``overdue_cases`` (:class:`OverdueCase`). A case's action goes to the case's own
owner when the record names one (else to the task's ``owner``); its title names
the role the case was escalated to. A complaint or case whose action from an
earlier cycle is still open or in progress gets no second one; its decision says so.
When CHECK listed fewer complaints than it counted (its list is capped), one more
action covers those not listed, so none of them goes without an owner.

The decisions and actions are ACT's records (:mod:`pdcaflow.engine.pdca.records`); the
definition hands them to ``improve.apply_policies`` (``extra_decisions``,
``extra_actions``), which records them with its own and carries the actions over.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from typing_extensions import TypedDict

from pdcaflow.engine.pdca.policy_effects import OPEN_STATUSES, due_date
from pdcaflow.engine.pdca.records import ActionRecord, Decision
from pdcaflow.tasks.sdk.display import human_duration
from pdcaflow.tasks.sdk.registry import StepContext

# The rule's name in decisions and actions; never a policy id (those have no '-').
RULE = "overdue-complaint"


# typing_extensions' TypedDict: pydantic converts `with:` values to these on Python 3.11 only with it.
class OverdueComplaint(TypedDict):
    """A complaint still unresolved at the end of the period checked and older than the SLA
    (``feedback.check`` lists them; ``complaints.overdue_actions`` opens an action for each)."""

    complaint_id: str
    customer_id: str
    age_hours: float
    category: str


class OverdueCase(TypedDict):
    """A case still unresolved at ``as_of`` and past its resolution SLA (``complaints.handle``
    lists them; ``complaints.overdue_actions`` opens an action for each). ``owner`` is the
    case's owner (``None`` when it has none); ``escalated_to`` the role of the escalation
    level it reached (``None`` when not escalated); ``age_hours`` clock hours since receipt."""

    case_id: str
    customer_id: str
    type: str
    owner: str | None
    age_hours: float
    escalated_to: str | None


class ComplaintAction(ActionRecord, total=False):
    """An action opened for one complaint also names it: ``complaint_id``, ``customer_id``,
    ``category`` and ``age_hours`` (its age at the end of the period checked); the action
    opened for the complaints counted but not listed has none of them."""

    complaint_id: str
    case_id: str
    customer_id: str
    category: str
    type: str
    escalated_to: str | None
    age_hours: float


def complaint_actions(context: StepContext, overdue: Sequence[OverdueComplaint | OverdueCase], total: int | None,
                      owner: str, due_days: int) -> tuple[list[Decision], list[ComplaintAction]]:
    """One decision per overdue complaint (and one for those not listed), and the actions opened.

    Args:
        context: the step's context (the actions open before this cycle, its number and start time).
        overdue: the overdue complaints (or cases) listed.
        total: how many there were in all, ``None`` when not known; with ``0`` and an
            empty list, a decision records that no complaint was overdue.
        owner: who each action goes to, unless the case names its own owner.
        due_days: days after the cycle's start each action is due.
    """
    still_open = _open_by_complaint(context.actions)
    decisions: list[Decision] = []
    opened: list[ComplaintAction] = []
    listed: set[str] = set()
    for record in overdue:
        item = _Item.of(record)
        if item.key in listed:
            continue
        listed.add(item.key)
        existing = still_open.get(item.key)
        if existing is not None:
            decisions.append(Decision(policy=RULE, kpi=None, fired=True, effects=(),
                                      reason=f"{item.reason}; action {existing.get('id')} for it is still open, "
                                             "so no second action was opened"))
            continue
        action = _action(context, item.name, item.owner or owner, due_days, item.title)
        action.update(item.keys)  # type: ignore[typeddict-item]
        opened.append(action)
        decisions.append(Decision(policy=RULE, kpi=None, fired=True, reason=item.reason, effects=(_opened(action),)))
    unlisted = (total or 0) - len(overdue)
    if unlisted > 0:
        action = _action(context, "complaints-unlisted", owner, due_days,
                         f"Resolve the {unlisted} other complaints unresolved past the promised time at the end "
                         "of the period (not listed one by one), and confirm with each customer")
        opened.append(action)
        decisions.append(Decision(policy=RULE, kpi=None, fired=True, effects=(_opened(action),),
                                  reason=f"{total} complaints unresolved past the SLA at the end of the period; "
                                         f"{len(overdue)} listed by CHECK, {unlisted} not listed"))
    elif total == 0 and not overdue:
        decisions.append(Decision(policy=RULE, kpi=None, fired=False, effects=(),
                                  reason="no complaint unresolved past the SLA at the end of the period checked"))
    return decisions, opened


@dataclass(frozen=True)
class _Item:
    """A complaint or a case as the action and the decision name it."""

    key: str  # what an earlier action for the same complaint or case is found by
    name: str
    owner: str | None
    reason: str
    title: str
    keys: dict[str, Any]

    @classmethod
    def of(cls, record: OverdueComplaint | OverdueCase) -> _Item:
        if "case_id" in record:
            case = cast(OverdueCase, record)
            case_id, kind, age = str(case["case_id"]), str(case["type"]), _age(case["age_hours"])
            escalated = case.get("escalated_to")
            where = f", escalated to {escalated}" if escalated else ""
            return cls(f"case:{case_id}", f"case-{case_id}", case.get("owner") or None,
                       f"case {case_id} ({kind}) of customer {case['customer_id']} unresolved {age} at the end "
                       f"of the period checked, past the SLA{where}",
                       f"Resolve case {case_id} ({kind}) of customer {case['customer_id']}, open {age} and "
                       f"past the promised time{where}, and confirm with the customer",
                       {"case_id": case_id, "customer_id": str(case["customer_id"]), "type": kind,
                        "escalated_to": escalated, "age_hours": float(case["age_hours"])})
        complaint = record
        complaint_id, category = str(complaint["complaint_id"]), str(complaint["category"])
        age = _age(complaint["age_hours"])
        return cls(complaint_id, f"complaint-{complaint_id}", None,
                   f"complaint {complaint_id} ({category}) of customer {complaint['customer_id']} unresolved "
                   f"{age} at the end of the period checked, past the SLA",
                   f"Resolve complaint {complaint_id} ({category}) of customer {complaint['customer_id']}, "
                   f"waiting {age} past the promised time, and confirm with the customer",
                   {"complaint_id": complaint_id, "customer_id": str(complaint["customer_id"]),
                    "category": category, "age_hours": float(complaint["age_hours"])})


def _age(hours: float) -> str:
    """A complaint's age as a person says it (``40 days``, ``1 day 6 hours``); the action keeps ``age_hours``."""
    return human_duration(float(hours) * 3600)


def _action(context: StepContext, name: str, owner: str, due_days: int, title: str) -> ComplaintAction:
    return ComplaintAction(id=f"{context.process_id}#{context.cycle}/{name}", title=title, owner=owner,
                        due=due_date(context.started_at, due_days), policy=RULE, kpi=None, verify_after=None,
                        opened_cycle=context.cycle, status="open")


def _opened(action: ActionRecord) -> str:
    return f"opened action {action['id']} for {action['owner']}, due {action['due']}"


def _open_by_complaint(actions: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Complaint id (or ``case:<id>``) -> an action for it still open or in progress (earlier cycles')."""
    found: dict[str, Mapping[str, Any]] = {}
    for action in actions:
        if action.get("status", "open") not in OPEN_STATUSES:
            continue
        if action.get("complaint_id") is not None:
            found[str(action["complaint_id"])] = action
        elif action.get("case_id") is not None:
            found[f"case:{action['case_id']}"] = action
    return found
