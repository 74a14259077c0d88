"""The editor schemas, checked with real JSON Schema clients (`jsonschema`, and `check-jsonschema` as users run it).

The generic schema shipped with pdcaflow accepts every shipped definition, the hand-hygiene example's own tasks
included, and any well-formed task name, while it offers the built-in ones; `pdca schema` run in a project writes
a schema that knows the project's own tasks and their `with:` keys.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pdcaflow.engine.definition.schema import (DEFAULT_SCHEMA_PATH, PROJECT_SCHEMA_PATH, schema_comment,
                                               write_project_schema)
from pdcaflow.tasks.sdk.registry import builtin_registry
from tests.conftest import DEFINITIONS, REPO

GENERIC = REPO / DEFAULT_SCHEMA_PATH
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def _documented_definitions() -> list[tuple[str, str]]:
    """The complete definitions written out in docs/ (```yaml blocks with id, title, owner, kpis and steps)."""
    found = []
    for page in sorted((REPO / "docs").rglob("*.md")):
        for number, block in enumerate(re.findall(r"```ya?ml\n(.*?)```", page.read_text(encoding="utf-8"), re.S)):
            try:
                data = yaml.safe_load(block)
            except yaml.YAMLError:
                continue
            if isinstance(data, dict) and {"id", "title", "owner", "kpis", "steps"} <= data.keys():
                found.append((f"{page.relative_to(REPO)}#{number}", block))
    return found


SHIPPED = sorted([*DEFINITIONS.glob("*.yaml"), *(DEFINITIONS / "examples").rglob("*.yaml"),
                  *(REPO / "docs" / "examples").rglob("*.yaml")])
DOCUMENTED = _documented_definitions()


def _generic() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(GENERIC.read_text(encoding="utf-8"))
    return schema


def _check_jsonschema(schema: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHECK_JSONSCHEMA), "--schemafile", str(schema), *map(str, files)], capture_output=True,
                          text=True, timeout=120, check=False)


def test_the_generic_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(_generic())


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: str(path.relative_to(REPO)))
def test_every_shipped_definition_satisfies_the_generic_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), _generic())


def test_check_jsonschema_accepts_every_shipped_and_documented_definition(tmp_path: Path) -> None:
    documented = []
    for number, (_, block) in enumerate(DOCUMENTED):
        documented.append(tmp_path / f"documented-{number}.yaml")
        documented[-1].write_text(block, encoding="utf-8")
    result = _check_jsonschema(GENERIC, *SHIPPED, *documented)  # the docs' whole definitions too, once they hold some
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hand-hygiene.yaml" in " ".join(map(str, SHIPPED))  # the example with its own hygiene.* tasks


def test_uses_accepts_any_well_formed_task_name_and_offers_the_built_in_ones() -> None:
    uses = _generic()["$defs"]["Step"]["properties"]["uses"]
    offered = {choice["const"]: choice["description"] for choice in uses["anyOf"] if "const" in choice}
    assert offered["kpi.check"] == builtin_registry()["kpi.check"].summary and offered["kpi.check"]
    assert not any(name.startswith("testing.") for name in offered)  # the built-ins only
    checker = jsonschema.Draft202012Validator(uses)
    for name in ("hygiene.observe", "claims.days_to_settle", "lab.audit_findings_2", "process:child-loop"):
        assert checker.is_valid(name), name
    for name in ("hygiene", "Hygiene.observe", "claims.days to settle", "claims.", "process:Child", 7):
        assert not checker.is_valid(name), name


OWN_TASKS = '''
from typing import TypedDict

import pdcaflow


class Settled(TypedDict):
    median_days: float


@pdcaflow.task("claims.days_to_settle", phases=("do",))
def days_to_settle(context: pdcaflow.StepContext, *, source: str, percentile: int = 50) -> Settled:
    """Days from a claim's receipt to its settlement, at a percentile."""
    return {"median_days": 3.0}
'''


@pytest.fixture()
def claims_project(tmp_path: Path) -> Path:
    """A user's project: a pdca.toml naming a module with an own task, and a definition using it in a subfolder."""
    module = f"claims_tasks_{os.getpid()}"  # task modules are global per process: a name no other test uses
    (tmp_path / "pdca.toml").write_text(f'tasks = ["{module}"]\n', encoding="utf-8")
    (tmp_path / f"{module}.py").write_text(OWN_TASKS, encoding="utf-8")
    (tmp_path / "processes").mkdir()
    return tmp_path


def _claims_definition(with_: dict[str, Any]) -> dict[str, Any]:
    return {"id": "claims", "title": "Claims handling", "owner": "claims-team",
            "kpis": [{"id": "days_to_settle", "unit": "days", "target": {"max": 5},
                      "source": "measure.median_days"}],
            "steps": [{"id": "measure", "phase": "do", "uses": "claims.days_to_settle", "with": with_},
                      {"id": "evaluate", "phase": "check", "uses": "kpi.check"},
                      {"id": "improve", "phase": "act", "uses": "improve.apply_policies"}]}


def test_pdca_schema_in_a_project_writes_a_schema_that_knows_its_own_tasks(claims_project: Path) -> None:
    environment = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", "schema"], cwd=claims_project / "processes",
                            capture_output=True, text=True, timeout=120, check=False, env=environment)
    assert result.returncode == 0, result.stderr
    written = claims_project / PROJECT_SCHEMA_PATH
    assert result.stdout.splitlines()[0] == f"wrote {written}"
    assert result.stdout.splitlines()[-1] == "  # yaml-language-server: $schema=../.pdca/schema.json"
    schema = json.loads(written.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)

    good, wrong_key, wrong_type = (claims_project / "processes" / name for name in ("good.yaml", "key.yaml", "type.yaml"))
    for path, with_ in ((good, {"source": "data/claims.csv", "percentile": 90}), (wrong_key, {"sorce": "data/c.csv"}),
                        (wrong_type, {"source": "data/claims.csv", "percentile": "ninety"})):
        path.write_text(schema_comment(written, path.parent) + "\n" + yaml.safe_dump(_claims_definition(with_)),
                        encoding="utf-8")
    jsonschema.validate(yaml.safe_load(good.read_text(encoding="utf-8")), schema)
    with pytest.raises(jsonschema.ValidationError, match="'sorce' was unexpected"):
        jsonschema.validate(yaml.safe_load(wrong_key.read_text(encoding="utf-8")), schema)
    with pytest.raises(jsonschema.ValidationError, match="'ninety'"):
        jsonschema.validate(yaml.safe_load(wrong_type.read_text(encoding="utf-8")), schema)

    assert _check_jsonschema(written, good).returncode == 0
    rejected = _check_jsonschema(written, wrong_key)
    assert rejected.returncode == 1 and "'sorce' was unexpected" in rejected.stdout, rejected.stdout
    # the generic schema knows no own task's `with:`: it accepts the key the project schema marks
    assert _check_jsonschema(GENERIC, good, wrong_key).returncode == 0


def test_write_project_schema_is_what_pdca_schema_writes(claims_project: Path) -> None:
    path = write_project_schema(claims_project)
    assert path == claims_project / ".pdca" / "schema.json"
    uses = json.loads(path.read_text(encoding="utf-8"))["$defs"]["Step"]["properties"]["uses"]
    offered = {choice["const"]: choice["description"] for choice in uses["anyOf"] if "const" in choice}
    assert offered["claims.days_to_settle"] == "Days from a claim's receipt to its settlement, at a percentile."
    assert "kpi.check" in offered
    # in a fresh process (this one's registry also holds the tasks other tests registered), as `pdca init` calls it
    fresh = subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from pdcaflow.engine.definition"
                            ".schema import write_project_schema; print(write_project_schema(Path(sys.argv[1])))",
                            str(claims_project)], capture_output=True, text=True, timeout=120, check=False)
    assert fresh.stdout.strip() == str(path), fresh.stderr
    check = subprocess.run([sys.executable, "-m", "pdcaflow.engine.cli.app", "schema", "--check"], cwd=claims_project,
                           capture_output=True, text=True, timeout=120, check=False)
    assert check.returncode == 0 and check.stdout.strip() == f"{path} is up to date", check.stdout + check.stderr


def test_schema_comment_is_relative_to_the_definition(tmp_path: Path) -> None:
    schema = tmp_path / ".pdca" / "schema.json"
    assert schema_comment(schema, tmp_path) == "# yaml-language-server: $schema=.pdca/schema.json"
    assert schema_comment(schema, tmp_path / "a" / "b") == "# yaml-language-server: $schema=../../.pdca/schema.json"
