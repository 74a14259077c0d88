"""Approval gates and sub-processes in definitions: the YAML shape, loops of any depth, rolled-up KPI sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from pdcaflow.engine.runtime.approval_records import fold
from pdcaflow.engine.definition.model import Approval
from pdcaflow.engine.definition.subprocesses import rollup
from pdcaflow.engine.definition.validate import validate_paths
from tests.conftest import FIXTURES

LOOP = """id: proc-{name}
title: Loop {name}
owner: team
kpis:
  - {{id: k, unit: n, target: {{min: 1}}, source: sub.{source}}}
steps:
  - {{id: sub, phase: do, uses: "process:proc-{child}"}}
  - {{id: evaluate, phase: check, uses: kpi.check}}
  - {{id: improve, phase: act, uses: improve.apply_policies}}
"""


def test_one_level_form_is_a_level_named_approval() -> None:
    approval = Approval.model_validate({"approvers": ["sales-manager"], "timeout": "3d"})
    assert [(level.name, level.approvers) for level in approval.signing_levels] == [("approval", ["sales-manager"])]
    assert (approval.timeout, approval.on_timeout) == (259200.0, "reject")


def test_a_loop_through_three_processes_is_found(tmp_path: Path) -> None:
    for name, child in (("a", "b"), ("b", "c"), ("c", "a")):
        (tmp_path / f"{name}.yaml").write_text(LOOP.format(name=name, child=child, source="met"), "utf-8")
    report = validate_paths([tmp_path / "a.yaml"])
    assert [(d.code, d.message) for d in report.diagnostics] == [
        ("PDCA223", "sub-process 'proc-b' runs 'proc-a' in turn: proc-a -> proc-b -> proc-c -> proc-a")]


def test_kpi_source_must_name_a_kpi_the_sub_process_has(tmp_path: Path) -> None:
    (tmp_path / "visit-child.yaml").write_text((FIXTURES / "runnable/visit-child.yaml").read_text("utf-8"), "utf-8")
    good = LOOP.format(name="p", child="x", source="kpis.satisfaction.actual").replace("proc-x", "visit-child")
    (tmp_path / "parent.yaml").write_text(good, "utf-8")
    assert validate_paths([tmp_path / "parent.yaml"]).ok
    (tmp_path / "parent.yaml").write_text(good.replace("kpis.satisfaction", "kpis.happiness"), "utf-8")
    report = validate_paths([tmp_path / "parent.yaml"])
    assert [(d.code, d.message) for d in report.diagnostics] == [
        ("PDCA245", "KPI 'k' reads 'sub.kpis.happiness.actual': sub-process 'visit-child' has no KPI 'happiness' "
                    "(its KPIs: satisfaction)")]


def test_rollup_counts_the_child_kpis_by_status() -> None:
    summary = {"process": "child", "cycle": 3, "params": {"visits": 2}, "kpi_values": {
        "a": {"actual": 1.0, "status": "met"}, "b": {"actual": None, "status": "no_data"},
        "c": {"actual": 9.0, "status": "missed"}, "d": {"actual": 2.0, "status": "met"}}}
    assert {key: value for key, value in rollup(summary).items() if key != "kpis"} == {
        "process": "child", "cycle": 3, "met": 2, "missed": 1, "no_data": 1, "params": {"visits": 2}}


def test_answers_to_an_older_request_do_not_count_and_a_step_outcome_consumes_it() -> None:
    levels = [{"name": "self", "approvers": ["ann"]}]
    requested = {"levels": levels, "timeout_s": None, "on_timeout": "reject", "outputs": {"x": 1}}
    rows = [(1, "approval.requested", None, "sys", None, requested),
            (2, "approval.rejected", None, "ann", "no", {"request_seq": 1, "level": 1}),
            (3, "step.failed", None, "sys", None, {}),
            (4, "approval.requested", None, "sys", None, requested),
            (5, "approval.approved", None, "ann", "late answer to the first", {"request_seq": 1, "level": 1})]
    request = fold("p", 1, "s", rows)
    assert request is not None and (request.seq, request.status, request.pending) == (4, "pending", True)
    consumed = fold("p", 1, "s", rows[:3])
    assert consumed is not None and consumed.consumed and not consumed.pending


@pytest.mark.parametrize("approval", [{"approvers": ["a"], "on_timeout": "escalate", "timeout": "1d"},
                                      {"approvers": ["a"], "escalate_to": ["b"]}])
def test_escalation_needs_its_keys_together(approval: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="escalate"):
        Approval.model_validate(approval)
