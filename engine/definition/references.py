"""Checks of what steps say to each other: ``with:`` keys and values, and expressions.

Every ``${{ ... }}`` in a step's ``with:`` and every ``when:`` is parsed here, and
each reference it makes is resolved against the definition: params must exist,
steps must run before the step that reads them, outputs must be declared by the
task, KPIs must be declared. A same-phase step read by another becomes a
dependency of it (returned for the cycle check and the execution order).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from pdcaflow.engine.errors import KeyPath
from pdcaflow.engine.definition.evaluation import check_constants
from pdcaflow.engine.definition.expressions import (
    MAX_NUMBER_DIGITS,
    ROUND_DIGITS,
    Expr,
    ExpressionBoundError,
    ExpressionError,
    Reference,
    find_templates,
    parse_condition,
    references,
)
from pdcaflow.engine.definition.model import PHASES, Step
from pdcaflow.engine.definition.path_checks import check_paths
from pdcaflow.engine.definition.semantic import Checker, walk_values

KPI_FIELDS = ("actual", "target", "met", "missed", "delta", "margin", "status", "unit", "signals", "trend")
PREVIOUS_FIELDS = ("kpis", "params", "actions", "decisions", "cycle", "steps")
CYCLE_FIELDS = ("number", "started_at", "trigger", "actor", "period")
PROCESS_FIELDS = ("id", "title", "owner")
# codes a task's own `with:` check may give (anything else is PDCA250): data.query's SQL refusals,
# service.standards' vague standards
TASK_CHECK_CODES = ("PDCA265", "PDCA266", "PDCA267", "PDCA268")


@dataclass(frozen=True)
class Scope:
    """Where an expression is written: which phase, and which step (None for policies)."""

    phase: str
    step: Step | None


def check_steps(checker: Checker, needs: dict[str, set[str]]) -> dict[str, set[str]]:
    """Check every step's ``with:`` and ``when:``; return needs plus inferred same-phase dependencies."""
    depends_on = {name: set(targets) for name, targets in needs.items()}
    for index, step in enumerate(checker.definition.steps):
        scope = Scope(step.phase, step)
        _with_keys(checker, index, step)
        for key_path, value in walk_values(step.with_, ("steps", index, "with")):
            if isinstance(value, str) and "${{" in value:
                for ref in _template_refs(checker, value, key_path):
                    _check_reference(checker, ref, scope, key_path, depends_on)
        if step.when is not None:
            for ref in _condition_refs(checker, step.when, ("steps", index, "when")):
                _check_reference(checker, ref, scope, ("steps", index, "when"), depends_on)
    return depends_on


def check_policy_expressions(checker: Checker) -> None:
    """Expressions in policies see everything a finished CHECK produced."""
    scope = Scope("act", None)
    for index, policy in enumerate(checker.definition.policies):
        if policy.when is not None and policy.when.expr is not None:
            key_path: KeyPath = ("policies", index, "when", "expr")
            for ref in _condition_refs(checker, policy.when.expr, key_path):
                _check_reference(checker, ref, scope, key_path, None)
        if policy.open_action is not None and "${{" in policy.open_action.title:
            key_path = ("policies", index, "open_action", "title")
            for ref in _template_refs(checker, policy.open_action.title, key_path):
                _check_reference(checker, ref, scope, key_path, None)


def _template_refs(checker: Checker, text: str, key_path: KeyPath) -> list[tuple[Reference, int | None]]:
    try:
        parts = find_templates(text)
        for part in parts:
            _check_constants(part.expr, part.offset)
    except ExpressionError as exc:
        _syntax(checker, exc, text, key_path, exc.offset)
        return []
    return [(ref, _offset_if_single_line(text, part.offset + ref.offset))
            for part in parts for ref in references(part.expr)]


def _condition_refs(checker: Checker, text: str, key_path: KeyPath) -> list[tuple[Reference, int | None]]:
    try:
        expr, base = parse_condition(text)
        _check_constants(expr, base)
    except ExpressionError as exc:
        _syntax(checker, exc, text, key_path, exc.offset)
        return []
    return [(ref, _offset_if_single_line(text, base + ref.offset)) for ref in references(expr)]


