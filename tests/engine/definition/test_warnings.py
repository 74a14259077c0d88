"""Valid but probably wrong: warnings (PDCA3xx) that leave a definition valid, and hints that fit the KPI.

One fixture per warning code in tests/fixtures/warnings/, first line ``# expect: PDCA301 6:18``:
it must produce that warning and nothing else, and stay valid (it compiles, it would run).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pdcaflow.engine.definition.compile import compile_plan
from pdcaflow.engine.definition.validate import validate_file, validate_paths
from pdcaflow.engine.errors import DefinitionError
from tests.conftest import DEFINITIONS, FIXTURES, REPO

WARNINGS = FIXTURES / "warnings"
WARNING_FILES = sorted(WARNINGS.glob("*.yaml"))
MINIMAL = (FIXTURES / "valid/minimal.yaml").read_text(encoding="utf-8")
_EXPECT = re.compile(r"^# expect: (PDCA3\d\d) (\d+):(\d+)")


def _with_schedule(cron: str, title: str = "Minimal process") -> str:
    return MINIMAL.replace("owner: quality-team\n", f'owner: quality-team\nschedule: {{cron: "{cron}"}}\n').replace(
        "title: Minimal process", f"title: {title}")


def _kpi(write_definition, kpi_lines: str):  # type: ignore[no-untyped-def]
    """The minimal definition with its KPI's unit/target/direction lines replaced by ``kpi_lines``."""
    text = MINIMAL.replace("    unit: score (1-5)\n    target: {min: 4.2}\n", kpi_lines)
    assert text != MINIMAL
    return validate_paths([write_definition(text)])


def test_every_warning_code_has_its_fixture() -> None:
    assert len(WARNING_FILES) == 8


@pytest.mark.parametrize("path", WARNING_FILES, ids=lambda p: p.stem)
def test_warning_fixture_is_reported_at_its_position_and_stays_valid(path: Path) -> None:
    match = _EXPECT.match(path.read_text(encoding="utf-8"))
    assert match, f"{path.name}: first line must be '# expect: PDCA3nn LINE:COL'"
    report = validate_paths([path])
    found = [(d.code, d.line, d.column, d.severity) for d in report.diagnostics]
    assert found == [(match.group(1), int(match.group(2)), int(match.group(3)), "warning")]
    assert report.ok and report.errors == [] and len(report.valid) == 1
    assert report.valid[0].warnings == tuple(report.diagnostics)
    assert all(d.hint for d in report.diagnostics)
    compile_plan(validate_file(path))  # valid everywhere: loads, compiles


def test_swapped_cron_says_what_it_does_and_what_was_meant(write_definition) -> None:  # type: ignore[no-untyped-def]
    report = validate_paths([write_definition(_with_schedule("0 8 * 2 *"))])
    (warning,) = report.warnings
    assert warning.code == "PDCA301" and warning.key_path == ("schedule", "cron")
    assert warning.message == ("cron '0 8 * 2 *' runs at 08:00 every day in February: a cycle every day of the month, "
                               "then a pause; the day and month fields look swapped")
    assert warning.hint == ("probably meant '0 8 2 * *' (runs at 08:00 on the second day of every month) "
                            "or '0 8 1 2 *' (runs at 08:00 on February 1)")


@pytest.mark.parametrize(("cron", "code", "words"), [
    ("* 8 1 * *", "PDCA301", "runs every minute from 08:00 through 08:59 on the first day of every month"),
    ("0 8 31 * *", "PDCA302", "no cycle in February, April, June, September, November"),
    ("0 0 29 2 *", "PDCA302", "a cycle only in leap years"),
    ("0 8 1-7 * 1", "PDCA303", "matches either the day of the month or the day of the week"),
])
def test_other_cron_mistakes(write_definition, cron: str, code: str, words: str) -> None:  # type: ignore[no-untyped-def]
    report = validate_paths([write_definition(_with_schedule(cron))])
    assert [d.code for d in report.diagnostics] == [code] and report.ok
    assert words in report.diagnostics[0].message


@pytest.mark.parametrize("cron", ["0 6 1 * *", "0 7 1 1,4,7,10 *", "0 9 * * 1-5", "*/15 9-17 * * *", "0 8 L * *",
                                  "0 8 * * 1#1", "30 2 * * 0", "0 8 1,15 * *", "0 0 * * *", "* * * * *"])
def test_sensible_crons_give_no_warning(write_definition, cron: str) -> None:  # type: ignore[no-untyped-def]
    assert validate_paths([write_definition(_with_schedule(cron))]).diagnostics == []


