"""improve.apply_policies: when each kind of `when:` and `ratchet:` fires, and the reasons it gives."""

from __future__ import annotations

from typing import Any

import pytest

from pdcaflow.engine.pdca.act import apply_policies
from tests.tasks.builders import act_context, decision, result

SAT = {"min": 4.2}
VISITS = {"visits_per_month": {"A": 4, "B": 2}}


def more_visits(**when: Any) -> dict[str, Any]:
    return {"id": "more_visits", "when": {"kpi": "satisfaction", **when},
            "change": [{"param": "visits_per_month.B", "add": 1.0, "max": 8.0}]}


def run(policy: dict[str, Any], now: dict[str, Any] | None, *earlier: dict[str, Any],
        **extra: Any) -> dict[str, Any]:
    """Apply one policy; ``earlier`` are the earlier cycles' results, oldest first."""
    kpis = {"satisfaction": now} if now is not None else {}
    extra.setdefault("targets", {"satisfaction": SAT})
    ctx = act_context([policy], kpis=kpis, history={"satisfaction": list(earlier)}, params=VISITS, **extra)
    return dict(apply_policies(ctx))


# --- missed / met -------------------------------------------------------------------------------

def test_missed_in_consecutive_cycles_fires_with_the_numbers() -> None:
    outcome = run(more_visits(missed=True, cycles=2), result(4.1, SAT), result(4.05, SAT), )
    assert decision(outcome, "more_visits") == {
        "policy": "more_visits", "kpi": "satisfaction", "fired": True,
        "reason": "satisfaction missed in 2 consecutive cycles (4.05 < min 4.2, 4.1 < min 4.2)",
        "effects": ["param visits_per_month.B: 2 -> 3"]}
    assert outcome["params"] == {"visits_per_month": {"A": 4, "B": 3}}


def test_missed_once_is_the_default() -> None:
    outcome = run(more_visits(missed=True), result(4.1, SAT))
    assert decision(outcome, "more_visits")["reason"] == "satisfaction missed (4.1 < min 4.2)"
    assert decision(outcome, "more_visits")["fired"] is True


def test_missed_streak_too_short_names_what_came_before() -> None:
    outcome = run(more_visits(missed=True, cycles=3), result(4.1, SAT), result(4.3, SAT), result(4.0, SAT))
    found = decision(outcome, "more_visits")
    assert found["fired"] is False and found["effects"] == []
    assert found["reason"] == ("satisfaction missed in 2 consecutive cycles (4 < min 4.2, 4.1 < min 4.2), needs 3; "
                               "before that met (4.3 >= min 4.2)")
    assert outcome["params"] == VISITS and outcome["param_changes"] == {}


def test_missed_without_enough_history_says_so() -> None:
    found = decision(run(more_visits(missed=True, cycles=2), result(4.1, SAT)), "more_visits")
    assert found["fired"] is False
    assert found["reason"] == ("satisfaction missed in 1 consecutive cycle (4.1 < min 4.2), needs 2; "
                               "no earlier cycle recorded")


def test_missed_policy_on_a_met_kpi_reports_it_met() -> None:
    found = decision(run(more_visits(missed=True), result(4.3, SAT)), "more_visits")
    assert (found["fired"], found["reason"]) == (False, "satisfaction met (4.3 >= min 4.2)")


def test_each_cycle_is_judged_against_its_own_target() -> None:
    outcome = run(more_visits(missed=True, cycles=2), result(4.1, SAT), result(4.05, {"min": 4.1}))
    assert decision(outcome, "more_visits")["reason"] == (
        "satisfaction missed in 2 consecutive cycles (4.05 < min 4.1, 4.1 < min 4.2)")


def test_a_cycle_without_data_breaks_a_streak() -> None:
    found = decision(run(more_visits(missed=True, cycles=2), result(4.1, SAT), result(None, SAT)), "more_visits")
    assert found["fired"] is False
    assert found["reason"].endswith("needs 2; before that no data")


def test_met_in_consecutive_cycles() -> None:
    policy = {"id": "fewer_visits", "when": {"kpi": "satisfaction", "met": True, "cycles": 2},
              "change": {"param": "visits_per_month.B", "add": -1.0, "min": 1.0}}
    outcome = run(policy, result(4.4, SAT), result(4.3, SAT))
    assert decision(outcome, "fewer_visits")["reason"] == (
        "satisfaction met in 2 consecutive cycles (4.3 >= min 4.2, 4.4 >= min 4.2)")
    assert outcome["params"]["visits_per_month"]["B"] == 1


