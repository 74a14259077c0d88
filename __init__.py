"""pdcaflow's public Python API.

Users import from here, never from the stage packages (``engine``, ``flows``,
``tasks``), so those can change shape without breaking anyone::

    import pdcaflow

    validated = pdcaflow.validate_file("definitions/retail-customer-service.yaml")
    print(validated.definition.title, validated.sha256)

    @pdcaflow.task("quality.audit_score")
    def audit_score(source: str, context: pdcaflow.StepContext) -> AuditOutputs: ...

    chart = pdcaflow.spc.xmr_chart([4.1, 4.3, 4.0, 4.2, 3.1], rules=["we1", "we2"])  # docs/spc.md

Every sub-package (``pdcaflow.engine``, ``pdcaflow.flows``, ``pdcaflow.tasks``) is imported
through this package, so its names load on first use (PEP 562 ``__getattr__``): ``pdca
audit`` or a Prefect worker importing ``pdcaflow.flows`` does not pay for the definition
pipeline it does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> the module that defines it (a module itself when the name is the module's last part)
_EXPORTS: dict[str, str] = {
    "DefinitionError": "pdcaflow.engine.errors",
    "Diagnostic": "pdcaflow.engine.errors",
    "PdcaError": "pdcaflow.engine.errors",
    "evaluate": "pdcaflow.engine.definition.evaluation",
    "render_template": "pdcaflow.engine.definition.evaluation",
    "ExpressionError": "pdcaflow.engine.definition.expressions",
    "parse_expression": "pdcaflow.engine.definition.expressions",
    "load_definition_file": "pdcaflow.engine.definition.loader",
    "load_definition_text": "pdcaflow.engine.definition.loader",
    "ProcessDefinition": "pdcaflow.engine.definition.model",
    "ValidatedDefinition": "pdcaflow.engine.definition.validate",
    "validate_document": "pdcaflow.engine.definition.validate",
    "validate_file": "pdcaflow.engine.definition.validate",
    "validate_paths": "pdcaflow.engine.definition.validate",
    "spc": "pdcaflow.engine.pdca.spc",
    "ProjectFile": "pdcaflow.tasks.sdk.registry",
    "ProjectPath": "pdcaflow.tasks.sdk.registry",
    "ProjectSource": "pdcaflow.tasks.sdk.registry",
    "StepContext": "pdcaflow.tasks.sdk.registry",
    "TaskSpec": "pdcaflow.tasks.sdk.registry",
    "connection_url": "pdcaflow.tasks.sdk.registry",
    "registry": "pdcaflow.tasks.sdk.registry",
    "task": "pdcaflow.tasks.sdk.registry",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # the same names for type checkers and editors; at run time they load on first use
    from pdcaflow.engine.definition.evaluation import evaluate, render_template
    from pdcaflow.engine.definition.expressions import ExpressionError, parse_expression
    from pdcaflow.engine.definition.loader import load_definition_file, load_definition_text
    from pdcaflow.engine.definition.model import ProcessDefinition
    from pdcaflow.engine.definition.validate import (ValidatedDefinition, validate_document, validate_file,
                                                     validate_paths)
    from pdcaflow.engine.errors import DefinitionError, Diagnostic, PdcaError
    from pdcaflow.engine.pdca import spc
    from pdcaflow.tasks.sdk.registry import (ProjectFile, ProjectPath, ProjectSource, StepContext, TaskSpec,
                                             connection_url, registry, task)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pdcaflow' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    value = loaded if module.rpartition(".")[2] == name else getattr(loaded, name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