def test_schedule_against_the_period_the_process_states(write_definition) -> None:  # type: ignore[no-untyped-def]
    weekly = validate_paths([write_definition(_with_schedule("0 8 * * 1", "Claims (monthly PDCA cycle)"))])
    (warning,) = weekly.warnings
    assert warning.message == ('the process is described as "monthly PDCA cycle" but its schedule runs at 08:00 on '
                               "Monday (about every 7 days), far more often")
    assert "'0 8 1 * *'" in warning.hint
    monthly = validate_paths([write_definition(_with_schedule("0 8 1 * *", "Claims (monthly PDCA cycle)"))])
    assert monthly.diagnostics == []
    quarter = _with_schedule("0 8 1 * *", "Claims").replace("owner: quality", "description: One cycle a quarter.\n"
                                                            "owner: quality")
    assert "far more often" in validate_paths([write_definition(quarter)]).warnings[0].message
    unstated = validate_paths([write_definition(_with_schedule("0 8 * * 1", "Claims (visits per month)"))])
    assert unstated.diagnostics == []  # no period stated for the cycle: nothing to compare against


def test_shipped_definitions_have_no_warnings() -> None:
    report = validate_paths([DEFINITIONS])  # definitions/*.yaml and definitions/examples
    assert report.files and report.ok
    assert report.warnings == [] and report.diagnostics == []
    assert validate_paths([REPO / "tests/fixtures/valid"]).diagnostics == []


def test_the_retail_policy_that_adds_follow_up_calls_can_add_them() -> None:
    validated = validate_file(DEFINITIONS / "retail-customer-service.yaml")
    policy = next(p for p in validated.definition.policies if p.id == "satisfaction_shift")
    assert policy.change[0].max is not None
    assert policy.change[0].max > validated.definition.params["follow_up"]["sample_size"]


def test_an_error_leads_the_summary_even_beside_a_warning(write_definition) -> None:  # type: ignore[no-untyped-def]
    text = _with_schedule("0 8 * 2 *").replace("uses: feedback.inspect", "uses: feedback.inspct")
    with pytest.raises(DefinitionError, match=r"PDCA202 step 'check_feedback' uses unknown task"):
        validate_file(write_definition(text))


def test_hints_for_a_max_kpi_in_days_suggest_a_max_in_days(write_definition) -> None:  # type: ignore[no-untyped-def]
    report = _kpi(write_definition, "    unit: days\n    direction: lower_is_better\n")
    (missing,) = report.diagnostics
    assert missing.code == "PDCA102"
    assert missing.hint == "add `target: {max: N}` (at most N days), N being the value that still meets the target"
    assert "%" not in missing.hint and "min" not in missing.hint
    no_unit = _kpi(write_definition, "    target: {max: 14}\n").diagnostics[0]
    assert (no_unit.code, no_unit.hint) == ("PDCA102", "add `unit:` naming what the KPI's value counts, e.g. "
                                            "`unit: days`, `unit: '%'` or `unit: orders`")  # no guess from 'satisfaction'
    days = _kpi(write_definition, "    target: {max: '14 days'}\n    unit: days\n").diagnostics[0]
    assert (days.code, days.hint) == ("PDCA109", "write `max: 14` (the unit is in `unit: days`)")
    in_text = _kpi(write_definition, "    target: {max: '14 days'}\n    unit: claims\n").diagnostics[0]
    assert in_text.hint == "write `max: 14` and put the unit in the KPI's `unit: days`"


def test_missing_unit_hint_follows_the_kpi_name(write_definition) -> None:  # type: ignore[no-untyped-def]
    text = MINIMAL.replace("    unit: score (1-5)\n", "").replace("id: satisfaction\n", "id: resolution_days\n", 1)
    text = text.replace("kpi: satisfaction", "kpi: resolution_days")
    (missing,) = validate_paths([write_definition(text)]).diagnostics
    assert (missing.code, missing.hint) == ("PDCA102", "add `unit: days`: what the KPI's value counts")


@pytest.mark.parametrize(("lines", "message"), [
    ("    unit: days\n    direction: lower_is_better\n    target: 14\n",
     "kpis[0].target: write the target as {max: 14} (at most 14 days), not a bare number"),
    ("    unit: '%'\n    direction: higher_is_better\n    target: 95\n",
     "kpis[0].target: write the target as {min: 95} (at least 95 %), not a bare number"),
    ("    unit: days\n    target: 14\n",
     "kpis[0].target: write the target as {max: 14} (at most 14 days) or {min: 14} (at least 14 days), "
     "not a bare number"),
])
def test_bare_number_target_says_what_to_write(write_definition, lines: str, message: str) -> None:  # type: ignore[no-untyped-def]
    (problem,) = _kpi(write_definition, lines).diagnostics
    assert (problem.code, problem.message) == ("PDCA103", message)
    assert "dictionary" not in problem.message + problem.hint and problem.is_error
