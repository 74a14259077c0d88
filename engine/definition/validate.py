"""Validate definitions: load -> shape (pydantic) -> semantic checks, all problems at once.

The public entry points are :func:`validate_file` (one definition, raising
``DefinitionError``) and :func:`validate_paths` (files and folders, returning a
report for the CLI).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import ValidationError

from pdcaflow.engine.errors import DefinitionError, Diagnostic
from pdcaflow.engine.definition.control_checks import check_control
from pdcaflow.engine.definition.kpi_checks import check_kpis, check_policies
from pdcaflow.engine.definition.loader import LoadedDocument, load_definition_file
from pdcaflow.engine.definition.model import ProcessDefinition
from pdcaflow.engine.definition.references import check_policy_expressions, check_steps
from pdcaflow.engine.definition.schedule_checks import check_schedule
from pdcaflow.engine.definition.suspicious import check_suspicious
from pdcaflow.engine.definition.semantic import Checker, check_cycles, check_structure
from pdcaflow.engine.definition.shape_errors import shape_diagnostics
from pdcaflow.engine.definition.project_tasks import tasks_for
from pdcaflow.tasks.sdk.project_config import ProjectConfig
from pdcaflow.tasks.sdk.project_root import definition_root, folder_root
from pdcaflow.tasks.sdk.registry import TaskSpec

DEFINITION_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class ValidatedDefinition:
    """A definition that passed every check, with what later stages need from validation."""

    document: LoadedDocument
    definition: ProcessDefinition
    depends_on: Mapping[str, frozenset[str]]
    # the project config it was validated with (what its tasks read at run time); None when the caller
    # named the tasks itself: then the config found from the working folder applies
    config: ProjectConfig | None = None
    # what is valid but probably not meant (severity "warning"): shown, never in the way of a run
    warnings: tuple[Diagnostic, ...] = ()

    @property
    def sha256(self) -> str:
        return self.document.sha256

    @property
    def root(self) -> Path:
        """The project root (``pdcaflow.tasks.sdk.project_root``): where its store, work files and Prefect's
        home are by default and what its relative paths are relative to (text with no file: the working
        folder's project root)."""
        path = Path(self.document.path)
        return definition_root(path) if path.exists() else folder_root()


@dataclass
class ValidationReport:
    """The outcome of validating several files: ``diagnostics`` holds the errors and the warnings."""

    valid: list[ValidatedDefinition] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No errors (warnings leave a definition valid)."""
        return not self.errors

    @property
    def errors(self) -> list[Diagnostic]:
        return [diagnostic for diagnostic in self.diagnostics if diagnostic.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [diagnostic for diagnostic in self.diagnostics if not diagnostic.is_error]


def parse_definition(document: LoadedDocument) -> ProcessDefinition:
    """Shape-check a loaded document into a model.

    Raises:
        DefinitionError: with one located diagnostic per shape problem.
    """
    try:
        return ProcessDefinition.model_validate(document.data)
    except ValidationError as exc:
        raise DefinitionError(shape_diagnostics(exc, document, ProcessDefinition)) from exc


def validate_document(document: LoadedDocument, tasks: Mapping[str, TaskSpec] | None = None,
                      processes: Mapping[str, ProcessDefinition | None] | None = None) -> ValidatedDefinition:
    """Validate a loaded document completely.

    Args:
        document: the loaded YAML.
        tasks: registered tasks; default: those of the project config in effect for the document's
            folder (for text with no file, the working folder's; see ``pdcaflow.engine.definition.project_tasks``).
        processes: other definitions by id, for ``uses: process:<id>``.

    Raises:
        DefinitionError: carrying every problem found (and the warnings, if any).
    """
    project = None
    if tasks is None:  # the project's tasks: its config from the document's folder (text: the working folder)
        start = Path(document.path)
        project = tasks_for(start if start.exists() else Path.cwd(), report_at=document.path)
        if project.diagnostics:
            raise DefinitionError(list(project.diagnostics))
        tasks = project.discovery.tasks
    definition = parse_definition(document)
    checker = Checker(definition, document, tasks, processes or {})
    needs = check_structure(checker)
    depends_on = check_steps(checker, needs)
    check_cycles(checker, depends_on)
    check_kpis(checker, depends_on)
    check_policies(checker)
    check_control(checker)
    check_policy_expressions(checker)
    if checker.has_errors:
        raise DefinitionError(checker.diagnostics)
    check_schedule(checker)  # warnings: only of a definition that is valid otherwise (no noise on a broken one)
    check_suspicious(checker)
    frozen = {name: frozenset(targets) for name, targets in depends_on.items()}
    return ValidatedDefinition(document, definition, frozen, project.config if project is not None else None,
                               tuple(checker.diagnostics))


def validate_file(path: str | Path, tasks: Mapping[str, TaskSpec] | None = None) -> ValidatedDefinition:
    """Load and validate one definition; sub-processes are looked up beside it."""
    report = validate_paths([Path(path)], tasks=tasks)
    if not report.ok:
        raise DefinitionError(report.diagnostics)
    return report.valid[0]


def discover(paths: Iterable[Path]) -> list[Path]:
    """Definition files named directly, and every ``*.yaml``/``*.yml`` below named folders."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in DEFINITION_SUFFIXES and p.is_file()))
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def validate_paths(paths: Iterable[Path], tasks: Mapping[str, TaskSpec] | None = None) -> ValidationReport:
    """Validate every definition under ``paths``; all problems of all files are collected."""
    report = ValidationReport()
    files = discover(paths)
    if not files:
        return report
    loaded = _load_all(files)
    if any(_uses_subprocess(document) for document in loaded.values()):
        loaded.update(_load_all([path for path in _neighbours(files) if path not in loaded]))
    processes = _process_index(loaded)
    for path in files:
        report.files.append(str(path))
        document = loaded[path]
        project = tasks_for(path, report_at=str(path)) if tasks is None else None
        if project is not None:  # the project's config and task modules (pdca.toml / [tool.pdca], entry points)
            report.diagnostics.extend(d for d in project.diagnostics if d not in report.diagnostics)
        try:
            if isinstance(document, DefinitionError):
                raise document
            validated = validate_document(document, project.discovery.tasks if project else tasks, processes)
            report.diagnostics.extend(validated.warnings)
            if project is not None and not project.diagnostics:
                report.valid.append(replace(validated, config=project.config))  # what its tasks read at run time
            elif project is None:
                report.valid.append(validated)
        except DefinitionError as exc:
            report.diagnostics.extend(exc.diagnostics)
    return report


def _uses_subprocess(document: LoadedDocument | DefinitionError) -> bool:
    if isinstance(document, DefinitionError):
        return False
    steps = document.data.get("steps")
    return isinstance(steps, list) and any(
        isinstance(step, dict) and str(step.get("uses", "")).startswith("process:") for step in steps)


def _neighbours(files: list[Path]) -> list[Path]:
    """Definitions beside the given ones: where ``uses: process:<id>`` is looked up."""
    found: list[Path] = []
    for directory in dict.fromkeys(path.parent for path in files):
        if directory.is_dir():
            found.extend(sorted(p for p in directory.iterdir() if p.suffix in DEFINITION_SUFFIXES and p.is_file()))
    return found


def _load_all(paths: list[Path]) -> dict[Path, LoadedDocument | DefinitionError]:
    loaded: dict[Path, LoadedDocument | DefinitionError] = {}
    for path in dict.fromkeys(paths):
        try:
            loaded[path] = load_definition_file(path)
        except DefinitionError as exc:
            loaded[path] = exc
    return loaded


def _process_index(loaded: Mapping[Path, LoadedDocument | DefinitionError]) -> dict[str, ProcessDefinition | None]:
    """Definitions by id; None where a file with that id does not parse."""
    index: dict[str, ProcessDefinition | None] = {}
    for document in loaded.values():
        if isinstance(document, DefinitionError):
            continue
        process_id = document.data.get("id")
        if not isinstance(process_id, str) or process_id in index:
            continue
        try:
            index[process_id] = parse_definition(document)
        except DefinitionError:
            index[process_id] = None
    return index
