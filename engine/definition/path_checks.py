"""Validation of the paths a definition names: each literal path value stays inside the project.

The task marks which ``with:`` keys are paths (:class:`pdcaflow.tasks.sdk.registry.ProjectPath`);
:mod:`pdcaflow.tasks.sdk.project_paths` decides. Values with an expression are checked when the
step runs (``pdcaflow.engine.runtime.step_runner``), with symlinks resolved again at that moment.
"""

from __future__ import annotations

from pathlib import Path

from pdcaflow.engine.definition.model import Step
from pdcaflow.engine.definition.semantic import Checker, walk_values
from pdcaflow.tasks.sdk.project_config import ConfigError, ProjectConfig, find_config
from pdcaflow.tasks.sdk.project_paths import path_problem
from pdcaflow.tasks.sdk.registry import TaskSpec


def check_paths(checker: Checker, index: int, step: Step, spec: TaskSpec) -> None:
    """Report each literal path of the step's ``with:`` that leaves the project (PDCA260-PDCA262)."""
    marked = [(key, value, param.path) for key, value in step.with_.items()
              if (param := spec.param(key)) is not None and param.path is not None and not _has_template(value)]
    if not marked:
        return
    if checker.project is None:
        checker.project = project_config(checker.document.path)
    config = checker.project
    for key, value, rule in marked:
        problem = path_problem(value, rule, config)
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
