"""One hand-made month of complaints (October 2026) with every number worked out, in three kinds of source.

The calendar: Monday to Friday 09:00-18:00 (9 working hours a day), Monday
5 October a holiday. 1 October 2026 is a Thursday; 3-4 and 10-11 October are a
weekend. The month ends (``as_of``) on 1 November 00:00; the working hours of
October from Tuesday 6 to Friday 30 are 19 days x 9 = 171.

Routing: field channel -> field-service [fang, li]; water_quality ->
quality-desk [qiu]; north + delivery -> north-delivery [niu]; else
complaint-desk [chen, wang].

The contacts (case or contact id: customer, type, channel, region; received; what happened):

- A00: C8 service hotline south; received Thu 10 Sep 10:00. resolved and confirmed 11 Sep: closed
  before October, not in the file.
- A0: C9 billing hotline south; received Mon 28 Sep 10:00. answered 11:00; resolved Fri 2 Oct 10:00
  (8+9+9+9+1 = 36 h); confirmed 15:00, score 4.
- B1: C1 delivery hotline south; received Thu 1 Oct 09:00. answered 11:00 (2 h); resolved Fri 2 Oct
  17:00 (9+8 = 17 h); confirmed Sat 3 Oct, score 5.
- B2: C2 water_quality hotline south, claim 200; received Fri 2 Oct 16:00. answered Tue 6 Oct 10:00
  (Fri 2 h + holiday + 1 h = 3 h); resolved Wed 7 Oct 12:00 (2+9+3 = 14 h); confirmed, score 3;
  settled Fri 9 Oct 12:00 (6 d 20 h = 164 h).
- B3: C3 delivery field north; received Mon 5 Oct (holiday) 10:00. clock from Tue 09:00; answered
  Tue 12:00 (3 h); resolved Tue 13 Oct 15:00 (9x5+6 = 51 h); reopened 14 Oct 10:00; resolved again
  Thu 15 Oct 12:00 (51+3+9+3 = 66 h); no confirmation: closes 7 days later, 22 Oct 12:00.
- B4: C1 delivery wechat south; received Mon 5 Oct (holiday) 14:00. C1's delivery case B1 closed on
  3 Oct: a new case; nothing happens: open, 171 working hours, 634 clock hours (26 d 10 h).
- B5: C4 delivery hotline north, claim 500; received Tue 6 Oct 09:30. answered 10:00 (0.5 h);
  resolved 17:30 (8 h); the claim is never settled (25 d 14.5 h = 614.5 h at the end).
- B6: C4 delivery wechat north; received Wed 7 Oct 10:00. B5 resolved but not closed: a repeat
  contact of B5; the customer confirms on B6's contact Thu 8 Oct 10:00, score 2.
- B7: C5 billing hotline south; received Thu 8 Oct 09:00. answered 15:00 (6 h: late); resolved Fri 9
  Oct 17:00 (9+8 = 17 h); confirmed Sat, score 4.
- B8: C6 service field east, claim 100; received Fri 9 Oct 17:00. answered Mon 12 Oct 09:30 (1+0.5 =
  1.5 h); resolved 12:00 (1+3 = 4 h); confirmed, score 5; settled Tue 20 Oct 17:00 (11 d = 264 h).
- B9: C7 water_quality email west; received Mon 26 Oct 10:00. answered 11:00 (1 h); open: 8+4x9 = 44
  working hours, within the SLA, past level 1.
- B10: C8 other web south; received Tue 27 Oct 10:00. the web channel is not taken in.
- B11: C3 delivery hotline north; received Wed 28 Oct 10:00. C3's case B3 closed on 22 Oct: a new
  case; nothing happens: 8+9+9 = 26 working hours, never answered.

Owners (fewest open cases at arrival, ties by name): A00 chen (0-0); A0 chen
(A00 closed: 0-0); B1 wang (chen has A0 open: 1-0); B2 qiu; B3 fang (0-0);
B4 chen (A0 and B1 closed: 0-0); B5 niu; B7 wang (chen has B4: 1-0); B8 li
(fang has B3: 1-0); B9 qiu; B11 niu.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

PERIOD = "2026-10"
ROUTING = [{"when": {"channel": "field"}, "team": "field-service"},
           {"when": {"type": "water_quality"}, "team": "quality-desk"},
           {"when": {"region": "north", "type": ["delivery", "bucket"]}, "team": "north-delivery"}]
TEAMS = {"complaint-desk": ["wang", "chen"], "field-service": ["li", "fang"], "quality-desk": ["qiu"],
         "north-delivery": ["niu"]}
CALENDAR = {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-18:00", "holidays": ["2026-10-05"]}
CHAIN = ("team-lead", "service-manager", "director")
INTAKE = {"period": PERIOD, "channels": ("hotline", "wechat", "field", "email"), "routing": tuple(ROUTING),
          "teams": TEAMS, "default_team": "complaint-desk", "sla_hours": 48, "first_response_hours": 4,
          "calendar": CALENDAR, "silence_days": 7}
HANDLE = {"calendar": CALENDAR, "sla_hours": 48, "first_response_hours": 4, "escalate_after_hours": 24,
          "escalate_to": CHAIN, "silence_days": 7, "settle_within_days": 14}

_CONTACTS = [  # contact_id, customer_id, received_at, channel, region, type, claim_amount
    ("A00", "C8", "2026-09-10 10:00", "hotline", "south", "service", None),
    ("A0", "C9", "2026-09-28 10:00", "hotline", "south", "billing", None),
    ("B1", "C1", "2026-10-01 09:00", "hotline", "south", "delivery", None),
    ("B2", "C2", "2026-10-02 16:00", "hotline", "south", "water_quality", 200.0),
    ("B3", "C3", "2026-10-05 10:00", "field", "north", "delivery", None),
    ("B4", "C1", "2026-10-05 14:00", "wechat", "south", "delivery", None),
    ("B5", "C4", "2026-10-06 09:30", "hotline", "north", "delivery", 500.0),
    ("B6", "C4", "2026-10-07 10:00", "wechat", "north", "delivery", None),
    ("B7", "C5", "2026-10-08 09:00", "hotline", "south", "billing", None),
    ("B8", "C6", "2026-10-09 17:00", "field", "east", "service", 100.0),
    ("B9", "C7", "2026-10-26 10:00", "email", "west", "water_quality", None),
    ("B10", "C8", "2026-10-27 10:00", "web", "south", "other", None),
    ("B11", "C3", "2026-10-28 10:00", "hotline", "north", "delivery", None),
]
_EVENTS = [  # contact_id, event, at, amount, score
    ("A00", "answered", "2026-09-10 10:30", None, None),
    ("A00", "resolved", "2026-09-11 10:00", None, None),
    ("A00", "confirmed", "2026-09-11 12:00", None, 5),
    ("A0", "answered", "2026-09-28 11:00", None, None),
    ("A0", "resolved", "2026-10-02 10:00", None, None),
    ("A0", "confirmed", "2026-10-02 15:00", None, 4),
    ("B1", "answered", "2026-10-01 11:00", None, None),
    ("B1", "resolved", "2026-10-02 17:00", None, None),
    ("B1", "confirmed", "2026-10-03 10:00", None, 5),
    ("B2", "answered", "2026-10-06 10:00", None, None),
    ("B2", "resolved", "2026-10-07 12:00", None, None),
    ("B2", "confirmed", "2026-10-08 09:30", None, 3),
    ("B2", "settled", "2026-10-09 12:00", 200.0, None),
    ("B3", "answered", "2026-10-06 12:00", None, None),
    ("B3", "resolved", "2026-10-13 15:00", None, None),
    ("B3", "reopened", "2026-10-14 10:00", None, None),
    ("B3", "resolved", "2026-10-15 12:00", None, None),
    ("B5", "answered", "2026-10-06 10:00", None, None),
    ("B5", "resolved", "2026-10-06 17:30", None, None),
    ("B6", "confirmed", "2026-10-08 10:00", None, 2),
    ("B7", "answered", "2026-10-08 15:00", None, None),
    ("B7", "resolved", "2026-10-09 17:00", None, None),
    ("B7", "confirmed", "2026-10-10 10:00", None, 4),
    ("B8", "answered", "2026-10-12 09:30", None, None),
    ("B8", "resolved", "2026-10-12 12:00", None, None),
    ("B8", "confirmed", "2026-10-12 16:00", None, 5),
    ("B8", "settled", "2026-10-20 17:00", 100.0, None),
    ("B9", "answered", "2026-10-26 11:00", None, None),
]


def contacts() -> pd.DataFrame:
    frame = pd.DataFrame(_CONTACTS, columns=["contact_id", "customer_id", "received_at", "channel", "region",
                                             "type", "claim_amount"])
    frame["received_at"] = pd.to_datetime(frame["received_at"])
    frame.insert(6, "summary", "as the customer told it: " + frame["type"])
    return frame


def events() -> pd.DataFrame:
    frame = pd.DataFrame(_EVENTS, columns=["contact_id", "event", "at", "amount", "score"])
    frame["at"] = pd.to_datetime(frame["at"])
    frame["amount"] = frame["amount"].astype("float64")
    frame["score"] = frame["score"].astype("float64")
    return frame


def write_folder(folder: Path, tables: dict[str, pd.DataFrame] | None = None, suffix: str = ".csv") -> str:
    """The tables as ``complaints.csv`` and ``complaint_events.csv`` (or ``.parquet``) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in (tables or {"complaints": contacts(), "complaint_events": events()}).items():
        if suffix == ".parquet":
            frame.to_parquet(folder / f"{name}.parquet", index=False)
        else:
            frame.to_csv(folder / f"{name}.csv", index=False)
    return str(folder)


