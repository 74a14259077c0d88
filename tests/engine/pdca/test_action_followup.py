"""ACT's follow-up of open actions and capability targets, on hand-made contexts (pure functions, no store)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdcaflow.engine.pdca.action_followup import chain_of, next_owner
from pdcaflow.engine.pdca.capability import capability_target
from pdcaflow.engine.pdca.act import apply_policies
from pdcaflow.engine.pdca.records import KpiResult, Target
from tests.tasks.builders import act_context, result

MIN = {"min": 4.2}
P90 = {"max": 48.0}


def done_action(**extra: Any) -> dict[str, Any]:
    """An action done after cycle 3, verified after 2 cycles, with a three-owner chain."""
    return {"id": "retail#2/call_back", "title": "Call back", "owner": "team-lead", "due": "2025-03-10",
            "policy": "call_back", "kpi": "satisfaction", "verify_after": 2, "opened_cycle": 2, "status": "done",
            "done_after_cycle": 3, "due_days": 14, "escalation": ["team-lead", "service-manager", "director"],
            **extra}


def follow(actions: list[dict[str, Any]], history: list[float | None], actual: float | None, *,
           cycle_policies: list[dict[str, Any]] | None = None, **options: Any) -> dict[str, Any]:
    """Run ACT in cycle 5 with satisfaction's history as cycles 1..4 and ``actual`` now (``options``: its ``with:``)."""
    past = [{"cycle": number, **result(value, MIN)} for number, value in enumerate(history, start=1)]
    context = act_context(cycle_policies or [], kpis={"satisfaction": result(actual, MIN)},
                          history={"satisfaction": past}, actions=actions)
    return dict(apply_policies(context, **options))


def test_a_done_action_is_verified_when_the_kpi_met_in_each_cycle_after() -> None:
    outcome = follow([done_action()], [4.0, 4.1, 4.0, 4.3], 4.25)
    assert outcome["actions_verified"] == ["retail#2/call_back"]
    assert outcome["action_updates"] == [{
        "id": "retail#2/call_back", "change": "verified", "status": "verified", "kpi": "satisfaction",
        "reason": "satisfaction met its target in the 2 cycle(s) after action retail#2/call_back was done "
                  "(cycle 4: 4.3 >= min 4.2, cycle 5: 4.25 >= min 4.2)"}]
    [decision] = outcome["decisions"]
    assert (decision["policy"], decision["fired"], decision["effects"]) == (
        "action-verification", True, ["action retail#2/call_back verified effective"])


def test_a_done_action_whose_kpi_missed_is_ineffective_reopened_and_escalated() -> None:
    outcome = follow([done_action()], [4.0, 4.1, 4.0, 4.3], 4.1)
    assert outcome["actions_failed_verification"] == ["retail#2/call_back"]
    assert outcome["actions_escalated"] == ["retail#2/call_back"]
    ineffective, reopened = outcome["action_updates"]
    assert ineffective["status"] == "ineffective"
    assert "(cycle 4: 4.3 >= min 4.2, cycle 5: 4.1 < min 4.2)" in ineffective["reason"]
    assert {key: reopened[key] for key in ("change", "status", "owner", "due")} == {
        "change": "escalated", "status": "open", "owner": "service-manager", "due": "2025-03-15"}
    assert reopened["reason"].startswith("reopened and escalated from team-lead to service-manager, due 2025-03-15")


def test_verification_waits_for_its_cycles() -> None:
    outcome = follow([done_action(done_after_cycle=4)], [4.0, 4.1, 4.0, 4.3], 4.5)
    assert outcome["action_updates"] == [] and outcome["actions_verified"] == []
    [decision] = outcome["decisions"]
    assert decision["fired"] is False
    assert decision["reason"] == ("action retail#2/call_back was done after cycle 4: it is verified after 2 "
                                  "cycle(s) of satisfaction, 1 so far")


def test_a_cycle_without_a_result_fails_verification() -> None:
    outcome = follow([done_action()], [4.0, 4.1, 4.0, None], 4.5)
    assert outcome["actions_failed_verification"] == ["retail#2/call_back"]
    assert "cycle 4: no data" in outcome["action_updates"][0]["reason"]


