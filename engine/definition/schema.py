"""The JSON Schema of the definition language, for editors (autocompletion and checks as you type).

Generated from the pydantic models, then enriched with the tasks in effect: ``uses``
offers their names (each with its summary) and accepts any well-formed task name or
``process:<id>``, and each known task's ``with:`` keys and their types are described,
so an editor with the YAML language server completes them and marks a wrong key.
Whether a task exists is for ``pdca validate`` to say (PDCA202): a schema written
before a project gained a task must not mark that task as an error.

Two copies: the generic schema, built-in tasks only, committed at
``definitions/schema/process.schema.json``; and a project's schema, which knows the
project's own tasks too, at ``<project root>/.pdca/schema.json``
(:func:`write_project_schema`, what ``pdca schema`` writes in a project).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import create_model
from pydantic.errors import PydanticSchemaGenerationError

from pdcaflow.engine.definition.model import ProcessDefinition
from pdcaflow.engine.definition.project_tasks import tasks_for
from pdcaflow.engine.errors import DefinitionError
from pdcaflow.tasks.sdk.project_config import find_config
from pdcaflow.tasks.sdk.registry import TASK_NAME, TaskSpec, registry

SCHEMA_ID = "https://pdcaflow.dev/schema/process.schema.json"
DEFAULT_SCHEMA_PATH = Path("definitions/schema/process.schema.json")
PROJECT_SCHEMA_PATH = Path(".pdca") / "schema.json"  # relative to the project root
_TEMPLATE = {"type": "string", "pattern": r"\$\{\{.*\}\}", "description": "an expression: ${{ ... }}"}


def build_schema(tasks: Mapping[str, TaskSpec] | None = None) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a process definition."""
    tasks = tasks if tasks is not None else registry()
    schema = ProcessDefinition.model_json_schema(by_alias=True, mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}
    schema["title"] = "pdcaflow process definition"
    step = schema["$defs"]["Step"]
    step["properties"]["uses"] = {
        "description": step["properties"]["uses"].get("description", ""),
        "anyOf": [
            *({"const": name, "description": spec.summary} for name, spec in sorted(tasks.items())),
            {"type": "string", "pattern": TASK_NAME.pattern,
             "description": "a task: built-in, from an installed package or the project's own (`pdca tasks`)"},
            {"type": "string", "pattern": r"^process:[a-z][a-z0-9_-]*$", "description": "a sub-process"},
        ],
    }
    step["allOf"] = [_with_rule(spec) for _, spec in sorted(tasks.items())]
    return schema


def _with_rule(spec: TaskSpec) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for param in spec.params:
        try:
            model = create_model(f"With_{param.name}", value=(param.annotation, ...))
            value_schema = model.model_json_schema()
            definitions = value_schema.get("$defs", {})
            param_schema = value_schema["properties"]["value"]
            if definitions:
                param_schema = _inline(param_schema, definitions)
        except PydanticSchemaGenerationError:
            param_schema = {}
        param_schema.pop("title", None)
        properties[param.name] = {"anyOf": [param_schema, _TEMPLATE]} if param_schema else {}
    required = [param.name for param in spec.params if param.required]
    then: dict[str, Any] = {"properties": {"with": {
        "type": "object", "properties": properties, "additionalProperties": False,
        **({"required": required} if required else {}),
    }}}
    if required:
        then["required"] = ["with"]
    return {"if": {"properties": {"uses": {"const": spec.name}}, "required": ["uses"]}, "then": then}


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    """Replace local ``$ref``s so each task's parameter schema stands alone."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(definitions[ref.removeprefix("#/$defs/")], definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


def schema_text(tasks: Mapping[str, TaskSpec] | None = None) -> str:
    """The schema as the committed file holds it (stable key order, UTF-8, trailing newline)."""
    return json.dumps(build_schema(tasks), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def project_root(start: Path) -> Path | None:
    """The root of the project ``start`` (a folder or a file) is in: its ``pdca.toml``'s (or
    ``[tool.pdca]``'s) folder; None outside a project."""
    config = find_config(start)
    return config.root if config.path is not None and config.root is not None else None


def write_project_schema(root: Path) -> Path:
    """Write the schema of the project at ``root``, which knows its own tasks, to ``root/.pdca/schema.json``.

    The tasks are those in effect at ``root``: built-in, installed packages' and the
    modules the project config names (``tasks = [...]``), each own task's ``with:``
    described like a built-in's.

    Returns:
        The file written.

    Raises:
        DefinitionError: the project config is malformed or a task module fails to import.
        OSError: the file cannot be written.
    """
    project = tasks_for(root, report_at=str(root / PROJECT_SCHEMA_PATH))
    if project.diagnostics:
        raise DefinitionError(list(project.diagnostics))
    path = root / PROJECT_SCHEMA_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(project.discovery.tasks), encoding="utf-8")
    return path


def schema_comment(schema: Path, definition_folder: Path) -> str:
    """The first line of a definition in ``definition_folder`` that points editors at ``schema``."""
    return f"# yaml-language-server: $schema={Path(os.path.relpath(schema, definition_folder)).as_posix()}"
