"""The no-op task the benchmarks' definitions use (register with PDCA_TASK_MODULES=bench_tasks)."""

from __future__ import annotations

from typing import TypedDict

from pdcaflow.tasks.sdk.registry import task


class NoopOutputs(TypedDict):
    value: float


@task("bench.noop")
def bench_noop() -> NoopOutputs:
    """Do nothing (a benchmark step)."""
    return {"value": 1.0}