@pytest.mark.parametrize("when", [{"missed": True}, {"met": True}, {"trend": "down", "cycles": 1}])
def test_no_data_this_cycle_never_fires(when: dict[str, Any]) -> None:
    for now in (result(None, SAT), None):
        found = decision(run(more_visits(**when), now, result(4.1, SAT), result(4.0, SAT)), "more_visits")
        assert found["fired"] is False
        assert "no data" in found["reason"]


def test_band_results_are_shown_with_both_bounds() -> None:
    band = {"min": 4.0, "max": 4.5}
    outcome = run(more_visits(missed=True), result(4.6, band), targets={"satisfaction": band})
    assert decision(outcome, "more_visits")["reason"] == "satisfaction missed (4.6 > max 4.5)"
    outcome = run(more_visits(missed=True), result(4.2, band))
    assert decision(outcome, "more_visits")["reason"] == "satisfaction met (min 4 <= 4.2 <= max 4.5)"


# --- trend ---------------------------------------------------------------------------------------

def test_trend_down_over_n_cycles_needs_n_plus_one_values() -> None:
    policy = more_visits(trend="down", cycles=2)
    fired = decision(run(policy, result(4.3, SAT), result(4.5, SAT), result(4.4, SAT)), "more_visits")
    assert fired == {"policy": "more_visits", "kpi": "satisfaction", "fired": True,
                     "reason": "satisfaction moved down in 2 consecutive cycles (4.5 -> 4.4 -> 4.3)",
                     "effects": ["param visits_per_month.B: 2 -> 3"]}
    short = decision(run(policy, result(4.3, SAT), result(4.4, SAT)), "more_visits")
    assert short["fired"] is False
    assert short["reason"] == "satisfaction has 2 of the 3 values a down trend over 2 consecutive cycles needs " \
                              "(4.4 -> 4.3)"


def test_trend_not_strict_does_not_fire() -> None:
    found = decision(run(more_visits(trend="up", cycles=2), result(4.4, SAT), result(4.3, SAT), result(4.3, SAT)),
                     "more_visits")
    assert (found["fired"], found["reason"]) == (
        False, "satisfaction did not move up in 2 consecutive cycles (4.3 -> 4.3 -> 4.4)")


def test_trend_with_no_data_in_the_window_does_not_fire() -> None:
    found = decision(run(more_visits(trend="up", cycles=2), result(4.4, SAT), result(4.0, SAT), result(None, SAT)),
                     "more_visits")
    assert (found["fired"], found["reason"]) == (
        False, "satisfaction has no data in part of the last 3 cycles (4 -> no data -> 4.4), so no trend")


def test_trend_up_fires_on_a_missed_or_met_kpi_alike() -> None:
    outcome = run(more_visits(trend="up", cycles=1), result(4.1, SAT), result(4.0, SAT))
    assert decision(outcome, "more_visits")["fired"] is True


# --- signal and expr ------------------------------------------------------------------------------

def test_signal_fires_when_the_rule_is_among_this_cycles_signals() -> None:
    policy = more_visits(signal="we1")
    fired = decision(run(policy, result(3.1, SAT, signals=["we1", "we2"])), "more_visits")
    assert (fired["fired"], fired["reason"]) == (True, "satisfaction control chart shows we1 this cycle (3.1)")
    other = decision(run(policy, result(3.1, SAT, signals=["we2"])), "more_visits")
    assert (other["fired"], other["reason"]) == (
        False, "satisfaction control chart shows no we1 this cycle (signals: we2)")
    none = decision(run(policy, result(3.1, SAT)), "more_visits")
    assert none["reason"] == "satisfaction control chart shows no we1 this cycle (signals: none)"


def test_expr_uses_the_engines_value() -> None:
    expr = "kpis.satisfaction.actual < 4 and params.visits_per_month.B < 4"
    policy = {"id": "expr_rule", "when": {"expr": expr},
              "change": {"param": "visits_per_month.B", "set": 4}}
    yes = run(policy, result(3.9, SAT), conditions={"expr_rule": True})
    assert decision(yes, "expr_rule") == {"policy": "expr_rule", "kpi": None, "fired": True,
                                          "reason": f"expression `{expr}` is true",
                                          "effects": ["param visits_per_month.B: 2 -> 4"]}
    no = run(policy, result(3.9, SAT), conditions={"expr_rule": False})
    assert decision(no, "expr_rule")["reason"] == f"expression `{expr}` is false"
    missing = decision(run(policy, result(3.9, SAT)), "expr_rule")
    assert (missing["fired"], missing["reason"]) == (False, f"the engine gave no value for `{expr}`")


