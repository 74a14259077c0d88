"""complaints.overdue_actions: every case or complaint unresolved past the SLA gets an owned, dated action, once;
improve.apply_policies records them after its own (``extra_decisions``, ``extra_actions``).

Complaints are the retail ``feedback.check``'s records; cases are ``complaints.handle``'s, whose
action goes to the case's own owner."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from pdcaflow.engine.pdca.act import apply_policies
from pdcaflow.tasks.complaints.overdue import overdue_actions
from pdcaflow.tasks.sdk.registry import registry
from tests.tasks.builders import act_context, result

K6 = {"complaint_id": "K6", "customer_id": "C5", "age_hours": 168.0, "category": "price"}
K7 = {"complaint_id": "K7", "customer_id": "C6", "age_hours": 960.0, "category": "delivery"}
POLICY = {"id": "complaints_too_slow", "when": {"kpi": "complaint_p90", "missed": True},
          "open_action": {"title": "Find where cases wait", "owner": "service-manager", "due_days": 14}}


def act(overdue: list[dict[str, Any]], *, policies: list[dict[str, Any]] | None = None,
        **with_: Any) -> dict[str, Any]:
    """The flagship's ACT phase: complaints.overdue_actions, its outputs handed to improve.apply_policies."""
    context = act_context(policies or [], kpis={"complaint_p90": result(52.0, {"max": 48.0})},
                          actions=with_.pop("actions", ()))
    answered = overdue_actions(context, overdue=tuple(overdue), **with_)  # type: ignore[arg-type]
    return dict(apply_policies(context, extra_decisions=tuple(answered["decisions"]),
                               extra_actions=tuple(answered["actions_opened"])))


def test_each_overdue_complaint_opens_an_action_with_an_owner_and_a_due_date() -> None:
    outcome = act([K7, K6], owner="complaint-desk-lead", due_days=2)
    assert outcome["actions_opened"] == [
        {"id": "retail#5/complaint-K7", "owner": "complaint-desk-lead", "due": "2025-03-03",
         "title": "Resolve complaint K7 (delivery) of customer C6, waiting 40 days past the promised time, "
                  "and confirm with the customer",
         "policy": "overdue-complaint", "kpi": None, "verify_after": None, "opened_cycle": 5, "status": "open",
         "complaint_id": "K7", "customer_id": "C6", "category": "delivery", "age_hours": 960.0},
        {"id": "retail#5/complaint-K6", "owner": "complaint-desk-lead", "due": "2025-03-03",
         "title": "Resolve complaint K6 (price) of customer C5, waiting 1 week past the promised time, "
                  "and confirm with the customer",
         "policy": "overdue-complaint", "kpi": None, "verify_after": None, "opened_cycle": 5, "status": "open",
         "complaint_id": "K6", "customer_id": "C5", "category": "price", "age_hours": 168.0}]
    assert outcome["decisions"][0] == {
        "policy": "overdue-complaint", "kpi": None, "fired": True,
        "reason": "complaint K7 (delivery) of customer C6 unresolved 40 days at the end of the period checked, "
                  "past the SLA",
        "effects": ["opened action retail#5/complaint-K7 for complaint-desk-lead, due 2025-03-03"]}


def test_defaults_are_the_service_manager_within_three_days() -> None:
    [action] = act([K6])["actions_opened"]
    assert (action["owner"], action["due"]) == ("service-manager", "2025-03-04")


@pytest.mark.parametrize("status", ["open", "in_progress"])
def test_a_complaint_whose_action_is_still_open_gets_no_second_one(status: str) -> None:
    earlier = {"id": "retail#4/complaint-K6", "policy": "overdue-complaint", "complaint_id": "K6", "status": status}
    outcome = act([K6, K7], actions=[earlier])
    assert [action["id"] for action in outcome["actions_opened"]] == ["retail#5/complaint-K7"]
    assert outcome["decisions"][0] == {
        "policy": "overdue-complaint", "kpi": None, "fired": True, "effects": [],
        "reason": "complaint K6 (price) of customer C5 unresolved 1 week at the end of the period checked, past "
                  "the SLA; action retail#4/complaint-K6 for it is still open, so no second action was opened"}


@pytest.mark.parametrize("status", ["done", "verified", "ineffective", "cancelled"])
def test_a_complaint_whose_earlier_action_is_finished_gets_a_new_one(status: str) -> None:
    earlier = {"id": "retail#4/complaint-K6", "complaint_id": "K6", "status": status}
    assert [action["id"] for action in act([K6], actions=[earlier])["actions_opened"]] == ["retail#5/complaint-K6"]


def test_a_complaint_listed_twice_opens_one_action() -> None:
    assert len(act([K6, K6])["actions_opened"]) == 1


