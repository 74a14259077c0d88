"""Decision text is for people: KPI numbers with the KPI's decimals, never raw floats such as 2.057636888."""

from __future__ import annotations

import re
from typing import Any

from pdcaflow.engine.pdca.act import apply_policies
from tests.tasks.builders import act_context, decision, result

LONG_FLOAT = re.compile(r"\d\.\d{5,}")
RATE = {"max": 2.5}


def with_unit(actual: float, unit: str, decimals: int | None = None) -> dict[str, Any]:
    kpi_result = {**result(actual, RATE), "unit": unit}
    return kpi_result if decimals is None else {**kpi_result, "decimals": decimals}


def reasons(now: dict[str, Any], *earlier: dict[str, Any]) -> list[str]:
    policies = [{"id": "missed_twice", "when": {"kpi": "stockout", "missed": True, "cycles": 2},
                 "change": {"param": "reps", "add": 1}},
                {"id": "trend", "when": {"kpi": "stockout", "trend": "down", "cycles": 2},
                 "change": {"param": "reps", "add": 1}},
                {"id": "tighter", "when": {"kpi": "stockout", "met": True},
                 "change_target": {"kpi": "stockout", "capability": {"k": 3, "cycles": 3}}}]
    ctx = act_context(policies, kpis={"stockout": now}, history={"stockout": list(earlier)}, params={"reps": 2},
                      targets={"stockout": RATE})
    outcome = dict(apply_policies(ctx))
    return [decision(outcome, name)["reason"] for name in ("missed_twice", "trend")] + \
        list(decision(outcome, "tighter")["effects"])


def test_decision_text_has_no_long_floats() -> None:
    texts = reasons(with_unit(2.057636888, "%"), with_unit(2.61234567, "%"), with_unit(2.4987654321, "%"))
    assert texts[0] == "stockout met (2.1 <= max 2.5)"
    assert texts[1] == "stockout moved down in 2 consecutive cycles (2.6 -> 2.5 -> 2.1)"
    assert not [text for text in texts if LONG_FLOAT.search(text)], texts


def test_decision_text_uses_the_kpis_own_decimals() -> None:
    texts = reasons(with_unit(2.057636888, "%", decimals=3), with_unit(2.61234567, "%", decimals=3))
    assert texts[0] == "stockout met (2.058 <= max 2.5)"


def test_a_value_just_past_its_bound_is_not_rounded_onto_it() -> None:
    texts = reasons(with_unit(2.5004, "%"), with_unit(2.6, "%"))
    assert texts[0] == "stockout missed in 2 consecutive cycles (2.6 > max 2.5, 2.5004 > max 2.5)"
