"""The built-in ACT step: apply the definition's improvement policies (完善改进).

``improve.apply_policies`` tests each policy against this cycle's KPI results and
their history, and turns those that fire into the next cycle's carry-over: new
param values (within the policy's bounds), moved targets (never past a limit),
and corrective actions with an owner and a due date. It also follows up on
actions already open: those marked done are verified once their ``verify_after``
cycles have passed (did the KPI recover?), and those overdue are escalated.
Every policy tested leaves a decision, fired or not, with its reason.
"""

from __future__ import annotations

from typing import Any, TypedDict

from tasks.registry import StepContext, task


class Decision(TypedDict):
    policy: str
    kpi: str | None
    fired: bool
    reason: str
    effects: list[str]


class ParamChangeRecord(TypedDict):
    old: Any
    new: Any
    policy: str
    clamped: bool


class TargetChangeRecord(TypedDict):
    old_min: float | None
    old_max: float | None
    new_min: float | None
    new_max: float | None
    policy: str


class ActionRecord(TypedDict):
    id: str
    title: str
    owner: str
    due: str
    policy: str
    kpi: str | None
    verify_after: int | None


class ApplyPoliciesResult(TypedDict):
    decisions: list[Decision]
    param_changes: dict[str, ParamChangeRecord]
    target_changes: dict[str, TargetChangeRecord]
    actions_opened: list[ActionRecord]
    actions_verified: list[str]
    actions_failed_verification: list[str]
    actions_escalated: list[str]


@task("improve.apply_policies", phases=("act",))
def apply_policies(
    context: StepContext,
    *,
    escalate_overdue_days: int = 7,
    escalate_to: str | None = None,
    max_param_changes: int | None = None,
) -> ApplyPoliciesResult:
    """Apply the improvement policies to this cycle's KPI results and produce the next cycle's carry-over.

    Policies are applied in the order written. When two policies change the same
    param or target, the later one wins and both decisions record it. An open
    action whose KPI still misses when it is verified is reopened, not closed.

    Args:
        context: the cycle this step runs in (passed by the engine); it carries the
            KPI results, their history, the params and the open actions.
        escalate_overdue_days: days past its due date after which an open action is escalated.
        escalate_to: who overdue actions are escalated to; ``None`` for the process owner.
        max_param_changes: cap on param changes per cycle, so that one bad month does
            not move everything at once; ``None`` for no cap.

    Returns:
        ``decisions`` (one per policy tested), ``param_changes`` (param path -> old,
        new), ``target_changes`` (KPI id -> old and new bounds), ``actions_opened``,
        and the ids of actions verified, failing verification, and escalated.
    """
    raise NotImplementedError("improve.apply_policies is registered for validation; its body arrives with the engine issue")
