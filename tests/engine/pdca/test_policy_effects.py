"""improve.apply_policies: what fired policies change: params, targets, actions, and chains of them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pdcaflow.engine.pdca.act import apply_policies
from pdcaflow.engine.pdca.policy_effects import PolicyEffectError
from tests.tasks.builders import act_context, decision, result

SAT = {"min": 4.2}
P90 = {"max": 48.0}
PARAMS = {"visits_per_month": {"A": 4, "B": 2, "C": 1}, "forecast": {"method": "holt", "alpha": 0.4},
          "quotas": [10, 20]}
MISSED_SAT = {"kpi": "satisfaction", "missed": True}


def act(*policies: dict[str, Any], kpis: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Apply policies to a cycle where satisfaction missed (4.1) and complaint_p90 met (40 h)."""
    kpis = kpis if kpis is not None else {"satisfaction": result(4.1, SAT), "complaint_p90": result(40.0, P90)}
    extra.setdefault("params", copy.deepcopy(PARAMS))
    return dict(apply_policies(act_context(list(policies), kpis=kpis, **extra)))


def changes(policy_id: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"id": policy_id, "when": MISSED_SAT, "change": list(entries)}


# --- change ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("entry", "new"), [
    ({"param": "visits_per_month.B", "add": 1.0}, 3),
    ({"param": "visits_per_month.B", "add": 1.5}, 3.5),
    ({"param": "visits_per_month.B", "multiply": 1.5}, 3),
    ({"param": "visits_per_month.B", "set": 5}, 5),
    ({"param": "forecast.alpha", "add": 0.1}, 0.5),             # 0.4 + 0.1 without float noise
    ({"param": "forecast.method", "set": "ses"}, "ses"),
    ({"param": "quotas.1", "add": 5.0}, 25),
])
def test_a_change_sets_adds_or_multiplies(entry: dict[str, Any], new: Any) -> None:
    outcome = act(changes("p", entry))
    path = entry["param"]
    old = {"visits_per_month.B": 2, "forecast.alpha": 0.4, "forecast.method": "holt", "quotas.1": 20}[path]
    assert outcome["param_changes"] == {path: {"old": old, "new": new, "policy": "p", "clamped": False}}
    assert type(outcome["param_changes"][path]["new"]) is type(new)


def test_the_whole_next_params_come_back_and_the_input_is_untouched() -> None:
    params = copy.deepcopy(PARAMS)
    outcome = act(changes("p", {"param": "visits_per_month.B", "add": 1.0}), params=params)
    assert params == PARAMS
    assert outcome["params"] == {**PARAMS, "visits_per_month": {"A": 4, "B": 3, "C": 1}}


@pytest.mark.parametrize(("entry", "new", "effect"), [
    ({"param": "visits_per_month.B", "add": 7.0, "max": 8.0}, 8, "param visits_per_month.B: 2 -> 8 "
                                                               "(clamped to its bound)"),
    ({"param": "visits_per_month.B", "add": -5.0, "min": 1.0}, 1, "param visits_per_month.B: 2 -> 1 "
                                                                "(clamped to its bound)"),
    ({"param": "visits_per_month.B", "set": 12, "max": 8.0}, 8, "param visits_per_month.B: 2 -> 8 "
                                                              "(clamped to its bound)"),
])
def test_min_and_max_clamp_the_result(entry: dict[str, Any], new: int, effect: str) -> None:
    outcome = act(changes("p", entry))
    assert outcome["param_changes"]["visits_per_month.B"] == {"old": 2, "new": new, "policy": "p", "clamped": True}
    assert decision(outcome, "p")["effects"] == [effect]


def test_a_change_held_at_its_bound_is_an_effect_but_no_param_change() -> None:
    outcome = act(changes("p", {"param": "visits_per_month.A", "add": 1.0, "max": 4.0}))
    assert outcome["param_changes"] == {}
    assert decision(outcome, "p")["effects"] == ["param visits_per_month.A unchanged at 4 (clamped to its bound)"]


def test_a_list_of_changes_changes_several_params() -> None:
    outcome = act(changes("p", {"param": "visits_per_month.B", "add": 1.0}, {"param": "visits_per_month.C",
                                                                            "add": 1.0}))
    assert outcome["params"]["visits_per_month"] == {"A": 4, "B": 3, "C": 2}
    assert list(outcome["param_changes"]) == ["visits_per_month.B", "visits_per_month.C"]


def test_a_single_change_mapping_is_accepted() -> None:
    policy = {"id": "p", "when": MISSED_SAT, "change": {"param": "visits_per_month.B", "add": 1.0}}
    assert act(policy)["params"]["visits_per_month"]["B"] == 3


def test_max_param_changes_caps_distinct_params_per_cycle() -> None:
    first = changes("first", {"param": "visits_per_month.B", "add": 1.0})
    second = changes("second", {"param": "visits_per_month.C", "add": 1.0}, {"param": "visits_per_month.B",
                                                                            "add": 1.0})
    ctx = act_context([first, second], kpis={"satisfaction": result(4.1, SAT)}, params=copy.deepcopy(PARAMS))
    outcome = apply_policies(ctx, max_param_changes=1)
    assert outcome["params"]["visits_per_month"] == {"A": 4, "B": 4, "C": 1}
    assert decision(dict(outcome), "second")["effects"] == [
        "param visits_per_month.C not changed: max_param_changes (1) reached this cycle",
        "param visits_per_month.B: 3 -> 4"]


