"""complaints.intake and complaints.handle: every complaint a case with one owner, clocks, escalation, closure.

``complaints.intake`` (PLAN) turns the contacts of every channel into cases:
a customer's repeat contact about the same type joins their open case; every
case is routed to a team by rules and handed to the team member with the
fewest open cases; its first-response and resolution due times run on the
business calendar. It writes the cases file (docs/service-system-data.md).

``complaints.handle`` (DO) reads what happened to the cases
(``complaint_events``) and measures, at the end of the period: resolution time
at the 90th percentile, the shares within the promises, escalations along the
chain, closures (the customer's confirmation, or silence after resolution),
reopened cases, claims and their settlement, the customers' rating of the
resolution, and the cases overdue, each of which ``complaints.overdue_actions``
turns into an owned, dated action. docs/complaint-handling.md explains the
rules for a process manager.

The pandas work is in ``intake_steps`` and ``handling_steps``, imported when
the task runs, so that ``pdca validate`` never imports pandas.
"""

from __future__ import annotations

from typing import Literal

from pdcaflow.tasks.complaints.case_types import CalendarSpec, HandleResult, IntakeResult, RoutingRule
from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectSource, StepContext, task
from pdcaflow.tasks.sdk.workspace import output_path

ComplaintChannel = Literal["hotline", "wechat", "email", "field", "web"]


@task("complaints.intake")
def intake(
    context: StepContext,
    *,
    source: ProjectSource,
    period: str | None = None,
    channels: tuple[ComplaintChannel, ...] = ("hotline", "wechat", "field", "email", "web"),
    routing: tuple[RoutingRule, ...] = (),
    teams: dict[str, list[str]] | None = None,
    default_team: str = "complaint-desk",
    sla_hours: float = 48.0,
    first_response_hours: float = 4.0,
    calendar: CalendarSpec | None = None,
    silence_days: float | None = None,
) -> IntakeResult:
    """Take the period's complaints in as cases, each with one owner and its due times.

    Contacts are read in order of arrival. A contact opens a case unless the same
    customer has a case of the same ``type`` still open when it arrives; then it
    is a repeat contact, linked to that case. A new case goes to the team of the
    first ``routing`` rule whose every condition matches its contact (else
    ``default_team``), and within the team to the member with the fewest cases open
    at that moment (ties: the first by name). ``first_response_due`` and
    ``resolution_due`` are ``first_response_hours`` and ``sla_hours`` after receipt,
    counted in the ``calendar``'s working hours when one is given. The cases file
    holds every case open at some moment of the period, those carried over from
    earlier periods included.

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: a folder holding ``complaints`` and ``complaint_events`` (CSV or Parquet), or
            ``connection:NAME`` of a database holding those two tables.
        period: the quarter (``YYYY-Qn``) or month (``YYYY-MM``) taken in; default: the
            quarter of the latest contact.
        channels: the channels taken in; contacts of other channels are left out.
        routing: rules, first match wins: ``{when: {channel|type|region|customer_id: value
            or [values]}, team: name}``.
        teams: each team and its members, ``{team: [member, ...]}``; every team a rule
            names and ``default_team`` must be listed. A team without members leaves its
            cases without an owner. Default: the default team alone, owning every case itself.
        default_team: the team of a case no rule matches.
        sla_hours: promised time from receipt to resolution.
        first_response_hours: promised time from receipt to the first answer.
        calendar: business hours the clocks run on: ``{days: [mon, ..., fri], hours:
            "09:00-18:00" or a list of spans, holidays: [dates], workdays: [extra working
            dates]}``; without it every hour counts.
        silence_days: a resolved case closes this many days after resolution with no
            confirmation and no reopen (as ``complaints.handle``); ``None``: only the
            customer's confirmation closes a case. A contact after closure opens a new case.

    Returns:
        ``cases`` (the cases file), ``period``, ``received`` (contacts in the period),
        ``cases_opened`` (first contact in the period), ``carried_over`` (opened earlier,
        open at its start), ``repeat_contacts`` (the period's contacts linked to an open
        case), ``repeat_contact_pct`` (% of the file's cases with more than one contact),
        ``assigned_pct`` (% with an owner), ``by_team`` (cases per team) and ``claims``
        (cases with a claim). Shares are ``None`` when there is no case.
    """
    from pdcaflow.tasks.complaints.intake_steps import IntakeSettings, take_in

    members = dict(teams) if teams is not None else {default_team: [default_team]}
    silence = None if silence_days is None else float(silence_days)
    settings = IntakeSettings(tuple(channels), tuple(routing), members, default_team, float(sla_hours),
                              float(first_response_hours), calendar, silence)
    target = output_path(context, "cases.parquet")
    return take_in(source, period, settings, target)


