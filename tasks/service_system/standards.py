"""service.standards: the operating mechanism of the nine-element system (measurable standards, owned).

The PLAN step "establish the operating mechanism": the service standards in
force, each measurable (one table of a quarter's operations and one aggregate
written as ``data.query`` writes them, a unit, a target, an owner), who runs each
platform of the system, and how each standard fared last quarter (the baseline).
``pdca validate`` refuses a vague standard (PDCA268); the rules are in
:mod:`pdcaflow.tasks.service_system.standard_spec`. The measuring is in
:mod:`pdcaflow.tasks.service_system.standard_steps`, imported when the task runs, so
that reading the signature (``pdca validate``) does not import pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from pdcaflow.tasks.sdk.periods import is_quarter
from pdcaflow.tasks.sdk.registry import ProjectSource, StepContext, task
from pdcaflow.tasks.service_system.standard_spec import Problem, standard_problems


class ServiceStandard(BaseModel):
    """One published service standard: ``{id, description, measure, unit, target, owner}``.

    ``measure``, ``unit``, ``target`` and ``owner`` are typed loosely on purpose: what
    makes a standard measurable is checked by the task's own check (PDCA268), whose
    messages say what to write, rather than as a type error.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="short name, e.g. 'hotline_answer'")
    description: str = Field(min_length=1, description="what the customer is promised, in words")
    measure: Any = Field(
        default=None, description="{table: <operations table>, <one aggregate>}, e.g. "
                                  "{table: hotline_calls, share_if: [{column: wait_seconds, op: '<=', value: 20}]}")
    unit: str | None = Field(default=None, description="the aggregate's unit: '%' for share_if, 'seconds' ...")
    target: dict[str, Any] | float | str | None = Field(default=None, description="{min: 90} or {max: 20}")
    owner: str | None = Field(default=None, description="the role accountable for the standard")


class StandardResult(TypedDict):
    actual: float | None
    target: dict[str, float]
    met: bool | None


class StandardsResult(TypedDict):
    mechanism: str
    period: str | None
    standards_total: int
    measurable_pct: float
    owners_assigned_pct: float
    baseline_met_pct: float | None
    standards: dict[str, StandardResult]


def check_standards(with_values: Mapping[str, Any]) -> list[Problem | tuple[tuple[str | int, ...], str, str]]:
    """Validation of a step's literal ``with:``: every standard measurable (PDCA268), the period a quarter."""
    problems: list[Problem | tuple[tuple[str | int, ...], str, str]] = list(standard_problems(with_values))
    period = with_values.get("period")
    if isinstance(period, str) and "${{" not in period and not is_quarter(period):
        problems.append((("period",), f"period {period!r} is not a quarter", "write it YYYY-Qn, e.g. 2026-Q3"))
    return problems


@task("service.standards", check_with=check_standards)
def publish_standards(
    context: StepContext,
    *,
    standards: list[ServiceStandard],
    roles: dict[str, str] | None = None,
    source: ProjectSource | None = None,
    period: str | None = None,
) -> StandardsResult:
    """Publish the operating mechanism: measurable service standards, each owned, with last quarter's baseline.

    A standard is measurable when it says what is counted and how it is judged:
    ``measure`` names one table of a quarter's operations (``deliveries``,
    ``bucket_returns``, ``hotline_calls``, ``visits``, ``surveys``,
    ``front_line_reports``, ``inspections``; docs/service-system-data.md) and one
    aggregate written as ``data.query``'s (``count``, ``sum``, ``mean``, ``min``,
    ``max``, ``median``, ``nunique``, ``p90``, ``percentile``, ``count_if``,
    ``share_if``; docs/kpis-without-sql.md); ``unit`` is the unit it gives (``%``
    exactly for ``share_if``); ``target`` is ``{min: ...}`` and/or ``{max: ...}``;
    ``owner`` is the role accountable. ``pdca validate`` reports anything vaguer
    (words for a measure, an unknown table, column or function, no unit, target or
    owner, ``%`` on a mean) as PDCA268 at its line.

    With ``source``, each standard is then measured on the operations of ``period``
    (default: the latest quarter the source holds): measurable when its table and
    columns are there and it yields a number, then met or not. Without ``source``
    there is no baseline: a standard counts as measurable when it is well-formed.
    The mechanism file (``mechanism.json`` in the cycle's work folder) holds the
    period, every standard as written with its baseline (``actual``, ``met``, and
    why one could not be measured), and ``roles``; ``service.control`` reads it.

    Args:
        context: the cycle this step runs in (passed by the engine).
        standards: the service standards in force this cycle.
        roles: who runs each platform of the system (platform -> role), e.g.
            ``{service_processing: service-centre, satisfaction_monitoring: quality-team}``.
        source: the operations: the folder of quarters (``data/water/quarters``, one
            ``YYYY-Qn`` folder each), one quarter's folder, or ``connection:NAME`` whose
            tables hold every quarter in a ``period`` column. ``None``: no baseline.
        period: the quarter to measure the baseline on, ``YYYY-Qn``; default the latest
            quarter under ``source``.

    Returns:
        ``mechanism`` (the path of the mechanism file), ``period`` (the baseline's
        quarter, ``None`` without ``source``), ``standards_total``, ``measurable_pct``
        (% of standards measurable), ``owners_assigned_pct`` (% of standards whose
        owner is named; with ``roles``, named as one of its roles), ``baseline_met_pct``
        (% of the measurable standards met last quarter; ``None`` when none was
        measured) and ``standards`` (id -> ``{actual, target, met}``).
    """
    from pdcaflow.tasks.service_system.standard_steps import publish  # pandas only when the task runs

    return publish(context, [standard.model_dump(exclude_none=True) for standard in standards], roles or {},
                   source, period)

