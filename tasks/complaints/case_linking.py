"""Contacts into cases: the first contact opens a case, a repeat contact joins the open one.

Contacts are taken in order of arrival (then by ``contact_id``). A contact of a
customer about a ``type`` joins that customer's case of that type when the case
is still open at the moment the contact arrives (not closed by then, see
:mod:`pdcaflow.tasks.complaints.case_timeline`); otherwise it opens a new case,
whose id is the contact's id. A new case is routed to a team and handed to the
least-loaded member (:mod:`pdcaflow.tasks.complaints.routing`); its due times
run from its first contact on the clock of the business calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from pdcaflow.tasks.complaints.business_calendar import Clock
from pdcaflow.tasks.complaints.case_timeline import ClosureRule, Event, case_events, timeline
from pdcaflow.tasks.complaints.routing import Balancer, Router


@dataclass
class Case:
    """A case as it is built up from its contacts (mutable while the contacts are linked)."""

    case_id: str
    customer_id: str
    type: str
    channel: str
    region: str
    received_at: pd.Timestamp
    team: str
    owner: str | None = None
    contact_ids: list[str] = field(default_factory=list)
    contact_times: list[pd.Timestamp] = field(default_factory=list)
    claim_amount: float | None = None
    closed_at: pd.Timestamp | None = None

    def add(self, contact_id: str, received_at: pd.Timestamp, claim: float | None) -> None:
        """Link a contact; a claim restated in a later contact is the largest amount claimed, not a sum."""
        self.contact_ids.append(contact_id)
        self.contact_times.append(received_at)
        if claim is not None and claim > 0:
            self.claim_amount = claim if self.claim_amount is None else max(self.claim_amount, claim)


@dataclass(frozen=True)
class Clocks:
    """The promised times and the calendar they run on."""

    clock: Clock
    first_response_hours: float
    sla_hours: float


def link_cases(contacts: pd.DataFrame, events: Mapping[str, list[Event]], router: Router, rule: ClosureRule,
               until: pd.Timestamp) -> list[Case]:
    """Every case the contacts received before ``until`` make, in order of arrival, each with its owner.

    Args:
        contacts: the ``complaints`` rows, sorted by ``received_at`` then ``contact_id``.
        events: the ``complaint_events`` by contact
            (:func:`~pdcaflow.tasks.complaints.case_timeline.events_by_contact`).
        router: the routing rules and teams.
        rule: when a resolved case closes.
        until: the end of the period: later contacts and events are not seen.
    """
    balancer = Balancer(router)
    latest: dict[tuple[str, str], Case] = {}
    cases: list[Case] = []
    for row in contacts.loc[contacts["received_at"] < until].itertuples(index=False):
        received = pd.Timestamp(row.received_at)
        claim = None if pd.isna(row.claim_amount) else float(row.claim_amount)
        key = (str(row.customer_id), str(row.type))
        case = latest.get(key)
        if case is None or not (case.closed_at is None or case.closed_at > received):
            fields = {"channel": str(row.channel), "type": str(row.type), "region": str(row.region),
                      "customer_id": str(row.customer_id)}
            case = Case(str(row.contact_id), key[0], key[1], fields["channel"], fields["region"], received,
                        router.team_for(fields))
            case.owner = balancer.assign(case.team, received, case)
            latest[key] = case
            cases.append(case)
        case.add(str(row.contact_id), received, claim)
        case.closed_at = timeline(case_events(events, case.contact_ids), rule, until).closed_at
    return cases


def case_rows(cases: list[Case], clocks: Clocks, period: str) -> pd.DataFrame:
    """The cases file's rows (docs/service-system-data.md, "The cases file")."""
    rows = [{
        "case_id": case.case_id, "customer_id": case.customer_id, "type": case.type, "channel": case.channel,
        "region": case.region, "received_at": case.received_at, "contacts": len(case.contact_ids),
        "contact_ids": ";".join(case.contact_ids), "team": case.team, "owner": case.owner,
        "first_response_due": clocks.clock.add(case.received_at, clocks.first_response_hours),
        "resolution_due": clocks.clock.add(case.received_at, clocks.sla_hours),
        "claim_amount": case.claim_amount, "period": period,
    } for case in cases]
    frame = pd.DataFrame(rows, columns=["case_id", "customer_id", "type", "channel", "region", "received_at",
                                        "contacts", "contact_ids", "team", "owner", "first_response_due",
                                        "resolution_due", "claim_amount", "period"])
    for column in ("received_at", "first_response_due", "resolution_due"):
        frame[column] = pd.to_datetime(frame[column])
    frame["contacts"] = frame["contacts"].astype("int64")
    frame["claim_amount"] = frame["claim_amount"].astype("float64")
    for column in ("case_id", "customer_id", "type", "channel", "region", "contact_ids", "team", "owner", "period"):
        frame[column] = frame[column].astype("string")
    return frame
