"""The built-in ACT step: apply the definition's improvement policies (完善改进).

``improve.apply_policies`` tests each policy against this cycle's KPI results and
their history, and turns those that fire into the next cycle's carry-over: new
param values (within the policy's bounds), moved targets (never past a limit),
and corrective actions with an owner and a due date. Before the policies it
follows up the actions already open (:mod:`pdcaflow.engine.pdca.action_followup`): those marked
done are verified once their ``verify_after`` cycles have passed (or found
ineffective, reopened and escalated), those overdue are escalated. Decisions and
actions other steps of the ACT phase took on rules of their own (``extra_decisions``,
``extra_actions``) are recorded and carried over with these. Every policy tested
leaves a decision, fired or not, with its reason in numbers. The task is a pure
function of its context and its inputs: no I/O, deterministic.

The tests live in :mod:`pdcaflow.engine.pdca.policy_rules`, the effects in
:mod:`pdcaflow.engine.pdca.policy_effects`; this module chains them in policy order.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from pdcaflow.engine.pdca.action_followup import follow_up
from pdcaflow.engine.pdca.capability import capability_target
from pdcaflow.engine.pdca.policy_effects import (TargetEffect, change_param, due_date, move_target, set_target,
                                                 still_open)
from pdcaflow.engine.pdca.policy_rules import Verdict, condition_test, ratchet_test
from pdcaflow.engine.pdca.action_records import Action, ActionUpdate, ParamChange, TargetChange
from pdcaflow.engine.pdca.records import ActionRecord, CycleResult, Decision, JsonObject, Target
from pdcaflow.tasks.sdk.registry import StepContext, task


class ApplyPoliciesResult(TypedDict):
    """ACT's outputs as JSON (each record's :meth:`~pdcaflow.engine.pdca.records.Record.to_json`);
    ``params`` and ``targets`` are the whole next-cycle values, not just the changes."""

    decisions: list[JsonObject]
    param_changes: dict[str, JsonObject]
    target_changes: dict[str, JsonObject]
    actions_opened: list[JsonObject]
    actions_verified: list[str]
    actions_failed_verification: list[str]
    actions_escalated: list[str]
    action_updates: list[JsonObject]
    params: dict[str, Any]
    targets: dict[str, JsonObject]


@dataclass
class _Carry:
    """The next cycle's params and targets as the policies build them, and what they changed."""

    params: dict[str, Any]
    targets: dict[str, Target]
    param_changes: dict[str, ParamChange] = field(default_factory=dict)
    target_changes: dict[str, TargetChange] = field(default_factory=dict)
    actions_opened: list[Action] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def target(self, kpi: str) -> Target:
        """The KPI's target as the policies have left it so far (no bounds when it has none)."""
        return self.targets.get(kpi, Target())


