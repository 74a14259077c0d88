"""ACT's follow-up of corrective actions already open: verify those done, escalate those overdue.

Pure functions of the actions the engine hands ACT (``StepContext.actions``: every
action of the process still ``open``, ``in_progress`` or ``done``, in its current
state) and the KPI results; no I/O. What they decide comes back as
:class:`ActionUpdate` records the engine stores as the actions' history, and as
decisions with their reason in numbers.

- **Verification.** An action marked ``done`` after cycle *d* (``done_after_cycle``)
  whose policy set ``verify_after: n`` is judged in cycle *d + n*: ``verified`` when
  its KPI met its target in each of the cycles *d + 1 .. d + n*, otherwise
  ``ineffective`` and at once reopened (``open``) for the next owner of its
  escalation chain, due ``due_days`` (the policy's) after this cycle started. A
  ``done`` action without ``verify_after`` or without a KPI stays done.
- **Overdue escalation.** An ``open`` or ``in_progress`` action more than
  ``escalate_overdue_days`` past its due date goes to the next owner of its chain,
  due ``escalate_overdue_days`` after this cycle started (so it escalates again
  only if it is overdue again).
- **The chain.** The action's ``escalation`` (from ``open_action.escalate_to``, or the
  process's ``escalation``, copied in when it was opened), else ``[escalate_to]`` of
  ``improve.apply_policies``. The next owner is the one after the current owner; an
  owner not in the chain hands on to its first entry; at the end of the chain the
  action stays where it is and the decision says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from pdcaflow.engine.pdca.policy_effects import due_date
from pdcaflow.engine.pdca.policy_rules import comparison, status_of
from pdcaflow.engine.pdca.action_records import ActionUpdate
from pdcaflow.engine.pdca.records import ActionChange, ActionStatus, CycleResult, Decision, DecisionRule, KpiStatus

VERIFICATION = DecisionRule.ACTION_VERIFICATION
OVERDUE = DecisionRule.ACTION_OVERDUE
ResultsOf = Callable[[str], Sequence[CycleResult]]
"""KPI id -> its results oldest first, each with ``cycle``, ending with this cycle's."""


@dataclass
class FollowUp:
    """What following up the open actions produced."""

    decisions: list[Decision] = field(default_factory=list)
    updates: list[ActionUpdate] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


def next_owner(chain: Sequence[str], owner: str) -> str | None:
    """Who takes over from ``owner``: the next in ``chain`` (its first when ``owner`` is not in it), or ``None``."""
    if owner in chain:
        position = list(chain).index(owner)
        return chain[position + 1] if position + 1 < len(chain) else None
    return chain[0] if chain else None


def chain_of(action: Mapping[str, Any], escalate_to: str | None) -> list[str]:
    """The action's escalation chain: its own ``escalation``, else ``[escalate_to]``, else none."""
    own = action.get("escalation")
    if isinstance(own, Sequence) and not isinstance(own, str) and own:
        return [str(owner) for owner in own]
    return [escalate_to] if escalate_to else []


def follow_up(actions: Sequence[Mapping[str, Any]], results_of: ResultsOf, *, cycle: int, started_at: str,
              escalate_overdue_days: int, escalate_to: str | None) -> FollowUp:
    """Verify the done actions due for it and escalate the overdue open ones.

    Args:
        actions: the actions in their current state (``id``, ``status``, ``owner``, ``due``,
            ``kpi``, ``verify_after``, ``done_after_cycle``, ``escalation``, ``due_days``).
        results_of: KPI id -> its results oldest first, each with ``cycle``, ending with this cycle's.
        cycle: this cycle's number.
        started_at: when this cycle started (ISO 8601); due dates count from its date.
        escalate_overdue_days: days past due after which an open action escalates.
        escalate_to: the next owner when an action has no chain of its own.
    """
    today = date.fromisoformat(due_date(started_at, 0))
    done = FollowUp()
    for action in actions:
        status = str(action.get("status", "open"))
        if status == ActionStatus.DONE:
            _verify(action, results_of, cycle, today, escalate_to, done)
        elif status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS):
            _overdue(action, today, escalate_overdue_days, escalate_to, done)
    return done


