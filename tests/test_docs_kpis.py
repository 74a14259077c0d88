"""docs/kpis-without-sql.md holds what it says: its complete process validates, and every example gives its value.

The page's CSV block is written out as ``data/claims.csv``; its definition block
as ``claims.yaml`` beside it (validated as a user would); each example step is run
on that file (the database example on a SQLite table of the same rows) and every
``# -> value`` comment in it must be the value the step gives.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from pdcaflow.engine.definition.validate import validate_paths
from pdcaflow.tasks.data.query import check_query, query
from pdcaflow.tasks.data.table_aggregate import Filter
from pdcaflow.tasks.sdk.registry import StepContext
from tests.conftest import REPO

PAGE = REPO / "docs" / "kpis-without-sql.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
STATED = re.compile(r"^\s*(\w+):.*#\s*->\s*(\S+)\s*$")  # `median_days:   # -> 3.25`
EXPRESSION = re.compile(r"^\$\{\{\s*params\.(\w+)\s*\}\}$")
CONTEXT = StepContext(process_id="docs-kpis", cycle=1)


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(PAGE.read_text(encoding="utf-8")) if lang == language]


def example_steps() -> list[str]:
    """The YAML blocks that are one data.query step."""
    return [body for body in blocks("yaml") if body.startswith("- id:")]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """The page's data file and definition, laid out as the page says."""
    (csv,) = blocks("csv")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "claims.csv").write_text(csv, encoding="utf-8")
    (definition,) = [body for body in blocks("yaml") if body.startswith("id:")]
    (tmp_path / "claims.yaml").write_text(definition, encoding="utf-8")
    return tmp_path


def test_the_complete_process_validates_and_measures_from_the_csv_without_sql(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert validate_paths([project / "claims.yaml"]).diagnostics == []
    definition = yaml.safe_load((project / "claims.yaml").read_text(encoding="utf-8"))
    assert {step["phase"] for step in definition["steps"]} == {"plan", "do", "check", "act"}
    assert len(definition["policies"]) == 1
    (measure,) = [step for step in definition["steps"] if step["uses"] == "data.query"]
    assert "sql" not in measure["with"] and "scalars" not in measure["with"]
    assert {kpi["source"] for kpi in definition["kpis"]} == {"measure.median_days", "measure.within_sla_pct"}
    monkeypatch.chdir(project)  # relative paths are read from the project's folder, as `pdca run` there does
    outputs = query(CONTEXT, **_typed(_filled(measure["with"], definition["params"])))
    # as the page says: six closed claims, median 3.25 days, 3 of 6 within 3 days
    assert (outputs["settled"], outputs["median_days"], outputs["within_sla_pct"]) == (6, 3.25, 50.0)


@pytest.mark.parametrize("index", range(len(example_steps())))
def test_each_example_gives_the_values_the_page_states(project: Path, index: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    text = example_steps()[index]
    (step,) = yaml.safe_load(text)
    with_ = dict(step["with"])
    assert check_query(with_) == []
    monkeypatch.chdir(project)
    if "connection" in with_:  # the database example: the same rows as a SQLite table
        url = f"sqlite:///{project / 'claims.db'}"
        engine = sa.create_engine(url)
        pd.read_csv(project / "data" / "claims.csv").to_sql(with_["table"], engine, index=False)
        engine.dispose()
        monkeypatch.setenv(f"PDCA_CONNECTION_{with_['connection'].upper()}", url)
    outputs = query(CONTEXT, **_typed(with_))
    stated = {match[1]: float(match[2]) for line in text.splitlines() if (match := STATED.match(line))}
    assert stated or "group_by" in with_, "an example states no value"
    assert {name: outputs[name] for name in stated} == stated
    if "group_by" in with_:  # the grouped example's rows, as the text under it gives them
        assert outputs["rows"] == [{"region": "north", "median_days": 2.5, "claims": 4},
                                   {"region": "south", "median_days": 4.0, "claims": 4}]


def test_the_page_has_the_examples_the_issue_asked_for() -> None:
    titles = re.findall(r"^### (.+)$", PAGE.read_text(encoding="utf-8"), re.MULTILINE)
    assert titles == ["Median resolution time", "90th percentile (p90)", "Share within the SLA",
                      "Count where a condition holds", "Days between two dates", "Per group"]
    assert len(example_steps()) == 7


def _typed(with_: dict[str, Any]) -> dict[str, Any]:
    """The ``with:`` values as the task receives them (filters as :class:`Filter`, as the engine converts them)."""
    return with_ | ({"where": [Filter.model_validate(item) for item in with_["where"]]} if "where" in with_ else {})


def _filled(value: Any, params: dict[str, Any]) -> Any:
    """``${{ params.x }}`` replaced by the param's value, as the engine does before the step runs."""
    if isinstance(value, str) and (match := EXPRESSION.match(value)):
        return params[match[1]]
    if isinstance(value, dict):
        return {key: _filled(item, params) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, params) for item in value]
    return value