@task("complaints.handle")
def handle(
    context: StepContext,
    *,
    cases: ProjectFile,
    source: ProjectSource,
    sla_hours: float = 48.0,
    first_response_hours: float = 4.0,
    escalate_after_hours: float = 24.0,
    escalate_to: str | tuple[str, ...] = "service-manager",
    calendar: CalendarSpec | None = None,
    confirm_with_customer: bool = True,
    silence_days: float | None = None,
    settle_within_days: float = 14.0,
    as_of: str | None = None,
    overdue_limit: int = 50,
) -> HandleResult:
    """Measure how the cases were worked: resolution, escalation, closure, claims, overdue cases.

    Each case's events (``complaint_events`` naming any of its contacts, up to
    ``as_of``) give its first answer, its resolution (a ``reopened`` cancels the
    resolution before it), its closure and its claim's settlement. Times are
    working hours on the ``calendar`` (clock hours without one); a case not yet
    answered or resolved counts at its age at ``as_of``, so leaving cases open
    never helps. A case still unresolved ``k x escalate_after_hours`` working hours
    after receipt has reached the k-th role of ``escalate_to``.

    Args:
        context: the cycle this step runs in (passed by the engine).
        cases: the cases file (``steps.<intake step>.cases``).
        source: where ``complaint_events`` is (the intake's ``source``).
        sla_hours: promised working hours from receipt to resolution.
        first_response_hours: promised working hours from receipt to the first answer.
        escalate_after_hours: working hours between escalation levels.
        escalate_to: the role late cases go to, or the chain of roles, level 1 first.
        calendar: the business calendar (as ``complaints.intake``).
        confirm_with_customer: a resolved case closes only on the customer's confirmation
            (or ``silence_days`` later); without it, a case closes when resolved.
        silence_days: a resolved case with no confirmation and no reopen closes this many
            days after resolution; ``None``: only the confirmation closes it.
        settle_within_days: the promise for claims, calendar days from receipt to payment.
        as_of: the moment measured at (``YYYY-MM-DD HH:MM``); default: the end of the
            cases' period.
        overdue_limit: most overdue cases listed one by one (``overdue_total`` counts all).

    Returns:
        ``as_of``; ``resolved`` (a resolution standing at ``as_of``), ``closed``, ``open``
        (not resolved), ``escalated``, ``escalations_by_level`` (cases per highest role
        reached), ``resolution_p90_hours``, ``within_sla_pct``, ``first_response_in_time_pct``,
        ``reopened_pct`` (% of cases ever resolved that were reopened), ``open_over_sla``,
        ``oldest_open_days`` (0 when none is open), ``claims``, ``claims_settled``,
        ``settlement_days_mean`` (unsettled claims at their age), ``settled_within_promise_pct``
        (an unsettled claim not yet past the promise counts as within it),
        ``resolution_satisfaction`` (mean ``score`` of confirmations, ``None`` without any),
        ``overdue_cases`` (unresolved past the SLA, oldest first: ``case_id, customer_id,
        type, owner, age_hours, escalated_to``) and ``overdue_total``.
    """
    from pdcaflow.tasks.complaints.case_timeline import ClosureRule
    from pdcaflow.tasks.complaints.handling_steps import HandleSettings, chain_of, work

    settings = HandleSettings(float(sla_hours), float(first_response_hours), float(escalate_after_hours),
                              chain_of(escalate_to), calendar,
                              ClosureRule(confirm_with_customer, None if silence_days is None else float(silence_days)),
                              float(settle_within_days), overdue_limit)
    return work(cases, source, settings, as_of)
