"""A small but complete cycle written through the repository, for tests that need real rows."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from pdcaflow.engine.store import Store
from pdcaflow.engine.store.audit import utc_now
from pdcaflow.engine.store.tables import Cycle
from pdcaflow.engine.store.repository import (
    complete_cycle,
    record_actions_opened,
    record_decisions,
    record_definition_version,
    record_kpi_results,
    record_step,
    start_cycle,
)

PROCESS = "retail-customer-service"
YAML = "id: retail-customer-service\ntitle: Retail customer service — 七步\n"
SHA = hashlib.sha256(YAML.encode()).hexdigest()


def kpi_results(satisfaction: float) -> dict[str, dict[str, Any]]:
    met = satisfaction >= 4.2
    return {
        "satisfaction": {"actual": satisfaction, "target": {"min": 4.2, "max": None}, "met": met, "missed": not met,
                         "delta": round(satisfaction - 4.2, 6), "status": "met" if met else "missed",
                         "unit": "score(1-5)", "signals": [], "trend": None},
        "complaint_resolution_p90": {"actual": None, "target": {"min": None, "max": 48.0}, "met": None,
                                     "missed": None, "delta": None, "status": "no_data", "unit": "hours",
                                     "signals": [], "trend": None},
    }


DECISIONS = [
    {"policy": "more_visits", "kpi": "satisfaction", "fired": True,
     "reason": "satisfaction 4.0 < 4.2 (missed)", "effects": ["params.visits_per_month.B: 2 -> 3"]},
    {"policy": "ratchet_satisfaction", "kpi": "satisfaction", "fired": False,
     "reason": "met 0 of the last 3 cycles", "effects": []},
]
ACTIONS = [{"id": "more_visits", "title": "Call back class-B customers", "owner": "service-manager",
            "due": "2026-12-06", "policy": "more_visits", "kpi": "satisfaction", "verify_after": 2}]


def carry_over(number: int) -> dict[str, Any]:
    return {"params": {"visits_per_month": {"A": 4, "B": 3, "C": 1}}, "targets": {"satisfaction": {"min": 4.2}},
            "kpis": kpi_results(4.0), "actions": ACTIONS, "decisions": DECISIONS, "cycle": number}


def run_cycle(store: Store, satisfaction: float = 4.0, actor: str = "alice") -> Cycle:
    """Definition, cycle, two steps, KPI results, decisions, an action and the carry-over, one transaction each."""
    with store.transaction() as session:
        version = record_definition_version(session, PROCESS, YAML, SHA, actor)
        cycle = start_cycle(session, PROCESS, version, "manual", actor, "host-a", 4242, reason="monthly review")
    started = utc_now()
    with store.transaction() as session:
        record_step(session, cycle, "know_customers", "completed", 1, started, started + timedelta(seconds=1),
                    {"customers": 120, "classes": {"A": 10, "B": 50, "C": 60}}, None, actor)
    with store.transaction() as session:
        record_step(session, cycle, "check_feedback", "completed", 2, started, started + timedelta(seconds=2),
                    {"satisfaction_mean": satisfaction}, None, actor)
        record_kpi_results(session, cycle, kpi_results(satisfaction), actor)
        record_decisions(session, cycle, DECISIONS, actor)
        record_actions_opened(session, cycle, ACTIONS, actor)
        complete_cycle(session, cycle, carry_over(cycle.number), actor)
    return cycle


def behind_the_api(store: Store, statement: str, **params: Any) -> None:
    """Run raw SQL on the store as an intruder would: PostgreSQL's append-only triggers switched off."""
    with store.engine.begin() as connection:
        if store.engine.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))  # triggers off
        connection.execute(text(statement), params)