def _check_constants(expr: Expr, base: int) -> None:
    """A literal or constant out of bounds (``round(x, -999)``, 200 digits), with its offset in the text."""
    try:
        check_constants(expr)
    except ExpressionBoundError as exc:
        raise ExpressionBoundError(exc.message, base + exc.offset) from None


def _syntax(checker: Checker, exc: ExpressionError, text: str, key_path: KeyPath, offset: int) -> None:
    if isinstance(exc, ExpressionBoundError):
        checker.report(exc.code, f"expression value out of bounds: {exc.message}", key_path,
                       f"numbers have at most {MAX_NUMBER_DIGITS} digits and round() takes -{ROUND_DIGITS} to "
                       f"{ROUND_DIGITS} digits: write a smaller value", offset=_offset_if_single_line(text, offset))
        return
    checker.report("PDCA211", f"expression error: {exc.message}", key_path,
                   "expressions look like `${{ params.visits_per_month.B + 1 }}`; see the README's expression section",
                   offset=_offset_if_single_line(text, offset))


def _offset_if_single_line(text: str, offset: int) -> int | None:
    return None if "\n" in text[:offset] else offset


def _check_reference(checker: Checker, located: tuple[Reference, int | None], scope: Scope, key_path: KeyPath,
                     depends_on: dict[str, set[str]] | None) -> None:
    ref, offset = located

    def report(code: str, message: str, hint: str) -> None:
        checker.report(code, f"{message} (in `{ref.dotted}`)", key_path, hint,
                       offset=offset, length=ref.length)

    if ref.root == "params":
        _check_param_path(ref.path, checker.definition.params, "params", report)
    elif ref.root == "steps":
        _check_step_ref(checker, ref, scope, report, depends_on)
    elif ref.root == "kpis":
        if scope.phase != "act":
            report("PDCA213", "`kpis` of this cycle are only known after CHECK",
                   "read them in an act step or a policy, or use `previous.kpis` for last cycle's results")
            return
        _check_kpi_path(checker, ref.path, "kpis", report)
    elif ref.root == "previous":
        _check_previous(checker, ref.path, report)
    else:
        fields = CYCLE_FIELDS if ref.root == "cycle" else PROCESS_FIELDS
        if len(ref.path) != 1 or ref.path[0] not in fields:
            report("PDCA212", f"`{ref.root}` has the fields {', '.join(fields)}", f"e.g. `{ref.root}.{fields[0]}`")


def _check_param_path(path: tuple[str | int, ...], params: Any, shown: str, report: Any) -> None:
    value = params
    for part in path:
        if isinstance(value, dict) and str(part) in value:
            value = value[str(part)]
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            keys = ", ".join(map(str, value)) if isinstance(value, dict) else "none (not a mapping)"
            report("PDCA212", f"`{shown}` has no '{part}'", f"declared here: {keys}")
            return
        shown = f"{shown}.{part}"


def _check_step_ref(checker: Checker, ref: Reference, scope: Scope, report: Any,
                    depends_on: dict[str, set[str]] | None) -> None:
    if not ref.path:
        report("PDCA212", "name a step: `steps.<step id>.<output>`", "e.g. `steps.forecast_demand.forecast`")
        return
    name = str(ref.path[0])
    index = checker.step_index(name)
    if index is None:
        report("PDCA212", f"unknown step '{name}'", "known steps: " + ", ".join(s.id for s in checker.definition.steps))
        return
    target = checker.definition.steps[index]
    if scope.step is not None:
        if PHASES.index(target.phase) > PHASES.index(scope.phase):
            report("PDCA213", f"step '{name}' runs later ({target.phase}) than this {scope.phase} step",
                   "a step can only read steps of its own or earlier phases")
            return
        if target.phase == scope.phase and depends_on is not None:
            depends_on[scope.step.id].add(name)  # reading a same-phase step waits for it
    spec = checker.task_of(target)
    if len(ref.path) > 1 and spec is not None and spec.outputs is not None and str(ref.path[1]) not in spec.outputs:
        report("PDCA214", f"task '{spec.name}' (step '{name}') has no output '{ref.path[1]}'",
               "its outputs: " + ", ".join(spec.outputs))


def _check_kpi_path(checker: Checker, path: tuple[str | int, ...], root: str, report: Any) -> None:
    if not path or checker.definition.kpi(str(path[0])) is None:
        known = ", ".join(k.id for k in checker.definition.kpis) or "none declared"
        report("PDCA212", f"unknown KPI '{path[0] if path else ''}' in `{root}`", f"known KPIs: {known}")
    elif len(path) > 1 and path[1] not in KPI_FIELDS:
        report("PDCA212", f"a KPI result has no field '{path[1]}'", "fields: " + ", ".join(KPI_FIELDS))


