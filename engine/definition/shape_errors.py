"""Turn pydantic validation errors into located, coded, readable diagnostics.

Pydantic's raw messages never reach a user: each error type maps to a stable
``PDCA1xx`` code, a sentence that names the key, and a hint (for unknown keys:
the closest allowed key and the full list).
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from pdcaflow.engine.errors import Diagnostic, KeyPath
from pdcaflow.engine.definition.kpi_hints import (bare_target_message, kpi_at, missing_target_hint, missing_unit_hint,
                                                  not_a_number_hint)
from pdcaflow.engine.definition.loader import LoadedDocument

CUSTOM_CODES = {
    "pdca_bad_name": "PDCA105",
    "pdca_bad_duration": "PDCA106",
    "pdca_bad_cron": "PDCA107",
    "pdca_bad_timezone": "PDCA108",
    "pdca_not_number": "PDCA109",
    "pdca_empty_target": "PDCA110",
    "pdca_schedule_kind": "PDCA111",
    "pdca_condition": "PDCA112",
    "pdca_change": "PDCA113",
    "pdca_policy_shape": "PDCA114",
    "pdca_bad_amount": "PDCA115",
    "pdca_escalation": "PDCA118",
    "pdca_approval_shape": "PDCA123",
    "pdca_approval_timeout": "PDCA124",
    "pdca_approval_levels": "PDCA125",
}
CUSTOM_HINTS = {
    "PDCA105": "ids are snake_case, e.g. `check_feedback`; they are used in references like steps.check_feedback",
    "PDCA106": "write seconds as a number, or a number and a unit: '30s', '5m', '2h', '7d', '1w'",
    "PDCA107": "five fields: minute hour day-of-month month day-of-week, e.g. '0 6 1 * *' for 06:00 on the 1st",
    "PDCA108": "use an IANA name such as 'Asia/Shanghai', 'Europe/Berlin' or 'UTC'",
    "PDCA109": "write the number alone; a KPI's unit belongs in its `unit:` (e.g. `max: 14` with `unit: days`)",
    "PDCA110": "a target is `{min: N}`, `{max: N}` or `{min: LOW, max: HIGH}` with LOW <= HIGH",
    "PDCA111": "use `cron: '0 6 1 * *'` or `interval: 7d`, not both",
    "PDCA112": "e.g. `when: {kpi: satisfaction, missed: true, cycles: 2}`",
    "PDCA113": "e.g. `change: {param: visits_per_month.B, add: 1, max: 8}`",
    "PDCA114": "e.g. `- id: more_visits` / `when: {kpi: x, missed: true}` / `change: {param: p, add: 1}`",
    "PDCA115": "e.g. `tighten: 2%` (of the current target) or `tighten: 0.1` (in the KPI's unit)",
    "PDCA118": "e.g. `escalation: [team-lead, service-manager, director]`: each owner once, in the order they take over",
    "PDCA123": "e.g. `approval: {approvers: [sales-manager]}` or `levels: [{name: self, approvers: [inspector]}, ...]`",
    "PDCA124": "e.g. `timeout: 3d`, `on_timeout: escalate`, `escalate_to: [ops-director]`",
    "PDCA125": "give each level its own name, e.g. self, department, company",
}
_WHOLE_MAPPING = {"PDCA110", "PDCA111", "PDCA112", "PDCA113", "PDCA114", "PDCA123", "PDCA124", "PDCA125"}
_TYPE_WORDS = {
    "dict": "a mapping (key: value)", "list": "a list", "string": "text", "int": "a whole number",
    "float": "a number", "bool": "true or false", "literal": "one of the listed values",
}
_FIELD_HINTS = {
    "uses": "name a registered task (`pdca tasks` lists them) or `process:<id>` for a sub-process",
    "source": "write `step_id.output`, e.g. `check_feedback.satisfaction_mean`",
    "id": "ids are snake_case (process ids may also use '-'), starting with a lowercase letter",
    "param": "write a dotted path into params, e.g. `visits_per_month.B`",
    "decimals": "a whole number from 0 to 6, e.g. `decimals: 1`; leave it out for the unit's default",
}


def shape_diagnostics(error: ValidationError, document: LoadedDocument, root: type[BaseModel]) -> list[Diagnostic]:
    """One diagnostic per pydantic error, located through the document's source map."""
    diagnostics = []
    for item in error.errors(include_url=False):
        loc = _clean_loc(item["loc"], document)
        diagnostics.append(_translate(item, loc, document, root))
    return diagnostics


def _clean_loc(loc: tuple[Any, ...], document: LoadedDocument) -> KeyPath:
    """Drop pydantic's internal loc parts; map ``change[0]`` back to ``change`` if written as a single mapping."""
    path: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and ("[" in part or part.startswith("function-")):
            continue
        candidate = (*path, part)
        if isinstance(part, int) and candidate not in document.source_map.values and tuple(path) in document.source_map.values:
            continue  # a single mapping accepted as a one-item list
        path.append(part)
    return tuple(path)


