"""pdcaflow's engine: load, validate and compile process definitions.

Stages (see docs/ARCHITECTURE.md): ``loader`` (YAML text -> mapping + source map),
``model`` (the definition language as pydantic models), ``validate`` (model +
semantic checks -> diagnostics), ``graph`` and ``schema`` (views of a valid
definition) and ``cli``. This package never imports ``prefect``.
"""