@pytest.mark.parametrize("extra", [{"verify_after": None}, {"kpi": None}, {"done_after_cycle": None}])
def test_a_done_action_without_what_verification_needs_stays_done(extra: dict[str, Any]) -> None:
    outcome = follow([done_action(**extra)], [4.0, 4.1, 4.0, 4.3], 4.0)
    assert outcome["action_updates"] == [] and outcome["decisions"] == []


def test_the_end_of_the_chain_reopens_for_the_same_owner() -> None:
    outcome = follow([done_action(owner="director")], [4.0, 4.1, 4.0, 4.0], 4.0)
    assert outcome["actions_escalated"] == []
    assert [update["change"] for update in outcome["action_updates"]] == ["ineffective", "reopened"]
    assert "owner" not in outcome["action_updates"][1]


def test_an_overdue_action_escalates_to_the_next_owner_with_a_new_due_date() -> None:
    overdue = done_action(status="in_progress", due="2025-02-10")  # 19 days before the cycle's start
    outcome = follow([overdue], [4.0], 4.0, escalate_overdue_days=7)
    [update] = outcome["action_updates"]
    assert {key: update[key] for key in ("change", "owner", "due")} == {
        "change": "escalated", "owner": "service-manager", "due": "2025-03-08"}
    assert "status" not in update
    [decision] = outcome["decisions"]
    assert decision["reason"] == ("action retail#2/call_back is 19 days past its due date 2025-02-10 "
                                  "(escalated after 7) with team-lead")


def test_an_action_within_the_grace_days_is_left_alone() -> None:
    outcome = follow([done_action(status="open", due="2025-02-25")], [4.0], 4.0, escalate_overdue_days=7)
    assert outcome["action_updates"] == [] and outcome["decisions"] == []


def test_without_a_chain_escalate_to_takes_over_and_then_no_one() -> None:
    action = done_action(status="open", due="2025-01-01", escalation=None)
    first = follow([action], [4.0], 4.0, escalate_to="customer-service-manager")
    assert first["action_updates"][0]["owner"] == "customer-service-manager"
    stuck = follow([{**action, "owner": "customer-service-manager"}], [4.0], 4.0, escalate_to="customer-service-manager")
    assert stuck["action_updates"] == []
    assert stuck["decisions"][0]["effects"] == [
        "action retail#2/call_back stays with customer-service-manager: no one left in its escalation chain"]


def test_a_reopened_action_blocks_its_policy_from_opening_a_second() -> None:
    policy = {"id": "call_back", "when": {"kpi": "satisfaction", "missed": True},
              "open_action": {"title": "Call back", "owner": "team-lead", "due_days": 14, "verify_after": 2}}
    outcome = follow([done_action()], [4.0, 4.1, 4.0, 4.3], 4.1, cycle_policies=[policy])
    assert outcome["actions_opened"] == []
    assert "action retail#2/call_back from this policy is still open" in outcome["decisions"][0]["reason"]


def test_an_opened_action_carries_its_chain_and_due_days() -> None:
    policy = {"id": "call_back", "when": {"kpi": "satisfaction", "missed": True},
              "open_action": {"title": "Call back", "owner": "team-lead", "due_days": 14,
                              "escalate_to": ["service-manager", "director"]}}
    [opened] = follow([], [], 4.0, cycle_policies=[policy])["actions_opened"]
    assert (opened["escalation"], opened["due_days"]) == (["service-manager", "director"], 14)


@pytest.mark.parametrize(("chain", "owner", "expected"), [
    (["a", "b", "c"], "a", "b"), (["a", "b", "c"], "c", None), (["a", "b"], "x", "a"), ([], "x", None)])
def test_next_owner(chain: list[str], owner: str, expected: str | None) -> None:
    assert next_owner(chain, owner) == expected


def test_chain_of_prefers_the_actions_own() -> None:
    assert chain_of({"escalation": ["b", "c"]}, "z") == ["b", "c"]
    assert chain_of({}, "z") == ["z"] and chain_of({}, None) == []


# ----- capability targets ---------------------------------------------------------------------

