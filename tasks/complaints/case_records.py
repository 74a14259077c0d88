"""Reading the complaint tables and the cases file (docs/service-system-data.md).

``complaints`` (one row per contact) and ``complaint_events`` (what happened
to a case) come from a folder holding ``complaints.csv`` / ``.parquet`` and
``complaint_events.csv`` / ``.parquet``, or from a database
(``connection:NAME``) holding two tables of those names; either way one table
holds every period, and the period's rows are picked by time here. A missing
table or column raises :class:`~pdcaflow.tasks.sdk.sources.SourceError`,
whose message names the source, the table and the column.

The cases file is what ``complaints.intake`` writes and ``complaints.handle``
(and a user's own case system, or the sample world) reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pdcaflow.tasks.sdk.periods import period_bounds, quarter_of
from pdcaflow.tasks.sdk.sources import SourceError, read_table

CONTACTS = "complaints"
EVENTS = "complaint_events"
CONTACT_COLUMNS = ("contact_id", "customer_id", "received_at", "channel", "region", "type", "summary",
                   "claim_amount")
EVENT_COLUMNS = ("contact_id", "event", "at", "amount", "score")
EVENT_KINDS = ("answered", "resolved", "confirmed", "reopened", "settled")
CASE_COLUMNS = ("case_id", "customer_id", "type", "channel", "region", "received_at", "contacts", "contact_ids",
                "team", "owner", "first_response_due", "resolution_due", "claim_amount", "period")
CASE_TIMES = ("received_at", "first_response_due", "resolution_due")


@dataclass(frozen=True)
class Period:
    """A quarter (``2026-Q3``) or a month (``2026-07``) and the half-open range ``[start, end)`` it covers."""

    name: str
    start: pd.Timestamp
    end: pd.Timestamp

    @classmethod
    def parse(cls, period: str) -> Period:
        """The period named; :class:`ValueError` when it is neither ``YYYY-Qn`` nor ``YYYY-MM``."""
        start, end = period_bounds(period)
        return cls(period, pd.Timestamp(start), pd.Timestamp(end))

    @classmethod
    def quarter_of(cls, moment: pd.Timestamp) -> Period:
        """The quarter ``moment`` falls in."""
        return cls.parse(quarter_of(moment))


def read_contacts(source: str) -> pd.DataFrame:
    """Every contact of ``source``'s ``complaints`` table, ids as text, ``received_at`` as times."""
    frame = read_table(source, CONTACTS, columns=CONTACT_COLUMNS, parse_dates=("received_at",),
                       text_columns=("contact_id", "customer_id"))
    for column in ("contact_id", "customer_id", "channel", "region", "type"):
        frame[column] = frame[column].astype("string").fillna("").str.strip()
    frame["claim_amount"] = _numbers(frame["claim_amount"], source, CONTACTS, "claim_amount")
    _no_missing_times(frame, "received_at", source, CONTACTS)
    return frame.sort_values(["received_at", "contact_id"], kind="stable").reset_index(drop=True)


def read_events(source: str) -> pd.DataFrame:
    """Every event of ``source``'s ``complaint_events`` table; an unknown event kind is refused."""
    frame = read_table(source, EVENTS, columns=EVENT_COLUMNS, parse_dates=("at",), text_columns=("contact_id",))
    frame["contact_id"] = frame["contact_id"].astype("string").fillna("").str.strip()
    frame["event"] = frame["event"].astype("string").fillna("").str.strip().str.lower()
    unknown = frame.loc[~frame["event"].isin(EVENT_KINDS)]
    if not unknown.empty:
        first = unknown.iloc[0]
        raise SourceError(f"{source} table {EVENTS!r}: event {first['event']!r} of contact {first['contact_id']} "
                          f"is not one of {', '.join(EVENT_KINDS)}")
    frame["amount"] = _numbers(frame["amount"], source, EVENTS, "amount")
    frame["score"] = _numbers(frame["score"], source, EVENTS, "score")
    _no_missing_times(frame, "at", source, EVENTS)
    return frame.sort_values(["at"], kind="stable").reset_index(drop=True)


def read_cases(path: str) -> pd.DataFrame:
    """The cases file ``complaints.intake`` wrote (its columns checked)."""
    frame = read_table(path, columns=CASE_COLUMNS, parse_dates=CASE_TIMES, text_columns=("case_id", "customer_id"))
    for column in ("case_id", "customer_id", "type", "contact_ids", "period"):
        frame[column] = frame[column].astype("string").fillna("")
    frame["owner"] = frame["owner"].astype("string")
    frame["claim_amount"] = pd.to_numeric(frame["claim_amount"], errors="coerce")
    return frame


def _numbers(column: pd.Series, source: str, table: str, name: str) -> pd.Series:
    numbers = pd.to_numeric(column, errors="coerce")
    wrong = column.notna() & (column.astype("string").str.strip() != "") & numbers.isna()
    if wrong.any():
        raise SourceError(f"{source} table {table!r}: {name} {column[wrong].iloc[0]!r} is not a number")
    return numbers


def _no_missing_times(frame: pd.DataFrame, column: str, source: str, table: str) -> None:
    missing = frame.loc[frame[column].isna(), "contact_id"]
    if not missing.empty:
        raise SourceError(f"{source} table {table!r}: {column} of contact {missing.iloc[0]} is empty or not a "
                          "time (write YYYY-MM-DD HH:MM:SS)")
