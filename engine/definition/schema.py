"""The JSON Schema of the definition language, for editors (autocompletion and checks as you type).

Generated from the pydantic models, then enriched with the task registry: ``uses``
offers the registered task names, and each task's ``with:`` keys and their types
are described, so an editor with the YAML language server completes them.
The committed copy lives at ``definitions/schema/process.schema.json``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import create_model
from pydantic.errors import PydanticSchemaGenerationError

from pdcaflow.engine.definition.model import ProcessDefinition
from pdcaflow.tasks.sdk.registry import TaskSpec, registry

SCHEMA_ID = "https://pdcaflow.dev/schema/process.schema.json"
DEFAULT_SCHEMA_PATH = Path("definitions/schema/process.schema.json")
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
            {"enum": sorted(tasks), "description": "a registered task"},
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
