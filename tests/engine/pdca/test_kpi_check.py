"""kpi.check: every declared KPI against the target in force, with delta, margin and trend."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pdcaflow.engine.pdca.check import check, margin, trend
from pdcaflow.tasks.sdk.registry import StepContext


def spec(actual: Any, target: dict[str, float], unit: str = "score (1-5)") -> dict[str, Any]:
    return {"unit": unit, "direction": None, "source": "check_feedback.value", "control": None,
            "target": target, "actual": actual}


def context(specs: dict[str, dict[str, Any]], **extra: Any) -> StepContext:
    return StepContext(process_id="retail", cycle=3, kpi_specs=specs, **extra)


def test_met_missed_and_lists_in_declaration_order() -> None:
    outcome = check(context({
        "satisfaction": spec(4.1, {"min": 4.2}),
        "complaint_p90": spec(36, {"max": 48}, unit="hours"),
        "fill_rate": spec(None, {"min": 95}, unit="%"),
        "stock_days": spec(12.0, {"min": 10, "max": 20}, unit="days"),
    }))
    assert outcome["met"] == ["complaint_p90", "stock_days"]
    assert outcome["missed"] == ["satisfaction"]
    assert outcome["no_data"] == ["fill_rate"]
    assert outcome["signals"] == {}
    assert list(outcome["results"]) == ["satisfaction", "complaint_p90", "fill_rate", "stock_days"]
    assert outcome["results"]["satisfaction"] == {
        "actual": 4.1, "target": {"min": 4.2, "max": None}, "met": False, "missed": True, "delta": None,
        "margin": -0.1, "status": "missed", "unit": "score (1-5)", "signals": [], "trend": None,
        "control": None}
    assert outcome["results"]["complaint_p90"]["actual"] == 36.0
    assert outcome["results"]["complaint_p90"]["unit"] == "hours"


@pytest.mark.parametrize("actual", [4.2, 4.200, 4])
def test_bounds_are_inclusive(actual: float) -> None:
    band = check(context({"k": spec(actual, {"min": 4, "max": 4.2})}))
    assert band["results"]["k"]["status"] == "met"


@pytest.mark.parametrize("actual", [None, math.nan, math.inf, -math.inf, "4.5", True, [4.5]])
def test_no_number_is_no_data(actual: Any) -> None:
    result = check(context({"k": spec(actual, {"min": 4})}))["results"]["k"]
    assert (result["status"], result["actual"], result["met"], result["missed"]) == ("no_data", None, None, None)
    assert result["margin"] is None and result["delta"] is None


def test_delta_is_the_change_since_the_previous_cycle() -> None:
    specs = {"a": spec(4.1, {"min": 4.2}), "b": spec(4.1, {"min": 4.2}), "c": spec(None, {"min": 4.2})}
    previous = {"kpis": {"a": {"actual": 4.3}, "b": {"actual": None}, "c": {"actual": 4.0}}}
    results = check(context(specs, previous=previous))["results"]
    assert results["a"]["delta"] == -0.2
    assert results["b"]["delta"] is None
    assert results["c"]["delta"] is None


def test_delta_is_none_in_the_first_cycle() -> None:
    assert check(context({"a": spec(4.1, {"min": 4.2})}))["results"]["a"]["delta"] is None


@pytest.mark.parametrize(("actual", "target", "expected"), [
    (4.5, {"min": 4.2}, 0.3),
    (4.0, {"min": 4.2}, -0.2),
    (40, {"max": 48}, 8.0),
    (50, {"max": 48}, -2.0),
    (12, {"min": 10, "max": 20}, 2.0),     # inside the band: distance to the closer bound
    (18, {"min": 10, "max": 20}, 2.0),
    (8, {"min": 10, "max": 20}, -2.0),     # below the band: the violated bound
    (23, {"min": 10, "max": 20}, -3.0),
])
def test_margin_is_signed_distance_to_the_nearest_bound(actual: float, target: dict[str, float],
                                                         expected: float) -> None:
    assert check(context({"k": spec(actual, target)}))["results"]["k"]["margin"] == expected


def history_of(*actuals: float | None) -> list[dict[str, Any]]:
    return [{"actual": value, "status": "no_data" if value is None else "met"} for value in actuals]


@pytest.mark.parametrize(("earlier", "now", "expected"), [
    ([4.0, 4.1], 4.2, "up"),
    ([4.3, 4.2], 4.1, "down"),
    ([4.0, 4.2], 4.1, "flat"),
    ([4.0, 4.0], 4.1, "flat"),             # equal values are not a strict rise
    ([4.0], 4.1, None),                    # two values, three needed
    ([4.0, None, 4.1], 4.2, "up"),         # a cycle without data is skipped
    ([3.0, 4.0, 4.1], 4.2, "up"),          # only the last trend_cycles values count
])
def test_trend(earlier: list[float | None], now: float, expected: str | None) -> None:
    outcome = check(context({"k": spec(now, {"min": 4})}, history={"k": history_of(*earlier)}), trend_cycles=3)
    assert outcome["results"]["k"]["trend"] == expected


def test_history_cycles_limits_the_history_a_trend_sees() -> None:
    ctx = context({"k": spec(4.2, {"min": 4})}, history={"k": history_of(4.0, 4.1)})
    assert check(ctx, trend_cycles=3, history_cycles=2)["results"]["k"]["trend"] == "up"
    assert check(ctx, trend_cycles=3, history_cycles=1)["results"]["k"]["trend"] is None
    assert check(ctx, trend_cycles=3, history_cycles=0)["results"]["k"]["trend"] is None


def test_target_in_force_falls_back_to_the_context_targets() -> None:
    specs = {"k": {"unit": "%", "actual": 96}}
    outcome = check(context(specs, targets={"k": {"min": 95}}))
    assert outcome["results"]["k"]["target"] == {"min": 95.0, "max": None}
    assert outcome["met"] == ["k"]


def test_a_kpi_without_control_gets_no_signals() -> None:
    outcome = check(context({"k": spec(9.0, {"max": 5})}, history={"k": history_of(1, 2, 1, 2, 1, 2, 1, 2)}))
    assert outcome["results"]["k"]["signals"] == []
    assert outcome["results"]["k"]["control"] is None
    assert outcome["signals"] == {}


def test_control_min_points_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match="control_min_points must be at least 2 .* got 1"):
        check(context({"k": spec(1, {"min": 0})}), control_min_points=1)


def test_trend_cycles_below_two_is_refused() -> None:
    with pytest.raises(ValueError, match=r"trend_cycles must be at least 2 .* got 1"):
        check(context({"k": spec(1, {"min": 0})}), trend_cycles=1)


def test_negative_history_cycles_is_refused() -> None:
    with pytest.raises(ValueError, match="history_cycles cannot be negative, got -1"):
        check(context({"k": spec(1, {"min": 0})}), history_cycles=-1)


def test_inputs_are_not_changed() -> None:
    specs = {"k": spec(4.1, {"min": 4.2})}
    history = {"k": history_of(4.0, 4.05)}
    ctx = context(specs, history=history)
    check(ctx)
    assert specs == {"k": spec(4.1, {"min": 4.2})} and history == {"k": history_of(4.0, 4.05)}


finite_values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(actual=finite_values, low=finite_values, width=st.floats(min_value=0, max_value=1e6))
def test_margin_sign_agrees_with_met(actual: float, low: float, width: float) -> None:
    high = low + width
    result = check(context({"k": spec(actual, {"min": low, "max": high})}))["results"]["k"]
    assert result["margin"] is not None
    assert (result["margin"] >= 0) == result["met"] or math.isclose(result["margin"], 0, abs_tol=1e-6)


@given(values=st.lists(finite_values, min_size=2, max_size=8))
def test_trend_up_means_every_step_rises(values: list[float]) -> None:
    found = trend(values, len(values))
    pairs = list(zip(values, values[1:]))
    assert (found == "up") == all(b > a for a, b in pairs)
    assert (found == "down") == all(b < a for a, b in pairs)


def test_margin_without_bounds_is_none() -> None:
    assert margin(3.0, None, None) is None
