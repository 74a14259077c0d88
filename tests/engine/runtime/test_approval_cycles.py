"""Approval gates in real in-process cycles: suspend, answer, resume; levels in order; reject; timeouts.

The cycles run as real Prefect flows on the session's embedded server (one start for the whole
session); answers go through ``pdcaflow.engine.runtime.approval_records.answer`` as ``pdca approve`` records them. The
separate-process answer is in ``test_approval_e2e.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from sqlalchemy import select, update

import tests.sample_tasks  # noqa: F401  (registers the testing.* tasks)
from pdcaflow.engine.runtime import approval_records as approvals
from pdcaflow.engine.runtime.approval_gate import ApprovalPending, ApprovalSettings
from pdcaflow.engine.runtime.cycle import CycleFailedError
from pdcaflow.engine.store import open_store, verify_chain
from pdcaflow.engine.store.db import Store
from pdcaflow.engine.store.tables import AuditEvent, Cycle, StepRun
from pdcaflow.flows.runner import run_cycles
from tests.conftest import FIXTURES

pytestmark = pytest.mark.slow
PROCESS = "approved-visits"
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # nothing dialect-specific: one store


@pytest.fixture()
def definition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "approval.yaml"
    path.write_text((FIXTURES / "runnable/approval.yaml").read_text("utf-8"), "utf-8")
    return path


def run(definition: Path, db_url: str, **settings: Any) -> list[dict[str, Any]]:
    return run_cycles(definition, 1, actor="scheduler", db_url=db_url, reason="approval test",
                      approvals=ApprovalSettings(**settings))


def answer(db_url: str, actor: str, *, approve: bool = True,
           reason: str = "checked the plan") -> approvals.ApprovalRequest:
    store = open_store(db_url)
    try:
        with store.transaction() as session:
            return approvals.answer(session, process_id=PROCESS, cycle=1, step_id="plan_visits", actor=actor,
                                    reason=reason, approve=approve)
    finally:
        store.dispose()


def events(db_url: str, prefix: str = "approval.") -> list[tuple[str, str, str | None, dict[str, Any]]]:
    store = open_store(db_url)
    try:
        with store.read() as session:
            rows = session.execute(select(AuditEvent.kind, AuditEvent.actor, AuditEvent.reason, AuditEvent.payload)
                                   .where(AuditEvent.kind.like(f"{prefix}%")).order_by(AuditEvent.seq)).all()
            assert verify_chain(session).ok
        return [tuple(row) for row in rows]  # type: ignore[misc]
    finally:
        store.dispose()


def cycle_row(store: Store) -> tuple[str, str | None, str | None]:
    with store.read() as session:
        cycle = session.scalars(select(Cycle).where(Cycle.process_id == PROCESS)).one()
        return cycle.status, cycle.error, cycle.flow_run_id


def test_levels_in_order_suspend_and_resume(definition: Path, db_url: str) -> None:
    with pytest.raises(ApprovalPending, match=r"level 1/2 \(self\) waits for inspector"):
        run(definition, db_url)
    store = open_store(db_url)
    try:
        status, _, flow_run_id = cycle_row(store)
        with store.read() as session:
            assert [r.step_id for r in approvals.waiting_requests(session)] == ["plan_visits"]
            assert approvals.is_suspended(session, PROCESS, 1)
            assert session.scalars(select(StepRun.step_id)).all() == []  # the proposal is not a recorded output
    finally:
        store.dispose()
    assert status == "running"
    with get_client(sync_client=True) as client:  # the Prefect run stays Paused, not Failed
        assert client.read_flow_run(flow_run_id).state.type.value == "PAUSED"

    with pytest.raises(approvals.AnswerRefused,
                       match=r"'dept-head' may not answer level 1/2 \(self\).*who may: inspector"):
        answer(db_url, "dept-head")  # the department cannot sign before the inspector
    assert answer(db_url, "inspector").level_name == "department"
    with pytest.raises(approvals.AnswerRefused, match="'inspector' may not answer level 2/2"):
        answer(db_url, "inspector")
    with pytest.raises(approvals.AnswerRefused, match="needs --reason"):
        answer(db_url, "dept-head", reason="  ")
    assert answer(db_url, "deputy-head").status == "approved"

    store = open_store(db_url)
    try:  # suspended on another machine: its owner cannot be checked, but a suspended cycle is not busy
        with store.transaction() as session:
            session.execute(update(Cycle).where(Cycle.process_id == PROCESS).values(owner_host="another-host"))
    finally:
        store.dispose()
    result = run(definition, db_url)[0]  # resumes cycle 1; the approved proposal is the step's output
    assert (result["cycle"], result["resumed"]) == (1, True)
    with get_client(sync_client=True) as client:  # the suspended run is superseded by the resuming one
        superseded = client.read_flow_run(flow_run_id).state
    assert superseded.type.value == "CANCELLED" and "superseded" in (superseded.message or "")
    kinds = [(kind, actor, payload.get("level")) for kind, actor, _, payload in events(db_url)]
    assert kinds == [("approval.requested", "scheduler", None), ("approval.approved", "inspector", 1),
                     ("approval.approved", "deputy-head", 2)]
    with pytest.raises(approvals.AnswerRefused, match="no approval is waiting"):
        answer(db_url, "inspector")


def test_rejection_fails_the_step_and_the_next_run_asks_again(definition: Path, db_url: str) -> None:
    with pytest.raises(ApprovalPending):
        run(definition, db_url)
    answer(db_url, "inspector", approve=False, reason="two visits are not enough")
    with pytest.raises(CycleFailedError, match="rejected by inspector at level 'self': two visits are not enough"):
        run(definition, db_url)
    store = open_store(db_url)
    try:
        status, error, _ = cycle_row(store)
    finally:
        store.dispose()
    assert status == "failed" and "rejected by inspector" in (error or "")
    with pytest.raises(ApprovalPending):  # resumed: the step runs again and asks again
        run(definition, db_url)
    requested = [e for e in events(db_url) if e[0] == "approval.requested"]
    assert len(requested) == 2


@SQLITE_ONLY
def test_a_timed_out_level_escalates_then_rejects(
        definition: Path, db_url: str) -> None:
    text = definition.read_text("utf-8").replace(
        "      instructions:", "      timeout: 2s\n      on_timeout: escalate\n      escalate_to: [qa-director]\n"
        "      instructions:")
    definition.write_text(text, "utf-8")
    # nobody answers level 1 in 2 s: escalated (qa-director may answer); nobody again: rejected
    with pytest.raises(CycleFailedError, match="timed out at level 'self'.*on_timeout: reject"):
        run(definition, db_url, wait=30)
    timeouts = [(actor, payload["outcome"], payload["escalate_to"]) for kind, actor, _, payload in events(db_url)
                if kind == "approval.timed_out"]
    assert timeouts == [("pdca", "escalated", ["qa-director"]), ("pdca", "rejected", [])]


@SQLITE_ONLY
def test_auto_answer_records_who_answered_for_whom(definition: Path, db_url: str) -> None:
    result = run(definition, db_url, auto_answer=("demo", "unattended demo"))[0]
    assert result["cycle"] == 1
    answers = [(actor, reason, payload["on_behalf_of"]) for kind, actor, reason, payload in events(db_url)
               if kind == "approval.approved"]
    assert answers == [("demo", "unattended demo", ["inspector"]),
                       ("demo", "unattended demo", ["dept-head", "deputy-head"])]


@SQLITE_ONLY
def test_subprocess_runs_as_its_own_cycle_and_rolls_its_kpis_up(tmp_path: Path, db_url: str,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("visit-parent.yaml", "visit-child.yaml"):
        (tmp_path / name).write_text((FIXTURES / "runnable" / name).read_text("utf-8"), "utf-8")
    result = run_cycles(tmp_path / "visit-parent.yaml", 1, actor="tester", db_url=db_url, reason="sub-process test")[0]
    values = result["kpi_values"]
    # the child served 2 visits: 3.6 + 0.2 x 2 = 4.0, met for the child (min 4.0), missed for the parent (min 4.5)
    assert values["child_satisfaction"]["actual"] == pytest.approx(4.0)
    assert values["child_satisfaction"]["status"] == "missed"
    assert values["child_kpis_missed"]["actual"] == 0
    store = open_store(db_url)
    try:
        with store.read() as session:
            cycles = session.execute(select(Cycle.process_id, Cycle.number, Cycle.status, Cycle.flow_run_id)
                                     .order_by(Cycle.id)).all()
            started = session.execute(select(AuditEvent.reason).where(
                AuditEvent.kind == "cycle.started", AuditEvent.process_id == "visit-child")).scalar_one()
            output = session.execute(select(StepRun.output).where(StepRun.step_id == "field_work")).scalar_one()
    finally:
        store.dispose()
    assert [(p, n, s) for p, n, s, _ in cycles] == [("visit-parent", 1, "completed"), ("visit-child", 1, "completed")]
    assert started == "sub-process of visit-parent cycle 1, step field_work"
    assert output["process"] == "visit-child" and output["params"] == {"visits": 2}
    with get_client(sync_client=True) as client:  # the child's flow run is a subflow of the parent's step
        child_run = client.read_flow_run(cycles[1][3])
        parent_task = client.read_task_run(child_run.parent_task_run_id)
    assert str(parent_task.flow_run_id) == cycles[0][3]


@SQLITE_ONLY
def test_a_gated_step_skipped_by_its_when_needs_no_approval(tmp_path: Path, db_url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = (FIXTURES / "runnable/loop.yaml").read_text("utf-8").replace(
        "    retries: 0\n", "    retries: 0\n    when: params.visits > 5\n    approval: {approvers: [ops-lead]}\n")
    (tmp_path / "loop.yaml").write_text(text, "utf-8")
    result = run_cycles(tmp_path / "loop.yaml", 1, actor="tester", db_url=db_url, reason="skipped gate")[0]
    assert result["kpi_values"]["satisfaction"]["status"] == "no_data"
    assert events(db_url) == []