def test_expr_policy_names_the_kpi_whose_target_it_moves() -> None:
    policy = {"id": "expr_rule", "when": {"expr": "true"}, "change_target": {"kpi": "satisfaction", "relax": 0.1}}
    found = decision(run(policy, result(3.9, SAT), conditions={"expr_rule": True}), "expr_rule")
    assert found["kpi"] == "satisfaction"


def test_a_when_without_a_test_is_a_malfunction() -> None:
    with pytest.raises(ValueError, match="`when` has none of missed, met, trend, signal or expr"):
        run({"id": "broken", "when": {"kpi": "satisfaction"}, "change": {"param": "visits_per_month.B", "set": 1}},
            result(4.0, SAT))


# --- ratchet -------------------------------------------------------------------------------------

RATCHET = {"id": "raise_bar", "ratchet": {"kpi": "satisfaction", "after_met_cycles": 3, "tighten": "2%",
                                          "limit": 4.6}}


def test_ratchet_fires_after_n_met_cycles_at_the_same_target() -> None:
    outcome = run(RATCHET, result(4.5, SAT), result(4.3, SAT), result(4.4, SAT))
    assert decision(outcome, "raise_bar") == {
        "policy": "raise_bar", "kpi": "satisfaction", "fired": True,
        "reason": "satisfaction met in 3 consecutive cycles at target min 4.2 "
                  "(4.3 >= min 4.2, 4.4 >= min 4.2, 4.5 >= min 4.2)",
        "effects": ["target satisfaction: min 4.2 -> min 4.284 by tighten 2%"]}
    assert outcome["targets"] == {"satisfaction": {"min": 4.284, "max": None}}
    assert outcome["target_changes"] == {"satisfaction": {"old_min": 4.2, "old_max": None, "new_min": 4.284,
                                                          "new_max": None, "policy": "raise_bar"}}


def test_ratchet_count_restarts_after_the_target_moved() -> None:
    outcome = run(RATCHET, result(4.5, SAT), result(4.4, {"min": 4.1}), result(4.3, SAT))
    found = decision(outcome, "raise_bar")
    assert found["fired"] is False and outcome["targets"]["satisfaction"] == {"min": 4.2, "max": None}
    assert found["reason"] == ("satisfaction met in 2 consecutive cycles at target min 4.2 (4.3 >= min 4.2, "
                               "4.5 >= min 4.2), needs 3; before that met against target min 4.1")


def test_ratchet_does_not_fire_on_a_miss_or_without_data() -> None:
    missed = decision(run(RATCHET, result(4.0, SAT), result(4.3, SAT), result(4.4, SAT)), "raise_bar")
    assert (missed["fired"], missed["reason"]) == (False, "satisfaction missed (4 < min 4.2)")
    no_data = decision(run(RATCHET, result(None, SAT), result(4.3, SAT), result(4.4, SAT)), "raise_bar")
    assert (no_data["fired"], no_data["reason"]) == (False, "satisfaction has no data this cycle")


def test_ratchet_stops_at_its_limit_and_then_stays() -> None:
    near = {"min": 4.55}
    outcome = run(RATCHET, result(4.7, near), result(4.7, near), result(4.7, near), targets={"satisfaction": near})
    assert outcome["targets"]["satisfaction"]["min"] == 4.6
    assert decision(outcome, "raise_bar")["effects"] == [
        "target satisfaction: min 4.55 -> min 4.6 by tighten 2% (min stopped at its limit 4.6)"]
    at_limit = {"min": 4.6}
    again = run(RATCHET, result(4.7, at_limit), result(4.7, at_limit), result(4.7, at_limit),
                targets={"satisfaction": at_limit})
    assert again["targets"]["satisfaction"]["min"] == 4.6 and again["target_changes"] == {}
    assert decision(again, "raise_bar")["effects"] == [
        "target satisfaction unchanged at min 4.6 by tighten 2% (min already at or past its limit 4.6)"]