def values(*actuals: float | None, target: dict[str, float] = MIN) -> list[KpiResult]:
    return [KpiResult.from_json(result(actual, target)) for actual in actuals]


def test_capability_sets_a_min_target_at_mean_minus_k_sigma() -> None:
    # moving ranges 0.2, 0.2, 0.2 -> sigma 0.2 / 1.128 = 0.17730; mean 4.5; 4.5 - 2 * 0.17730 = 4.14539
    effect = capability_target("satisfaction", Target(min=4.2), values(4.4, 4.6, 4.4, 4.6), k=2, cycles=4)
    assert effect.new == Target(min=4.145)  # four significant digits
    assert effect.describe() == ("target satisfaction: min 4.2 -> min 4.145 by capability (k 2, 4 cycles) "
                                 "(mean 4.5, sigma 0.1773 (average moving range / 1.128) of 4.4, 4.6, 4.4, 4.6)")


def test_capability_of_a_max_target_and_its_limit() -> None:
    effect = capability_target("p90", Target(max=48.0), values(30, 34, 30, 34, target=P90), k=3, cycles=4)
    assert effect.new.max == 42.64  # 32 + 3 * 4 / 1.128 = 42.638
    held = capability_target("p90", Target(max=48.0), values(30, 34, 30, 34, target=P90), k=3, cycles=4, limit=45)
    assert held.new.max == 45 and "max stopped at its limit 45" in held.describe()


def test_capability_never_moves_a_min_past_its_limit() -> None:
    effect = capability_target("satisfaction", Target(min=4.2), values(4.8, 4.9, 4.8, 4.9), k=1, cycles=4, limit=4.5)
    assert effect.new.min == 4.5


def test_capability_without_enough_cycles_keeps_the_target() -> None:
    effect = capability_target("satisfaction", Target(min=4.2), values(4.4, None, 4.5), k=3, cycles=3)
    assert effect.new == effect.old
    assert effect.describe() == ("target satisfaction unchanged at min 4.2 by capability (k 3, 3 cycles) "
                                 "(needs 3 cycles with data, has 2)")


def test_a_capability_policy_moves_the_target_and_records_the_numbers() -> None:
    policy = {"id": "target_from_capability", "when": {"kpi": "satisfaction", "met": True, "cycles": 2},
              "change_target": {"kpi": "satisfaction", "capability": {"k": 2, "cycles": 4}}}
    outcome = follow([], [4.0, 4.4, 4.6, 4.4], 4.6, cycle_policies=[policy])
    assert outcome["targets"]["satisfaction"]["min"] == 4.145  # 4.5 - 2 * 0.2 / 1.128
    assert outcome["target_changes"]["satisfaction"]["policy"] == "target_from_capability"
    [effect] = outcome["decisions"][0]["effects"]
    assert "of 4.4, 4.6, 4.4, 4.6" in effect


# ----- properties ------------------------------------------------------------------------------

statuses = st.sampled_from(["open", "in_progress", "done", "verified", "ineffective", "cancelled"])


@settings(max_examples=150, deadline=None)
@given(status=statuses, after=st.integers(0, 5), verify_after=st.integers(1, 3),
       met=st.lists(st.booleans(), min_size=5, max_size=5), due_day=st.integers(1, 28))
def test_verdicts_follow_the_results_and_touch_nothing_else(status: str, after: int, verify_after: int,
                                                            met: list[bool], due_day: int) -> None:
    action = done_action(status=status, done_after_cycle=after, verify_after=verify_after,
                         due=f"2025-02-{due_day:02d}")
    history = [4.3 if ok else 4.0 for ok in met[:4]]
    outcome = follow([action], history, 4.3 if met[4] else 4.0)
    changed = {update["id"] for update in outcome["action_updates"]}
    assert changed <= {action["id"]}
    verdicts = [u["change"] for u in outcome["action_updates"] if u["change"] in ("verified", "ineffective")]
    if status != "done" or 5 - after < verify_after:
        assert verdicts == []
    else:
        window = met[after:after + verify_after]
        assert verdicts == (["verified"] if all(window) else ["ineffective"])
    if status not in ("open", "in_progress", "done"):
        assert outcome["action_updates"] == [] and outcome["decisions"] == []
