"""The records CHECK and ACT exchange: JSON round trips, the statuses' strings, results read back."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from pdcaflow.engine.pdca.check import check
from pdcaflow.engine.pdca.action_records import Action, ActionUpdate, CarryOver, ParamChange, TargetChange
from pdcaflow.engine.pdca.records import (
    ActionChange,
    ActionStatus,
    ControlChart,
    ControlStatus,
    CycleResult,
    Decision,
    KpiResult,
    KpiStatus,
    Record,
    Signal,
    Target,
    Trend,
)
from pdcaflow.engine.pdca.spc_rules import RULES, Side
from pdcaflow.engine.store.tables import ACTION_STATUSES, KPI_STATUSES
from pdcaflow.tasks.sdk.registry import StepContext

numbers = st.floats(allow_nan=False, allow_infinity=False)
maybe_number = st.none() | numbers
maybe_cycle = st.none() | st.integers(min_value=1, max_value=10_000)
words = st.text(max_size=12)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_#/0123456789", min_size=1, max_size=16)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | numbers | words,
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
                           max_leaves=8)

targets = st.builds(Target, min=maybe_number, max=maybe_number)
rule_ids = st.lists(st.sampled_from(list(RULES)), max_size=3).map(tuple)
signals = st.builds(Signal, rule=st.sampled_from(list(RULES)), description=words, cycle=maybe_cycle,
                    cycles=st.lists(maybe_cycle, max_size=4).map(tuple),
                    values=st.lists(numbers, max_size=4).map(tuple),
                    side=st.sampled_from(get_args(Side)), threshold=maybe_number)
charts = st.builds(ControlChart, chart=st.just("xmr"), rules=rule_ids,
                   baseline=st.none() | st.integers(min_value=2, max_value=50), status=st.sampled_from(ControlStatus),
                   message=words, limits=st.none() | st.dictionaries(words, st.integers() | numbers, max_size=4),
                   limit_cycles=st.lists(maybe_cycle, max_size=2).map(tuple), points=st.integers(0, 100),
                   signals=st.lists(signals, max_size=2).map(tuple))
kpi_results = st.builds(KpiResult, actual=maybe_number, target=targets, met=st.none() | st.booleans(),
                        missed=st.none() | st.booleans(), delta=maybe_number, margin=maybe_number,
                        status=st.sampled_from(KpiStatus), unit=words, signals=rule_ids,
                        trend=st.none() | st.sampled_from(Trend), control=st.none() | charts)
decisions = st.builds(Decision, policy=ids, kpi=st.none() | ids, fired=st.booleans(), reason=words,
                      effects=st.lists(words, max_size=3).map(tuple))
actions = st.builds(Action, id=ids, title=words, owner=ids, due=st.dates().map(str), policy=ids, kpi=st.none() | ids,
                    verify_after=st.none() | st.integers(1, 12), opened_cycle=st.integers(1, 500),
                    status=st.sampled_from(ActionStatus), due_days=st.none() | st.integers(0, 90),
                    escalation=st.none() | st.lists(ids, min_size=1, max_size=3).map(tuple),
                    complaint_id=ids, age_hours=numbers)   # extra keys, as an action for one complaint has
updates = st.builds(ActionUpdate, id=ids, change=st.sampled_from(ActionChange),
                    status=st.none() | st.sampled_from(ActionStatus), owner=st.none() | ids,
                    due=st.none() | st.dates().map(str), reason=words, kpi=st.none() | ids)
param_changes = st.builds(ParamChange, old=json_values, new=json_values, policy=ids, clamped=st.booleans())
target_changes = st.builds(TargetChange, old_min=maybe_number, old_max=maybe_number, new_min=maybe_number,
                           new_max=maybe_number, policy=ids)
carry_overs = st.builds(CarryOver, cycle=st.integers(1, 500), params=st.dictionaries(ids, json_values, max_size=3),
                        targets=st.dictionaries(ids, targets, max_size=2),
                        kpis=st.dictionaries(ids, kpi_results, max_size=2), decisions=st.lists(decisions, max_size=2)
                        .map(tuple), actions=st.lists(actions.map(Action.to_json), max_size=2).map(tuple))
records = st.one_of(targets, signals, charts, kpi_results, decisions, actions, updates, param_changes, target_changes,
                    carry_overs)


@given(records)
def test_a_record_reads_back_equal_from_its_json_text(record: Record) -> None:
    text = json.dumps(record.to_json(), allow_nan=False)
    assert type(record).from_json(json.loads(text)) == record
    assert json.loads(text) == record.to_json()   # plain JSON: nothing but dicts, lists, text, numbers


def test_statuses_are_written_as_the_strings_the_store_accepts() -> None:
    assert [status.value for status in KpiStatus] == list(KPI_STATUSES)
    assert [status.value for status in ActionStatus] == list(ACTION_STATUSES)
    assert json.dumps(KpiResult(status=KpiStatus.NO_DATA).to_json()["status"]) == '"no_data"'


def test_optional_action_keys_are_left_out_not_written_as_null() -> None:
    action = Action(id="retail#5/call_back", title="Call back", owner="lead", due="2025-03-15", policy="call_back",
                    kpi=None, verify_after=None, opened_cycle=5)
    assert action.to_json() == {"id": "retail#5/call_back", "title": "Call back", "owner": "lead",
                                "due": "2025-03-15", "policy": "call_back", "kpi": None, "verify_after": None,
                                "opened_cycle": 5, "status": "open"}
    update = ActionUpdate(id="retail#5/call_back", change=ActionChange.ESCALATED, owner="manager", reason="late")
    assert list(update.to_json()) == ["id", "change", "owner", "reason", "kpi"]


def test_a_kpi_check_result_reads_back_into_the_same_json() -> None:
    spec = {"unit": "pts", "target": {"min": 3.5, "max": None}, "actual": 2.0,
            "control": {"chart": "xmr", "rules": ["we1"], "baseline": None}}
    history = [{"cycle": number, "actual": value, "status": "met"}
               for number, value in enumerate([4.1, 4.2, 4.0, 4.1, 4.2, 4.0, 4.1], start=1)]
    output: dict[str, Any] = check(StepContext(process_id="retail", cycle=8, history={"sat": history},
                                               kpi_specs={"sat": spec}))["results"]["sat"]
    record = KpiResult.from_json(output)
    assert record.to_json() == output
    assert record.control is not None and record.control.status == ControlStatus.TESTED
    assert record.signals == ("we1",) and record.control.signals[0].cycles == (8,)


def test_a_result_read_without_a_status_takes_it_from_its_flags_and_keeps_its_cycle() -> None:
    assert KpiResult.from_json({"actual": 4.3, "met": True}).status == KpiStatus.MET
    assert KpiResult.from_json({"actual": 4.0, "missed": True}).status == KpiStatus.MISSED
    assert KpiResult.from_json({"actual": None, "met": True}).status == KpiStatus.NO_DATA
    stored = CycleResult.from_json({"cycle": 3, "kpi": "sat", "actual": 4.0, "status": "missed",
                                    "target": {"min": 4.2, "max": None}})
    assert (stored.cycle, stored.status, stored.target) == (3, KpiStatus.MISSED, Target(min=4.2))


def test_a_record_is_frozen_and_rejects_unknown_keys() -> None:
    decision = Decision(policy="p", kpi=None, fired=False, reason="r", effects=())
    with pytest.raises(ValidationError, match="Instance is frozen"):
        decision.fired = True  # type: ignore[misc]
    with pytest.raises(ValidationError, match="effect\n  Extra inputs are not permitted"):
        Decision.from_json({"policy": "p", "kpi": None, "fired": False, "reason": "r", "effects": [], "effect": "x"})
