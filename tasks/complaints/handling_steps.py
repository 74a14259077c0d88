"""The pandas work of ``complaints.handle``: every case's clocks at ``as_of``, and the period's measures.

Imported when the task runs, so that ``pdca validate`` stays off pandas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from pdcaflow.tasks.complaints.business_calendar import clock_of
from pdcaflow.tasks.complaints.case_types import CalendarSpec, HandleResult
from pdcaflow.tasks.complaints.case_records import Period, read_cases, read_events
from pdcaflow.tasks.complaints.case_timeline import ClosureRule, case_events, events_by_contact, timeline
from pdcaflow.tasks.complaints.clocks import CaseClock, measure
from pdcaflow.tasks.complaints.complaint_actions import OverdueCase


@dataclass(frozen=True)
class HandleSettings:
    """The handling step's params, checked."""

    sla_hours: float
    first_response_hours: float
    escalate_after_hours: float
    chain: tuple[str, ...]
    calendar: CalendarSpec | None
    closure: ClosureRule
    settle_within_days: float
    overdue_limit: int


def work(cases_path: str, source: str, settings: HandleSettings, as_of: str | None) -> HandleResult:
    """Read the cases and their events, measure every case at ``as_of`` and sum up."""
    _check(settings)
    cases = read_cases(cases_path)
    moment = _as_of(cases, cases_path, as_of)
    cases = cases.loc[cases["received_at"] <= moment].reset_index(drop=True)  # not yet received then: not measured
    events = events_by_contact(read_events(source))
    clock = clock_of(settings.calendar)
    clocks: list[CaseClock] = []
    scores: list[float] = []
    reopened = ever_resolved = 0
    for row in cases.itertuples(index=False):
        line = timeline(case_events(events, str(row.contact_ids).split(";")), settings.closure, moment)
        claim = not pd.isna(row.claim_amount) and float(row.claim_amount) > 0
        clocks.append(measure(pd.Timestamp(row.received_at), claim, line, clock, moment,
                              settings.escalate_after_hours, settings.chain))
        scores.extend(line.scores)
        reopened += line.reopens > 0
        ever_resolved += line.ever_resolved
    return _sum_up(cases, clocks, settings, moment, scores, reopened, ever_resolved)


def _sum_up(cases: pd.DataFrame, clocks: list[CaseClock], settings: HandleSettings, moment: pd.Timestamp,
            scores: list[float], reopened: int, ever_resolved: int) -> HandleResult:
    unresolved = [case for case in clocks if not case.resolved]
    claims = [case for case in clocks if case.claim]
    settle_days = [case.settle_days for case in claims if case.settle_days is not None]
    overdue = _overdue(cases, clocks, settings)
    by_level = {role: sum(1 for case in clocks if case.level == number)
                for number, role in enumerate(settings.chain, start=1)}
    return HandleResult(
        as_of=moment.isoformat(sep=" "),
        resolved=len(clocks) - len(unresolved),
        closed=sum(1 for case in clocks if case.closed),
        open=len(unresolved),
        escalated=sum(1 for case in clocks if case.level > 0),
        escalations_by_level=by_level,
        resolution_p90_hours=_round(pd.Series([case.resolve_hours for case in clocks], dtype="float64").quantile(0.9))
        if clocks else None,
        within_sla_pct=_pct(sum(1 for case in clocks if case.resolve_hours <= settings.sla_hours), len(clocks)),
        first_response_in_time_pct=_pct(sum(1 for case in clocks if case.answer_hours <= settings.first_response_hours),
                                        len(clocks)),
        reopened_pct=_pct(reopened, ever_resolved),
        open_over_sla=len(overdue),
        oldest_open_days=_round(max((case.age_hours for case in unresolved), default=0.0) / 24),
        claims=len(claims),
        claims_settled=sum(1 for case in claims if case.settled),
        settlement_days_mean=_round(sum(settle_days) / len(settle_days)) if settle_days else None,
        settled_within_promise_pct=_pct(sum(1 for days in settle_days if days <= settings.settle_within_days),
                                        len(settle_days)),
        resolution_satisfaction=_round(sum(scores) / len(scores)) if scores else None,
        overdue_cases=overdue[:settings.overdue_limit],
        overdue_total=len(overdue),
    )


def _overdue(cases: pd.DataFrame, clocks: list[CaseClock], settings: HandleSettings) -> list[OverdueCase]:
    """Unresolved cases past the resolution SLA, oldest first."""
    late = [(row, case) for row, case in zip(cases.itertuples(index=False), clocks)
            if not case.resolved and case.resolve_hours > settings.sla_hours]
    late.sort(key=lambda pair: (-pair[1].age_hours, str(pair[0].case_id)))
    return [OverdueCase(case_id=str(row.case_id), customer_id=str(row.customer_id), type=str(row.type),
                        owner=None if pd.isna(row.owner) else str(row.owner), age_hours=_round(case.age_hours),
                        escalated_to=settings.chain[case.level - 1] if case.level else None)
            for row, case in late]


def _as_of(cases: pd.DataFrame, path: str, as_of: str | None) -> pd.Timestamp:
    if as_of is not None:
        try:
            return pd.Timestamp(as_of)
        except ValueError as exc:
            raise ValueError(f"as_of {as_of!r} is not a time (write YYYY-MM-DD HH:MM)") from exc
    periods = sorted(set(cases["period"]) - {""})
    if len(periods) > 1:
        raise ValueError(f"{path}: cases of several periods ({', '.join(periods)}); name the moment to measure "
                         "them at with as_of")
    if not periods:
        return pd.Timestamp.now().floor("s")  # no case to measure: the moment is not used
    return Period.parse(periods[0]).end


def _check(settings: HandleSettings) -> None:
    for name, value in (("sla_hours", settings.sla_hours), ("first_response_hours", settings.first_response_hours),
                        ("escalate_after_hours", settings.escalate_after_hours),
                        ("settle_within_days", settings.settle_within_days)):
        if not value > 0:
            raise ValueError(f"{name} is {value}: it must be more than 0")
    if not settings.chain:
        raise ValueError("escalate_to is empty: name the role, or the chain of roles, late cases go to")
    if settings.overdue_limit < 0:
        raise ValueError(f"overdue_limit is {settings.overdue_limit}: list 0 or more overdue cases")


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 2)


def _round(value: float) -> float:
    return round(float(value), 2)


def chain_of(escalate_to: str | Sequence[str]) -> tuple[str, ...]:
    """The escalation chain: one role, or the roles in order."""
    return (escalate_to,) if isinstance(escalate_to, str) else tuple(str(role) for role in escalate_to)
