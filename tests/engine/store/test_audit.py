"""The event chain itself: canonical form, hashing, round trips through both databases."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from pdcaflow.engine.store import Store, StoreError, append_event, verify_chain
from pdcaflow.engine.store.audit import canonical_json, event_hash, normalise_json
from pdcaflow.engine.store.tables import GENESIS_HASH, AuditEvent

json_scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(st.characters(blacklist_categories=["Cs"]), max_size=30))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
# PostgreSQL text columns cannot hold NUL (its clear error is a StoreError); JSON payloads can.
optional_text = st.none() | st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
                                    min_size=1, max_size=20)


def test_canonical_json_is_sorted_compact_and_keeps_non_ascii() -> None:
    at = datetime(2026, 11, 22, 23, 30, tzinfo=timezone(timedelta(hours=8)))
    assert canonical_json({"b": [1, 2.5], "a": "满意度", "at": at, "due": date(2026, 12, 6)}) == (
        '{"a":"满意度","at":"2026-11-22T15:30:00.000000+00:00","b":[1,2.5],"due":"2026-12-06"}')


@pytest.mark.parametrize("value, problem", [
    (float("nan"), r"Out of range float values are not JSON compliant"),
    (datetime(2026, 1, 1), r"naive datetime 2026-01-01T00:00:00; use a timezone-aware one"),
    (object(), r"object is not JSON serialisable"),
])
def test_values_json_cannot_hold_exactly_are_refused(value: Any, problem: str) -> None:
    with pytest.raises(StoreError, match=rf"^cannot record .*: {problem}"):
        canonical_json({"value": value})


def test_the_hash_is_sha256_of_the_canonical_fields() -> None:
    fields = {"seq": 1, "at": datetime(2026, 1, 1, tzinfo=UTC), "actor": "alice", "kind": "k", "process_id": "p",
              "cycle_number": None, "step_id": None, "payload": {"x": 1}, "reason": None, "prev_hash": GENESIS_HASH}
    expected_text = ('{"actor":"alice","at":"2026-01-01T00:00:00.000000+00:00","cycle_number":null,"kind":"k",'
                     f'"payload":{{"x":1}},"prev_hash":"{GENESIS_HASH}","process_id":"p","reason":null,'
                     '"seq":1,"step_id":null}')
    assert event_hash(fields) == hashlib.sha256(expected_text.encode()).hexdigest()


def test_events_link_from_the_genesis_hash(store: Store) -> None:
    with store.transaction() as session:
        first = append_event(session, kind="k", actor="alice", process_id="p", payload={"n": 1})
        second = append_event(session, kind="k", actor="alice", process_id="p", cycle_number=1, step_id="s",
                              payload={"n": 2}, reason="why")
    assert (first.seq, first.prev_hash, second.seq, second.prev_hash) == (1, GENESIS_HASH, 2, first.hash)
    assert first.at.tzinfo is UTC and second.at >= first.at
    with store.read() as session:
        assert verify_chain(session) == verify_chain(session)
        report = verify_chain(session)
    assert (report.ok, report.count, report.head_hash, report.first_bad_seq, report.what_differs) == (
        True, 2, second.hash, None, None)


def test_an_empty_log_verifies(store: Store) -> None:
    with store.read() as session:
        report = verify_chain(session)
    assert (report.ok, report.count, report.head_hash) == (True, 0, GENESIS_HASH)


def test_an_event_needs_an_actor(store: Store) -> None:
    with pytest.raises(StoreError, match=r"^an audit event needs an actor \(kind cycle.started, process p\)$"):
        with store.transaction() as session:
            append_event(session, kind="cycle.started", actor="", process_id="p", payload={})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.dictionaries(st.text(max_size=10), json_values, max_size=5), reason=optional_text,
       step_id=optional_text, cycle_number=st.none() | st.integers(1, 2**31 - 1))
def test_an_event_reads_back_as_written_and_verifies(store: Store, payload: dict[str, Any], reason: str | None,
                                                     step_id: str | None, cycle_number: int | None) -> None:
    with store.transaction() as session:
        written = append_event(session, kind="test.roundtrip", actor="ü-actor", process_id="p", payload=payload,
                               reason=reason, step_id=step_id, cycle_number=cycle_number)
    with store.read() as session:
        read = session.scalars(select(AuditEvent).where(AuditEvent.seq == written.seq)).one()
        report = verify_chain(session)
    assert read.payload == normalise_json(payload) == json.loads(json.dumps(payload))
    assert (read.at, read.reason, read.step_id, read.cycle_number, read.hash) == (
        written.at, reason, step_id, cycle_number, written.hash)
    assert report.ok and report.head_hash == written.hash


@settings(max_examples=200, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=10), json_values, max_size=5), reason=optional_text | st.just(""),
       step_id=optional_text, cycle_number=st.none() | st.integers(-(2**40), 2**40), actor=st.text(min_size=1),
       kind=st.text(min_size=1, max_size=20), seq=st.integers(1, 2**53),
       at=st.datetimes(timezones=st.just(UTC)))
def test_the_spliced_hash_verify_uses_equals_the_canonical_hash(payload: dict[str, Any], reason: str | None,
                                                                step_id: str | None, cycle_number: int | None,
                                                                actor: str, kind: str, seq: int, at: datetime) -> None:
    from pdcaflow.engine.store.audit import canonical_at, content_hash

    fields = {"seq": seq, "at": at, "actor": actor, "kind": kind, "process_id": "p", "cycle_number": cycle_number,
              "step_id": step_id, "payload": normalise_json(payload), "reason": reason, "prev_hash": GENESIS_HASH}
    spliced = content_hash(seq, canonical_at(at), actor, kind, "p", cycle_number, step_id, canonical_json(payload),
                           reason, GENESIS_HASH)
    assert spliced == event_hash(fields)