def _check_previous(checker: Checker, path: tuple[str | int, ...], report: Any) -> None:
    if not path or path[0] not in PREVIOUS_FIELDS:
        report("PDCA212", f"`previous` has no '{path[0] if path else ''}'", "fields: " + ", ".join(PREVIOUS_FIELDS))
    elif path[0] == "kpis":
        _check_kpi_path(checker, path[1:], "previous.kpis", report)
    elif path[0] == "params":
        _check_param_path(path[1:], checker.definition.params, "previous.params", report)


def _with_keys(checker: Checker, index: int, step: Step) -> None:
    if step.is_subprocess:
        child = checker.processes.get(step.uses.removeprefix("process:"))
        if child is not None:
            for key in step.with_:
                if key not in child.params:
                    checker.report("PDCA208", f"sub-process '{child.id}' has no param '{key}'",
                                   ("steps", index, "with", key), "a sub-process step's `with:` overrides the "
                                   f"child's params: {', '.join(child.params) or 'it declares none'}", at_key=True)
        return
    spec = checker.task_of(step)
    if spec is None:
        return
    names = [param.name for param in spec.params]
    for key, value in step.with_.items():
        param = spec.param(key)
        if param is None:
            close = difflib.get_close_matches(key, names, n=1, cutoff=0.6)
            checker.report("PDCA208", f"task '{spec.name}' has no parameter '{key}'", ("steps", index, "with", key),
                           (f"did you mean '{close[0]}'? " if close else "") +
                           f"its parameters: {', '.join(names) or 'none'}", at_key=True)
        elif not _has_template(value):
            problem = _type_problem(param.annotation, value)
            if problem:
                checker.report("PDCA210", f"`{key}` of task '{spec.name}': {problem}", ("steps", index, "with", key),
                               f"expected {param.type_name}; `pdca tasks show {spec.name}` describes it")
            elif _reads_as_non_finite(param.annotation, value):
                checker.report("PDCA016", f"`{key}` of task '{spec.name}' would read {value!r} as a number that is "
                               "infinite or not a number", ("steps", index, "with", key), "write a finite number")
    missing = [param for param in spec.params if param.required and param.name not in step.with_]
    for param in missing:
        if step.with_:
            checker.report("PDCA209", f"task '{spec.name}' needs `{param.name}` in `with:`", ("steps", index, "with"),
                           f"add `{param.name}: ...` ({param.type_name}) to `with:`", at_key=True)
        else:
            checker.report("PDCA209", f"task '{spec.name}' needs `{param.name}` in `with:`", ("steps", index, "uses"),
                           f"add `with: {{{param.name}: ...}}` ({param.type_name}) to this step", at_key=True)
    check_paths(checker, index, step, spec)  # paths stay inside the project (PDCA260-PDCA262)
    for key_path, message, hint, *code in spec.with_problems(step.with_):  # the task's own check of its values
        known = code[0] if code and code[0] in TASK_CHECK_CODES else "PDCA250"
        checker.report(known, f"task '{spec.name}': {message}", ("steps", index, "with", *key_path), hint)


def _has_template(value: Any) -> bool:
    return any(isinstance(leaf, str) and "${{" in leaf for _, leaf in walk_values(value, ()))


@lru_cache(maxsize=256)
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def _reads_as_non_finite(annotation: Any, value: Any) -> bool:
    """Pydantic reads the text 'nan' or '-Infinity' as a float: a task would get a number no record can hold."""
    try:
        converted = _adapter(annotation).validate_python(value, strict=False)
    except (ValidationError, TypeError):
        return False
    return _has_non_finite(converted)


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_non_finite(item) for item in value)
    return False


def _type_problem(annotation: Any, value: Any) -> str | None:
    try:
        _adapter(annotation).validate_python(value, strict=False)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"] if not str(part).startswith(("function-", "typed-dict")))
        return (f"at '{where}': " if where else "") + first["msg"][0].lower() + first["msg"][1:]
    except TypeError:  # an annotation pydantic cannot check: trust the task
        return None
    return None