def write_database(url: str) -> str:
    """The tables in the database at ``url``; returns the URL."""
    engine = sa.create_engine(url)
    try:
        contacts().to_sql("complaints", engine, index=False)
        events().to_sql("complaint_events", engine, index=False)
    finally:
        engine.dispose()
    return url


# What complaints.intake reports for October (see the module doc):
# received: B1-B9 and B11 (B10 is a web contact, not taken in) = 10;
# cases in the file: A0 (carried over: open on 1 Oct until 2 Oct 15:00) + 9 opened = 10; A00 closed in September;
# repeat contacts: B6 (joined B5) = 1; cases with more than one contact: B5 -> 1 of 10 = 10.0 %;
# by team: complaint-desk A0 B1 B4 B7 = 4, field-service B3 B8 = 2, north-delivery B5 B11 = 2,
# quality-desk B2 B9 = 2; claims: B2, B5, B8 = 3.
INTAKE_EXPECTED: dict[str, Any] = {
    "period": PERIOD, "received": 10, "cases_opened": 9, "carried_over": 1, "repeat_contacts": 1,
    "repeat_contact_pct": 10.0, "assigned_pct": 100.0,
    "by_team": {"complaint-desk": 4, "field-service": 2, "north-delivery": 2, "quality-desk": 2}, "claims": 3}
