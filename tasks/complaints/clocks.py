"""One case's clocks at a moment: time to answer, time to resolve, escalation level, claim settlement.

Times that promises are measured against (first response, resolution,
escalation) are working hours on the business calendar when one is given,
clock hours otherwise. A case not yet answered or resolved counts at its age
at ``as_of``: leaving a case open never makes it look faster. Claims are
promised in calendar days (the money reaches the customer on any day).

Escalation: with ``escalate_after_hours`` E and a chain of roles, the case
reaches level k (the k-th role) once k x E working hours have passed since it
was received and it is still unresolved then. A case resolved after 30 working
hours with E = 24 reached level 1, not level 2; one resolved after exactly 24
reached none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from pdcaflow.tasks.complaints.business_calendar import Clock
from pdcaflow.tasks.complaints.case_timeline import Timeline


@dataclass(frozen=True)
class CaseClock:
    """One case measured at ``as_of``."""

    resolved: bool
    closed: bool
    resolve_hours: float  # working hours receipt -> standing resolution, or the age at as_of when unresolved
    answer_hours: float  # working hours receipt -> first answer, or the age at as_of when unanswered
    age_hours: float  # clock hours receipt -> as_of (what the customer has waited)
    level: int  # escalation level reached, 0 = none
    claim: bool
    settled: bool
    settle_days: float | None  # calendar days receipt -> settled, or the age at as_of; None without a claim


def measure(received: pd.Timestamp, claim: bool, line: Timeline, clock: Clock, as_of: pd.Timestamp,
            escalate_after_hours: float, chain: Sequence[str]) -> CaseClock:
    """The case's clocks at ``as_of`` from its timeline."""
    resolved = line.resolved_at is not None
    resolve_hours = clock.hours_between(received, line.resolved_at if line.resolved_at is not None else as_of)
    answer_hours = clock.hours_between(received, line.answered_at if line.answered_at is not None else as_of)
    if resolved:  # reached while unresolved: strictly before the resolution
        level = sum(1 for k in range(1, len(chain) + 1) if k * escalate_after_hours < resolve_hours)
    else:
        level = sum(1 for k in range(1, len(chain) + 1) if k * escalate_after_hours <= resolve_hours)
    settled = claim and line.settled_at is not None
    settle_end = line.settled_at if settled and line.settled_at is not None else as_of
    return CaseClock(
        resolved=resolved,
        closed=line.closed_at is not None,
        resolve_hours=resolve_hours,
        answer_hours=answer_hours,
        age_hours=max((as_of - received) / pd.Timedelta(hours=1), 0.0),
        level=level,
        claim=claim,
        settled=settled,
        settle_days=max((settle_end - received) / pd.Timedelta(days=1), 0.0) if claim else None,
    )
