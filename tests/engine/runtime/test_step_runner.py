"""The engine's step wrapper and compiler without Prefect: rendering, conversion, outputs, order, params."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypedDict

import pytest
from sqlalchemy import select

from pdcaflow.engine.definition.compile import PlannedStep, compile_plan, planned_step
from pdcaflow.engine.runtime.cycle import begin_cycle
from pdcaflow.engine.runtime.starting_values import merge_params
from pdcaflow.engine.definition.model import Step
from pdcaflow.engine.runtime.step_runner import StepError, call_task, kpi_actuals, render_value, should_run
from pdcaflow.engine.store import open_store
from pdcaflow.engine.store.tables import AuditEvent, StepRun
from pdcaflow.engine.definition.validate import validate_file
import tests.sample_tasks  # noqa: F401  (registers testing.* for the runnable fixture)
from pdcaflow.tasks.sdk.registry import StepContext, describe, registry, task
from tests.conftest import DEFINITIONS, FIXTURES

CONTEXT: dict[str, Any] = {"params": {"visits": 3, "alpha": 0.4}, "steps": {"a": {"rows": [1, 2]}},
                           "previous": {}, "kpis": {}, "cycle": {"number": 2}, "process": {"id": "p"}}


class Out(TypedDict):
    total: float


def _step(**values: Any) -> PlannedStep:
    return planned_step(Step.model_validate({"id": "s", "phase": "do", "uses": "x.y", **values}))


def _spec(function: Any) -> Any:
    return describe(function, "x.y")


def test_render_value_keeps_types_and_nests() -> None:
    value = {"n": "${{ params.visits }}", "label": "v=${{ params.visits }}", "rows": ["${{ steps.a.rows }}", 5]}
    assert render_value(value, CONTEXT) == {"n": 3, "label": "v=3", "rows": [[1, 2], 5]}


def test_call_task_converts_values_and_passes_the_context() -> None:
    seen: dict[str, Any] = {}

    def add(context: StepContext, *, count: int, factor: float = 1.0) -> Out:
        seen["context"] = context
        return {"total": count * factor}

    step = _step(**{"with": {"count": "${{ params.visits }}", "factor": "2"}})
    outputs = call_task(step, _spec(add), CONTEXT, StepContext("p", 2))
    assert outputs == {"total": 6.0} and seen["context"].cycle == 2


@pytest.mark.parametrize(
    ("body", "message", "retryable"),
    [
        (lambda **_: (_ for _ in ()).throw(RuntimeError("network down")), "failed: RuntimeError: network down", True),
        (lambda **_: (_ for _ in ()).throw(NotImplementedError("later")), "is not implemented: later", False),
        (lambda **_: [1, 2], "returned list, not a mapping", False),
        (lambda **_: {"total": float("nan")}, "not JSON data", False),
        (lambda **_: {"other": 1}, "did not return total", False),
    ],
)
def test_task_failures_become_step_errors(body: Any, message: str, retryable: bool) -> None:
    def wrapped(count: int) -> Out:
        return body(count=count)  # type: ignore[no-any-return]

    with pytest.raises(StepError, match=message) as caught:
        call_task(_step(**{"with": {"count": 1}}), _spec(wrapped), CONTEXT, StepContext("p", 1))
    assert caught.value.retryable is retryable


def test_the_hook_before_the_task_gets_every_input_converted_with_the_defaults() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def add(context: StepContext, *, count: int, factor: float = 1.0) -> Out:
        calls.append(("task", {"count": count}))
        return {"total": count * factor}

    def hook(*, task: str, inputs: Any) -> None:
        calls.append((task, dict(inputs)))

    step = _step(**{"with": {"count": "${{ params.visits }}"}})
    assert call_task(step, _spec(add), CONTEXT, StepContext("p", 2), hook) == {"total": 3.0}
    assert calls == [("x.y", {"count": 3, "factor": 1.0}), ("task", {"count": 3})]


def test_a_failing_hook_fails_the_step_before_the_task_runs() -> None:
    def add(*, count: int) -> Out:
        raise AssertionError("the task must not run")

    def hook(*, task: str, inputs: Any) -> None:
        raise ValueError("2026-01 is within the generated history")

    with pytest.raises(StepError, match="before task 'x.y': ValueError: 2026-01 is within") as caught:
        call_task(_step(**{"with": {"count": 1}}), _spec(add), CONTEXT, StepContext("p", 1), hook)
    assert caught.value.retryable is True


def test_a_value_that_does_not_fit_is_not_retried() -> None:
    def needs_int(count: int) -> Out:
        return {"total": count}

    with pytest.raises(StepError, match=r"`with.count` = 'many'") as caught:
        call_task(_step(**{"with": {"count": "many"}}), _spec(needs_int), CONTEXT, StepContext("p", 1))
    assert caught.value.retryable is False


def test_when_decides_and_bad_when_is_a_step_error() -> None:
    assert should_run(_step(when="cycle.number > 1"), CONTEXT) is True
    assert should_run(_step(when="${{ params.visits > 5 }}"), CONTEXT) is False
    with pytest.raises(StepError, match="could not be evaluated"):
        should_run(_step(when="params.missing > 1"), CONTEXT)


def test_kpi_actuals_read_sources_and_refuse_non_numbers() -> None:
    definition = validate_file(FIXTURES / "runnable/loop.yaml").definition
    assert kpi_actuals(definition, {"serve": {"satisfaction": 4.1}}) == {"satisfaction": 4.1}
    assert kpi_actuals(definition, {"serve": {"satisfaction": "high"}}) == {"satisfaction": None}
    assert kpi_actuals(definition, {}) == {"satisfaction": None}


def test_plan_orders_each_phase_by_its_dependencies() -> None:
    plan = compile_plan(validate_file(DEFINITIONS / "retail-customer-service.yaml"))
    order = [step.id for step in plan.steps]
    assert order.index("know_customers") < order.index("identify_customers") < order.index("forecast_demand")
    assert plan.step("set_strategy").waits_for == ("forecast_demand", "identify_customers")
    assert plan.step("know_customers").retries == 3 and plan.step("know_customers").retry_delay_seconds == 300
    assert [phase.phase for phase in plan.phases] == ["plan", "do", "check", "act"]
    assert len(plan.sha256) == 64


def test_merge_params_keeps_act_changes_and_follows_the_yaml() -> None:
    declared = {"visits": {"A": 4, "B": 2}, "new": 1, "alpha": 0.4}
    carried = {"visits": {"A": 4, "B": 3}, "alpha": 0.5, "removed": 9}
    assert merge_params(declared, carried) == {"visits": {"A": 4, "B": 3}, "new": 1, "alpha": 0.5}


class Big(TypedDict):
    blob: str


@task("testing.big_output")
def big_output(*, megabytes: float = 5.0) -> Big:
    """Return ``megabytes`` MB of text as one output (what a query without a row limit could return)."""
    return {"blob": "x" * int(megabytes * 1_000_000)}


def test_outputs_over_the_size_cap_fail_the_step_clearly() -> None:
    step = _step(**{"with": {"megabytes": 5}})
    with pytest.raises(StepError, match=r"^step 's': task 'x\.y' returned 5\.0 MB of outputs; the audit trail "
                                        r"records at most 1\.0 MB per step"):
        call_task(step, _spec(big_output), CONTEXT, StepContext("p", 2))
    assert call_task(_step(**{"with": {"megabytes": 0.9}}), _spec(big_output), CONTEXT,
                     StepContext("p", 2))["blob"] == "x" * 900_000


BIG_PROCESS = """\
id: big-outputs
title: Big outputs (test)
owner: lab
kpis:
  - id: size
    unit: bytes
    target: {min: 1}
    source: big.blob
steps:
  - id: big
    phase: do
    uses: testing.big_output
    with: {megabytes: 5}
  - id: evaluate
    phase: check
    uses: kpi.check
  - id: improve
    phase: act
    uses: improve.apply_policies
"""


def test_a_step_over_the_cap_records_its_failure_and_no_output(tmp_path: Path, db_url: str) -> None:
    definition = tmp_path / "big.yaml"
    definition.write_text(BIG_PROCESS, encoding="utf-8")
    store = open_store(db_url)
    try:
        cycle_run = begin_cycle(compile_plan(validate_file(definition)), store, registry(), actor="t", reason="test")
        with pytest.raises(StepError, match=r"step 'big': task 'testing\.big_output' returned 5\.0 MB of outputs"):
            cycle_run.execute_step("big", 1)
        with store.read() as session:
            runs = [(run.status, run.output) for run in session.scalars(select(StepRun))]
            largest = max(len(json.dumps(event.payload)) for event in session.scalars(select(AuditEvent)))
    finally:
        store.dispose()
    assert runs == [("failed", None)]
    assert largest < 10_000  # no event carries the 5 MB either
