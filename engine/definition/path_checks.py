"""Validation of the paths a definition names: each literal path value stays inside the project, and what a
task reads (an input file, a named connection) exists.

The task marks which ``with:`` keys are paths (:class:`pdcaflow.tasks.sdk.registry.ProjectPath`);
:mod:`pdcaflow.tasks.sdk.project_paths` decides. Values with an expression are checked when the
step runs (``pdcaflow.engine.runtime.step_runner``), with symlinks resolved again at that moment.
"""

from __future__ import annotations

from pathlib import Path

from pdcaflow.engine.definition.model import Step
from pdcaflow.engine.definition.semantic import Checker, walk_values
from pdcaflow.tasks.sdk.project_config import ConfigError, ProjectConfig, find_config
from pdcaflow.tasks.sdk.project_paths import connection_problem, path_problem
from pdcaflow.tasks.sdk.registry import TaskSpec


def check_paths(checker: Checker, index: int, step: Step, spec: TaskSpec) -> None:
    """Report each literal path of the step's ``with:`` that leaves the project (PDCA260-PDCA262), each input
    file that does not exist (PDCA263) and each connection name the project does not define (PDCA264)."""
    marked = [(key, value, param.path) for key, value in step.with_.items()
              if (param := spec.param(key)) is not None and param.path is not None and not _has_template(value)]
    # a connection name with ':' is a URL or an expression: the task's own check or the type check reports it
    named = [(key, value) for key, value in step.with_.items() if (param := spec.param(key)) is not None
             and param.connection and isinstance(value, str) and ":" not in value and "${{" not in value]
    if not marked and not named:
        return
    if checker.project is None:
        checker.project = project_config(checker.document.path)
    config = checker.project
    problems = [(key, path_problem(value, rule, config)) for key, value, rule in marked]
    problems += [(key, connection_problem(value, config)) for key, value in named]
    for key, problem in problems:
        if problem is not None:
            checker.report(problem.code, f"`{key}` of task '{spec.name}': {problem}", ("steps", index, "with", key),
                           problem.hint)


def project_config(document_path: str) -> ProjectConfig:
    """The config in effect for a definition file (its folder as the root when there is none or it is malformed)."""
    start = Path(document_path)
    start = start if start.exists() else Path.cwd()
    try:
        return find_config(start)
    except ConfigError:  # reported as PDCA012 by the task discovery; the sandbox is then the file's folder
        folder = start.resolve()
        return ProjectConfig(root=folder if folder.is_dir() else folder.parent)


def _has_template(value: object) -> bool:
    return any(isinstance(leaf, str) and "${{" in leaf for _, leaf in walk_values(value, ()))
