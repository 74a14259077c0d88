"""Compile a validated definition into a frozen execution plan (no I/O, no Prefect).

The plan is what every cycle of this definition version executes: the steps of
each phase in dependency order, each with its resolved options and the
same-phase steps it waits for, and the definition's sha256 that every cycle
records. ``flows/`` turns a plan into a Prefect flow; nothing here knows Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass

from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.definition.model import PHASES, Phase, ProcessDefinition, Step
from pdcaflow.engine.definition.validate import ValidatedDefinition


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

    @property
    def steps(self) -> tuple[PlannedStep, ...]:
        return tuple(step for phase in self.phases for step in phase.steps)

    def step(self, step_id: str) -> PlannedStep:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise CompileError(f"no step '{step_id}' in the plan of '{self.process_id}'")


def compile_plan(validated: ValidatedDefinition) -> ExecutionPlan:
    """Order each phase's steps so that every step comes after the same-phase steps it depends on."""
    definition = validated.definition
    phases: list[PhasePlan] = []
    for phase in PHASES:
        members = [step for step in definition.steps if step.phase == phase]
        if not members:
            continue
        names = {step.id for step in members}
        waits = {step.id: tuple(sorted(validated.depends_on.get(step.id, frozenset()) & names)) for step in members}
        ordered = _topological(members, waits)
        phases.append(PhasePlan(phase, tuple(
            PlannedStep(step.id, step.phase, step.uses, waits[step.id], step.retries, step.retry_delay,
                        step.timeout, step) for step in ordered)))
    return ExecutionPlan(definition.id, definition.title, validated.sha256, validated.document.text,
                         validated.document.path, tuple(phases), definition)


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
