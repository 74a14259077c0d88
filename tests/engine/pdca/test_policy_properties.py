"""Properties of the ACT effects that must hold for any numbers: bounds, limits, determinism."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pdcaflow.engine.pdca.act import apply_policies
from pdcaflow.engine.pdca.policy_effects import change_param, move_target
from pdcaflow.engine.pdca.records import Target
from tests.tasks.builders import act_context, result

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
positive = st.floats(min_value=1e-3, max_value=1e5, allow_nan=False)
percent = st.integers(min_value=1, max_value=200).map(lambda n: f"{n}%")
amounts = st.one_of(positive, percent)


@given(start=values, operation=st.sampled_from(["add", "multiply", "set"]), operand=values,
       low=values, width=st.floats(min_value=0, max_value=1e6))
def test_clamping_never_leaves_the_bounds(start: float, operation: str, operand: float, low: float,
                                          width: float) -> None:
    high = low + width
    params = {"x": start}
    effect = change_param(params, {"param": "x", operation: operand, "min": low, "max": high})
    assert low <= params["x"] <= high
    assert effect.new == params["x"]


@given(start=st.integers(min_value=0, max_value=100), step=st.integers(min_value=-5, max_value=5))
def test_whole_numbers_stay_whole(start: int, step: int) -> None:
    params = {"visits": start}
    change_param(params, {"param": "visits", "add": float(step)})
    assert params["visits"] == start + step and isinstance(params["visits"], int)


@given(low=values, amount=amounts, headroom=st.floats(min_value=0, max_value=1e5), rounds=st.integers(1, 8))
def test_a_tightened_min_never_passes_its_limit_nor_falls(low: float, amount: Any, headroom: float,
                                                          rounds: int) -> None:
    limit = low + headroom
    target = Target(min=low)
    for _ in range(rounds):
        moved = move_target("k", target, "tighten", amount, limit).new
        assert moved.min is not None and target.min is not None
        assert target.min <= moved.min <= limit
        target = moved


@given(high=values, amount=amounts, headroom=st.floats(min_value=0, max_value=1e5), rounds=st.integers(1, 8))
def test_a_tightened_max_never_passes_its_limit_nor_rises(high: float, amount: Any, headroom: float,
                                                          rounds: int) -> None:
    limit = high - headroom
    target = Target(max=high)
    for _ in range(rounds):
        moved = move_target("k", target, "tighten", amount, limit).new
        assert moved.max is not None and target.max is not None
        assert limit <= moved.max <= target.max
        target = moved


@given(low=values, width=st.floats(min_value=0, max_value=1e5), amount=amounts, rounds=st.integers(1, 8))
def test_a_tightened_band_narrows_and_never_crosses(low: float, width: float, amount: Any, rounds: int) -> None:
    target = Target(min=low, max=low + width)
    for _ in range(rounds):
        moved = move_target("k", target, "tighten", amount).new
        assert moved.min is not None and moved.max is not None
        assert target.min is not None and target.max is not None
        assert target.min <= moved.min <= moved.max <= target.max
        target = moved


@given(low=values, width=st.floats(min_value=0, max_value=1e5), amount=amounts)
def test_relaxing_a_band_widens_it(low: float, width: float, amount: Any) -> None:
    moved = move_target("k", Target(min=low, max=low + width), "relax", amount).new
    assert moved.min is not None and moved.max is not None
    assert moved.min <= low and moved.max >= low + width


@given(actuals=st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=10)), min_size=1, max_size=6),
       cycles=st.integers(min_value=1, max_value=5))
def test_same_context_same_outcome_and_inputs_untouched(actuals: list[float | None], cycles: int) -> None:
    target = {"min": 4.2}
    results = [result(actual, target) for actual in actuals]
    policies = [
        {"id": "more", "when": {"kpi": "k", "missed": True, "cycles": cycles},
         "change": {"param": "visits.B", "add": 1.0, "max": 8.0},
         "open_action": {"title": "t", "owner": "o", "due_days": 7}},
        {"id": "trend", "when": {"kpi": "k", "trend": "down", "cycles": cycles},
         "change_target": {"kpi": "k", "relax": "1%", "limit": 3.5}},
        {"id": "bar", "ratchet": {"kpi": "k", "after_met_cycles": cycles, "tighten": 0.1, "limit": 4.6}},
    ]
    ctx = act_context(policies, kpis={"k": results[-1]}, history={"k": results[:-1]},
                      params={"visits": {"B": 2}}, targets={"k": target})
    before = copy.deepcopy((policies, results, target))
    first, second = apply_policies(ctx), apply_policies(ctx)
    assert first == second
    assert (policies, results, target) == before
    assert [decision["policy"] for decision in first["decisions"]] == ["more", "trend", "bar"]
    next_min = first["targets"]["k"]["min"]
    assert next_min is not None and 3.5 <= next_min <= 4.6
    if results[-1]["status"] == "no_data":
        assert not any(decision["fired"] for decision in first["decisions"])
