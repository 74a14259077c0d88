"""The committed JSON Schema is current, and it agrees with the validator on real definitions."""

from __future__ import annotations

import jsonschema
import pytest

from pdcaflow.engine.definition.loader import load_definition_file
from pdcaflow.engine.definition.project_tasks import tasks_for
from pdcaflow.engine.definition.schema import DEFAULT_SCHEMA_PATH, build_schema, schema_text
from pdcaflow.tasks.sdk.registry import builtin_registry
from tests.conftest import DEFINITIONS, REPO, run_pdca

SHIPPED = sorted(DEFINITIONS.rglob("*.yaml"))


def test_committed_schema_is_not_stale() -> None:
    committed = (REPO / DEFAULT_SCHEMA_PATH).read_text(encoding="utf-8")
    # built-in tasks only: other tests register testing.* tasks in this process
    assert committed == schema_text(builtin_registry()), "definitions/schema/process.schema.json is stale: run `pdca schema`"


def test_schema_check_command_agrees() -> None:
    assert run_pdca("schema", "--check").returncode == 0


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_definitions_satisfy_the_schema(path) -> None:  # type: ignore[no-untyped-def]
    # the schema `pdca schema` writes for the definition's project (its pdca.toml tasks included); the generic
    # one they point at is tested in test_project_schema.py
    jsonschema.validate(load_definition_file(path).data, build_schema(tasks_for(path).discovery.tasks))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(ownr="x"), "Additional properties"),
        (lambda d: d["steps"][0].update(uses="No such task"), "'No such task' is not valid under any of the given"),
        (lambda d: d["steps"][0]["with"].update(visits_per_mnth=1), "Additional properties"),
        (lambda d: d["kpis"][0]["target"].update(min="95%"), "'95%' is not valid under any of the given schemas"),
    ],
)
def test_schema_rejects_what_the_validator_rejects(change, message) -> None:  # type: ignore[no-untyped-def]
    data = load_definition_file(REPO / "tests/fixtures/valid/minimal.yaml").data
    change(data)
    with pytest.raises(jsonschema.ValidationError, match=message):
        jsonschema.validate(data, build_schema())


def test_every_shipped_definition_points_editors_at_the_schema() -> None:
    for path in SHIPPED:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path
