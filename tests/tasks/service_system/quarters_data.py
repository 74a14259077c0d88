"""Two small quarters of the water brand's operations (docs/service-system-data.md), as CSV folders or DB tables.

2026-Q1 holds a few hotline calls only; 2026-Q2 holds hotline calls, deliveries,
bucket returns, surveys and inspections, and no ``visits`` (so a standard on
visits cannot be measured on it). The expected figures are worked out in the tests.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

QUARTERS: dict[str, dict[str, str]] = {
    "2026-Q1": {
        "hotline_calls": """\
call_id,customer_id,received_at,wait_seconds,answered,topic
Q1C1,W001,2026-01-05 09:00:00,12,true,order
Q1C2,W002,2026-02-05 10:00:00,18,true,billing
""",
    },
    "2026-Q2": {
        "hotline_calls": """\
call_id,customer_id,received_at,wait_seconds,answered,topic
C1,W001,2026-04-01 09:00:00,10,true,order
C2,W002,2026-04-02 09:00:00,25,true,billing
C3,W003,2026-04-03 09:00:00,5,true,order
C4,W004,2026-04-04 09:00:00,40,false,order
C5,W005,2026-04-05 09:00:00,15,true,delivery
""",
        "deliveries": """\
delivery_id,customer_id,segment,region,ordered_at,promised_by,delivered_at,buckets,out_of_water
D1,W001,office,north,2026-04-01 08:00:00,2026-04-01 12:00:00,2026-04-01 11:00:00,2,false
D2,W002,household,south,2026-04-01 08:00:00,2026-04-01 12:00:00,2026-04-01 13:30:00,1,true
D3,W003,office,east,2026-04-02 08:00:00,2026-04-02 12:00:00,2026-04-02 12:00:00,3,false
D4,W004,retail,west,2026-04-03 08:00:00,2026-04-03 12:00:00,,1,false
""",
        "bucket_returns": """\
return_id,customer_id,returned_at,buckets,hygiene_passed
R1,W001,2026-04-02 10:00:00,2,true
R2,W002,2026-04-03 10:00:00,1,true
R3,W003,2026-04-04 10:00:00,1,true
R4,W004,2026-04-05 10:00:00,3,true
""",
        "surveys": """\
customer_id,segment,invited_at,responded,satisfaction,need
W001,office,2026-06-10 09:00:00,true,5,faster_hotline
W002,office,2026-06-10 09:00:00,true,4,
W003,household,2026-06-10 09:00:00,true,3,clean_buckets
W004,household,2026-06-10 09:00:00,false,,
W005,retail,2026-06-10 09:00:00,true,4,weekend_delivery
W006,retail,2026-06-10 09:00:00,false,,
""",
        "inspections": """\
inspection_id,inspected_at,level,area,score
I1,2026-05-01 10:00:00,team,delivery,80
I2,2026-05-02 10:00:00,team,delivery,90
I3,2026-05-03 10:00:00,team,hotline,70
I4,2026-05-04 10:00:00,company,delivery,60
I5,2026-05-05 10:00:00,company,hotline,90
I6,2026-05-06 10:00:00,department,hygiene,10
""",
    },
}

# the standards the tests publish; their Q2 values are worked out in test_standards.py
STANDARDS: list[dict[str, object]] = [
    {"id": "hotline_answer", "description": "The hotline answers within 20 seconds.",
     "measure": {"table": "hotline_calls", "share_if": [{"column": "answered", "op": "==", "value": True},
                                                        {"column": "wait_seconds", "op": "<=", "value": 20}]},
     "unit": "%", "target": {"min": 90}, "owner": "service-centre"},
    {"id": "hotline_wait", "description": "Callers wait 20 seconds on average at most.",
     "measure": {"table": "hotline_calls", "mean": "wait_seconds"},
     "unit": "seconds", "target": {"max": 20}, "owner": "service-centre"},
    {"id": "door_delivery", "description": "Water arrives by the time promised.",
     "measure": {"table": "deliveries", "share_if": {
         "column": {"hours_between": {"start": "promised_by", "end": "delivered_at"}}, "op": "<=", "value": 0}},
     "unit": "%", "target": {"min": 97}, "owner": "logistics"},
    {"id": "bucket_hygiene", "description": "Every returned bucket passes the hygiene check.",
     "measure": {"table": "bucket_returns", "share_if": {"column": "hygiene_passed", "op": "==", "value": True}},
     "unit": "%", "target": {"min": 100}, "owner": "quality-team"},
    {"id": "visits_done", "description": "Every customer gets the visits planned.",
     "measure": {"table": "visits", "share_if": {"column": "done", "op": ">=", "value": 1}},
     "unit": "%", "target": {"min": 95}, "owner": "service-centre"},
]
ROLES = {"service_processing": "service-centre", "satisfaction_monitoring": "quality-team"}


def write_quarters(folder: Path) -> Path:
    """``folder/quarters/<YYYY-Qn>/<table>.csv`` for both quarters; returns the quarters folder."""
    root = folder / "quarters"
    for period, tables in QUARTERS.items():
        (root / period).mkdir(parents=True)
        for table, text in tables.items():
            (root / period / f"{table}.csv").write_text(text, encoding="utf-8")
    return root


def write_database(url: str) -> str:
    """The same rows in one table per kind holding both quarters, with a ``period`` column; returns ``url``."""
    frames: dict[str, list[pd.DataFrame]] = {}
    for period, tables in QUARTERS.items():
        for table, text in tables.items():
            frame = pd.read_csv(io.StringIO(text))
            for column in [name for name in frame.columns if name.endswith(("_at", "_by"))]:
                frame[column] = pd.to_datetime(frame[column])
            frames.setdefault(table, []).append(frame.assign(period=period))
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for table, parts in frames.items():
                pd.concat(parts, ignore_index=True).to_sql(table, connection, index=False)
    finally:
        engine.dispose()
    return url