def _verify(action: Mapping[str, Any], results_of: ResultsOf, cycle: int, today: date, escalate_to: str | None,
            done: FollowUp) -> None:
    key, kpi = str(action["id"]), action.get("kpi")
    verify_after, after = action.get("verify_after"), action.get("done_after_cycle")
    if not verify_after or kpi is None or after is None:
        return
    waited = cycle - int(after)
    if waited < int(verify_after):
        done.decisions.append(Decision(policy=VERIFICATION, kpi=kpi, fired=False, effects=(), reason=(
            f"action {key} was done after cycle {after}: it is verified after {verify_after} cycle(s) of {kpi}, "
            f"{waited} so far")))
        return
    window = range(int(after) + 1, int(after) + int(verify_after) + 1)
    results = {result.cycle: result for result in results_of(str(kpi)) if result.cycle is not None}
    shown = ", ".join(f"cycle {number}: {comparison(results[number]) if number in results else 'no result'}"
                      for number in window)
    if all(number in results and status_of(results[number]) == KpiStatus.MET for number in window):
        reason = f"{kpi} met its target in the {len(window)} cycle(s) after action {key} was done ({shown})"
        done.updates.append(ActionUpdate(id=key, change=ActionChange.VERIFIED, status=ActionStatus.VERIFIED,
                                         reason=reason, kpi=kpi))
        done.verified.append(key)
        done.decisions.append(Decision(policy=VERIFICATION, kpi=kpi, fired=True, reason=reason,
                                       effects=(f"action {key} verified effective",)))
        return
    reason = f"{kpi} did not meet its target in every cycle after action {key} was done ({shown})"
    done.updates.append(ActionUpdate(id=key, change=ActionChange.INEFFECTIVE, status=ActionStatus.INEFFECTIVE,
                                     reason=reason, kpi=kpi))
    done.failed.append(key)
    effects = [f"action {key} marked ineffective"]
    owner = str(action.get("owner"))
    successor = next_owner(chain_of(action, escalate_to), owner)
    due = (today + timedelta(days=int(action.get("due_days") or 7))).isoformat()
    if successor is None:
        reopen = f"reopened for {owner} (the end of its escalation chain), due {due}"
        done.updates.append(ActionUpdate(id=key, change=ActionChange.REOPENED, status=ActionStatus.OPEN, due=due,
                                         reason=reopen, kpi=kpi))
    else:
        reopen = f"reopened and escalated from {owner} to {successor}, due {due}"
        done.updates.append(ActionUpdate(id=key, change=ActionChange.ESCALATED, status=ActionStatus.OPEN,
                                         owner=successor, due=due, reason=f"{reopen}: {reason}", kpi=kpi))
        done.escalated.append(key)
    effects.append(reopen)
    done.decisions.append(Decision(policy=VERIFICATION, kpi=kpi, fired=True, reason=reason, effects=tuple(effects)))


def _overdue(action: Mapping[str, Any], today: date, grace_days: int, escalate_to: str | None,
             done: FollowUp) -> None:
    key, owner = str(action["id"]), str(action.get("owner"))
    try:
        due = date.fromisoformat(str(action.get("due"))[:10])
    except ValueError:
        return
    late = (today - due).days
    if late <= grace_days:
        return
    successor = next_owner(chain_of(action, escalate_to), owner)
    reason = (f"action {key} is {late} days past its due date {due.isoformat()} "
              f"(escalated after {grace_days}) with {owner}")
    if successor is None:
        stays = f"action {key} stays with {owner}: no one left in its escalation chain"
        done.decisions.append(Decision(policy=OVERDUE, kpi=action.get("kpi"), fired=True, reason=reason,
                                       effects=(stays,)))
        return
    new_due = (today + timedelta(days=grace_days)).isoformat()
    effect = f"action {key} escalated from {owner} to {successor}, due {new_due}"
    done.updates.append(ActionUpdate(id=key, change=ActionChange.ESCALATED, owner=successor, due=new_due,
                                     reason=f"{reason}: {effect}", kpi=action.get("kpi")))
    done.escalated.append(key)
    done.decisions.append(Decision(policy=OVERDUE, kpi=action.get("kpi"), fired=True, reason=reason,
                                   effects=(effect,)))
