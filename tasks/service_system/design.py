"""service.design: the offerings per segment within the profitability limits; the plan DO carries out.

This module holds the task's signature and the docstring users read; its work is
in ``pdcaflow.tasks.service_system.design_steps``, imported when the task runs.
"""

from __future__ import annotations

from typing_extensions import TypedDict  # pydantic converts `with:` values to these on Python 3.11 only with it

from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectSource, StepContext, task


class SegmentEconomics(TypedDict):
    """One segment of ``customers.profitability``'s ``segments`` output (per-customer values)."""

    customers: int
    lifetime_value: float
    cost_to_serve: float
    return_ratio: float | None
    service_level: str


class DesignResult(TypedDict):
    plan: str
    period: str
    offerings: int
    new_offerings: int
    retired_offerings: int
    new: list[str]
    retired: list[str]
    rejected_for_cost: dict[str, str]
    retired_for_loss: dict[str, str]
    needs_covered_pct: float | None
    needs_without_offering: list[str]
    needs_without_offering_count: int
    held_back_by_limit: int
    needs_refused_for_cost: list[str]
    needs_refused_for_cost_count: int
    cost_added_per_month: float
    cost_saved_per_month: float
    standards_in_force: int | None


@task("service.design")
def design(
    context: StepContext,
    *,
    needs: ProjectFile,
    service_levels: dict[str, str],
    segments: dict[str, SegmentEconomics],
    offerings: ProjectSource,
    mechanism: ProjectFile | None = None,
    max_new_offerings: int = 3,
    lifetime_months: int = 36,
    max_cost_ratio_pct: float = 100.0,
    retire_unnamed: bool = True,
    customers: ProjectSource | None = None,
    max_unprofitable_pct: float = 10.0,
) -> DesignResult:
    """Design the offerings in force next quarter from the researched needs, within what each segment returns.

    For each segment of ``service_levels``:

    - keep: every ``current`` offering of the catalogue offered to the segment that
      the previous cycle's plan put in force for it (without that plan, the first
      cycle: every current one), unless it is retired;
    - retire: a kept offering whose need nobody named in the research (in any
      segment, by any method; not with ``retire_unnamed: false``), or whose
      ``min_level`` is now above the segment's service level. Retiring saves its cost;
    - retire for loss (with ``customers``): while more than ``max_unprofitable_pct`` %
      of all customers cost more a month than ``max_cost_ratio_pct`` % of their own
      margin, the segment with the largest share of them loses the kept offering
      whose need ranks lowest there (unnamed first; the dearest among equals)
      (``retired_for_loss``); it is not added back that quarter;
    - unmet: a need researched for the segment that no offering kept for it meets
      (so an offering above the segment's level does not meet it). An unmet need no
      offering of the catalogue (``available``, or ``current`` for other segments)
      can meet for the segment at its level is listed in ``needs_without_offering``
      ("household: faster_hotline"): a new offering has to be designed by people first;
    - new: the other unmet needs are taken highest rank first (rank 1 of every
      segment, then rank 2 ...; ties by more voices, then segment name). For each,
      the cheapest such offering that may be offered to the segment and to its
      level (gold >= silver >= bronze >= ``min_level``) is added when the segment's
      cost to serve stays within ``max_cost_ratio_pct`` % of its lifetime value:
      ``cost_to_serve + (offerings added - offerings retired, per customer a month)
      x lifetime_months <= lifetime_value x max_cost_ratio_pct / 100`` (per
      customer, undiscounted: on the safe side), and, with ``customers``, when at
      most ``max_unprofitable_pct`` % of all customers would then cost more than
      ``max_cost_ratio_pct`` % of their margin (their monthly cost to serve plus the
      segment's offerings added less those retired, not counting those retired for
      the level alone). Otherwise the need is in ``needs_refused_for_cost``. At
      most ``max_new_offerings`` distinct ``available`` offerings are new in a
      quarter; one already new for another segment, or current for one, does not
      count again; a need left out by that limit counts in ``held_back_by_limit``.

    Args:
        context: the cycle this step runs in (passed by the engine).
        needs: the researched needs (``steps.<research step>.needs``).
        service_levels: segment -> service level (``steps.<profitability step>.service_levels``).
        segments: segment -> ``customers, lifetime_value, cost_to_serve, return_ratio,
            service_level`` (``steps.<profitability step>.segments``).
        offerings: the offerings catalogue (``data/water/offerings.csv``, or a folder or
            ``connection:NAME`` holding ``offerings``).
        mechanism: the published mechanism (``steps.<standards step>.mechanism``), read
            for the number of standards the plan is carried out under.
        max_new_offerings: distinct offerings introduced this quarter at most.
        lifetime_months: the months a new offering's cost is carried over (as the lifetime value's).
        max_cost_ratio_pct: the highest cost to serve allowed, as % of lifetime value.
        retire_unnamed: retire an offering in force whose need nobody named (a survey asks
            what customers miss most, so a need served well may go unnamed: turn it off
            to keep such offerings).
        customers: one row per customer (``data/water/customers.csv``: ``customer_id, segment,
            monthly_margin, monthly_service_cost``; rows with a ``left`` date are skipped):
            turns on the per-customer limit above.
        max_unprofitable_pct: the most customers, in % of all, allowed past
            ``max_cost_ratio_pct`` % of their own margin (with ``customers``).

    Returns:
        ``plan`` (path of ``service_plan.parquet``, docs/service-system-data.md), ``period``
        (the quarter after the researched one), ``offerings`` (distinct offerings in
        force), ``new_offerings`` and ``new`` (their ids), ``retired_offerings`` and
        ``retired`` (ids), ``rejected_for_cost`` (offering id -> why), ``retired_for_loss``
        (offering id -> why), ``needs_covered_pct`` (of the unmet segment needs some
        catalogue offering could meet, the % a new offering now meets; None with none such),
        ``needs_without_offering`` ("segment: need", rank order) and
        ``needs_without_offering_count`` (unmet needs no catalogue offering meets),
        ``held_back_by_limit`` (unmet needs an offering fits but ``max_new_offerings``
        left out), ``needs_refused_for_cost`` ("segment: need" whose offering a cost limit
        refused) and its count ``needs_refused_for_cost_count``, ``cost_added_per_month`` and ``cost_saved_per_month`` (new and retired
        offerings' cost x the segment's customers, summed) and ``standards_in_force``.

    Raises:
        SourceError: the needs, the catalogue or the mechanism cannot be read.
        ValueError: a parameter is out of range or a service level is unknown.
    """
    from pdcaflow.tasks.service_system.design_steps import run_design  # pandas only when the task runs

    return run_design(context, needs=needs, service_levels=service_levels, segments=segments, offerings=offerings,
                      mechanism=mechanism, max_new_offerings=max_new_offerings, lifetime_months=lifetime_months,
                      max_cost_ratio_pct=max_cost_ratio_pct, retire_unnamed=retire_unnamed, customers=customers,
                      max_unprofitable_pct=max_unprofitable_pct)
