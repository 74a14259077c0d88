"""Round trips of the review's data forms: events -> export (JSON lines, CSV) -> verify; dates; summaries."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pdcaflow.engine.store.access import ReviewError
from pdcaflow.engine.review.events import parse_moment, summary
from pdcaflow.engine.review.export import export_trail, verify_export
from pdcaflow.engine.store import append_event, open_store, verify_chain

json_scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)
# "" and None are written alike in CSV: the verify of a CSV export must still match the hash.
text_or_none = st.none() | st.just("") | st.text(st.characters(blacklist_categories=["Cs"],
                                                               blacklist_characters="\x00"), min_size=1, max_size=15)
event = st.fixed_dictionaries({"payload": st.dictionaries(st.text(max_size=8), json_values, max_size=4),
                               "reason": text_or_none, "step_id": text_or_none,
                               "cycle_number": st.none() | st.integers(1, 2**31 - 1)})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=st.lists(event, min_size=1, max_size=6), encoding=st.sampled_from(["jsonl", "csv"]))
def test_any_events_survive_an_export_and_verify_with_the_same_head(events: list[dict[str, Any]],
                                                                    encoding: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'pdca.db'}")
        try:
            with store.transaction() as session:
                for fields in events:
                    append_event(session, kind="k", actor="ü", process_id="p", **fields)
            with store.read() as session:
                head = verify_chain(session).head_hash
                manifest = export_trail(session, Path(folder) / "out", encoding, actor="t", store="s")
        finally:
            store.dispose()
        check = verify_export(Path(folder) / "out")
    assert manifest["events"]["head_hash"] == head
    assert check.ok and check.report.head_hash == head and check.report.count == len(events), check


@pytest.mark.parametrize("text, end, expected", [
    ("2026-11-22", False, datetime(2026, 11, 22, tzinfo=UTC)),
    ("2026-11-22", True, datetime(2026, 11, 23, tzinfo=UTC)),  # --until a date: the whole day
    ("2026-11-22T14:30", False, datetime(2026, 11, 22, 14, 30, tzinfo=UTC)),
    ("2026-11-22T14:30:00+08:00", False, datetime(2026, 11, 22, 6, 30, tzinfo=UTC)),
    ("2026-11-22T14:30:00Z", False, datetime(2026, 11, 22, 14, 30, tzinfo=UTC)),
    ("2026-11-22 14:30", True, datetime(2026, 11, 22, 14, 30, 0, 1, tzinfo=UTC)),  # inclusive
])
def test_since_and_until_accept_iso_dates_and_datetimes(text: str, end: bool, expected: datetime) -> None:
    assert parse_moment(text, "--since", end=end) == expected


@pytest.mark.parametrize("text", ["yesterday", "22/11/2026", "2026-11-31", ""])
def test_a_bad_moment_is_a_review_error(text: str) -> None:
    with pytest.raises(ReviewError, match=rf"^--until '{text}' is not an ISO date or datetime"):
        parse_moment(text, "--until")


def test_summaries_never_fail_on_an_unexpected_payload() -> None:
    assert summary("kpi.result", {"kpi": "x", "actual": 3.5, "target": {"min": 4}, "status": "missed",
                                  "delta": -0.5}) == "x 3.5 vs >= 4: missed (Δ -0.5)"
    assert summary("decision", {"policy": "p", "fired": True, "effects": "not a list"}).startswith("p fired")
    assert summary("cycle.resumed", {"previous": None}) == "previous: -"  # shown raw, as key: value pairs
    assert summary("something.new", {"b": 1, "a": [1, 2]}) == "b: 1; a: 1, 2"
