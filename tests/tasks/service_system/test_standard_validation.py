"""`pdca validate` refuses a vague service standard (PDCA268) at its line, saying what to write instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdcaflow.engine.definition.validate import validate_paths
from tests.conftest import run_pdca

DEFINITION = """\
id: mechanism-validation
title: service.standards validation
owner: service-centre
kpis:
  - id: standards_measurable
    unit: "%"
    target: {{min: 100}}
    source: establish_mechanism.measurable_pct
steps:
  - id: establish_mechanism
    phase: plan
    uses: service.standards
    with:
      standards:
        - id: hotline_answer
          description: The hotline answers within 20 seconds.
{standard}
  - id: evaluate
    phase: check
    uses: kpi.check
    needs: [establish_mechanism]
  - id: improve
    phase: act
    uses: improve.apply_policies
"""
GOOD = """\
          measure:
            table: hotline_calls
            share_if:
              - {column: answered, op: "==", value: true}
              - {column: wait_seconds, op: "<=", value: 20}
          unit: "%"
          target: {min: 90}
          owner: service-centre"""
MEASURE = "          measure: {table: hotline_calls, share_if: {column: wait_seconds, op: \"<=\", value: 20}}\n"
REST = '          unit: "%"\n          target: {min: 90}\n          owner: service-centre'


def _diagnostics(folder: Path, standard: str) -> list[tuple[str, int, str, str]]:
    path = folder / "process.yaml"
    path.write_text(DEFINITION.format(standard=standard), encoding="utf-8")
    return [(d.code, d.line, d.message, d.hint) for d in validate_paths([path]).diagnostics]


def test_a_measurable_standard_is_valid(tmp_path: Path) -> None:
    assert _diagnostics(tmp_path, GOOD) == []


# line 17 is the standard's `measure`, 18 `unit`, 19 `target`, 20 `owner` (the id is on line 15)
@pytest.mark.parametrize(("standard", "line", "message", "hint"), [
    ("          measure: replies promptly\n" + REST, 17,
     "`measure` is words ('replies promptly'), not something to count: name a table and one aggregate",
     "measure: {table: hotline_calls, share_if: [{column: wait_seconds"),
    ("          measure: {table: hotline_calls, avg: wait_seconds}\n" + REST.replace('"%"', "seconds"), 17,
     "unknown function 'avg' (did you mean 'mean'?)", "count sum mean min max median nunique p90"),
    ("          measure: {table: calls, mean: wait_seconds}\n" + REST.replace('"%"', "seconds"), 17,
     "no operations table 'calls'", "the tables of a quarter: deliveries, bucket_returns, hotline_calls"),
    ("          measure: {table: hotline_call, mean: wait_seconds}\n" + REST.replace('"%"', "seconds"), 17,
     "no operations table 'hotline_call' (did you mean 'hotline_calls'?)", "the tables of a quarter:"),
    ("          measure: {table: hotline_calls, mean: wait_secs}\n" + REST.replace('"%"', "seconds"), 17,
     "table hotline_calls has no column 'wait_secs' (did you mean 'wait_seconds'?)",
     "its columns: call_id, customer_id, received_at, wait_seconds, answered, topic"),
    ("          measure: {table: hotline_calls}\n" + REST, 17,
     "`measure` has no aggregate: a standard is measured by one", "one of: count sum mean"),
    ("          measure: {table: hotline_calls, mean: wait_seconds, max: wait_seconds}\n" + REST, 17,
     "`measure` has 2 aggregates (mean, max): a standard is measured by one", "one of: count sum mean"),
    (MEASURE + "          target: {min: 90}\n          owner: service-centre", 15,
     "no unit: a number without a unit cannot be compared with its target",
     "the unit the aggregate gives: \"%\" for share_if"),
    ("          measure: {table: hotline_calls, mean: wait_seconds}\n" + REST, 18,
     "unit '%' but `mean` does not give a share", "a percent of rows comes from share_if"),
    (MEASURE + REST.replace('"%"', "seconds"), 18,
     "share_if gives a percent (0-100), not 'seconds'", "write unit: \"%\""),
    ("          measure: {table: hotline_calls, median: wait_seconds}\n" + REST.replace('"%"', "percent"), 18,
     "unit 'percent' but `median` does not give a share", "a percent of rows comes from share_if"),
    ("          measure: [hotline_calls, wait_seconds]\n" + REST, 17,
     "`measure` is ['hotline_calls', 'wait_seconds'], not a table and one aggregate",
     "measure: {table: hotline_calls, share_if: [{column: wait_seconds"),
    (MEASURE + '          unit: "%"\n          owner: service-centre', 15,
     "no target: nothing says when it is met", "target: {min: 90} (at least) or {max: 20} (at most)"),
    (MEASURE + REST.replace("{min: 90}", "90"), 19,
     "target 90 does not say which way: at least or at most", "target: {min: 90} (at least)"),
    (MEASURE + REST.replace("{min: 90}", '"90 %"'), 19,
     "target '90 %' is not a number (units belong in `unit`)", "target: {min: 90} (at least)"),
    (MEASURE + REST.replace("{min: 90}", "{at_least: 90}"), 19,
     "a target has no key 'at_least'", "target: {min: 90} (at least)"),
    (MEASURE + REST.replace("{min: 90}", "{min: 90, max: 80}"), 19,
     "target min 90 is above its max 80: it can never be met", "target: {min: 90} (at least)"),
    (MEASURE + REST.replace("          owner: service-centre", "          owner: \"\""), 15,
     "no owner: nobody is accountable for it", "the role accountable for it, e.g. owner: service-centre"),
], ids=["words", "unknown-function", "unknown-table", "misspelt-table", "unknown-column", "no-aggregate",
        "two-aggregates", "no-unit", "percent-of-a-mean", "share-in-seconds", "percent-of-a-median",
        "measure-is-a-list", "no-target", "bare-target",
        "target-with-unit", "target-key", "target-min-above-max", "no-owner"])
def test_a_vague_standard_is_reported_at_its_line(tmp_path: Path, standard: str, line: int, message: str,
                                                   hint: str) -> None:
    [(code, at, said, hinted)] = _diagnostics(tmp_path, standard)
    assert (code, at) == ("PDCA268", line)
    assert said == f"task 'service.standards': standard 'hotline_answer': {message}"
    assert hinted.startswith(hint)


def test_every_standard_is_checked_and_ids_are_unique(tmp_path: Path) -> None:
    standard = GOOD + """
        - id: hotline_answer
          description: Twice.
          measure: {table: hotline_calls, count: "*"}
          unit: calls
          target: {max: 1000}
          owner: service-centre
        - id: reply
          description: We reply promptly.
          measure: replies promptly"""
    found = _diagnostics(tmp_path, standard)
    # sorted by line: the second id (line 25); what 'reply' lacks, at the standard (31); its measure (33)
    assert [(code, line) for code, line, _, _ in found] == [("PDCA268", 25), ("PDCA268", 31), ("PDCA268", 31),
                                                            ("PDCA268", 31), ("PDCA268", 33)]
    assert [message.split(": ", 1)[1] for _, _, message, _ in found] == [
        "standard 'hotline_answer' is listed twice",
        "standard 'reply': no unit: a number without a unit cannot be compared with its target",
        "standard 'reply': no target: nothing says when it is met",
        "standard 'reply': no owner: nobody is accountable for it",
        "standard 'reply': `measure` is words ('replies promptly'), not something to count: name a table and "
        "one aggregate"]


def test_an_expression_is_checked_when_the_step_runs(tmp_path: Path) -> None:
    text = GOOD.replace("{min: 90}", "{min: \"${{ params.answer_target }}\"}")
    path = tmp_path / "process.yaml"
    path.write_text(DEFINITION.format(standard=text).replace("kpis:", "params: {answer_target: 90}\nkpis:", 1),
                    encoding="utf-8")
    assert [d.code for d in validate_paths([path]).diagnostics] == []


def test_an_expression_in_a_measure_still_has_its_unit_checked(tmp_path: Path) -> None:
    text = MEASURE.replace("value: 20", "value: \"${{ params.wait }}\"") + REST.replace('"%"', "seconds")
    path = tmp_path / "process.yaml"
    path.write_text(DEFINITION.format(standard=text).replace("kpis:", "params: {wait: 20}\nkpis:", 1),
                    encoding="utf-8")
    # the unit is on line 19 (the params line comes first)
    assert [(d.code, d.line, d.message) for d in validate_paths([path]).diagnostics] == [
        ("PDCA268", 19, "task 'service.standards': standard 'hotline_answer': share_if gives a percent (0-100), "
                        "not 'seconds'")]


def test_pdca_validate_prints_the_problem_and_the_hint(tmp_path: Path) -> None:
    path = tmp_path / "process.yaml"
    path.write_text(DEFINITION.format(standard="          measure: replies promptly\n" + REST), encoding="utf-8")
    result = run_pdca("validate", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert f"{path.name}:17:20: PDCA268 task 'service.standards': standard 'hotline_answer': `measure` is " \
           "words ('replies promptly')" in result.stderr
    assert "hint: measure: {table: hotline_calls, share_if: [{column: wait_seconds, op: \"<=\", value: 20}]}" \
        in result.stderr


CONTROL = """\
id: control-validation
title: service.control validation
owner: service-centre
kpis:
  - id: satisfaction
    unit: score (1-5)
    target: {{min: 4.3}}
    source: control.satisfaction_mean
