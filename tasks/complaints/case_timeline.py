"""What happened to one case, read from its events: answered, resolved, reopened, closed, settled.

The events of a case are those naming any of its contacts, taken in time order
up to a moment (the end of the period, or ``as_of``):

- ``answered``: the first answer to the customer (a resolution or confirmation
  before any answer counts as the first answer too);
- ``resolved``: the fix is done; the case waits for the customer's word;
- ``reopened``: the customer says it is not resolved; the case is worked again
  and only a later ``resolved`` counts;
- ``confirmed``: the customer confirms; the case closes then (with
  ``confirm_with_customer``), and ``score`` rates the resolution;
- ``settled``: the claim is paid (``amount``).

Without a confirmation, a resolved case closes ``silence_days`` after its
resolution when no ``reopened`` came in between (``None``: only a confirmation
closes it). Without ``confirm_with_customer`` a case closes when it is resolved.
A closed case takes no more ``resolved`` or ``reopened`` events (a customer who
comes back later starts a new case); a late ``settled`` or a confirmation's
score still counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Event:
    """One row of ``complaint_events``."""

    kind: str
    at: pd.Timestamp
    amount: float | None
    score: float | None


@dataclass(frozen=True)
class ClosureRule:
    """When a resolved case closes: on confirmation, and/or after ``silence_days`` without a reopen."""

    confirm_with_customer: bool = True
    silence_days: float | None = None


@dataclass(frozen=True)
class Timeline:
    """The case's state at the moment it was read to (``None``: did not happen by then)."""

    answered_at: pd.Timestamp | None
    resolved_at: pd.Timestamp | None  # the resolution that stands (not followed by a reopen)
    closed_at: pd.Timestamp | None
    ever_resolved: bool
    reopens: int
    scores: tuple[float, ...]
    settled_at: pd.Timestamp | None
    settled_amount: float | None

    def open_at(self, moment: pd.Timestamp) -> bool:
        """Not yet closed at ``moment``."""
        return self.closed_at is None or self.closed_at > moment


class _Walk:
    """The state while the events are read in order."""

    def __init__(self, rule: ClosureRule) -> None:
        self.rule = rule
        self.answered_at: pd.Timestamp | None = None
        self.resolved_at: pd.Timestamp | None = None
        self.closed_at: pd.Timestamp | None = None
        self.ever_resolved = False
        self.reopens = 0
        self.scores: list[float] = []
        self.settled_at: pd.Timestamp | None = None
        self.settled_amount: float | None = None

    def silence_ends(self, moment: pd.Timestamp) -> None:
        """Close the case if it has been resolved and silent long enough by ``moment``."""
        if self.closed_at is None and self.resolved_at is not None and self.rule.silence_days is not None:
            ends = self.resolved_at + pd.Timedelta(days=self.rule.silence_days)
            if ends <= moment:
                self.closed_at = ends

    def take(self, event: Event) -> None:
        self.silence_ends(event.at)
        if event.kind == "settled":
            if self.settled_at is None:
                self.settled_at, self.settled_amount = event.at, event.amount
            return
        if event.kind == "confirmed" and event.score is not None:
            self.scores.append(event.score)
        if self.closed_at is not None:
            return
        if event.kind in ("answered", "resolved", "confirmed") and self.answered_at is None:
            self.answered_at = event.at
        if event.kind == "resolved" and self.resolved_at is None:
            self.resolved_at, self.ever_resolved = event.at, True
            if not self.rule.confirm_with_customer:
                self.closed_at = event.at
        elif event.kind == "reopened" and self.resolved_at is not None:
            self.resolved_at, self.reopens = None, self.reopens + 1
        elif event.kind == "confirmed" and self.rule.confirm_with_customer:
            if self.resolved_at is None:  # confirmed without a recorded resolution: resolved then
                self.resolved_at, self.ever_resolved = event.at, True
            self.closed_at = event.at


def timeline(events: Iterable[Event], rule: ClosureRule, until: pd.Timestamp) -> Timeline:
    """The case's state at ``until`` from its events (those after ``until`` are not seen).

    Args:
        events: the case's events, in time order.
        rule: when a resolved case closes.
        until: the moment to read the case to (inclusive).
    """
    walk = _Walk(rule)
    for event in events:
        if event.at > until:
            break
        walk.take(event)
    walk.silence_ends(until)
    return Timeline(walk.answered_at, walk.resolved_at, walk.closed_at, walk.ever_resolved, walk.reopens,
                    tuple(walk.scores), walk.settled_at, walk.settled_amount)


def events_by_contact(frame: pd.DataFrame) -> dict[str, list[Event]]:
    """The ``complaint_events`` rows grouped by the contact they name, each list in time order."""
    grouped: dict[str, list[Event]] = {}
    for row in frame.itertuples(index=False):
        grouped.setdefault(str(row.contact_id), []).append(Event(
            str(row.event), pd.Timestamp(row.at), None if pd.isna(row.amount) else float(row.amount),
            None if pd.isna(row.score) else float(row.score)))
    return grouped


def case_events(by_contact: Mapping[str, list[Event]], contact_ids: Iterable[str]) -> list[Event]:
    """The events naming any of a case's contacts, in time order (a stable sort keeps each table order)."""
    merged = [event for contact in contact_ids for event in by_contact.get(contact, ())]
    return sorted(merged, key=lambda event: event.at)
