"""One invalid definition per diagnostic code; each must be reported at its line and column.

Each fixture's first line says what it must produce: ``# expect: PDCA203 12:11``.
The fixture must produce that diagnostic and no diagnostic of another code, both
through the Python API and through the real ``pdca validate`` command (exit 2,
``file:line:col: CODE`` on stderr, never a traceback).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pdcaflow.engine.definition.codes import CODES
from pdcaflow.engine.definition.validate import validate_paths
from tests.conftest import FIXTURES, REPO, run_pdca

INVALID = FIXTURES / "invalid"
FIXTURE_FILES = sorted(INVALID.glob("*.yaml"))
WARNING_FILES = sorted((FIXTURES / "warnings").glob("*.yaml"))  # PDCA3xx: tests/engine/definition/test_warnings.py
_EXPECT = re.compile(rb"^# expect: (PDCA\d{3}) (\d+):(\d+)")
# exercised in tests/engine/definition/test_loader.py: a fixture file cannot be missing or over 1 MiB; and the
# task-module codes, located in a project's config, in tests/engine/definition/test_project_tasks.py (real project folders)
NO_FIXTURE = {"PDCA009", "PDCA010", "PDCA011", "PDCA012", "PDCA013", "PDCA014"}


def _expectation(path: Path) -> tuple[str, int, int]:
    match = _EXPECT.match(path.read_bytes().splitlines()[0])
    assert match, f"{path.name}: first line must be '# expect: PDCAnnn LINE:COL'"
    return match.group(1).decode(), int(match.group(2)), int(match.group(3))


def test_every_code_has_a_fixture() -> None:
    covered = {_expectation(path)[0] for path in FIXTURE_FILES + WARNING_FILES}
    assert sorted(set(CODES) - NO_FIXTURE - covered) == []
    assert len(FIXTURE_FILES) >= 25


def test_every_code_used_in_the_engine_is_documented() -> None:
    used = {code for path in (REPO / "engine").glob("*.py") for code in re.findall(r"PDCA\d{3}", path.read_text())}
    assert sorted(used - set(CODES)) == []


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_reports_its_code_at_its_position(path: Path) -> None:
    code, line, column = _expectation(path)
    report = validate_paths([path])
    found = [(d.code, d.line, d.column) for d in report.diagnostics]
    assert (code, line, column) in found, f"{path.name}: got {found}"
    assert {c for c, _, _ in found} == {code}, f"{path.name}: other codes too: {found}"
    assert all(d.hint for d in report.diagnostics)


def test_cli_reports_every_fixture_at_its_location_and_exits_2() -> None:
    """One `pdca validate` over the whole folder: every file's problem is printed, nothing crashes."""
    result = run_pdca("validate", str(INVALID.relative_to(REPO)))
    assert result.returncode == 2, result.stderr
    for path in FIXTURE_FILES:
        code, line, column = _expectation(path)
        assert f"{path.relative_to(REPO)}:{line}:{column}: {code} " in result.stderr, path.name
    assert result.stderr.count("hint:") >= len(FIXTURE_FILES)
    assert "Traceback" not in result.stderr + result.stdout
    assert f"in {len(FIXTURE_FILES)} of {len(FIXTURE_FILES)} files" in result.stderr


@pytest.mark.parametrize("path", FIXTURE_FILES[:3], ids=lambda p: p.stem)
def test_cli_exits_2_for_a_single_invalid_file(path: Path) -> None:
    code, line, column = _expectation(path)
    relative = path.relative_to(REPO)
    result = run_pdca("validate", str(relative))
    assert result.returncode == 2, result.stderr
    assert f"{relative}:{line}:{column}: {code} " in result.stderr


def test_error_code_doc_is_current() -> None:
    from pdcaflow.engine.definition.codes import errors_markdown

    assert (REPO / "docs/errors.md").read_text(encoding="utf-8") == errors_markdown(), "run python -m pdcaflow.engine.definition.codes > docs/errors.md"
