"""Checks that span the whole definition: ids, tasks, dependencies, phases, KPIs, policies.

Runs after the shape check succeeded. Every problem is collected (nothing stops at
the first); references inside expressions and ``with:`` values are checked by
``pdcaflow.engine.definition.references``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pdcaflow.engine.errors import Diagnostic, KeyPath, Severity
from pdcaflow.engine.definition.loader import LoadedDocument
from pdcaflow.engine.definition.model import NAME_PATTERN, PHASES, ProcessDefinition, Step
from pdcaflow.tasks.sdk.project_config import ProjectConfig
from pdcaflow.tasks.sdk.registry import TaskSpec

KPI_CHECK_TASK = "kpi.check"
APPLY_POLICIES_TASK = "improve.apply_policies"


@dataclass
class Checker:
    """Holds what every check needs and collects the diagnostics they report."""

    definition: ProcessDefinition
    document: LoadedDocument
    tasks: Mapping[str, TaskSpec]
    processes: Mapping[str, ProcessDefinition | None]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    project: ProjectConfig | None = None  # the config in effect, once a path check needed it (pdcaflow.engine.definition.path_checks)

    def report(self, code: str, message: str, key_path: KeyPath, hint: str, *, at_key: bool = False,
               offset: int | None = None, length: int | None = None, severity: Severity = "error") -> None:
        span = self.document.source_map.locate(key_path, at_key=at_key)
        column = span.column
        if offset is not None:
            column += offset + self._quote_width(span.line, span.column)
        diagnostic = Diagnostic(code, message, self.document.path, span.line, column, key_path, hint,
                                length if length is not None else span.length, severity)
        if diagnostic not in self.diagnostics:
            self.diagnostics.append(diagnostic)

    def warn(self, code: str, message: str, key_path: KeyPath, hint: str, *, at_key: bool = False) -> None:
        """Report something valid but probably not meant: the definition stays valid."""
        self.report(code, message, key_path, hint, at_key=at_key, severity="warning")

    @property
    def has_errors(self) -> bool:
        return any(diagnostic.is_error for diagnostic in self.diagnostics)

    def _quote_width(self, line: int, column: int) -> int:
        lines = self.document.lines
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        return 1 if text[column - 1: column] in ("'", '"') else 0

    def step_index(self, step_id: str) -> int | None:
        return next((i for i, step in enumerate(self.definition.steps) if step.id == step_id), None)

    def task_of(self, step: Step) -> TaskSpec | None:
        spec = None if step.is_subprocess else self.tasks.get(step.uses)
        if spec is not None and spec.outputs_for is not None:  # outputs named by the step's own `with:` values
            return replace(spec, outputs=spec.outputs_given(step.with_))
        return spec


def check_structure(checker: Checker) -> dict[str, set[str]]:
    """Ids, tasks, phases, needs and dependency cycles; returns each step's explicit needs."""
    _unique_ids(checker)
    _param_names(checker)
    _tasks_and_phases(checker)
    needs = _needs(checker)
    return needs


def _unique_ids(checker: Checker) -> None:
    for collection in ("steps", "kpis", "policies"):
        seen: dict[str, int] = {}
        for index, item in enumerate(getattr(checker.definition, collection)):
            if item.id in seen:
                first = checker.document.source_map.locate((collection, seen[item.id], "id"))
                checker.report("PDCA201", f"duplicate {collection[:-1].replace('polic', 'policy')} id '{item.id}' "
                               f"(first used at line {first.line})", (collection, index, "id"),
                               "ids must be unique within steps, kpis and policies; rename one")
            else:
                seen[item.id] = index


def _param_names(checker: Checker) -> None:
    for name in checker.definition.params:
        if not re.match(NAME_PATTERN, name):
            checker.report("PDCA227", f"param name '{name}' is not a valid name", ("params", name),
                           "param names are snake_case, e.g. visits_per_month; keys below them may be anything",
                           at_key=True)


