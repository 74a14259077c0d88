"""What a cycle starts from: the definition's params and KPI targets, overridden by the last carry-over."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pdcaflow.engine.definition.model import ProcessDefinition


def starting_values(definition: ProcessDefinition, carry: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The params and KPI targets a cycle starts with: the definition's, overridden by the carry-over."""
    defaults = {kpi.id: {"min": kpi.target.min, "max": kpi.target.max} for kpi in definition.kpis}
    targets = {**defaults, **{k: v for k, v in carry.get("targets", {}).items() if k in defaults}}
    return merge_params(definition.params, carry.get("params", {})), targets


def merge_params(declared: Mapping[str, Any], carried: Mapping[str, Any]) -> dict[str, Any]:
    """The params a cycle starts with: the carried-over value of every param the definition still declares.

    Values ACT changed persist across cycles; a param added to the YAML starts at its
    declared value; a param removed from the YAML is dropped. Nested mappings merge key by key.
    """
    merged: dict[str, Any] = {}
    for key, value in declared.items():
        if key not in carried:
            merged[key] = value
        elif isinstance(value, dict) and isinstance(carried[key], dict):
            merged[key] = merge_params(value, carried[key])
        else:
            merged[key] = carried[key]
    return merged
