"""The pandas work of ``complaints.intake``: contacts into owned cases, the cases file, the counts.

Imported when the task runs, so that ``pdca validate`` (which imports the task
module for its signature) stays off pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pdcaflow.tasks.complaints.business_calendar import clock_of
from pdcaflow.tasks.complaints.case_types import CalendarSpec, IntakeResult, RoutingRule
from pdcaflow.tasks.complaints.case_linking import Case, Clocks, case_rows, link_cases
from pdcaflow.tasks.complaints.case_records import Period, read_contacts, read_events
from pdcaflow.tasks.complaints.case_timeline import ClosureRule, events_by_contact
from pdcaflow.tasks.complaints.routing import Router
from pdcaflow.tasks.sdk.sources import SourceError, write_table


@dataclass(frozen=True)
class IntakeSettings:
    """The intake's params, checked."""

    channels: tuple[str, ...]
    routing: Sequence[RoutingRule]
    teams: Mapping[str, Sequence[str]]
    default_team: str
    sla_hours: float
    first_response_hours: float
    calendar: CalendarSpec | None
    silence_days: float | None


def take_in(source: str, period: str | None, settings: IntakeSettings, target: str | Path) -> IntakeResult:
    """Link the contacts into cases, write the period's cases to ``target`` and count them."""
    _check(settings)
    router = Router.build(settings.routing, settings.teams, settings.default_team)
    clocks = Clocks(clock_of(settings.calendar), settings.first_response_hours, settings.sla_hours)
    contacts = read_contacts(source)
    contacts = contacts.loc[contacts["channel"].isin(settings.channels)].reset_index(drop=True)
    chosen = _period(source, period, contacts)
    events = events_by_contact(read_events(source))
    rule = ClosureRule(confirm_with_customer=True, silence_days=settings.silence_days)
    cases = [case for case in link_cases(contacts, events, router, rule, chosen.end)
             if case.closed_at is None or case.closed_at > chosen.start]
    write_table(case_rows(cases, clocks, chosen.name), target)
    return _counts(str(target), chosen, contacts, cases)


def _check(settings: IntakeSettings) -> None:
    if not settings.channels:
        raise ValueError("channels is empty: name at least one channel complaints are taken from")
    for name, hours in (("sla_hours", settings.sla_hours), ("first_response_hours", settings.first_response_hours)):
        if not hours > 0:
            raise ValueError(f"{name} is {hours}: a promised time must be more than 0 hours")
    if settings.silence_days is not None and not settings.silence_days > 0:
        raise ValueError(f"silence_days is {settings.silence_days}: more than 0 days, or leave it out so that "
                         "only the customer's confirmation closes a case")


def _period(source: str, period: str | None, contacts: pd.DataFrame) -> Period:
    if period is not None:
        return Period.parse(period)
    if contacts.empty:
        raise SourceError(f"{source}: no complaints in the channels taken in, so no latest period; name the "
                          "period (YYYY-Qn or YYYY-MM)")
    return Period.quarter_of(pd.Timestamp(contacts["received_at"].max()))


def _counts(target: str, period: Period, contacts: pd.DataFrame, cases: list[Case]) -> IntakeResult:
    inside = (contacts["received_at"] >= period.start) & (contacts["received_at"] < period.end)
    opened = [case for case in cases if case.received_at >= period.start]
    carried = [case for case in cases if case.received_at < period.start]
    # a contact of the period that is not the first of its case joined an open case
    repeats = sum(1 for case in cases for received in case.contact_times[1:] if received >= period.start)
    by_team: dict[str, int] = {}
    for case in cases:
        by_team[case.team] = by_team.get(case.team, 0) + 1
    return IntakeResult(
        cases=target,
        period=period.name,
        received=int(inside.sum()),
        cases_opened=len(opened),
        carried_over=len(carried),
        repeat_contacts=repeats,
        repeat_contact_pct=_pct(sum(1 for case in cases if len(case.contact_ids) > 1), len(cases)),
        assigned_pct=_pct(sum(1 for case in cases if case.owner is not None), len(cases)),
        by_team=dict(sorted(by_team.items())),
        claims=sum(1 for case in cases if case.claim_amount is not None),
    )


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 2)
