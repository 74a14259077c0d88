"""service.perform: the DO step of the nine-element system (the quarter's service carried out and measured).

The task reads what was done from the quarter's operations records and measures
it; it never makes records. Under ``pdca demo`` the water world is the field: its
hook simulates the quarter under the plan and this step's sample-world inputs just
before the step runs. The work is in
``pdcaflow.tasks.service_system.perform_steps``, imported when the task runs.
"""

from __future__ import annotations

from typing import TypedDict

from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectSource, StepContext, task


class PerformResult(TypedDict):
    period: str
    operations: str
    visits_planned: int
    visits_done: int
    visit_plan_completion: float | None
    visit_plan_completion_by_segment: dict[str, float | None]
    deliveries: int
    undelivered: int
    on_time_delivery_rate: float | None
    stockout_rate: float | None
    hotline_calls: int
    hotline_answer_rate: float | None
    buckets_returned: int
    hygiene_pass_rate: float | None
    offerings_in_force: int
    complaints_received: int | None


@task("service.perform")
def perform(
    context: StepContext,
    *,
    plan: ProjectFile,
    source: ProjectSource,
    visits_per_month: dict[str, int],
    delivery_window_hours: float,
    channels: tuple[str, ...] = ("hotline", "wechat", "online"),
    survey_size: int | None = None,
    period: str | None = None,
    answer_within_seconds: float = 20.0,
    complaints: ProjectSource | None = None,
) -> PerformResult:
    """Carry the quarter's service plan out and measure visits, deliveries, the hotline and bucket hygiene.

    The quarter is ``period`` if given, else the plan's (its ``period`` column). Its
    ``deliveries``, ``bucket_returns``, ``hotline_calls`` and ``visits`` are read from
    ``source`` (under ``pdca demo`` the water world has just simulated that quarter
    under the plan, ``visits_per_month``, ``delivery_window_hours``, ``channels`` and
    ``survey_size``; running the step again simulates it again) and measured:

    - visit plan completion: per customer min(done, planned), summed, over the visits
      planned, so extra visits to one customer do not make up for another's missed ones;
    - on time: a delivery delivered at or before its ``promised_by`` (where that is
      empty: within ``delivery_window_hours`` of ``ordered_at``), of every delivery of
      the quarter; one never delivered counts as not on time (``undelivered``);
    - stock-out: a delivery whose customer had run out of water (``out_of_water``), of the deliveries;
    - hotline answer rate: calls answered within ``answer_within_seconds``, of the calls;
    - hygiene pass rate: returned buckets passing the check, of the buckets returned;
    - offerings in force: distinct offerings the plan keeps or adds;
    - complaints received: contacts (``complaints`` rows) received in the quarter,
      from ``complaints``, else the ``complaints`` folder beside the quarters folder,
      else a ``complaints`` table of the database; None when there is none.

    Args:
        context: the cycle this step runs in (passed by the engine).
        plan: the service plan (``steps.<design step>.plan``).
        source: the folder holding ``quarters/`` (``data/water``), the quarters folder
            itself, or ``connection:NAME`` whose tables have a ``period`` column.
        visits_per_month: sample world only: visits per customer a month, by segment.
        delivery_window_hours: promised time from order to delivery; also used for a
            delivery without ``promised_by``.
        channels: sample world only: the channels customers can order and call through.
        survey_size: sample world only: customers invited to the quarter's survey.
        period: the quarter carried out, ``YYYY-Qn`` (default: the plan's).
        answer_within_seconds: a call answered within this wait counts as answered in time.
        complaints: where the complaints are, when not beside the quarters.

    Returns:
        ``period``, ``operations`` (the quarters folder, or the URL: what the CHECK step
        reads), ``visits_planned``, ``visits_done``, ``visit_plan_completion`` (%) and
        ``visit_plan_completion_by_segment``, ``deliveries``, ``undelivered``,
        ``on_time_delivery_rate`` (%), ``stockout_rate`` (%), ``hotline_calls``,
        ``hotline_answer_rate`` (%), ``buckets_returned``, ``hygiene_pass_rate`` (%),
        ``offerings_in_force`` and ``complaints_received``. Percentages have 2 decimals
        and are None when there was nothing to measure.

    Raises:
        SourceError: the plan, the quarter's folder, a table or a column is missing.
        ValueError: the period is not a quarter, or a parameter is out of range.
    """
    from pdcaflow.tasks.service_system.perform_steps import run_perform  # pandas only when the task runs

    return run_perform(plan=plan, source=source, delivery_window_hours=delivery_window_hours, period=period,
                       answer_within_seconds=answer_within_seconds, complaints=complaints)
