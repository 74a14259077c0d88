"""Approval requests in the audit store alone (no cycle, no Prefect): escalation, who may answer, timeouts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pdcaflow.engine.runtime import approval_records as approvals
from pdcaflow.engine.definition.model import Approval
from pdcaflow.engine.store import open_store, verify_chain
from pdcaflow.engine.store.audit import utc_now

ESCALATING = Approval.model_validate({"levels": [{"name": "self", "approvers": ["ann"]},
                                                 {"name": "department", "approvers": ["bob"]}],
                                      "timeout": "1h", "on_timeout": "escalate", "escalate_to": ["director"]})


def test_escalated_level_is_answered_by_escalate_to_and_a_late_one_is_rejected(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'pdca.db'}")
    where = {"process_id": "p", "cycle": 1, "step_id": "plan"}
    try:
        with store.transaction() as session:
            request = approvals.record_request(session, **where, actor="runner", approval=ESCALATING,
                                               outputs={"quota": 3})
            assert (request.approvers, request.outputs) == (["ann"], {"quota": 3})
            later = utc_now() + timedelta(hours=1, seconds=1)
            request = approvals.settle_timeouts(session, request, now=later)
            assert (request.escalated, request.approvers) == (True, ["ann", "director"])
            assert approvals.settle_timeouts(session, request, now=later).escalated  # not due again yet
        with store.transaction() as session:
            request = approvals.answer(session, **where, actor="director", reason="ann is away", approve=True)
        assert (request.level_name, request.escalated, request.approvers) == ("department", False, ["bob"])
        with store.transaction() as session, pytest.raises(approvals.AnswerRefused, match="may not answer level 2/2"):
            approvals.answer(session, **where, actor="director", reason="again", approve=True)
        with store.transaction() as session:
            request = approvals.latest_request(session, "p", 1, "plan")
            assert request is not None
            much_later = utc_now() + timedelta(hours=3)
            request = approvals.settle_timeouts(session, request, now=much_later)  # escalated, then rejected
        assert request.status == "rejected"
        outcomes = [a["outcome"] for a in request.answers if a["kind"] == approvals.TIMED_OUT]
        assert outcomes == ["escalated", "escalated", "rejected"]
        with store.read() as session:
            assert approvals.waiting_requests(session) == []
            assert verify_chain(session).ok
    finally:
        store.dispose()


def test_one_person_signs_one_level_even_when_listed_on_two(tmp_path: Path) -> None:
    approval = Approval.model_validate({"levels": [{"name": "self", "approvers": ["ann", "bob"]},
                                                   {"name": "company", "approvers": ["ann", "carl"]}]})
    store = open_store(f"sqlite:///{tmp_path / 'pdca.db'}")
    where = {"process_id": "p", "cycle": 1, "step_id": "plan"}
    try:
        with store.transaction() as session:
            approvals.record_request(session, **where, actor="runner", approval=approval, outputs={})
        with store.transaction() as session:
            approvals.answer(session, **where, actor="ann", reason="mine is fine", approve=True)
        with store.transaction() as session, pytest.raises(approvals.AnswerRefused, match="already signed an earlier"):
            approvals.answer(session, **where, actor="ann", reason="and the company agrees", approve=True)
        with store.transaction() as session:
            request = approvals.answer(session, **where, actor="carl", reason="agreed", approve=True)
        assert request.status == "approved" and request.deadline is None
    finally:
        store.dispose()


def test_the_audit_log_shows_an_approval_timeout_in_human_units() -> None:
    payload = {"levels": [{"name": "self", "approvers": ["sales-manager"]}], "timeout_s": 259200.0,
               "on_timeout": "reject"}
    assert approvals.SUMMARIES[approvals.REQUESTED](payload) == (
        "asks self (sales-manager), 3 days per level, on timeout reject")
