"""Feedback tasks: inspection and follow-up (检查反馈), complaint intake and handling.

Every complaint becomes a case with an owner and a due time from the moment it
arrives, whatever the channel; a customer who calls twice about the same problem
adds to the open case instead of starting over. Cases past their due time are
escalated, and none is closed until the customer confirms it was resolved.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from tasks.registry import StepContext, task

InspectionLevel = Literal["team", "department", "company"]
ComplaintChannel = Literal["hotline", "wechat", "email", "field", "web"]


class InspectResult(TypedDict):
    inspection_score: float
    inspection_findings: int
    calls_made: int
    satisfaction_mean: float
    satisfaction_responses: int
    complaints_received: int
    complaints_open: int
    complaint_p90_hours: float
    complaints_within_sla_pct: float


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


@task("feedback.inspect")
def inspect(
    context: StepContext,
    *,
    source: str,
    levels: tuple[InspectionLevel, ...] = ("team", "department", "company"),
    sample_size: int = 50,
    survey_scale: int = 5,
    complaint_sla_hours: float = 48.0,
) -> InspectResult:
    """Score the period's three-level inspections, survey customers by phone, and time complaint handling.

    Inspections at each of ``levels`` are scored against the service standards
    (0-100, weighted equally across levels). A random sample of customers served
    this period is called back and asked for their satisfaction on a 1-to
    ``survey_scale`` scale. Complaints are timed from receipt to resolution.

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: a CSV directory or a SQLAlchemy URL with inspection sheets, call results and complaints.
        levels: the inspection levels that score this period.
        sample_size: customers called back for the satisfaction survey.
        survey_scale: the top of the satisfaction scale (5 for a 1-5 score).
        complaint_sla_hours: the promised resolution time that ``complaints_within_sla_pct`` counts against.

    Returns:
        ``inspection_score`` (0-100), ``inspection_findings``, ``calls_made``,
        ``satisfaction_mean``, ``satisfaction_responses``, ``complaints_received``,
        ``complaints_open``, ``complaint_p90_hours`` (90th percentile time to resolve)
        and ``complaints_within_sla_pct`` (%).
    """
    raise NotImplementedError("feedback.inspect is registered for validation; its body arrives with the seven-step model issue")


@task("complaints.intake")
def intake(
    context: StepContext,
    *,
    source: str,
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
        source: a CSV directory or a SQLAlchemy URL of incoming complaints.
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
    cases: str,
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
