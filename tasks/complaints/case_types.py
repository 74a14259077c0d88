"""The typed params and outputs of the complaint tasks (``calendar:``, ``routing:``), without pandas.

``pdca validate`` imports the task modules for their signatures: these types
live here, apart from the modules that do the work, so that it stays off pandas.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from typing_extensions import TypedDict

from pdcaflow.tasks.complaints.complaint_actions import OverdueCase

RoutingField = Literal["channel", "type", "region", "customer_id"]


# typing_extensions' TypedDict: pydantic converts `with:` values to these on Python 3.11 only with it.
class CalendarSpec(TypedDict, total=False):
    """The ``calendar:`` param: working weekdays, opening hours, holidays and extra working dates."""

    days: list[str]
    hours: str | list[str]
    holidays: list[str | dt.date]  # a YAML date written unquoted (2026-10-01) arrives as a date
    workdays: list[str | dt.date]


class RoutingRule(TypedDict):
    """One routing rule: the conditions (field -> value or values) and the team the case goes to."""

    when: dict[RoutingField, str | list[str]]
    team: str


class IntakeResult(TypedDict):
    """complaints.intake's outputs."""

    cases: str
    period: str
    received: int
    cases_opened: int
    carried_over: int
    repeat_contacts: int
    repeat_contact_pct: float | None
    assigned_pct: float | None
    by_team: dict[str, int]
    claims: int


class HandleResult(TypedDict):
    """complaints.handle's outputs."""

    as_of: str
    resolved: int
    closed: int
    open: int
    escalated: int
    escalations_by_level: dict[str, int]
    resolution_p90_hours: float | None
    within_sla_pct: float | None
    first_response_in_time_pct: float | None
    reopened_pct: float | None
    open_over_sla: int
    oldest_open_days: float
    claims: int
    claims_settled: int
    settlement_days_mean: float | None
    settled_within_promise_pct: float | None
    resolution_satisfaction: float | None
    overdue_cases: list[OverdueCase]
    overdue_total: int
