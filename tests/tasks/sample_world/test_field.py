"""The world as the field: ``pdca demo``'s hook simulates the month just before ``service.deliver`` reads it."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from pdcaflow.tasks.retail.service import deliver
from pdcaflow.tasks.sample_world import generate_world, reference_plan, simulate_before_delivery
from pdcaflow.tasks.sdk.registry import StepContext, registry
from pdcaflow.tasks.sdk.sources import write_table

CONTEXT = StepContext(process_id="retail", cycle=3)
INITIAL_VISITS = {"A": 4, "B": 2, "C": 1, "D": 1}


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("field") / "retail"
    generate_world(directory, customers=200, seed=5)
    return directory


@pytest.fixture
def world(small_world: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "retail"
    shutil.copytree(small_world, copy)
    return copy


def deliver_inputs(**given: Any) -> dict[str, Any]:
    """The inputs the engine hands the hook: every parameter of service.deliver, defaults filled in."""
    spec = registry()["service.deliver"]
    return {param.name: given.get(param.name, param.default) for param in spec.params}


def test_the_month_is_simulated_before_the_step_reads_it_and_again_on_a_retry(world: Path, tmp_path: Path) -> None:
    plan = str(write_table(reference_plan(world, "2026-01"), tmp_path / "plan.parquet"))
    given = {"plan": plan, "source": str(world), "visits_per_month": INITIAL_VISITS, "complaint_handlers": 2}
    simulate_before_delivery(task="service.deliver", inputs=deliver_inputs(**given))
    outputs = deliver(CONTEXT, **given)
    assert outputs["period"] == "2026-01" and outputs["operations"] == str(world / "operations")
    assert (world / "operations" / "2026-01" / "surveys.parquet").is_file()
    assert outputs["visits_planned"] >= 200 and 80 < (outputs["visit_plan_completion"] or 0) <= 100
    assert 0 <= (outputs["stockout_rate"] or 0) < 20 and 90 < (outputs["on_time_delivery_rate"] or 0) <= 100
    simulate_before_delivery(task="service.deliver", inputs=deliver_inputs(**given))
    assert deliver(CONTEXT, **given) == outputs              # a retried step re-simulates the same month


def test_other_tasks_and_sources_that_are_no_world_are_left_alone(world: Path, tmp_path: Path) -> None:
    plan = str(write_table(reference_plan(world, "2026-01"), tmp_path / "plan.parquet"))
    simulate_before_delivery(task="feedback.check", inputs={"source": str(world), "period": "2026-01"})
    simulate_before_delivery(task="service.deliver",
                             inputs=deliver_inputs(plan=plan, source=str(tmp_path), visits_per_month=INITIAL_VISITS))
    simulate_before_delivery(task="service.deliver", inputs=deliver_inputs(
        plan=plan, source="connection:operations", visits_per_month=INITIAL_VISITS))
    assert not (world / "operations").exists() and not (tmp_path / "operations").exists()
