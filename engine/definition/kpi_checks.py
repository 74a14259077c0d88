"""Checks of KPIs and improvement policies: measurable, readable, and pointing at real things."""

from __future__ import annotations

from typing import Any

from pdcaflow.engine.definition.model import PHASES, Kpi, ParamChange, Policy
from pdcaflow.engine.definition.semantic import KPI_CHECK_TASK, Checker
from pdcaflow.engine.definition.subprocesses import rollup_problem


def check_kpis(checker: Checker, depends_on: dict[str, set[str]]) -> None:
    """Each KPI's source is a declared output of a step that finishes before the KPI check."""
    definition = checker.definition
    check_steps = [step for step in definition.steps if step.uses == KPI_CHECK_TASK]
    for index, kpi in enumerate(definition.kpis):
        _direction(checker, index, kpi)
        step_id, output = kpi.source.split(".", 1)
        step_index = checker.step_index(step_id)
        key_path = ("kpis", index, "source")
        if step_index is None:
            checker.report("PDCA215", f"KPI '{kpi.id}' reads from unknown step '{step_id}'", key_path,
                           "known steps: " + ", ".join(step.id for step in definition.steps))
            continue
        step = definition.steps[step_index]
        spec = checker.task_of(step)
        first_output = output.split(".")[0]
        if spec is not None and spec.outputs is not None and first_output not in spec.outputs:
            checker.report("PDCA214", f"KPI '{kpi.id}' reads output '{first_output}', which task '{spec.name}' "
                           f"(step '{step_id}') does not produce", key_path, "its outputs: " + ", ".join(spec.outputs))
        problem = rollup_problem(checker.processes.get(step.uses.removeprefix("process:")), output) \
            if step.is_subprocess else None
        if problem:
            checker.report("PDCA245", f"KPI '{kpi.id}' reads '{kpi.source}': {problem}", key_path,
                           f"e.g. `source: {step_id}.kpis.<child KPI>.actual` or `{step_id}.missed`")
        for check_step in check_steps:
            if _has_unknown_needs(checker, check_step.id):
                continue  # the misspelt `needs` entry (PDCA203) is the problem to show, not its consequence
            if not _runs_before(checker, step_id, check_step.id, depends_on):
                checker.report("PDCA226", f"KPI '{kpi.id}' reads step '{step_id}', which does not finish before "
                               f"the KPI check step '{check_step.id}'", key_path,
                               f"add '{step_id}' to the `needs:` of '{check_step.id}', or move it to an earlier phase")


def _has_unknown_needs(checker: Checker, step_id: str) -> bool:
    step = checker.definition.step(step_id)
    return step is not None and any(checker.definition.step(name) is None for name in step.needs)


def _runs_before(checker: Checker, first: str, later: str, depends_on: dict[str, set[str]]) -> bool:
    first_step, later_step = checker.definition.step(first), checker.definition.step(later)
    assert first_step is not None and later_step is not None
    if PHASES.index(first_step.phase) != PHASES.index(later_step.phase):
        return PHASES.index(first_step.phase) < PHASES.index(later_step.phase)
    seen: set[str] = set()
    pending = [later]
    while pending:
        node = pending.pop()
        for dependency in depends_on.get(node, ()):
            if dependency == first:
                return True
            if dependency not in seen:
                seen.add(dependency)
                pending.append(dependency)
    return False


def _direction(checker: Checker, index: int, kpi: Kpi) -> None:
    implied = kpi.target.implied_direction
    if kpi.direction is None or implied == "on_target" or kpi.direction == implied:
        return
    bound = "min" if kpi.target.min is not None else "max"
    checker.report("PDCA220", f"KPI '{kpi.id}' is `{kpi.direction}` but its target only sets `{bound}`",
                   ("kpis", index, "direction"),
                   f"a `{bound}` target means {implied}; change the direction or the target")


