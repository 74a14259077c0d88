"""Definition versions: which YAML each cycle ran, and what changed between two of them.

Every run records the exact YAML it ran (text and sha256, once per process and
sha256). Versions are numbered per process in the order they were first run
(v1, v2, ...); a version may also be named by a prefix of its sha256.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pdcaflow.engine.errors import DefinitionError
from pdcaflow.engine.store.access import ReviewError, require_process
from pdcaflow.engine.review.cycle_view import flatten
from pdcaflow.engine.store.tables import AuditEvent, Cycle, DefinitionVersion, KpiResult

_SECTIONS = ("steps", "kpis", "params", "policies")


@dataclass(frozen=True)
class VersionInfo:
    """One definition version of a process and the cycles that ran it."""

    number: int
    id: int
    sha256: str
    first_seen_at: datetime
    actor: str | None
    yaml_text: str
    first_cycle: int | None
    last_cycle: int | None
    cycles: int


class Change(NamedTuple):
    """One semantic difference: ``what`` (e.g. ``step added``, ``target``), the name, before and after."""

    what: str
    name: str
    before: Any
    after: Any


def list_versions(session: Session, process_id: str) -> list[VersionInfo]:
    """The process's definition versions, oldest first, with their first and last cycle.

    Raises:
        ReviewError: no such process.
    """
    require_process(session, process_id)
    spans = {row[0]: row[1:] for row in session.execute(
        select(Cycle.definition_version_id, func.min(Cycle.number), func.max(Cycle.number), func.count())
        .where(Cycle.process_id == process_id).group_by(Cycle.definition_version_id))}
    actors = {event.payload.get("definition_version_id"): event.actor for event in session.scalars(
        select(AuditEvent).where(AuditEvent.process_id == process_id, AuditEvent.kind == "definition.version"))}
    rows = session.scalars(select(DefinitionVersion).where(DefinitionVersion.process_id == process_id)
                           .order_by(DefinitionVersion.id))
    versions = []
    for number, row in enumerate(rows, start=1):
        first, last, count = spans.get(row.id, (None, None, 0))
        versions.append(VersionInfo(number, row.id, row.sha256, row.first_seen_at, actors.get(row.id), row.yaml_text,
                                    first, last, count))
    return versions


def resolve(versions: list[VersionInfo], reference: str, process_id: str) -> VersionInfo:
    """The version ``reference`` names: ``3``, ``v3``, or a sha256 prefix of at least 6 hex digits.

    Raises:
        ReviewError: no such version, or a prefix that fits several.
    """
    text = reference.strip().lower()
    known = ", ".join(f"v{v.number} ({v.sha256[:12]})" for v in versions) or "none"
    number = text[1:] if text.startswith("v") else text
    if number.isdigit():
        for version in versions:
            if version.number == int(number):
                return version
        raise ReviewError(f"process '{process_id}' has no definition version {reference}; it has {known}")
    matches = [version for version in versions if len(text) >= 6 and version.sha256.startswith(text)]
    if len(matches) == 1:
        return matches[0]
    problem = "fits several versions" if matches else "is not a version number or a known sha256 prefix (6+ digits)"
    raise ReviewError(f"'{reference}' {problem}; process '{process_id}' has {known}")


def unified_diff(old: VersionInfo, new: VersionInfo, process_id: str) -> list[str]:
    """The YAML diff, unified format, lines without their newline."""
    return [line.rstrip("\n") for line in difflib.unified_diff(
        old.yaml_text.splitlines(keepends=True), new.yaml_text.splitlines(keepends=True),
        fromfile=f"{process_id} v{old.number} ({old.sha256[:12]})",
        tofile=f"{process_id} v{new.number} ({new.sha256[:12]})")]


def semantic_diff(old_text: str, new_text: str) -> list[Change]:
    """Steps and KPIs added or removed, targets and params changed, step, KPI and policy fields changed."""
    old, new = _data(old_text), _data(new_text)
    changes = [Change("definition", key, old.get(key), new.get(key)) for key in sorted(set(old) | set(new))
               if key not in _SECTIONS and old.get(key) != new.get(key)]
    changes += _by_id("step", old.get("steps"), new.get("steps"), lambda s: f"{s.get('phase')} · {s.get('uses')}")
    changes += _by_id("kpi", old.get("kpis"), new.get("kpis"), lambda k: f"target {k.get('target')}")
    changes += _by_id("policy", old.get("policies"), new.get("policies"), lambda p: _policy_text(p))
    old_params, new_params = flatten(old.get("params") or {}), flatten(new.get("params") or {})
    changes += [Change("param", name, old_params.get(name), new_params.get(name))
                for name in sorted(set(old_params) | set(new_params)) if old_params.get(name) != new_params.get(name)
                or (name in old_params) != (name in new_params)]
    return changes


def kpi_effect(session: Session, old: VersionInfo, new: VersionInfo) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """KPI id -> ``{"before": [...], "after": [...]}``: the results of the cycles that ran each version."""
    rows = session.execute(select(Cycle.number, Cycle.definition_version_id, KpiResult)
                           .join(KpiResult, KpiResult.cycle_id == Cycle.id)
                           .where(Cycle.definition_version_id.in_((old.id, new.id))).order_by(Cycle.number))
    effect: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for number, version_id, result in rows:
        side = "before" if version_id == old.id else "after"
        effect.setdefault(result.kpi_id, {"before": [], "after": []})[side].append(
            {"cycle": number, "actual": result.actual, "status": result.status,
             "target": {"min": result.target_min, "max": result.target_max}})
    return effect


def _data(text: str) -> dict[str, Any]:
    from pdcaflow.engine.definition.loader import load_definition_text

    try:
        data = load_definition_text(text).data
    except DefinitionError:
        return {}
    return data if isinstance(data, dict) else {}


def _by_id(noun: str, old_items: Any, new_items: Any, describe: Any) -> list[Change]:
    old, new = _index(old_items), _index(new_items)
    changes = [Change(f"{noun} added", name, None, describe(new[name])) for name in new if name not in old]
    changes += [Change(f"{noun} removed", name, describe(old[name]), None) for name in old if name not in new]
    for name in (name for name in old if name in new):
        before, after = flatten(old[name]), flatten(new[name])
        if noun == "kpi" and old[name].get("target") != new[name].get("target"):
            changes.append(Change("target", name, old[name].get("target"), new[name].get("target")))
            before = {k: v for k, v in before.items() if not k.startswith("target")}
            after = {k: v for k, v in after.items() if not k.startswith("target")}
        changes += [Change(f"{noun} changed", f"{name}.{path}", before.get(path), after.get(path))
                    for path in sorted(set(before) | set(after)) if before.get(path) != after.get(path)]
    return changes


def _index(items: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {str(item["id"]): item for item in items if isinstance(item, dict) and "id" in item}


def _policy_text(policy: dict[str, Any]) -> str:
    parts = [f"{key} {policy[key]}" for key in ("when", "ratchet", "change", "change_target", "open_action")
             if key in policy]
    return "; ".join(parts)