@task("improve.apply_policies", phases=("act",))
def apply_policies(
    context: StepContext,
    *,
    escalate_overdue_days: int = 7,
    escalate_to: str | None = None,
    max_param_changes: int | None = None,
    extra_decisions: tuple[Decision, ...] = (),
    extra_actions: tuple[ActionRecord, ...] = (),
) -> ApplyPoliciesResult:
    """Apply the improvement policies to this cycle's KPI results and produce the next cycle's carry-over.

    Policies are applied in the order written, each to the params and targets the
    policies before it produced. When two policies change the same param or
    target, the later one wins and both decisions record it. A policy whose action
    is still open from an earlier cycle does not open a second one; its decision
    says so. An open action whose KPI still misses when it is verified is reopened,
    not closed.

    A step of the ACT phase that answers findings on a rule of its own (the complaint
    library's ``complaints.overdue_actions`` opens an action per case or complaint
    overdue past the SLA) hands its decisions and actions in ``extra_decisions`` and
    ``extra_actions``: they follow the policies' and the follow-up's, are recorded
    with them and carried over like them. Such a step dates and names its actions
    itself (``id`` ``process#cycle/name``, a ``policy`` that is no policy id).

    Args:
        context: the cycle this step runs in (passed by the engine); it carries the
            KPI results, their history, the params and the open actions.
        escalate_overdue_days: days past its due date after which an open action is escalated.
        escalate_to: who overdue actions are escalated to; ``None`` for the process owner.
        max_param_changes: cap on param changes per cycle, so that one bad month does
            not move everything at once; ``None`` for no cap. Counted in distinct params;
            a change past the cap is skipped and its decision says so.
        extra_decisions: decisions another ACT step took (``steps.<step>.decisions``).
        extra_actions: actions another ACT step opened (``steps.<step>.actions_opened``),
            with any keys of its own (they are stored with the action).

    Returns:
        ``decisions`` (one per policy tested), ``param_changes`` (param path -> old,
        new), ``target_changes`` (KPI id -> old and new bounds), ``actions_opened``,
        the ids of actions verified, failing verification, and escalated, and the
        next cycle's full ``params`` and ``targets`` (KPI id -> min, max).
    """
    followed = follow_up(context.actions, lambda kpi: _results(context, kpi), cycle=context.cycle,
                         started_at=context.started_at, escalate_overdue_days=escalate_overdue_days,
                         escalate_to=escalate_to)
    carry = _Carry(params=_plain(context.params),
                   targets={kpi: Target.of(target) for kpi, target in context.targets.items()},
                   actions=_updated(context.actions, followed.updates))
    decisions = [_apply(policy, context, carry, max_param_changes) for policy in context.policies]
    decisions.extend(followed.decisions)
    decisions.extend(Decision.model_validate(decision) for decision in extra_decisions)
    carry.actions_opened.extend(Action.from_json(dict(action)) for action in extra_actions)
    return ApplyPoliciesResult(
        decisions=[decision.to_json() for decision in decisions],
        param_changes={path: change.to_json() for path, change in carry.param_changes.items()},
        target_changes={kpi: change.to_json() for kpi, change in carry.target_changes.items()},
        actions_opened=[action.to_json() for action in carry.actions_opened],
        actions_verified=followed.verified,
        actions_failed_verification=followed.failed,
        actions_escalated=followed.escalated,
        action_updates=[update.to_json() for update in followed.updates],
        params=carry.params,
        targets={kpi: target.to_json() for kpi, target in carry.targets.items()},
    )


def _apply(policy: Mapping[str, Any], context: StepContext, carry: _Carry, cap: int | None) -> Decision:
    """Test one policy and, when it fires, apply its effects to ``carry``."""
    policy_id = str(policy["id"])
    ratchet: Mapping[str, Any] | None = policy.get("ratchet")
    if ratchet is not None:
        return _apply_ratchet(policy_id, ratchet, context, carry)
    when: Mapping[str, Any] = policy.get("when") or {}
    target_change: Mapping[str, Any] = policy.get("change_target") or {}
    kpi_id = when.get("kpi") or target_change.get("kpi")
    kpi = None if kpi_id is None else str(kpi_id)
    results = _results(context, str(when["kpi"])) if when.get("kpi") is not None else []
    verdict = condition_test(policy_id, when, results, context.conditions)
    effects: list[str] = []
    if verdict.fired:
        verdict, effects = _effects(policy, kpi, verdict, context, carry, cap)
    return Decision(policy=policy_id, kpi=kpi, fired=verdict.fired, reason=verdict.reason, effects=tuple(effects))


def _apply_ratchet(policy_id: str, ratchet: Mapping[str, Any], context: StepContext, carry: _Carry) -> Decision:
    kpi = str(ratchet["kpi"])
    verdict = ratchet_test(kpi, _results(context, kpi), _in_force(context, kpi), int(ratchet["after_met_cycles"]))
    effects: list[str] = []
    if verdict.fired:
        effects.append(_move(carry, policy_id, kpi, "tighten", ratchet["tighten"], ratchet.get("limit")))
    return Decision(policy=policy_id, kpi=kpi, fired=verdict.fired, reason=verdict.reason, effects=tuple(effects))


def _effects(policy: Mapping[str, Any], kpi: str | None, verdict: Verdict, context: StepContext,
             carry: _Carry, cap: int | None) -> tuple[Verdict, list[str]]:
    policy_id = str(policy["id"])
    changes = policy.get("change") or []
    effects = [_change(carry, policy_id, change, cap) for change in ([changes] if isinstance(changes, Mapping)
                                                                     else changes)]
    target_change = policy.get("change_target")
    if target_change is not None:
        target_kpi = str(target_change["kpi"])
        if target_change.get("set") is not None:
            effects.append(_record_target(carry, policy_id, set_target(
                target_kpi, carry.target(target_kpi), target_change["set"])))
        elif target_change.get("capability") is not None:
            capability = target_change["capability"]
            effects.append(_record_target(carry, policy_id, capability_target(
                target_kpi, carry.target(target_kpi), _results(context, target_kpi),
                float(capability["k"]), int(capability["cycles"]), target_change.get("limit"))))
        else:
            how = "tighten" if target_change.get("tighten") is not None else "relax"
            effects.append(_move(carry, policy_id, target_kpi, how, target_change[how], target_change.get("limit")))
    spec = policy.get("open_action")
    if spec is not None:
        existing = still_open(carry.actions, policy_id, kpi)
        if existing is not None:
            verdict = Verdict(True, f"{verdict.reason}; action {existing.get('id')} from this policy is still "
                              "open, so no second action was opened")
        else:
            effects.append(_open(carry, policy_id, kpi, spec, context))
    return verdict, effects