@pytest.mark.parametrize(("entry", "message"), [
    ({"param": "visits_per_month.D", "add": 1.0}, r"param 'visits_per_month.D' does not exist \(no "
                                                  r"'visits_per_month.D'\)"),
    ({"param": "staff.count", "set": 3}, r"param 'staff.count' does not exist \(no 'staff'\)"),
    ({"param": "quotas.7", "set": 3}, r"param 'quotas.7' does not exist"),
    ({"param": "forecast.method", "add": 1.0}, r"cannot add param 'forecast.method': 'holt' is not a number"),
    ({"param": "forecast.method", "multiply": 2.0}, r"cannot multiply param 'forecast.method'"),
])
def test_a_change_validation_should_have_refused_is_a_malfunction(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyEffectError, match=message):
        act(changes("p", entry))


# --- change_target --------------------------------------------------------------------------------

def target_policy(**change: Any) -> dict[str, Any]:
    return {"id": "t", "when": MISSED_SAT, "change_target": change}


@pytest.mark.parametrize(("kpi", "change", "expected"), [
    ("satisfaction", {"tighten": 0.1}, {"min": 4.3, "max": None}),
    ("satisfaction", {"relax": 0.1}, {"min": 4.1, "max": None}),
    ("satisfaction", {"tighten": "5%"}, {"min": 4.41, "max": None}),
    ("satisfaction", {"relax": "5%"}, {"min": 3.99, "max": None}),
    ("complaint_p90", {"tighten": 6.0}, {"min": None, "max": 42.0}),
    ("complaint_p90", {"relax": "25%"}, {"min": None, "max": 60.0}),
    ("complaint_p90", {"set": {"max": 36.0}}, {"min": None, "max": 36.0}),
    ("complaint_p90", {"set": {"min": 1.0, "max": 36.0}}, {"min": 1.0, "max": 36.0}),
    ("satisfaction", {"set": {"max": 5.0}}, {"min": None, "max": 5.0}),   # set replaces the whole target
])
def test_change_target_moves_one_sided_targets(kpi: str, change: dict[str, Any],
                                               expected: dict[str, float | None]) -> None:
    outcome = act(target_policy(kpi=kpi, **change))
    assert outcome["targets"][kpi] == expected
    old = {"satisfaction": (4.2, None), "complaint_p90": (None, 48.0)}[kpi]
    assert outcome["target_changes"] == {kpi: {"old_min": old[0], "old_max": old[1], "new_min": expected["min"],
                                               "new_max": expected["max"], "policy": "t"}}


def test_targets_not_moved_are_carried_over_whole() -> None:
    outcome = act(target_policy(kpi="satisfaction", tighten=0.1))
    assert outcome["targets"] == {"satisfaction": {"min": 4.3, "max": None},
                                  "complaint_p90": {"min": None, "max": 48.0}}


BAND = {"min": 90.0, "max": 110.0}


def band_outcome(**change: Any) -> dict[str, Any]:
    kpis = {"satisfaction": result(4.1, SAT), "fill_rate": result(100.0, BAND)}
    return act(target_policy(kpi="fill_rate", **change), kpis=kpis)


@pytest.mark.parametrize(("change", "expected"), [
    ({"tighten": 5.0}, (95.0, 105.0)),
    ({"relax": 5.0}, (85.0, 115.0)),
    ({"tighten": "10%"}, (99.0, 100.0)),            # 90 + 9, but 110 - 11 would pass the middle
    ({"tighten": 15.0}, (100.0, 100.0)),            # both stop at the middle
    ({"tighten": "5%"}, (94.5, 104.5)),             # each side by 5 % of its own bound
    ({"tighten": 5.0, "limit": 93.0}, (93.0, 105.0)),   # below the middle: the limit holds the min
    ({"tighten": 5.0, "limit": 107.0}, (95.0, 107.0)),  # above the middle: it holds the max
    ({"relax": 5.0, "limit": 88.0}, (88.0, 115.0)),
    ({"relax": 5.0, "limit": 112.0}, (85.0, 112.0)),
])
def test_band_targets(change: dict[str, Any], expected: tuple[float, float]) -> None:
    outcome = band_outcome(**change)
    assert (outcome["targets"]["fill_rate"]["min"], outcome["targets"]["fill_rate"]["max"]) == expected


def test_band_tightened_to_its_middle_says_so() -> None:
    effects = decision(band_outcome(tighten=15.0), "t")["effects"]
    assert effects == ["target fill_rate: min 90, max 110 -> min 100, max 100 by tighten 15 "
                       "(min stopped at the band's middle 100; max stopped at the band's middle 100)"]


