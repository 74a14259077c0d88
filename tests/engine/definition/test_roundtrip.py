"""Property tests: definitions survive model -> YAML -> model, and no input ever escapes as a crash."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdcaflow.engine.errors import DefinitionError
from pdcaflow.engine.definition.loader import load_definition_bytes, load_definition_text
from pdcaflow.engine.definition.model import PHASES, ProcessDefinition
from pdcaflow.engine.definition.validate import parse_definition, validate_document
from tests.conftest import REPO

names = st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True)
# NEL and the Unicode line/paragraph separators are left out: PyYAML's *emitter* writes them raw inside
# single-quoted scalars, where YAML folds them into spaces (a dumper quirk; the loader reads them right).
any_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85\u2028\u2029"),
                   min_size=1, max_size=40)
numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 3))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | numbers | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def targets(draw: st.DrawFn) -> dict[str, float]:
    low, high = sorted([draw(numbers), draw(numbers)])
    return draw(st.sampled_from([{"min": low}, {"max": high}, {"min": low, "max": high}]))


@st.composite
def definitions(draw: st.DrawFn) -> ProcessDefinition:
    step_ids = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    phases = sorted(draw(st.lists(st.sampled_from(PHASES), min_size=len(step_ids), max_size=len(step_ids))),
                    key=PHASES.index)
    steps = [{
        "id": step_id, "phase": phase, "title": draw(st.none() | any_text),
        "uses": draw(st.sampled_from(["customers.register", "kpi.check", "process:child-process"])),
        "with": draw(st.dictionaries(names, json_values, max_size=3)),
        "retries": draw(st.integers(0, 5)), "retry_delay": draw(st.sampled_from([0, 30, "5m", "2h"])),
    } for step_id, phase in zip(step_ids, phases, strict=True)]
    kpis = [{"id": kpi_id, "unit": draw(any_text), "target": draw(targets()), "source": f"{step_ids[0]}.out",
             "title": draw(st.none() | any_text)}
            for kpi_id in draw(st.lists(names, max_size=3, unique=True))]
    data: dict[str, Any] = {
        "id": draw(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True)),
        "title": draw(any_text), "owner": draw(any_text),
        "params": draw(st.dictionaries(names, json_values, max_size=4)),
        "kpis": kpis, "steps": steps,
        "schedule": draw(st.none() | st.sampled_from([
            {"cron": "0 6 1 * *", "timezone": "Asia/Shanghai"}, {"interval": "7d"}, {"cron": "*/15 * * * 1-5"}])),
    }
    if kpis:
        data["policies"] = [{"id": "tune", "when": {"kpi": kpis[0]["id"], "missed": True, "cycles": 2},
                             "change": [{"param": "p", "add": draw(numbers)}],
                             "open_action": {"title": draw(any_text), "owner": "qa", "due_days": 14}}]
    return ProcessDefinition.model_validate({k: v for k, v in data.items() if v is not None})


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(definitions())
def test_model_yaml_model_round_trip(definition: ProcessDefinition) -> None:
    dumped = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    text = yaml.safe_dump(dumped, allow_unicode=True, sort_keys=False)
    document = load_definition_text(text, "round-trip.yaml")
    assert parse_definition(document) == definition


MINIMAL = load_definition_text((REPO / "tests/fixtures/valid/minimal.yaml").read_text("utf-8"), "m.yaml").data


def _replace(data: Any, path: list[int], value: Any) -> Any:
    """Replace the subtree that ``path`` (indices into sorted keys / items) reaches."""
    if not path or not isinstance(data, dict | list) or not data:
        return value
    if isinstance(data, dict):
        key = sorted(data)[path[0] % len(data)]
        return {**data, key: _replace(data[key], path[1:], value)}
    index = path[0] % len(data)
    return [*data[:index], _replace(data[index], path[1:], value), *data[index + 1:]]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 50), max_size=5), json_values)
def test_mutated_definitions_validate_or_fail_cleanly(path: list[int], value: Any) -> None:
    text = yaml.safe_dump(_replace(MINIMAL, path, value), allow_unicode=True)
    try:
        validate_document(load_definition_text(text, "mutant.yaml"))
    except DefinitionError as exc:
        lines = text.count("\n") + 1
        assert all(1 <= d.line <= lines and d.column >= 1 and d.hint for d in exc.diagnostics), exc.diagnostics


@settings(max_examples=300)
@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8")))
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    try:
        validate_document(load_definition_bytes(raw, "fuzz.yaml"))
    except DefinitionError as exc:
        assert exc.diagnostics and all(d.code.startswith("PDCA") for d in exc.diagnostics)
