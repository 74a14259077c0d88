"""The retail CHECK's overdue complaints go on to complaints.overdue_actions in ACT."""

from __future__ import annotations

from pathlib import Path

from pdcaflow.engine.pdca.act import apply_policies
from pdcaflow.tasks.complaints.overdue import overdue_actions
from pdcaflow.tasks.retail.feedback import check
from tests.tasks.builders import act_context, result
from tests.tasks.retail.test_feedback_check import PERIOD, operations


def act(overdue: list[dict[str, object]], total: int) -> dict[str, object]:
    context = act_context([], kpis={"complaint_p90": result(52.0, {"max": 48.0})})
    answered = overdue_actions(context, overdue=tuple(overdue), total=total)  # type: ignore[arg-type]
    return dict(apply_policies(context, extra_decisions=tuple(answered["decisions"]),
                               extra_actions=tuple(answered["actions_opened"])))


def test_check_then_act_opens_an_action_for_each_complaint_check_found_overdue(tmp_path: Path) -> None:
    checked = check(act_context([]), source=operations(tmp_path), period=PERIOD, complaint_sla_hours=48)
    outcome = act(list(checked["overdue_complaints"]), total=checked["unresolved_over_sla"])
    assert [action["complaint_id"] for action in outcome["actions_opened"]] == ["K7", "K6"]
