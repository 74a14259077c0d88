"""A trail as the engine records it, written through the store API (no Prefect): what the review reads.

``visit-loop``: cycles 1-3 run definition v1 (satisfaction 3.8, 4.0, 4.2 against >= 4.2;
the policy raises ``visits`` 1 -> 2 -> 3; cycle 2 opens an action, cycle 3 closes it with
a reason); cycles 4-5 run v2 (target raised to 4.3, a step added); cycle 4 completes,
cycle 5 fails. ``other-process``: one cycle by another actor.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from pdcaflow.engine.store import Store
from pdcaflow.engine.store.audit import utc_now
from pdcaflow.engine.store.repository import (
    complete_cycle, fail_cycle, record_actions_opened, record_decisions, record_definition_version,
    record_kpi_results, record_step, start_cycle, update_action_status,
)
from tests.conftest import FIXTURES

PROCESS = "visit-loop"
V1 = (FIXTURES / "runnable" / "loop.yaml").read_text("utf-8")
V2 = V1.replace("target: {min: 4.2}", "target: {min: 4.3}").replace("  visits: 1\n", "  visits: 2\n").replace(
    "  - id: evaluate\n", "  - id: audit_sample\n    phase: do\n    uses: testing.plan_visits\n"
                          "    with: {visits: 1}\n  - id: evaluate\n")
RULE = {"when": {"kpi": "satisfaction", "missed": True}, "change": [{"param": "visits", "add": 1, "max": 6}]}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def kpi(actual: float, minimum: float) -> dict[str, Any]:
    status = "met" if actual >= minimum else "missed"
    return {"satisfaction": {"actual": actual, "target": {"min": minimum, "max": None}, "status": status,
                             "delta": None, "unit": "score (1-5)", "met": status == "met",
                             "missed": status == "missed", "signals": [], "trend": None}}


def one_cycle(store: Store, yaml_text: str, visits: int, actual: float, minimum: float, *, actor: str = "alice",
              reason: str = "monthly review", carried_from: int | None = None, fail: bool = False,
              process: str = PROCESS) -> int:
    """Write one cycle the way CycleRun records it; returns its number."""
    with store.transaction() as session:
        version = record_definition_version(session, process, yaml_text, sha(yaml_text), actor)
        plan = {"params": {"visits": visits, "base": 3.6}, "targets": {"satisfaction": {"min": minimum, "max": None}},
                "carried_from_cycle": carried_from}
        cycle = start_cycle(session, process, version, "manual", actor, "host-a", 4242, reason=reason,
                            plan_inputs=plan)
    started = utc_now()
    with store.transaction() as session:
        record_step(session, cycle, "plan_visits", "completed", 1, started, started + timedelta(seconds=1),
                    {"visits": visits, "planned_in_cycle": cycle.number}, None, actor)
    if fail:
        with store.transaction() as session:
            record_step(session, cycle, "serve", "failed", 1, started, started, None,
                        "step 'serve': the delivery system was unreachable", actor)
            fail_cycle(session, cycle, "step 'serve': the delivery system was unreachable", actor)
        return cycle.number
    results = kpi(actual, minimum)
    fired = results["satisfaction"]["status"] == "missed"
    decision = {"policy": "more_visits_when_missed", "kpi": "satisfaction", "fired": fired,
                "reason": f"satisfaction {'missed' if fired else 'met'} ({actual} vs min {minimum})",
                "effects": [f"param visits: {visits} -> {visits + 1}"] if fired else [], "rule": RULE,
                "kpi_result": {"actual": actual, "target": {"min": minimum, "max": None},
                               "status": results["satisfaction"]["status"]}}
    next_visits = visits + 1 if fired else visits
    with store.transaction() as session:
        record_step(session, cycle, "serve", "completed", 1, started, started + timedelta(seconds=2),
                    {"satisfaction": actual, "visits_done": visits}, None, actor)
        record_kpi_results(session, cycle, results, actor)
        record_decisions(session, cycle, [decision], actor)
        opened = []
        if cycle.number == 2:
            opened = [{"id": "call_back", "title": "Call back unhappy customers", "owner": "service-manager",
                       "due": "2026-12-06", "policy": "more_visits_when_missed", "kpi": "satisfaction"}]
            record_actions_opened(session, cycle, opened, actor)
        if cycle.number == 3:
            update_action_status(session, f"{process}#2/call_back", "done", "bob", reason="customers called back",
                                 cycle_number=3)
        carry = {"cycle": cycle.number, "params": {"visits": next_visits, "base": 3.6},
                 "targets": {"satisfaction": {"min": minimum, "max": None}}, "kpis": results,
                 "decisions": [decision],
                 "actions": [{**a, "id": f"{process}#2/{a['id']}", "status": "open"} for a in opened]}
        complete_cycle(session, cycle, carry, actor)
    return cycle.number


def build_trail(store: Store) -> None:
    one_cycle(store, V1, 1, 3.8, 4.2)
    one_cycle(store, V1, 2, 4.0, 4.2, carried_from=1)
    one_cycle(store, V1, 3, 4.2, 4.2, carried_from=2, actor="bob", reason="re-run after the call-backs")
    one_cycle(store, V2, 3, 4.2, 4.3, carried_from=3, reason="target raised to 4.3")
    one_cycle(store, V2, 4, 0.0, 4.3, carried_from=4, fail=True, reason="monthly review")
    one_cycle(store, V1.replace("id: visit-loop", "id: other-process"), 1, 4.5, 4.2, actor="carol",
              reason="pilot", process="other-process")
