"""What the water-world tests share: the contract's columns, plans and cases written from the contract."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pdcaflow.tasks.sdk.sources import write_table

REFERENCE_VISITS = {"key_account": 4, "office": 2, "retail": 2, "household": 0}
# The columns of docs/service-system-data.md, copied here by hand so that a change on either side shows.
CONTRACT = {
    "customers.csv": "customer_id, name, segment, region, joined, left, monthly_margin, monthly_service_cost",
    "offerings.csv": "offering_id, name, meets, segments, min_level, cost_per_customer_month, status",
    "deliveries": "delivery_id, customer_id, segment, region, ordered_at, promised_by, delivered_at, buckets, "
                  "out_of_water",
    "bucket_returns": "return_id, customer_id, returned_at, buckets, hygiene_passed",
    "hotline_calls": "call_id, customer_id, received_at, wait_seconds, answered, topic",
    "visits": "customer_id, segment, planned, done",
    "surveys": "customer_id, segment, invited_at, responded, satisfaction, need",
    "front_line_reports": "report_id, reported_at, reporter, segment, need",
    "inspections": "inspection_id, inspected_at, level, area, score",
    "complaints": "contact_id, customer_id, received_at, channel, region, type, summary, claim_amount",
    "complaint_events": "contact_id, event, at, amount, score",
}
PLAN_COLUMNS = ["period", "segment", "service_level", "offering_id", "meets", "change", "cost_per_customer_month"]
CASE_COLUMNS = ["case_id", "customer_id", "type", "channel", "region", "received_at", "contacts", "contact_ids",
                "team", "owner", "first_response_due", "resolution_due", "claim_amount"]
CURRENT = [  # the catalogue's current offerings, where they go at the default levels
    ("key_account", "gold", "account_manager_slot", "scheduled_delivery", 25.0),
    ("key_account", "gold", "bucket_exchange", "clean_buckets", 4.0),
    ("key_account", "gold", "monthly_statement", "clear_billing", 1.5),
    ("office", "silver", "bucket_exchange", "clean_buckets", 4.0),
    ("office", "silver", "monthly_statement", "clear_billing", 1.5),
    ("retail", "silver", "monthly_statement", "clear_billing", 1.5),
]


def write_plan(path: Path, period: str, extra: list[tuple[str, str, str, str, float]] = ()) -> str:  # type: ignore[assignment]
    """A service plan as service.design writes it: the current offerings kept, ``extra`` ones new;
    household gets an empty row when nothing is in force for it."""
    rows = [(period, s, level, o, need, "keep", cost) for s, level, o, need, cost in CURRENT]
    rows += [(period, s, level, o, need, "new", cost) for s, level, o, need, cost in extra]
    if not any(row[1] == "household" for row in rows):
        rows.append((period, "household", "bronze", "", "", "keep", 0.0))
    return str(write_table(pd.DataFrame(rows, columns=PLAN_COLUMNS), path))


def write_cases(world: Path, quarter_start: str, path: Path, owners: int = 4) -> pd.DataFrame:
    """A cases file as complaints.intake writes it: one case per contact of the quarter (no grouping needed
    here), owners dealt round-robin among ``owners`` desk members."""
    contacts = pd.read_csv(world / "complaints" / "complaints.csv", dtype={"contact_id": str})
    contacts = contacts.loc[pd.to_datetime(contacts["received_at"]) >= pd.Timestamp(quarter_start)]
    received = pd.to_datetime(contacts["received_at"])
    cases = pd.DataFrame({
        "case_id": "K-" + contacts["contact_id"], "customer_id": contacts["customer_id"], "type": contacts["type"],
        "channel": contacts["channel"], "region": contacts["region"], "received_at": received,
        "contacts": 1, "contact_ids": contacts["contact_id"], "team": "complaint-desk",
        "owner": [f"agent-{i % owners}" for i in range(len(contacts))],
        "first_response_due": received + pd.Timedelta(hours=4), "resolution_due": received + pd.Timedelta(hours=48),
        "claim_amount": contacts["claim_amount"]})
    write_table(cases.loc[:, CASE_COLUMNS], path)
    return cases