def _change(carry: _Carry, policy_id: str, change: Mapping[str, Any], cap: int | None) -> str:
    path = str(change["param"])
    if cap is not None and path not in carry.param_changes and len(carry.param_changes) >= cap:
        return f"param {path} not changed: max_param_changes ({cap}) reached this cycle"
    effect = change_param(carry.params, change)
    earlier = carry.param_changes.get(path)
    old = earlier.old if earlier is not None else effect.old
    if old == effect.new:
        carry.param_changes.pop(path, None)  # back where the cycle started: nothing to carry over
    elif effect.old != effect.new:
        carry.param_changes[path] = ParamChange(old=old, new=effect.new, policy=policy_id, clamped=effect.clamped)
    return effect.describe()


def _move(carry: _Carry, policy_id: str, kpi: str, how: str, amount: Any, limit: Any) -> str:
    effect = move_target(kpi, carry.target(kpi), "tighten" if how == "tighten" else "relax", amount, limit)
    return _record_target(carry, policy_id, effect)


def _record_target(carry: _Carry, policy_id: str, effect: TargetEffect) -> str:
    kpi = effect.kpi
    earlier = carry.target_changes.get(kpi)
    old = Target(min=earlier.old_min, max=earlier.old_max) if earlier is not None else effect.old
    new = carry.targets[kpi] = effect.new
    if old == new:
        carry.target_changes.pop(kpi, None)
    elif effect.old != effect.new:
        carry.target_changes[kpi] = TargetChange(old_min=old.min, old_max=old.max, new_min=new.min, new_max=new.max,
                                                 policy=policy_id)
    return effect.describe()


def _open(carry: _Carry, policy_id: str, kpi: str | None, spec: Mapping[str, Any], context: StepContext) -> str:
    verify_after = spec.get("verify_after")
    chain = spec.get("escalate_to")
    action = Action(
        id=f"{context.process_id}#{context.cycle}/{policy_id}",
        title=str(context.action_titles.get(policy_id, spec.get("title", ""))),
        owner=str(spec["owner"]),
        due=due_date(context.started_at, int(spec["due_days"])),
        policy=policy_id,
        kpi=kpi,
        verify_after=None if verify_after is None else int(verify_after),
        opened_cycle=context.cycle,
        due_days=int(spec["due_days"]),
        escalation=tuple(str(owner) for owner in chain) if chain else None,
    )
    carry.actions_opened.append(action)
    return action.describe()


def _results(context: StepContext, kpi: str) -> list[CycleResult]:
    """The KPI's results oldest first, ending with this cycle's (no data when ``kpi.check`` gave none)."""
    current = context.kpis.get(kpi) or {"actual": None, "status": "no_data"}
    return [*map(CycleResult.from_json, context.history.get(kpi, ())),
            CycleResult.from_json({**current, "cycle": context.cycle})]


def _updated(actions: Sequence[Mapping[str, Any]], updates: Sequence[ActionUpdate]) -> list[dict[str, Any]]:
    """The actions with ACT's follow-up changes applied (what the policies see as already open)."""
    current = {str(action.get("id")): dict(action) for action in actions}
    for update in updates:
        action = current.get(update.id)
        if action is not None:
            action.update(update.model_dump(mode="json", include={"status", "owner", "due"}, exclude_none=True))
    return list(current.values())


def _in_force(context: StepContext, kpi: str) -> Target:
    """The target this cycle's KPI check used: the carried-over target, else the one in the result."""
    if kpi in context.targets:
        return Target.of(context.targets[kpi])
    current = context.kpis.get(kpi) or {}
    return Target.of(current.get("target"))


def _plain(value: Any) -> Any:
    """A deep, mutable copy of plain data (mappings become dicts, sequences lists)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [_plain(item) for item in value]
    return copy.deepcopy(value)