def test_complaints_counted_but_not_listed_share_one_action() -> None:
    outcome = act([K7], total=4)
    assert [action["id"] for action in outcome["actions_opened"]] == ["retail#5/complaint-K7",
                                                                       "retail#5/complaints-unlisted"]
    assert outcome["actions_opened"][1]["title"].startswith("Resolve the 3 other complaints unresolved past")
    assert outcome["decisions"][-1]["reason"] == ("4 complaints unresolved past the SLA at the end of the period; "
                                                  "1 listed by CHECK, 3 not listed")


def test_no_overdue_complaint_is_recorded_only_when_the_count_is_wired() -> None:
    assert act([])["decisions"] == [] and act([])["actions_opened"] == []
    assert act([], total=0)["decisions"] == [{
        "policy": "overdue-complaint", "kpi": None, "fired": False, "effects": [],
        "reason": "no complaint unresolved past the SLA at the end of the period checked"}]


def test_policy_decisions_and_actions_come_first_and_still_work() -> None:
    outcome = act([K6], policies=[POLICY])
    assert [d["policy"] for d in outcome["decisions"]] == ["complaints_too_slow", "overdue-complaint"]
    assert [a["id"] for a in outcome["actions_opened"]] == ["retail#5/complaints_too_slow", "retail#5/complaint-K6"]


def test_the_engine_can_pass_the_check_steps_output_as_json() -> None:
    """The engine converts the rendered `with:` value with pydantic, as here; CHECK's output is plain JSON."""
    spec = registry()["complaints.overdue_actions"]
    converted = TypeAdapter(spec.param("overdue").annotation).validate_python([K6, K7])  # type: ignore[union-attr]
    assert converted == (K6, K7)


def test_act_keeps_the_complaint_keys_of_the_actions_it_is_handed_as_json() -> None:
    """ACT's `extra_actions` is converted like any `with:` value: the keys naming the complaint survive it."""
    [action] = overdue_actions(act_context([]), overdue=(K6,))["actions_opened"]
    spec = registry()["improve.apply_policies"]
    [converted] = TypeAdapter(spec.param("extra_actions").annotation).validate_python([action])  # type: ignore[union-attr]
    assert converted == action and converted["complaint_id"] == "K6"


B4 = {"case_id": "B4", "customer_id": "C1", "type": "delivery", "owner": "chen", "age_hours": 634.0,
      "escalated_to": "director"}
B9 = {"case_id": "B9", "customer_id": "C7", "type": "water_quality", "owner": None, "age_hours": 50.0,
      "escalated_to": None}


def test_a_case_goes_to_its_own_owner_and_names_its_escalation() -> None:
    outcome = act([B4, B9], owner="complaint-desk-lead", due_days=2)
    # due 2 days after the cycle's start, 1 March 2025; 634 h = 26 days 10 hours, 50 h = 2 days 2 hours
    assert outcome["actions_opened"] == [
        {"id": "retail#5/case-B4", "owner": "chen", "due": "2025-03-03",
         "title": "Resolve case B4 (delivery) of customer C1, open 26 days 10 hours and past the promised time, "
                  "escalated to director, and confirm with the customer",
         "policy": "overdue-complaint", "kpi": None, "verify_after": None, "opened_cycle": 5, "status": "open",
         "case_id": "B4", "customer_id": "C1", "type": "delivery", "escalated_to": "director", "age_hours": 634.0},
        # B9 names no owner: the task's owner takes it
        {"id": "retail#5/case-B9", "owner": "complaint-desk-lead", "due": "2025-03-03",
         "title": "Resolve case B9 (water_quality) of customer C7, open 2 days 2 hours and past the promised time, "
                  "and confirm with the customer",
         "policy": "overdue-complaint", "kpi": None, "verify_after": None, "opened_cycle": 5, "status": "open",
         "case_id": "B9", "customer_id": "C7", "type": "water_quality", "escalated_to": None, "age_hours": 50.0}]
    assert outcome["decisions"][0]["reason"] == (
        "case B4 (delivery) of customer C1 unresolved 26 days 10 hours at the end of the period checked, past the "
        "SLA, escalated to director")


def test_a_case_whose_action_is_still_open_gets_no_second_one() -> None:
    earlier = {"id": "retail#4/case-B4", "case_id": "B4", "status": "in_progress"}
    outcome = act([B4, B9], actions=[earlier])
    assert [action["id"] for action in outcome["actions_opened"]] == ["retail#5/case-B9"]
    # a complaint of the same id is another record: its earlier action does not count for the case
    assert [action["id"] for action in act([B4], actions=[{"id": "x", "complaint_id": "B4"}])["actions_opened"]] == [
        "retail#5/case-B4"]


def test_the_engine_can_pass_the_handle_steps_output_as_json() -> None:
    spec = registry()["complaints.overdue_actions"]
    converted = TypeAdapter(spec.param("overdue").annotation).validate_python([B4, K6])  # type: ignore[union-attr]
    assert converted == (B4, K6)