def _translate(item: Any, loc: KeyPath, document: LoadedDocument, root: type[BaseModel]) -> Diagnostic:
    kind: str = item["type"]
    where = _where(loc)
    value = item.get("input")
    if kind == "pdca_not_number" and kpi_at(document, loc) is not None and loc:  # in the KPI's own unit
        return _at(document, loc, "PDCA109", f"{where}: {item['msg']}",
                   not_a_number_hint(str(loc[-1]), value, kpi_at(document, loc)))
    if kind in CUSTOM_CODES:
        code = CUSTOM_CODES[kind]
        # a rule about a whole mapping (e.g. `schedule`) points at its key, a rule about a value at the value
        return _at(document, loc, code, f"{where}: {item['msg']}", CUSTOM_HINTS[code], at_key=code in _WHOLE_MAPPING)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(root, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = (f"did you mean '{close[0]}'? " if close else "") + f"allowed here: {', '.join(allowed)}"
        return _at(document, loc, "PDCA101", f"unknown key '{key}' in {_where(loc[:-1])}", hint, at_key=True)
    if kind == "missing":
        key = str(loc[-1])
        parent = loc[:-1]
        return _at(document, parent, "PDCA102", f"missing required key '{key}' in {_where(parent)}",
                   _missing_hint(key, kpi_at(document, loc)), at_key=True)
    if kind == "model_type" and loc and loc[-1] == "target":  # `target: 14`: say what to write
        return _at(document, loc, "PDCA103", bare_target_message(where, value, kpi_at(document, loc)),
                   "a target is a mapping: {min: N} (at least N), {max: N} (at most N) or both (a band)")
    if kind == "model_type":
        return _at(document, loc, "PDCA103", f"{where}: expected a mapping (key: value), got {_show(value)}",
                   "see the YAML reference in the README")
    if kind == "string_pattern_mismatch":
        field = str(loc[-1]) if loc else ""
        return _at(document, loc, "PDCA105", f"{where}: '{value}' is not in the expected form",
                   _FIELD_HINTS.get(field, f"expected the pattern {item.get('ctx', {}).get('pattern', '')}"))
    if kind == "literal_error":
        expected = item.get("ctx", {}).get("expected", "")
        return _at(document, loc, "PDCA104", f"{where}: {_show(value)} is not one of {expected}",
                   f"choose one of {expected}")
    family = kind.split("_")[0]
    if kind.endswith(("_type", "_parsing")) and family in _TYPE_WORDS:
        return _at(document, loc, "PDCA103", f"{where}: expected {_TYPE_WORDS[family]}, got {_show(value)}",
                   "check the value's type; quote text that YAML would read as a number or boolean")
    return _at(document, loc, "PDCA104", f"{where}: {item['msg'][0].lower()}{item['msg'][1:]}",
               _FIELD_HINTS.get(str(loc[-1]) if loc else "", "see the YAML reference in the README"))


def _at(document: LoadedDocument, loc: KeyPath, code: str, message: str, hint: str, *, at_key: bool = False) -> Diagnostic:
    span = document.source_map.locate(loc, at_key=at_key)
    return Diagnostic(code, message, document.path, span.line, span.column, loc, hint, span.length)


def _where(loc: KeyPath) -> str:
    return Diagnostic("", "", "", key_path=loc).dotted_key or "the top level"


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"text '{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return f"{value!r}"


def _missing_hint(key: str, kpi: dict[str, Any] | None = None) -> str:
    if key == "unit" and kpi is not None:
        return missing_unit_hint(kpi)
    if key == "target" and kpi is not None:
        return missing_target_hint(kpi)
    examples = {"id": "id: know_customers", "phase": "phase: plan   # plan, do, check or act",
                "uses": "uses: <task name>` (`pdca tasks` lists them)",
                "source": "source: check_feedback.satisfaction_mean", "steps": "steps: [...]",
                "title": "title: Retail customer service", "owner": "owner: customer-service"}
    return f"add `{examples.get(key, key + ': ...')}`"


def _allowed_keys(root: type[BaseModel], loc: KeyPath) -> list[str]:
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = _field(model, part)
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _field(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside ``X``, ``X | None``, ``list[X]`` or ``Annotated[...]``."""
    found = models_in(annotation)
    return found[0] if found else None


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model class inside a type annotation (``list[Rule] | None`` -> ``[Rule]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return models_in(typing.get_args(annotation)[0])
    if origin in (list, tuple, dict, typing.Union, types.UnionType):
        return [model for arg in typing.get_args(annotation) for model in models_in(arg)]
    return []
