"""The tasks in effect for a definition: its project config, task discovery, and their problems as diagnostics.

``pdca validate``, ``run``, ``schema`` and ``tasks`` all go through :func:`tasks_for`,
so each sees the same tasks for the same definition (and a flow run in another
process, which validates the definition again, finds them too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pdcaflow.engine.errors import Diagnostic
from pdcaflow.tasks.sdk.discovery import Discovery, TaskProblem, discover
from pdcaflow.tasks.sdk.project_config import ConfigError, ProjectConfig, find_config


@dataclass(frozen=True)
class ProjectTasks:
    """What :func:`tasks_for` found: the config, the tasks, and the problems (as located diagnostics)."""

    config: ProjectConfig
    discovery: Discovery
    diagnostics: tuple[Diagnostic, ...] = field(default_factory=tuple)


def tasks_for(start: Path, *, report_at: str | None = None) -> ProjectTasks:
    """The config in effect at ``start`` (a definition file or a folder) and the tasks it makes available.

    Args:
        start: where the config search begins (see :mod:`pdcaflow.tasks.sdk.project_config`).
        report_at: the file problems without a file of their own (an entry point's) are reported on.
    """
    diagnostics: list[Diagnostic] = []
    try:
        config = find_config(start)
    except ConfigError as exc:
        diagnostics.append(Diagnostic("PDCA012", str(exc), exc.path, exc.line, exc.column, (),
                                      "see docs/writing-tasks.md for the config keys"))
        config = ProjectConfig()
    discovery = discover(config)
    fallback = report_at if report_at is not None else str(start)
    diagnostics.extend(_diagnostic(problem, fallback) for problem in discovery.problems)
    return ProjectTasks(config, discovery, tuple(diagnostics))


def _diagnostic(problem: TaskProblem, fallback: str) -> Diagnostic:
    return Diagnostic(problem.code, problem.message, problem.path or fallback, problem.line, problem.column, (),
                      problem.hint)