def _tasks_and_phases(checker: Checker) -> None:
    definition = checker.definition
    latest = 0
    for index, step in enumerate(definition.steps):
        phase_rank = PHASES.index(step.phase)
        if phase_rank < latest:
            checker.report("PDCA205", f"step '{step.id}' ({step.phase}) is written after a {PHASES[latest]} step",
                           ("steps", index, "phase"), "write steps in PDCA order: plan, then do, check, act")
        latest = max(latest, phase_rank)
        if step.is_subprocess:
            _subprocess(checker, index, step)
            continue
        spec = checker.tasks.get(step.uses)
        if spec is None:
            close = difflib.get_close_matches(step.uses, list(checker.tasks), n=1, cutoff=0.6)
            hint = (f"did you mean '{close[0]}'? " if close else "") + "`pdca tasks` lists the registered tasks"
            checker.report("PDCA202", f"step '{step.id}' uses unknown task '{step.uses}'", ("steps", index, "uses"), hint)
        elif spec.phases is not None and step.phase not in spec.phases:
            checker.report("PDCA221", f"task '{step.uses}' runs in the {'/'.join(spec.phases)} phase, "
                           f"not in {step.phase}", ("steps", index, "phase"),
                           f"set `phase: {spec.phases[0]}` or use another task")
    present = {step.phase for step in definition.steps}
    for phase in ("check", "act"):
        if phase not in present:
            checker.report("PDCA206", f"the process has no {phase} step", ("steps",),
                           f"a PDCA cycle needs at least one step with `phase: {phase}`", at_key=True)
    used = {step.uses for step in definition.steps}
    # a misspelt task name is reported as PDCA202 already; don't also say the built-in step is missing
    unknown_task = any(not step.is_subprocess and step.uses not in checker.tasks for step in definition.steps)
    if definition.kpis and KPI_CHECK_TASK not in used and not unknown_task:
        checker.report("PDCA224", "KPIs are declared but no step evaluates them", ("kpis",),
                       f"add a check step with `uses: {KPI_CHECK_TASK}`", at_key=True)
    if not definition.kpis:
        checker.report("PDCA229", "the process declares no KPIs, so CHECK has nothing to check", ("id",),
                       "add `kpis:` with at least one measurable indicator (unit, target, source)", at_key=True)
    if definition.policies and APPLY_POLICIES_TASK not in used and not unknown_task and "act" in present:
        checker.report("PDCA225", "policies are declared but no step applies them", ("policies",),
                       f"add an act step with `uses: {APPLY_POLICIES_TASK}`", at_key=True)


def _subprocess(checker: Checker, index: int, step: Step) -> None:
    child_id = step.uses.removeprefix("process:")
    if child_id == checker.definition.id:
        checker.report("PDCA223", f"step '{step.id}' runs its own process as a sub-process",
                       ("steps", index, "uses"), "a process cannot contain itself")
        return
    if child_id not in checker.processes:
        known = ", ".join(sorted(checker.processes)) or "none found"
        checker.report("PDCA222", f"step '{step.id}' uses unknown sub-process '{child_id}'", ("steps", index, "uses"),
                       f"put that definition beside this file or pass it to the command too (known: {known})")
        return
    loop = _loop_back(checker.processes, [checker.definition.id, child_id])
    if loop:
        checker.report("PDCA223", f"sub-process '{child_id}' runs '{checker.definition.id}' in turn: "
                       + " -> ".join(loop), ("steps", index, "uses"), "sub-processes must not call each other in a loop")


def _loop_back(processes: Mapping[str, ProcessDefinition | None], path: list[str]) -> list[str] | None:
    """The chain of sub-processes from ``path`` that leads back to its first process, if any (depth first)."""
    current = processes.get(path[-1])
    for step in current.steps if current is not None else []:
        if not step.is_subprocess:
            continue
        child_id = step.uses.removeprefix("process:")
        if child_id == path[0]:
            return [*path, child_id]
        if child_id not in path:
            found = _loop_back(processes, [*path, child_id])
            if found:
                return found
    return None


def _needs(checker: Checker) -> dict[str, set[str]]:
    definition = checker.definition
    needs: dict[str, set[str]] = {}
    for index, step in enumerate(definition.steps):
        needs[step.id] = set()
        for position, name in enumerate(step.needs):
            target_index = checker.step_index(name)
            key_path = ("steps", index, "needs", position)
            if target_index is None:
                checker.report("PDCA203", f"step '{step.id}' needs unknown step '{name}'", key_path,
                               _known("steps", [s.id for s in definition.steps]))
                continue
            target = definition.steps[target_index]
            if PHASES.index(target.phase) > PHASES.index(step.phase):
                checker.report("PDCA207", f"step '{step.id}' ({step.phase}) needs '{name}', which runs later "
                               f"({target.phase})", key_path, "a step can only need steps of its own or earlier phases")
                continue
            needs[step.id].add(name)
    return needs


def check_cycles(checker: Checker, depends_on: Mapping[str, set[str]]) -> None:
    """Report each dependency cycle once, naming its steps in order."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for successor in sorted(depends_on.get(node, ())):
            if state.get(successor) == 1:
                loop = stack[stack.index(successor):] + [successor]
                index = checker.step_index(successor) or 0
                checker.report("PDCA204", "dependency cycle: " + " -> ".join(loop), ("steps", index, "id"),
                               "remove one `needs` entry or reference so the steps can run in an order")
            elif successor in depends_on and state.get(successor) is None:
                visit(successor)
        stack.pop()
        state[node] = 2

    for node in depends_on:
        if state.get(node) is None:
            visit(node)


def _known(kind: str, names: list[str]) -> str:
    return f"known {kind}: {', '.join(names)}" if names else f"no {kind} are declared"


def walk_values(value: Any, key_path: KeyPath) -> list[tuple[KeyPath, Any]]:
    """Every leaf of a nested mapping/list with its key path."""
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in walk_values(item, (*key_path, key))]
    if isinstance(value, list):
        return [leaf for i, item in enumerate(value) for leaf in walk_values(item, (*key_path, i))]
    return [(key_path, value)]
