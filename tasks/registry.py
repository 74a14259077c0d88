"""The task registry: which step code a definition's ``uses:`` may name.

A task is a plain typed Python function registered under a dotted name with
:func:`task`. Its keyword parameters become the step's ``with:`` keys (checked at
validation time against the type hints), its docstring the task's help, and the
keys of its return type (a ``TypedDict``) the step's outputs that KPIs and
expressions may read. A parameter annotated :class:`StepContext` is not a
``with:`` key: the engine passes the cycle's context in it.

Only registered tasks run; a definition can never name an import path.
This module imports neither ``prefect`` nor the audit store.
"""

from __future__ import annotations

import importlib
import re
import inspect
import os
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import typing_extensions

F = TypeVar("F", bound=Callable[..., Any])

BUILTIN_MODULES = (
    "tasks.customers",
    "tasks.demand",
    "tasks.strategy",
    "tasks.service",
    "tasks.feedback",
    "tasks.quality",
    "tasks.kpi",
    "tasks.improve",
)


@dataclass(frozen=True)
class StepContext:
    """What the engine hands a task about the cycle it runs in (filled in by the engine).

    Everything here is plain data (mappings, lists, numbers, text), never store or
    Prefect objects, so a task can be called and tested without either.

    Attributes:
        process_id: the process's id.
        cycle: this cycle's number (1 for the first).
        params: the params in force this cycle (the definition's, as changed by earlier ACTs).
        previous: the previous completed cycle's carry-over: ``kpis`` (KPI id -> result),
            ``params``, ``targets``, ``actions``, ``decisions``, ``cycle``; empty in cycle 1.
        steps: outputs of the steps finished so far this cycle (step id -> outputs).
        kpis: this cycle's KPI results once ``kpi.check`` ran (KPI id -> result).
        kpi_specs: KPI id -> ``{"unit", "direction", "source", "control", "target": {"min", "max"},
            "actual"}``: the declared KPI with the target in force this cycle and the value the
            engine read from its source (``None`` when the source produced none).
        history: KPI id -> results of earlier completed cycles, oldest first (this cycle excluded).
        policies: the definition's policies as plain mappings (``model_dump(mode="json", exclude_none=True)``).
        targets: KPI id -> ``{"min", "max"}`` in force this cycle.
        actions: corrective actions open before this cycle (mappings, see ``improve.apply_policies``).
        conditions: policy id -> the value of its ``when: {expr: ...}``, evaluated by the engine.
        action_titles: policy id -> its ``open_action.title`` with expressions filled in by the engine.
        started_at: when this cycle started, ISO 8601 with timezone.
    """

    process_id: str
    cycle: int
    params: Mapping[str, Any] = field(default_factory=dict)
    previous: Mapping[str, Any] = field(default_factory=dict)
    steps: Mapping[str, Any] = field(default_factory=dict)
    kpis: Mapping[str, Any] = field(default_factory=dict)
    kpi_specs: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    history: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    policies: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    targets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    actions: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    conditions: Mapping[str, bool] = field(default_factory=dict)
    action_titles: Mapping[str, str] = field(default_factory=dict)
    started_at: str = ""


@dataclass(frozen=True)
class TaskParam:
    """One ``with:`` key of a task."""

    name: str
    annotation: Any
    required: bool
    default: Any = None

    @property
    def type_name(self) -> str:
        """The annotation as a user reads it: ``list[ClassRule]``, ``Literal['ses', 'holt']``."""
        if isinstance(self.annotation, type) and not typing.get_args(self.annotation):
            return self.annotation.__name__
        return re.sub(r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+([A-Za-z_][A-Za-z0-9_]*)", r"\1", str(self.annotation))


@dataclass(frozen=True)
class TaskSpec:
    """A registered task as validation and execution see it."""

    name: str
    function: Callable[..., Any]
    params: tuple[TaskParam, ...]
    outputs: tuple[str, ...] | None
    phases: tuple[str, ...] | None
    module: str
    doc: str
    context_param: str | None = None  # the parameter the engine passes the StepContext in

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""

    def param(self, name: str) -> TaskParam | None:
        return next((param for param in self.params if param.name == name), None)


class TaskRegistrationError(TypeError):
    """A function cannot be registered as a task (a programming error in task code)."""


_REGISTRY: dict[str, TaskSpec] = {}


def task(name: str, *, phases: tuple[str, ...] | None = None) -> Callable[[F], F]:
    """Register a typed function as the task ``name`` (e.g. ``"customers.register"``).

    Args:
        name: the dotted name definitions use in ``uses:``.
        phases: the PDCA phases the task may run in; ``None`` for any.
    """

    def register(function: F) -> F:
        spec = describe(function, name, phases)
        existing = _REGISTRY.get(name)
        if existing is not None and existing.function is not function and existing.module != spec.module:
            raise TaskRegistrationError(f"task {name!r} is registered twice: in {existing.module} and {spec.module}")
        _REGISTRY[name] = spec
        return function

    return register


def describe(function: Callable[..., Any], name: str, phases: tuple[str, ...] | None = None) -> TaskSpec:
    """Read a function's signature into a :class:`TaskSpec`."""
    hints = typing.get_type_hints(function)
    params: list[TaskParam] = []
    context_param: str | None = None
    for parameter in inspect.signature(function).parameters.values():
        annotation = hints.get(parameter.name, Any)
        if annotation is StepContext:
            context_param = parameter.name
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            raise TaskRegistrationError(f"task {name!r}: parameter {parameter.name!r} must be a plain keyword")
        required = parameter.default is inspect.Parameter.empty
        params.append(TaskParam(parameter.name, annotation, required, None if required else parameter.default))
    returns = hints.get("return")
    outputs = tuple(typing.get_type_hints(returns)) if typing_extensions.is_typeddict(returns) else None
    return TaskSpec(name, function, tuple(params), outputs, phases, function.__module__,
                    inspect.getdoc(function) or "", context_param)


def builtin_registry() -> Mapping[str, TaskSpec]:
    """Only the tasks of pdcaflow's own library (what the committed JSON Schema describes)."""
    return {name: spec for name, spec in registry().items() if spec.module in BUILTIN_MODULES}


def registry() -> Mapping[str, TaskSpec]:
    """Every registered task: the built-in library and the modules named in ``PDCA_TASK_MODULES``.

    ``PDCA_TASK_MODULES`` is a comma-separated list of importable modules whose
    ``@task`` functions are registered too (a project's own tasks).

    Raises:
        TaskRegistrationError: a named module cannot be imported.
    """
    extra = [name.strip() for name in os.environ.get("PDCA_TASK_MODULES", "").split(",") if name.strip()]
    for module in (*BUILTIN_MODULES, *extra):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise TaskRegistrationError(f"cannot import task module '{module}' (from PDCA_TASK_MODULES): {exc}") from exc
    return dict(_REGISTRY)
