"""Sub-processes (``uses: process:<id>``): where a child definition is found and what its step outputs.

A sub-process step runs the child definition's own cycle (its own cycle record, KPIs,
carry-over and audit events) inside the parent's step; ``pdcaflow.flows.subprocess_step`` runs it
as a Prefect subflow. The step's outputs roll the child's results up, so the parent's
CHECK can read them (``source: <step>.kpis.<kpi>.actual``):

- ``process``, ``cycle``: which cycle of which process ran;
- ``kpis``: per child KPI ``actual``, ``status`` (met / missed / no_data), ``target``, ``unit``;
- ``met``, ``missed``, ``no_data``: the counts of the child's KPIs in each status;
- ``params``: the params the child hands its next cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pdcaflow.engine.errors import DefinitionError
from pdcaflow.engine.definition.loader import load_definition_file
from pdcaflow.engine.definition.model import ProcessDefinition

DEFINITION_SUFFIXES = (".yaml", ".yml")  # as pdcaflow.engine.definition.validate looks definitions up
ROLLUP_OUTPUTS = ("process", "cycle", "kpis", "met", "missed", "no_data", "params")
KPI_FIELDS = ("actual", "status", "target", "unit")


def find_definition(process_id: str, beside: Path) -> Path | None:
    """The definition file with ``id: <process_id>`` in the folder of ``beside`` (as validation looks it up)."""
    folder = beside.parent
    for path in sorted(p for p in folder.iterdir() if p.suffix in DEFINITION_SUFFIXES and p.is_file()):
        if path.resolve() == beside.resolve():
            continue
        try:
            data = load_definition_file(path).data
        except DefinitionError:
            continue
        if isinstance(data, dict) and data.get("id") == process_id:
            return path
    return None


def rollup(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The sub-process step's outputs from the child cycle's summary (``pdcaflow.engine.review.cycle_report.cycle_summary``)."""
    kpis = {kpi_id: dict(values) for kpi_id, values in summary.get("kpi_values", {}).items()}
    statuses = [values.get("status") for values in kpis.values()]
    return {
        "process": summary.get("process"), "cycle": summary.get("cycle"), "kpis": kpis,
        "met": statuses.count("met"), "missed": statuses.count("missed"), "no_data": statuses.count("no_data"),
        "params": dict(summary.get("params", {})),
    }


def rollup_problem(child: ProcessDefinition | None, output: str) -> str | None:
    """What is wrong with reading ``output`` (a dotted path) from a sub-process step, or None."""
    parts = output.split(".")
    if parts[0] not in ROLLUP_OUTPUTS:
        return f"a sub-process step has no output '{parts[0]}' (its outputs: {', '.join(ROLLUP_OUTPUTS)})"
    if parts[0] != "kpis" or child is None:
        return None
    known = [kpi.id for kpi in child.kpis]
    if len(parts) < 2 or parts[1] not in known:
        return (f"sub-process '{child.id}' has no KPI '{parts[1] if len(parts) > 1 else ''}' "
                f"(its KPIs: {', '.join(known) or 'none'})")
    if len(parts) > 2 and parts[2] not in KPI_FIELDS:
        return f"a rolled-up KPI has no field '{parts[2]}' (fields: {', '.join(KPI_FIELDS)})"
    return None
