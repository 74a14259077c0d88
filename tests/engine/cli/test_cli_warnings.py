"""`pdca validate` with warnings: shown at their place, exit 0 unless --strict, counted apart from errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import FIXTURES, REPO, run_pdca

SWAPPED = "tests/fixtures/warnings/PDCA301-cron-day-and-month-swapped.yaml"
WORDS = "cron '0 8 * 2 *' runs at 08:00 every day in February"


def test_a_warning_is_shown_with_its_place_and_exits_0() -> None:
    result = run_pdca("validate", SWAPPED)
    assert result.returncode == 0, result.stderr
    assert f"{SWAPPED}:6:18: warning PDCA301 {WORDS}" in result.stderr
    assert "hint: probably meant '0 8 2 * *' (runs at 08:00 on the second day of every month)" in result.stderr
    assert f"ok  {SWAPPED}" in result.stdout
    assert result.stderr.rstrip().endswith("1 file valid, 1 warning")


def test_strict_turns_a_warning_into_exit_2() -> None:
    result = run_pdca("validate", "--strict", SWAPPED)
    assert result.returncode == 2
    assert f"warning PDCA301 {WORDS}" in result.stderr
    assert run_pdca("validate", "--strict", "definitions").returncode == 0  # the shipped ones have none


def test_json_and_github_carry_the_severity() -> None:
    result = run_pdca("validate", "--format", "json", SWAPPED)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["ok"] is True and payload["invalid_files"] == [] and (payload["errors"], payload["warnings"]) == (0, 1)
    (diagnostic,) = payload["diagnostics"]
    assert (diagnostic["code"], diagnostic["severity"], diagnostic["line"], diagnostic["column"]) == (
        "PDCA301", "warning", 6, 18)
    github = run_pdca("validate", "--format", "github", SWAPPED)
    assert github.returncode == 0
    assert github.stdout.strip().startswith(f"::warning file={SWAPPED},line=6,col=18,title=PDCA301::{WORDS}")
    assert run_pdca("validate", "--format", "github", "--strict", SWAPPED).returncode == 2


def test_errors_and_warnings_are_counted_apart(tmp_path: Path) -> None:
    minimal = (FIXTURES / "valid/minimal.yaml").read_text(encoding="utf-8")
    (tmp_path / "broken.yaml").write_text(minimal.replace("phase: do\n", "phase: doo\n"), "utf-8")
    (tmp_path / "swapped.yaml").write_text((REPO / SWAPPED).read_text(encoding="utf-8"), "utf-8")
    result = run_pdca("validate", str(tmp_path))
    assert result.returncode == 2
    assert "broken.yaml:14:12: PDCA104" in result.stderr and "swapped.yaml:6:18: warning PDCA301" in result.stderr
    assert "1 error in 1 of 2 files, 1 warning" in result.stderr
    payload = json.loads(run_pdca("validate", "--format", "json", str(tmp_path)).stdout)
    assert payload["ok"] is False and payload["invalid_files"] == [str(tmp_path / "broken.yaml")]
    assert [d["severity"] for d in payload["diagnostics"]] == ["error", "warning"]


def test_graph_of_a_definition_with_warnings_works_and_shows_them() -> None:
    result = run_pdca("graph", SWAPPED)
    assert result.returncode == 0, result.stderr
    assert "flowchart LR" in result.stdout and "warning" not in result.stdout  # the chart stays clean
    assert f"warning PDCA301 {WORDS}" in result.stderr
