"""complaints.intake and complaints.handle: every complaint a case with one owner, clocks, escalation, closure."""

from __future__ import annotations

from typing import Literal, TypedDict

from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectSource, StepContext, task

ComplaintChannel = Literal["hotline", "wechat", "email", "field", "web"]


class IntakeResult(TypedDict):
    cases: str
    received: int
    duplicates: int
    assigned_pct: float
    acknowledged_in_time_pct: float


class HandleResult(TypedDict):
    resolved: int
    open: int
    escalated: int
    resolution_p90_hours: float
    within_sla_pct: float
    reopened_pct: float
    resolution_satisfaction: float


@task("complaints.intake")
def intake(
    context: StepContext,
    *,
    source: ProjectSource,
    channels: tuple[ComplaintChannel, ...] = ("hotline", "wechat", "field"),
    sla_hours: float = 48.0,
    first_response_hours: float = 4.0,
    default_owner: str = "complaint-desk",
) -> IntakeResult:
    """Collect complaints from every channel into owned cases with a due time.

    Merges duplicates (the same customer and problem within the period) into one
    case, assigns each case an owner by area and topic (``default_owner`` when no
    rule applies), and sets its due time ``sla_hours`` after receipt.

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: a CSV directory or ``connection:NAME`` of incoming complaints.
        channels: the channels complaints are taken from.
        sla_hours: promised time from receipt to resolution.
        first_response_hours: promised time from receipt to the first answer to the customer.
        default_owner: who owns a case no routing rule assigns.

    Returns:
        ``cases`` (a reference the handling step reads), ``received``, ``duplicates``,
        ``assigned_pct`` (% of cases with an owner) and ``acknowledged_in_time_pct``
        (% answered within ``first_response_hours``).
    """
    raise NotImplementedError("complaints.intake is registered for validation; its body arrives with the seven-step model issue")


@task("complaints.handle")
def handle(
    context: StepContext,
    *,
    cases: ProjectFile,
    sla_hours: float = 48.0,
    escalate_after_hours: float = 24.0,
    escalate_to: str = "service-manager",
    confirm_with_customer: bool = True,
) -> HandleResult:
    """Work the complaint cases to resolution, escalating those that run late.

    A case still open ``escalate_after_hours`` after receipt is escalated to
    ``escalate_to``. With ``confirm_with_customer`` a case closes only when the
    customer confirms the resolution on a closing call, which also rates it (1-5).

    Args:
        context: the cycle this step runs in (passed by the engine).
        cases: the cases to work (``steps.<intake step>.cases``).
        sla_hours: promised time from receipt to resolution.
        escalate_after_hours: hours after receipt at which an open case is escalated.
        escalate_to: the person or role escalated cases go to.
        confirm_with_customer: close a case only after the customer confirms it.

    Returns:
        ``resolved``, ``open``, ``escalated``, ``resolution_p90_hours`` (90th percentile
        time to resolve), ``within_sla_pct`` (% resolved within ``sla_hours``),
        ``reopened_pct`` (% of closed cases reopened) and ``resolution_satisfaction`` (1-5).
    """
    raise NotImplementedError("complaints.handle is registered for validation; its body arrives with the seven-step model issue")
