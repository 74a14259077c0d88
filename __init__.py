"""pdcaflow's public Python API.

Users import from here, never from the stage packages (``engine``, ``flows``,
``tasks``), so those can change shape without breaking anyone::

    import pdcaflow

    validated = pdcaflow.validate_file("definitions/retail-customer-service.yaml")
    print(validated.definition.title, validated.sha256)

    @pdcaflow.task("quality.audit_score")
    def audit_score(source: str, context: pdcaflow.StepContext) -> AuditOutputs: ...

    chart = pdcaflow.spc.xmr_chart([4.1, 4.3, 4.0, 4.2, 3.1], rules=["we1", "we2"])  # docs/spc.md
"""

from pdcaflow.engine.errors import DefinitionError, Diagnostic, PdcaError
from pdcaflow.engine.definition.evaluation import evaluate, render_template
from pdcaflow.engine.definition.expressions import ExpressionError, parse_expression
from pdcaflow.engine.definition.loader import load_definition_file, load_definition_text
from pdcaflow.engine.definition.model import ProcessDefinition
from pdcaflow.engine.definition.validate import ValidatedDefinition, validate_document, validate_file, validate_paths
from pdcaflow.engine.pdca import spc
from pdcaflow.tasks.sdk.registry import (
    ConnectionName,
    InputFile,
    InputSource,
    ProjectFile,
    ProjectPath,
    ProjectSource,
    StepContext,
    TaskSpec,
    connection_url,
    registry,
    task,
)
from pdcaflow.tasks.sdk.workspace import output_path

__all__ = [
    "ConnectionName",
    "DefinitionError",
    "Diagnostic",
    "ExpressionError",
    "InputFile",
    "InputSource",
    "PdcaError",
    "ProcessDefinition",
    "ProjectFile",
    "ProjectPath",
    "ProjectSource",
    "StepContext",
    "TaskSpec",
    "ValidatedDefinition",
    "connection_url",
    "evaluate",
    "load_definition_file",
    "load_definition_text",
    "output_path",
    "parse_expression",
    "registry",
    "render_template",
    "spc",
    "task",
    "validate_document",
    "validate_file",
    "validate_paths",
]
