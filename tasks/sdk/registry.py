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

import functools
import importlib
import operator
import re
import inspect
import os
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, TypeVar

import typing_extensions

from pdcaflow.tasks.sdk.project_config import ProjectConfig, config_in_effect

F = TypeVar("F", bound=Callable[..., Any])
# (key path under `with`, message, hint) per problem, optionally a 4th item: a code of the engine's
# TASK_CHECK_CODES (engine/definition/references.py) for problems that have their own (data.query's SQL refusals,
# service.standards' vague standards)
WithCheck = Callable[[Mapping[str, Any]], Sequence[tuple[tuple[str | int, ...], str, str]
                                                   | tuple[tuple[str | int, ...], str, str, str]]]
# given a step's literal `with:` values, the task's output names (None when they cannot be known before the run)
OutputsFor = Callable[[Mapping[str, Any]], tuple[str, ...] | None]

TASK_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")  # what a definition's `uses:` accepts

BUILTIN_MODULES = (
    "pdcaflow.tasks.retail.customers",
    "pdcaflow.tasks.retail.demand",
    "pdcaflow.tasks.retail.strategy",
    "pdcaflow.tasks.retail.service",
    "pdcaflow.tasks.retail.feedback",
    "pdcaflow.tasks.complaints.case_tasks",
    "pdcaflow.tasks.complaints.overdue",
    "pdcaflow.tasks.service_system.standards",
    "pdcaflow.tasks.service_system.research",
    "pdcaflow.tasks.service_system.design",
    "pdcaflow.tasks.service_system.perform",
    "pdcaflow.tasks.service_system.control",
    "pdcaflow.engine.pdca.check",
    "pdcaflow.engine.pdca.act",
    "pdcaflow.tasks.data.query",
    "pdcaflow.tasks.data.assertions",
    "pdcaflow.tasks.data.survey",
    "pdcaflow.tasks.data.notify",
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
        kpi_specs: KPI id -> ``{"unit", "decimals", "direction", "source", "control", "target": {"min", "max"},
            "actual"}``: the declared KPI with the target in force this cycle and the value the
            engine read from its source (``None`` when the source produced none); ``kpi.check`` only.
        history: KPI id -> results of earlier completed cycles, oldest first (this cycle excluded).
        policies: the definition's policies as plain mappings (``model_dump(mode="json", exclude_none=True)``);
            ``improve.apply_policies`` only, as ``conditions`` and ``action_titles``.
        targets: KPI id -> ``{"min", "max"}`` in force this cycle.
        actions: corrective actions open before this cycle (mappings, see ``improve.apply_policies``).
        conditions: policy id -> the value of its ``when: {expr: ...}``, evaluated by the engine.
        action_titles: policy id -> its ``open_action.title`` with expressions filled in by the engine.
        started_at: when this cycle started, ISO 8601 with timezone.
        config: the project config the definition was validated with (its connections, webhooks,
            folders); read it with :meth:`project_config`.
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
    config: ProjectConfig | None = None

    def project_config(self) -> ProjectConfig:
        """The project config this cycle runs with; with none given, the one found from the working folder.

        Raises:
            ConfigError: the config found from the working folder is malformed.
        """
        return config_in_effect(self.config)


def connection_url(context: StepContext | str, name: str) -> str:
    """The URL of connection ``name`` for a running cycle's tasks (``pdcaflow.connection_url``).

    Args:
        context: the step's context: its project config names the connections. The older
            form, a process id (``connection_url("retail-customer-service", "warehouse")``),
            still works and reads the project config found from the working folder
            (where ``pdca run`` runs); prefer the context, which carries the config the
            definition was validated with.
        name: the connection's name (``[connections.NAME]`` or ``PDCA_CONNECTION_NAME``).

    Raises:
        ConfigError: no such connection, or its environment variable is unset.
    """
    if isinstance(context, StepContext):
        return context.project_config().connection_url(name)
    if isinstance(context, str):
        return config_in_effect(None).connection_url(name)
    raise TypeError("pdcaflow.connection_url(context, name) takes the task's StepContext, "
                    f"not {type(context).__name__}")


@dataclass(frozen=True)
class ProjectPath:
    """Marks a ``str`` parameter as a path the definition names (``Annotated[str, ProjectPath()]``).

    Such a value must lie inside the project (or a folder the project config allows by
    name, written ``<name>/...``); ``pdca validate`` checks literal values and the engine
    checks every value again, symlinks resolved, before the task runs (see
    :mod:`pdcaflow.tasks.sdk.project_paths`). A URL or any ``scheme:`` is refused.

    Attributes:
        connections: the parameter also takes ``connection:NAME``, a database named in the
            project config; the task then receives that connection's URL.
        reads: the task reads what the value names (an input, not a file it writes):
            ``pdca validate`` reports a literal value naming no existing file or folder
            (PDCA263) or an unknown connection (PDCA264) before anything runs.
    """

    connections: bool = False
    reads: bool = False


ProjectFile = Annotated[str, ProjectPath()]  # a file or folder inside the project
ProjectSource = Annotated[str, ProjectPath(connections=True)]  # ... or `connection:NAME`, a named database
InputFile = Annotated[str, ProjectPath(reads=True)]  # a ProjectFile the task reads: it must exist
InputSource = Annotated[str, ProjectPath(connections=True, reads=True)]  # a ProjectSource the task reads


@dataclass(frozen=True)
class NamedConnection:
    """Marks a ``str`` parameter as the name of a connection of the project config (``Annotated[str, NamedConnection()]``).

    ``pdca validate`` reports a literal name that neither ``[connections]`` nor
    ``$PDCA_CONNECTION_<NAME>`` defines (PDCA264).
    """


ConnectionName = Annotated[str, NamedConnection()]  # e.g. data.query's `connection: quality`


@dataclass(frozen=True)
class TaskParam:
    """One ``with:`` key of a task (``path``: its :class:`ProjectPath` marker, if it names a path;
    ``connection``: it names a connection of the project config, :class:`NamedConnection`)."""

    name: str
    annotation: Any
    required: bool
    default: Any = None
    path: ProjectPath | None = None
    connection: bool = False

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
    # the outputs a step produces given its literal `with:` values, for tasks whose outputs depend on them
    outputs_for: OutputsFor | None = None
    # the task's own check of its literal `with:` values: (key path under `with`, message, hint) per problem
    check_with: WithCheck | None = None

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else ""

    def param(self, name: str) -> TaskParam | None:
        return next((param for param in self.params if param.name == name), None)

    def outputs_given(self, with_values: Mapping[str, Any]) -> tuple[str, ...] | None:
        """The step's outputs given its ``with:`` values (the declared ones when they do not depend on them)."""
        if self.outputs_for is None:
            return self.outputs
        try:
            return self.outputs_for(with_values)
        except (TypeError, ValueError, KeyError, AttributeError):
            return None  # malformed `with:` values are reported by the parameter checks


    def with_problems(self, with_values: Mapping[str, Any]) -> list[Any]:
        """What the task's own check finds wrong with a step's ``with:`` values (nothing without a check)."""
        return list(self.check_with(with_values)) if self.check_with is not None else []


class TaskRegistrationError(TypeError):
    """A function cannot be registered as a task (a programming error in task code)."""


class TaskClashError(TaskRegistrationError):
    """Two modules register the same task name."""

    def __init__(self, name: str, first_module: str, second_module: str) -> None:
        super().__init__(f"task {name!r} is registered twice: in {first_module} and {second_module}")
        self.name, self.first_module, self.second_module = name, first_module, second_module


_REGISTRY: dict[str, TaskSpec] = {}


@typing.overload
def task(name: F, /) -> F: ...


@typing.overload
def task(name: str | None = None, *, phases: tuple[str, ...] | None = None, outputs_for: OutputsFor | None = None,
         check_with: WithCheck | None = None) -> Callable[[F], F]: ...


def task(name: str | F | None = None, *, phases: tuple[str, ...] | None = None, outputs_for: OutputsFor | None = None,
         check_with: WithCheck | None = None) -> F | Callable[[F], F]:
    """Register a typed function as a task that a definition's ``uses:`` may name.

    Usable bare (``@task``: the name is ``<module>.<function>``) or with a name
    (``@task("lab.audit_score")``). Names are lower-case dotted words, at least two.

    Args:
        name: the dotted name definitions use in ``uses:``; default ``<module>.<function>``.
        phases: the PDCA phases the task may run in; ``None`` for any.
        outputs_for: for tasks whose outputs depend on their ``with:`` values: given those
            values, the output names (or ``None`` when they cannot be known before the run).
        check_with: the task's own check of a step's literal ``with:`` values, run at validation;
            returns ``(key path under with, message, hint)`` per problem (reported as PDCA250), or with
            a 4th item, one of the engine's TASK_CHECK_CODES (engine/definition/references.py).

    Raises:
        TaskRegistrationError: the name is not a valid task name or a parameter is not a keyword.
        TaskClashError: another module registered the same name.
    """
    if callable(name):  # bare @task
        return task(None, phases=phases, outputs_for=outputs_for, check_with=check_with)(name)

    def register(function: F) -> F:
        task_name = name if name is not None else f"{function.__module__}.{function.__name__}"
        if not TASK_NAME.fullmatch(task_name):
            raise TaskRegistrationError(
                f"task name {task_name!r} ({function.__module__}.{function.__qualname__}) is not a valid task name: "
                "lower-case dotted words such as 'lab.audit_score'")
        spec = replace(describe(function, task_name, phases, outputs_for), check_with=check_with)
        existing = _REGISTRY.get(task_name)
        if existing is not None and existing.function is not function and existing.module != spec.module:
            raise TaskClashError(task_name, existing.module, spec.module)
        _REGISTRY[task_name] = spec
        return function

    return register


def describe(function: Callable[..., Any], name: str, phases: tuple[str, ...] | None = None,
             outputs_for: OutputsFor | None = None) -> TaskSpec:
    """Read a function's signature into a :class:`TaskSpec`."""
    hints = typing.get_type_hints(function)
    marked = typing.get_type_hints(function, include_extras=True)
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
        path = path_marker(marked.get(parameter.name))
        connection = _marker(marked.get(parameter.name), NamedConnection) is not None
        if (path is not None or connection) and typing.get_origin(annotation) is typing.Union:
            annotation = functools.reduce(operator.or_, typing.get_args(annotation))  # `ProjectFile | None` as `str | None`
        params.append(TaskParam(parameter.name, annotation, required, None if required else parameter.default, path,
                                connection))
    returns = hints.get("return")
    outputs = tuple(typing.get_type_hints(returns)) if typing_extensions.is_typeddict(returns) else None
    return TaskSpec(name, function, tuple(params), outputs, phases, function.__module__,
                    inspect.getdoc(function) or "", context_param, outputs_for)


def path_marker(annotation: Any) -> ProjectPath | None:
    """The :class:`ProjectPath` in an annotation (``ProjectFile``, ``ProjectFile | None``), or ``None``."""
    return _marker(annotation, ProjectPath)


M = TypeVar("M")


def _marker(annotation: Any, kind: type[M]) -> M | None:
    """The first ``kind`` in an ``Annotated[...]`` annotation, also inside ``X | None``, or ``None``."""
    if typing.get_origin(annotation) is Annotated:
        return next((extra for extra in annotation.__metadata__ if isinstance(extra, kind)), None)
    return next((found for arg in typing.get_args(annotation) if (found := _marker(arg, kind)) is not None), None)


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


def registered() -> Mapping[str, TaskSpec]:
    """What is registered now, importing nothing (task discovery reads it)."""
    return dict(_REGISTRY)
