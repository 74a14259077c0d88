"""Finding the tasks a definition may use: the built-in library, installed plug-ins, the project's own.

Three sources, in this order:

* **builtin**: ``pdcaflow.tasks.sdk.registry.BUILTIN_MODULES`` (and ``$PDCA_TASK_MODULES``, the older switch);
* **entry points**: every installed distribution's ``pdcaflow.tasks`` entry points, each naming
  a module to import (``[project.entry-points."pdcaflow.tasks"] lab = "lab_pdca.tasks"``);
* **config**: the ``tasks`` modules of the project config in effect for the definition
  (``pdca.toml`` or ``[tool.pdca]``, see :mod:`pdcaflow.tasks.sdk.project_config`), after its ``paths``
  were put on ``sys.path``.

Importing a module registers its ``@pdcaflow.task`` functions. A module that fails
to import, a name two modules register and an invalid task name are returned as
:class:`TaskProblem` (the engine turns them into diagnostics), never raised. Only
registered tasks can run: a definition names tasks, never import paths.
Only the standard library and the (light) task modules are imported here.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata

from pdcaflow.tasks.sdk.project_config import ProjectConfig
from pdcaflow.tasks.sdk.registry import BUILTIN_MODULES, TaskClashError, TaskRegistrationError, TaskSpec, registered

ENTRY_POINT_GROUP = "pdcaflow.tasks"
BUILTIN = "builtin"


@dataclass(frozen=True)
class TaskProblem:
    """A task source that could not be loaded: where it came from, what went wrong."""

    code: str
    message: str
    hint: str
    path: str = ""  # the config file ('' for an entry point or the environment)
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Discovery:
    """The tasks a definition may use, where each came from, and what failed to load."""

    tasks: Mapping[str, TaskSpec]
    origins: Mapping[str, str]
    problems: tuple[TaskProblem, ...]


_ORIGIN: dict[str, str] = {}  # task name -> where it came from
_FAILED: dict[tuple[str, str], TaskProblem] = {}  # (module, origin) -> why it did not load
_ENTRY_POINTS: list[tuple[str, str]] | None = None  # (module, origin), read once per process


def discover(config: ProjectConfig | None = None) -> Discovery:
    """Import every task source for ``config`` and return the tasks its definitions may use."""
    config = config or ProjectConfig()
    problems: list[TaskProblem] = []
    for module in BUILTIN_MODULES:
        _load(module, BUILTIN, None, problems)
    for module in _environment_modules():
        _load(module, "environment PDCA_TASK_MODULES", None, problems)
    for module, origin in _entry_points():
        _load(module, origin, None, problems)
    if config.tasks:
        for folder in reversed(config.paths):
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
        for module in config.tasks:
            _load(module, config.label, config, problems)
    visible = {name: spec for name, spec in registered().items() if _visible(name, spec, config)}
    origins = {name: _ORIGIN.get(name, f"module {spec.module}") for name, spec in visible.items()}
    return Discovery(visible, origins, tuple(dict.fromkeys(problems)))


def origin_of(name: str) -> str:
    """Where a registered task came from (``builtin``, ``entry point <dist> (<name>)``, ``config <file>``)."""
    return _ORIGIN.get(name, "")


def _visible(name: str, spec: TaskSpec, config: ProjectConfig) -> bool:
    """A task from another project's config is not this project's to use (unless this one names its module too)."""
    origin = _ORIGIN.get(name, "")
    return (not origin.startswith("config ") or origin == config.label
            or any(_belongs(spec.module, module) for module in config.tasks))


def _environment_modules() -> list[str]:
    return [name.strip() for name in os.environ.get("PDCA_TASK_MODULES", "").split(",") if name.strip()]


def _entry_points() -> list[tuple[str, str]]:
    global _ENTRY_POINTS
    if _ENTRY_POINTS is None:
        found = []
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = entry_point.dist.name if entry_point.dist is not None else "unknown distribution"
            found.append((entry_point.module, f"entry point {dist} ({entry_point.name} = {entry_point.value})"))
        _ENTRY_POINTS = sorted(dict.fromkeys(found))
    return _ENTRY_POINTS


def _load(module: str, origin: str, config: ProjectConfig | None, problems: list[TaskProblem]) -> None:
    problem: TaskProblem | None
    failed = _FAILED.get((module, origin))
    if failed is not None:
        problems.append(failed)
        return
    before = set(registered())
    try:
        importlib.import_module(module)
    except TaskClashError as exc:
        problem = _clash(exc, module, origin, config)
    except TaskRegistrationError as exc:
        problem = _problem("PDCA014", f"task module '{module}' ({origin}): {exc}",
                           "task names are lower-case dotted words, e.g. @pdcaflow.task(\"lab.audit_score\")",
                           module, config)
    except (Exception, SystemExit) as exc:  # a user's module may fail in any way: report it, never crash
        problem = _import_failure(exc, module, origin, config)
    else:
        problem = None
    for name, spec in registered().items():
        if name not in before or (name not in _ORIGIN and _belongs(spec.module, module)):
            _ORIGIN.setdefault(name, origin)
    if problem is not None:
        _FAILED[(module, origin)] = problem
        problems.append(problem)


def _belongs(spec_module: str, module: str) -> bool:
    return spec_module == module or spec_module.startswith(module + ".")


def _import_failure(exc: BaseException, module: str, origin: str, config: ProjectConfig | None) -> TaskProblem:
    text = str(exc).strip().splitlines()
    first_line = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.filename:
        first_line += f" ({exc.filename}, line {exc.lineno})"
    hint = (f"run `python -c \"import {module}\"` in the project's folder to see the whole traceback"
            + ("; the config's `paths` are added to sys.path first" if config is not None else ""))
    return _problem("PDCA011", f"task module '{module}' ({origin}) failed to import: {first_line}", hint,
                    module, config)


def _clash(exc: TaskClashError, module: str, origin: str, config: ProjectConfig | None) -> TaskProblem:
    first = _ORIGIN.get(exc.name) or _origin_of_module(exc.first_module)
    return _problem("PDCA013", f"task '{exc.name}' is registered twice: by {exc.first_module} ({first}) and by "
                    f"{exc.second_module} ({origin})", "rename one of them; task names must be unique",
                    module, config)


def _origin_of_module(module: str) -> str:
    if any(_belongs(module, builtin) for builtin in BUILTIN_MODULES):
        return BUILTIN
    return next((origin for name, origin in _ORIGIN.items()
                 if registered().get(name) is not None and registered()[name].module == module), f"module {module}")


def _problem(code: str, message: str, hint: str, module: str, config: ProjectConfig | None) -> TaskProblem:
    if config is None or config.path is None:
        return TaskProblem(code, message, hint)
    line, column = config.position(module)
    return TaskProblem(code, message, hint, str(config.path), line, column)