def check_policies(checker: Checker) -> None:
    """Every KPI, param and signal rule a policy names exists and fits what the policy does with it."""
    for index, policy in enumerate(checker.definition.policies):
        for key_path, kpi_id in _kpi_mentions(index, policy):
            kpi = checker.definition.kpi(kpi_id)
            if kpi is None:
                known = ", ".join(k.id for k in checker.definition.kpis) or "none declared"
                checker.report("PDCA216", f"policy '{policy.id}' names unknown KPI '{kpi_id}'", key_path,
                               f"known KPIs: {known}")
        if policy.when is not None and policy.when.signal is not None and policy.when.kpi is not None:
            _signal(checker, index, policy)
        for position, change in enumerate(policy.change):
            base = ("policies", index, "change", position) if len(policy.change) > 1 else ("policies", index, "change")
            _param_change(checker, base, change)
        _limit_side(checker, index, policy)
        _verifiable(checker, index, policy)


def _kpi_mentions(index: int, policy: Policy) -> list[tuple[tuple[Any, ...], str]]:
    mentions = []
    if policy.when is not None and policy.when.kpi is not None:
        mentions.append((("policies", index, "when", "kpi"), policy.when.kpi))
    if policy.change_target is not None:
        mentions.append((("policies", index, "change_target", "kpi"), policy.change_target.kpi))
    if policy.ratchet is not None:
        mentions.append((("policies", index, "ratchet", "kpi"), policy.ratchet.kpi))
    return mentions


def _signal(checker: Checker, index: int, policy: Policy) -> None:
    assert policy.when is not None and policy.when.kpi is not None
    kpi = checker.definition.kpi(policy.when.kpi)
    if kpi is None:
        return
    enabled = kpi.control.rules if kpi.control is not None else []
    if policy.when.signal not in enabled:
        hint = (f"add `{policy.when.signal}` to `control.rules` of KPI '{kpi.id}'" if enabled
                else f"give KPI '{kpi.id}' `control: {{chart: xmr, rules: [{policy.when.signal}]}}`")
        checker.report("PDCA219", f"policy '{policy.id}' waits for signal '{policy.when.signal}', which KPI "
                       f"'{kpi.id}' does not test", ("policies", index, "when", "signal"), hint)


def _param_change(checker: Checker, base: tuple[Any, ...], change: ParamChange) -> None:
    value: Any = checker.definition.params
    for part in change.param.split("."):
        if not isinstance(value, dict) or part not in value:
            known = ", ".join(value) if isinstance(value, dict) else "none (not a mapping)"
            checker.report("PDCA217", f"policy changes unknown param '{change.param}'", (*base, "param"),
                           f"declared at that level: {known}")
            return
        value = value[part]
    if (change.add is not None or change.multiply is not None) and (isinstance(value, bool) or not isinstance(value, int | float)):
        verb = "add to" if change.add is not None else "multiply"
        checker.report("PDCA218", f"cannot {verb} param '{change.param}': its value {value!r} is not a number",
                       (*base, "param"),
                       "use `set:` for non-numeric params, or point at a numeric leaf (e.g. visits_per_month.B)")


def _verifiable(checker: Checker, index: int, policy: Policy) -> None:
    action = policy.open_action
    if action is None or action.verify_after is None or (policy.when is not None and policy.when.kpi is not None):
        return
    checker.report("PDCA234", f"policy '{policy.id}' verifies its action after {action.verify_after} cycle(s) "
                   "but names no KPI to verify it against", ("policies", index, "open_action", "verify_after"),
                   "write the condition as `when: {kpi: ..., missed: true}` (or another KPI test), "
                   "or drop `verify_after`")


def _limit_side(checker: Checker, index: int, policy: Policy) -> None:
    rule = policy.ratchet or policy.change_target
    if rule is None or rule.limit is None:
        return
    kpi = checker.definition.kpi(rule.kpi)
    if kpi is None or kpi.target.implied_direction == "on_target":
        return
    relaxing = getattr(rule, "relax", None) is not None
    raising = (kpi.target.min is not None) != relaxing  # tightening a min target raises it
    current = kpi.target.min if kpi.target.min is not None else kpi.target.max
    assert current is not None
    if (raising and rule.limit < current) or (not raising and rule.limit > current):
        kind = "ratchet" if policy.ratchet is not None else "change_target"
        side = "at or above" if raising else "at or below"
        checker.report("PDCA228", f"policy '{policy.id}' moves the target of '{kpi.id}' from {current:g} but its "
                       f"limit {rule.limit:g} lies behind it", ("policies", index, kind, "limit"),
                       f"the limit must be {side} the current target {current:g}")