steps:
  - id: control
    phase: check
    uses: service.control
    with:
      mechanism: mechanism.json
      source: quarters
{with_}
  - id: evaluate
    phase: check
    uses: kpi.check
    needs: [control]
  - id: improve
    phase: act
    uses: improve.apply_policies
"""


@pytest.mark.parametrize(("with_", "found"), [
    ("      period: 2026-Q2\n      levels: {team: 1, company: 2}", []),
    ("      period: 2026-06", [("PDCA250", 16, "task 'service.control': period '2026-06' is not a quarter")]),
    ("      period: 2026-Q2\n      levels: {team: 0, company: 0}",
     [("PDCA250", 17, "task 'service.control': inspection level weights are 0 or more, and not all 0")]),
    ("      period: 2026-Q2\n      survey_scale: 1",
     [("PDCA250", 17, "task 'service.control': survey_scale 1: the top of the satisfaction scale is at least 2")]),
    ("      period: 2026-Q2\n      levels: [team, department]", [("PDCA210", 17, None)]),
], ids=["valid", "period-not-a-quarter", "weights-all-zero", "scale-of-one", "unknown-level"])
# line 16 is `period`, 17 the key after it
def test_control_values_are_checked_at_validation(tmp_path: Path, with_: str,
                                                  found: list[tuple[str, int, str | None]]) -> None:
    path = tmp_path / "process.yaml"
    path.write_text(CONTROL.format(with_=with_), encoding="utf-8")
    diagnostics = validate_paths([path]).diagnostics
    assert [(d.code, d.line, d.message if message else None) for d, (_, _, message) in zip(diagnostics, found)] \
        == found and len(diagnostics) == len(found)
