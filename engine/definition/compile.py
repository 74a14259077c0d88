"""Compile a validated definition into a frozen execution plan (no I/O, no Prefect).

The plan is what every cycle of this definition version executes: the steps of
each phase in dependency order, each with its resolved options, the same-phase
steps it waits for and its expressions parsed (``when:``, ``with:``), the policies'
conditions and action titles parsed, the project config the definition was
validated with (what its tasks read), and the definition's sha256 that every cycle
records. A run compiles once and hands the plan to each cycle. ``flows/`` turns a
plan into a Prefect flow; nothing here knows Prefect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.definition.evaluation import Condition, Template, compile_condition, compile_template
from pdcaflow.engine.definition.expressions import ExpressionError
from pdcaflow.engine.definition.model import PHASES, Phase, ProcessDefinition, Step
from pdcaflow.engine.definition.validate import ValidatedDefinition
from pdcaflow.tasks.sdk.project_config import ProjectConfig

_Parsed = TypeVar("_Parsed", Condition, Template)


class CompileError(PdcaError):
    """A validated definition could not be compiled (a bug: validation should have caught it)."""


@dataclass(frozen=True)
class PlannedStep:
    """One step as a cycle runs it."""

    id: str
    phase: Phase
    uses: str
    waits_for: tuple[str, ...]  # same-phase steps that must finish first
    retries: int
    retry_delay_seconds: float
    timeout_seconds: float | None
    definition: Step
    when: Condition | None = None  # ``when:``, parsed
    # ``with:`` with every string holding ``${{ }}`` parsed into a Template (nested lists and mappings kept)
    with_: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PhasePlan:
    phase: Phase
    steps: tuple[PlannedStep, ...]  # in a dependency-respecting order


@dataclass(frozen=True)
class ExecutionPlan:
    """The frozen plan of one definition version."""

    process_id: str
    title: str
    sha256: str
    yaml_text: str
    source_path: str
    phases: tuple[PhasePlan, ...]
    definition: ProcessDefinition
    config: ProjectConfig | None = None  # see ValidatedDefinition.config
    policy_conditions: Mapping[str, Condition] = field(default_factory=dict)  # policy id -> its `when: {expr:}`
    action_titles: Mapping[str, Template] = field(default_factory=dict)  # policy id -> its open_action.title

    @property
    def steps(self) -> tuple[PlannedStep, ...]:
        return tuple(step for phase in self.phases for step in phase.steps)

    def step(self, step_id: str) -> PlannedStep:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise CompileError(f"no step '{step_id}' in the plan of '{self.process_id}'")


def compile_plan(validated: ValidatedDefinition) -> ExecutionPlan:
    """Order each phase's steps so that every step comes after the same-phase steps it depends on.

    Raises:
        CompileError: an expression does not parse (validation should have said so).
    """
    definition = validated.definition
    phases: list[PhasePlan] = []
    for phase in PHASES:
        members = [step for step in definition.steps if step.phase == phase]
        if not members:
            continue
        names = {step.id for step in members}
        waits = {step.id: tuple(sorted(validated.depends_on.get(step.id, frozenset()) & names)) for step in members}
        ordered = _topological(members, waits)
        phases.append(PhasePlan(phase, tuple(planned_step(step, waits[step.id]) for step in ordered)))
    conditions = {policy.id: _parsed(compile_condition, policy.when.expr, f"policy '{policy.id}'")
                  for policy in definition.policies if policy.when is not None and policy.when.expr is not None}
    titles = {policy.id: _parsed(compile_template, policy.open_action.title, f"policy '{policy.id}'")
              for policy in definition.policies if policy.open_action is not None}
    return ExecutionPlan(definition.id, definition.title, validated.sha256, validated.document.text,
                         validated.document.path, tuple(phases), definition, validated.config, conditions, titles)


def planned_step(step: Step, waits_for: tuple[str, ...] = ()) -> PlannedStep:
    """``step`` as a cycle runs it: its options resolved, its expressions parsed."""
    where = f"step '{step.id}'"
    when = _parsed(compile_condition, step.when, where) if step.when is not None else None
    return PlannedStep(step.id, step.phase, step.uses, waits_for, step.retries, step.retry_delay, step.timeout,
                       step, when, {key: _compiled_value(value, where) for key, value in step.with_.items()})


def _compiled_value(value: Any, where: str) -> Any:
    """A ``with:`` value with each string that holds ``${{`` parsed (what ``render_value`` fills in)."""
    if isinstance(value, str) and "${{" in value:
        return _parsed(compile_template, value, where)
    if isinstance(value, dict):
        return {key: _compiled_value(item, where) for key, item in value.items()}
    if isinstance(value, list):
        return [_compiled_value(item, where) for item in value]
    return value


def _parsed(parse: Callable[[str], _Parsed], text: str, where: str) -> _Parsed:
    try:
        return parse(text)
    except ExpressionError as exc:
        raise CompileError(f"{where}: `{text}` does not parse: {exc.message}") from exc


def _topological(members: list[Step], waits: dict[str, tuple[str, ...]]) -> list[Step]:
    """Kahn's algorithm, keeping the written order among steps that are ready together."""
    done: set[str] = set()
    ordered: list[Step] = []
    pending = list(members)
    while pending:
        ready = [step for step in pending if set(waits[step.id]) <= done]
        if not ready:
            raise CompileError("dependency cycle among " + ", ".join(step.id for step in pending))
        for step in ready:
            ordered.append(step)
            done.add(step.id)
        pending = [step for step in pending if step.id not in done]
    return ordered
