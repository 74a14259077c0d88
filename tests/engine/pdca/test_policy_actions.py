"""improve.apply_policies: corrective actions: opened with an id, owner and due date, never twice."""

from __future__ import annotations

from typing import Any

import pytest

from pdcaflow.engine.pdca.act import apply_policies
from pdcaflow.engine.pdca.policy_effects import PolicyEffectError
from tests.tasks.builders import act_context, decision, result

P90 = {"max": 48.0}
ACTION = {"id": "fix_complaints", "when": {"kpi": "complaint_p90", "missed": True},
          "open_action": {"title": "Find why complaints wait", "owner": "service-manager", "due_days": 14,
                          "verify_after": 2}}


def act(*policies: dict[str, Any], actual: float | None = 52.0, **extra: Any) -> dict[str, Any]:
    kpis = {"complaint_p90": result(actual, P90)}
    return dict(apply_policies(act_context(list(policies), kpis=kpis, **extra)))


def test_a_fired_policy_opens_an_action() -> None:
    outcome = act(ACTION, action_titles={"fix_complaints": "Find why complaints wait 52 h"})
    assert outcome["actions_opened"] == [{
        "id": "retail#5/fix_complaints", "title": "Find why complaints wait 52 h", "owner": "service-manager",
        "due": "2025-03-15", "policy": "fix_complaints", "kpi": "complaint_p90", "verify_after": 2,
        "opened_cycle": 5, "status": "open", "due_days": 14}]
    assert decision(outcome, "fix_complaints") == {
        "policy": "fix_complaints", "kpi": "complaint_p90", "fired": True,
        "reason": "complaint_p90 missed (52 > max 48)",
        "effects": ["opened action retail#5/fix_complaints for service-manager, due 2025-03-15"]}


def test_the_title_falls_back_to_the_definitions_text() -> None:
    assert act(ACTION)["actions_opened"][0]["title"] == "Find why complaints wait"


def test_no_action_when_the_policy_does_not_fire() -> None:
    outcome = act(ACTION, actual=40.0)
    assert outcome["actions_opened"] == [] and decision(outcome, "fix_complaints")["fired"] is False


@pytest.mark.parametrize(("started_at", "due"), [
    ("2025-03-01T06:00:00+08:00", "2025-03-15"),
    ("2025-02-20T23:30:00-05:00", "2025-03-06"),    # the date where the cycle started, not UTC's
    ("2024-12-25T00:00:00Z", "2025-01-08"),
])
def test_due_date_is_the_cycle_start_date_plus_due_days(started_at: str, due: str) -> None:
    assert act(ACTION, started_at=started_at)["actions_opened"][0]["due"] == due


def test_a_cycle_without_a_start_time_cannot_date_an_action() -> None:
    with pytest.raises(PolicyEffectError, match=r"cannot date an action: the cycle's started_at 'soon'"):
        act(ACTION, started_at="soon")


def test_verify_after_is_optional() -> None:
    policy = {**ACTION, "open_action": {"title": "t", "owner": "o", "due_days": 1}}
    assert act(policy)["actions_opened"][0]["verify_after"] is None


@pytest.mark.parametrize("status", ["open", "in_progress"])
def test_an_action_still_open_from_this_policy_is_not_opened_again(status: str) -> None:
    open_before = [{"id": "retail#4/fix_complaints", "policy": "fix_complaints", "kpi": "complaint_p90",
                    "status": status}]
    outcome = act(ACTION, actions=open_before)
    assert outcome["actions_opened"] == []
    assert decision(outcome, "fix_complaints") == {
        "policy": "fix_complaints", "kpi": "complaint_p90", "fired": True,
        "reason": "complaint_p90 missed (52 > max 48); action retail#4/fix_complaints from this policy is still "
                  "open, so no second action was opened",
        "effects": []}


def test_the_other_effects_still_apply_when_the_action_is_suppressed() -> None:
    policy = {**ACTION, "change": [{"param": "staff", "add": 1.0}]}
    open_before = [{"id": "retail#4/fix_complaints", "policy": "fix_complaints", "kpi": "complaint_p90"}]
    outcome = act(policy, actions=open_before, params={"staff": 3})
    assert outcome["params"] == {"staff": 4} and outcome["actions_opened"] == []
    assert decision(outcome, "fix_complaints")["effects"] == ["param staff: 3 -> 4"]


@pytest.mark.parametrize("other", [
    {"id": "retail#4/fix_complaints", "policy": "fix_complaints", "kpi": "complaint_p90", "status": "done"},
    {"id": "retail#4/fix_complaints", "policy": "fix_complaints", "kpi": "complaint_p90", "status": "verified"},
    {"id": "retail#4/fix_complaints", "policy": "fix_complaints", "kpi": "complaint_p90", "status": "cancelled"},
    {"id": "retail#4/other", "policy": "other", "kpi": "complaint_p90", "status": "open"},
    {"id": "retail#4/fix_complaints", "policy": "fix_complaints", "kpi": "satisfaction", "status": "open"},
])
def test_actions_that_are_done_or_belong_elsewhere_do_not_block(other: dict[str, Any]) -> None:
    assert [action["id"] for action in act(ACTION, actions=[other])["actions_opened"]] == ["retail#5/fix_complaints"]


def test_an_expression_policy_opens_an_action_without_a_kpi() -> None:
    policy = {"id": "staff_check", "when": {"expr": "params.staff < 3"},
              "open_action": {"title": "Hire", "owner": "hr", "due_days": 30}}
    outcome = act(policy, conditions={"staff_check": True})
    assert outcome["actions_opened"][0]["kpi"] is None
    assert outcome["actions_opened"][0]["id"] == "retail#5/staff_check"
    again = act(policy, conditions={"staff_check": True},
                actions=[{"id": "retail#4/staff_check", "policy": "staff_check", "kpi": None, "status": "open"}])
    assert again["actions_opened"] == []


def test_several_policies_open_several_actions_in_order() -> None:
    second = {**ACTION, "id": "tell_the_board", "open_action": {"title": "Report", "owner": "ceo", "due_days": 3}}
    outcome = act(ACTION, second)
    assert [(action["id"], action["due"]) for action in outcome["actions_opened"]] == [
        ("retail#5/fix_complaints", "2025-03-15"), ("retail#5/tell_the_board", "2025-03-04")]