OWNERS = {"A0": "chen", "B1": "wang", "B2": "qiu", "B3": "fang", "B4": "chen", "B5": "niu", "B7": "wang",
          "B8": "li", "B9": "qiu", "B11": "niu"}

# What complaints.handle reports at 1 Nov 00:00 (escalate every 24 working hours along CHAIN):
# resolution working hours: A0 36, B1 17, B2 14, B3 66, B4 171 (open), B5 8, B7 17, B8 4, B9 44 (open),
#   B11 26 (open); sorted 4 8 14 17 17 26 36 44 66 171 -> p90 at position 0.9 x 9 = 8.1:
#   66 + 0.1 x (171 - 66) = 76.5; within 48 h: all but B3 and B4 -> 8 / 10 = 80 %.
# first answer within 4 h: A0 1, B1 2, B2 3, B3 3, B5 0.5, B8 1.5, B9 1 -> 7 / 10 = 70 % (B4, B11 never, B7 6 h).
# escalation (level k once k x 24 h pass unresolved; a resolved case strictly before its resolution):
#   A0 36 -> 1, B3 66 -> 2, B4 171 -> 3 (the chain ends), B9 44 -> 1, B11 26 -> 1: 5 escalated;
#   highest level: team-lead A0 B9 B11 = 3, service-manager B3 = 1, director B4 = 1.
# resolved 7, closed 7 (B3 by silence on 22 Oct, B5 by the confirmation on B6's contact), open 3.
# reopened: B3, of the 7 ever resolved -> 14.2857 -> 14.29 %.
# open past 48 working hours: B4 only (B9 44 and B11 26 are not yet late); oldest open: B4, 634 h / 24 = 26.42 days.
# claims: B2 164 h, B5 614.5 h (unsettled), B8 264 h -> (164 + 614.5 + 264) / 24 / 3 = 43.4375 / 3 = 14.479 -> 14.48;
#   within 14 days: B2, B8 -> 2 / 3 = 66.67 %.
# satisfaction: A0 4, B1 5, B2 3, B6 2, B7 4, B8 5 -> 23 / 6 = 3.83.
HANDLE_EXPECTED: dict[str, Any] = {
    "as_of": "2026-11-01 00:00:00", "resolved": 7, "closed": 7, "open": 3, "escalated": 5,
    "escalations_by_level": {"team-lead": 3, "service-manager": 1, "director": 1},
    "resolution_p90_hours": 76.5, "within_sla_pct": 80.0, "first_response_in_time_pct": 70.0,
    "reopened_pct": 14.29, "open_over_sla": 1, "oldest_open_days": 26.42, "claims": 3, "claims_settled": 2,
    "settlement_days_mean": 14.48, "settled_within_promise_pct": 66.67, "resolution_satisfaction": 3.83,
    "overdue_cases": [{"case_id": "B4", "customer_id": "C1", "type": "delivery", "owner": "chen",
                       "age_hours": 634.0, "escalated_to": "director"}],
    "overdue_total": 1}
