"""What a cycle starts from: the definition's params and KPI targets, overridden by the last carry-over.

A value the carry-over holds (ACT changed it, or a hand override) persists from
cycle to cycle, unless the definition's own value was edited since the cycle that
carried it over: then the YAML, the newer decision, wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from pdcaflow.engine.definition.model import ProcessDefinition


def starting_values(definition: ProcessDefinition, carry: Mapping[str, Any],
                    declared_before: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The params and KPI targets a cycle starts with: the definition's, overridden by the carry-over.

    Args:
        definition: the definition this cycle runs.
        carry: the last completed cycle's carry-over (``params``, ``targets``).
        declared_before: what the definition that cycle ran declared (:func:`declared_values`),
            or ``None`` when unknown: then every carried value wins.
    """
    defaults = {kpi.id: {"min": kpi.target.min, "max": kpi.target.max} for kpi in definition.kpis}
    targets_before = (declared_before or {}).get("targets", {})
    targets = {**defaults, **{kpi_id: carried for kpi_id, carried in carry.get("targets", {}).items()
                              if kpi_id in defaults and not _edited(targets_before, kpi_id, defaults[kpi_id])}}
    params_before = None if declared_before is None else declared_before.get("params", {})
    return merge_params(definition.params, carry.get("params", {}), params_before), targets


def merge_params(declared: Mapping[str, Any], carried: Mapping[str, Any],
                 declared_before: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The params a cycle starts with: the carried-over value of every param the definition still declares.

    Values ACT changed persist across cycles; a param added to the YAML starts at its
    declared value; a param removed from the YAML is dropped; a param whose value was
    edited in the YAML since the carrying cycle (``declared_before`` differs) starts at
    the edited value. Nested mappings merge key by key.
    """
    merged: dict[str, Any] = {}
    for key, value in declared.items():
        before = declared_before.get(key) if isinstance(declared_before, Mapping) else None
        if key not in carried or (declared_before is not None and _edited(declared_before, key, value)
                                  and not isinstance(value, dict)):
            merged[key] = value
        elif isinstance(value, dict) and isinstance(carried[key], dict):
            merged[key] = merge_params(value, carried[key], before if isinstance(before, Mapping) else None)
        else:
            merged[key] = carried[key]
    return merged


def declared_values(yaml_text: str | None) -> dict[str, Any] | None:
    """The params and KPI targets a stored definition text declares, or ``None`` if unreadable."""
    if yaml_text is None:
        return None
    try:
        document = yaml.safe_load(yaml_text)
    except yaml.YAMLError:
        return None
    if not isinstance(document, Mapping):
        return None
    params = document.get("params")
    targets = {}
    for kpi in document.get("kpis") or []:
        if isinstance(kpi, Mapping) and isinstance(kpi.get("target"), Mapping):
            targets[kpi.get("id")] = {"min": kpi["target"].get("min"), "max": kpi["target"].get("max")}
    return {"params": params if isinstance(params, Mapping) else {}, "targets": targets}


def _edited(before: Mapping[str, Any], key: str, now: Any) -> bool:
    """Whether the definition's value at ``key`` differs from what it was (a key it lacked: not edited)."""
    return key in before and before[key] != now