@pytest.mark.parametrize(("kpi", "change", "expected"), [
    ("satisfaction", {"tighten": 0.5, "limit": 4.5}, 4.5),
    ("satisfaction", {"tighten": 0.5, "limit": 4.0}, 4.2),     # already past: tightening never relaxes
    ("satisfaction", {"relax": 0.5, "limit": 4.0}, 4.0),
    ("complaint_p90", {"tighten": "50%", "limit": 36.0}, 36.0),
    ("complaint_p90", {"relax": 20.0, "limit": 60.0}, 60.0),
    ("complaint_p90", {"relax": 5.0, "limit": 60.0}, 53.0),     # a limit not reached does nothing
])
def test_limits(kpi: str, change: dict[str, Any], expected: float) -> None:
    outcome = act(target_policy(kpi=kpi, **change))
    bound = "min" if kpi == "satisfaction" else "max"
    assert outcome["targets"][kpi][bound] == expected


def test_a_percentage_of_a_zero_bound_moves_nothing() -> None:
    kpis = {"satisfaction": result(4.1, SAT), "defects": result(1.0, {"max": 0.0})}
    outcome = act(target_policy(kpi="defects", tighten="5%"), kpis=kpis)
    assert outcome["targets"]["defects"] == {"min": None, "max": 0.0} and outcome["target_changes"] == {}
    assert decision(outcome, "t")["effects"] == ["target defects unchanged at max 0 by tighten 5%"]


@pytest.mark.parametrize(("change", "message"), [
    ({"kpi": "unknown_kpi", "tighten": 1.0}, "KPI 'unknown_kpi' has no target to tighten"),
    ({"kpi": "satisfaction", "tighten": "lots"}, "'lots' is not an amount"),
    ({"kpi": "satisfaction", "relax": -1.0}, "-1.0 is not a positive amount"),
])
def test_a_target_change_validation_should_have_refused_is_a_malfunction(change: dict[str, Any],
                                                                        message: str) -> None:
    with pytest.raises(PolicyEffectError, match=message):
        act({"id": "t", "when": MISSED_SAT, "change_target": change})


# --- chains ---------------------------------------------------------------------------------------

def test_later_policies_see_earlier_changes_and_the_later_one_wins() -> None:
    first = changes("first", {"param": "visits_per_month.B", "add": 2.0})
    second = changes("second", {"param": "visits_per_month.B", "multiply": 2.0, "max": 7.0})
    outcome = act(first, second)
    assert outcome["params"]["visits_per_month"]["B"] == 7
    assert outcome["param_changes"] == {"visits_per_month.B": {"old": 2, "new": 7, "policy": "second",
                                                               "clamped": True}}
    assert decision(outcome, "first")["effects"] == ["param visits_per_month.B: 2 -> 4"]
    assert decision(outcome, "second")["effects"] == ["param visits_per_month.B: 4 -> 7 (clamped to its bound)"]


def test_changes_that_cancel_out_leave_no_param_change() -> None:
    outcome = act(changes("up", {"param": "visits_per_month.B", "add": 1.0}),
                  changes("down", {"param": "visits_per_month.B", "add": -1.0}))
    assert outcome["param_changes"] == {} and outcome["params"] == PARAMS
    assert len(decision(outcome, "down")["effects"]) == 1


def test_a_ratchet_tightens_the_target_an_earlier_policy_moved() -> None:
    history = {"complaint_p90": [result(40.0, P90), result(41.0, P90)]}
    relax = {"id": "relax_first", "when": MISSED_SAT, "change_target": {"kpi": "complaint_p90", "relax": 2.0}}
    ratchet = {"id": "ratchet", "ratchet": {"kpi": "complaint_p90", "after_met_cycles": 3, "tighten": "10%"}}
    outcome = act(relax, ratchet, history=history)
    assert outcome["targets"]["complaint_p90"]["max"] == 45.0      # 48 + 2 = 50, then 50 - 10 %
    assert outcome["target_changes"]["complaint_p90"] == {"old_min": None, "old_max": 48.0, "new_min": None,
                                                          "new_max": 45.0, "policy": "ratchet"}
    assert [entry["policy"] for entry in outcome["decisions"]] == ["relax_first", "ratchet"]


def test_every_policy_tested_leaves_one_decision_in_order() -> None:
    not_fired = {"id": "quiet", "when": {"kpi": "complaint_p90", "missed": True},
                 "change": {"param": "visits_per_month.A", "set": 9}}
    fired = changes("loud", {"param": "visits_per_month.B", "add": 1.0})
    outcome = act(not_fired, fired)
    assert [(entry["policy"], entry["fired"]) for entry in outcome["decisions"]] == [("quiet", False),
                                                                                     ("loud", True)]
    assert decision(outcome, "quiet") == {"policy": "quiet", "kpi": "complaint_p90", "fired": False,
                                          "reason": "complaint_p90 met (40 <= max 48)", "effects": []}
    assert outcome["actions_verified"] == outcome["actions_failed_verification"] == outcome["actions_escalated"] == []


def test_no_policies_carry_everything_over_unchanged() -> None:
    outcome = act()
    assert outcome["decisions"] == [] and outcome["params"] == PARAMS
    assert outcome["param_changes"] == outcome["target_changes"] == {} and outcome["actions_opened"] == []
