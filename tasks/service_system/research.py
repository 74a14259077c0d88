"""demand.research: ranked unmet needs per segment from surveys, complaint themes and front-line reports.

This module holds the task's signature and the docstring users read; its work is
in ``pdcaflow.tasks.service_system.research_steps``, imported when the task runs,
so that reading the signature (``pdca validate``) never imports pandas.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from pdcaflow.tasks.sdk.registry import ProjectSource, StepContext, task

ResearchMethod = Literal["survey", "complaint_analysis", "front_line_reports"]

# A complaint's type -> the need it shows (docs/service-system.md). A late or missed
# delivery asks for deliveries the customer can plan on; a call about service for a
# hotline that answers sooner. `other` shows no need.
COMPLAINT_THEMES: dict[str, str] = {
    "delivery": "scheduled_delivery",
    "water_quality": "water_quality_report",
    "bucket": "clean_buckets",
    "billing": "clear_billing",
    "service": "faster_hotline",
}


class ResearchResult(TypedDict):
    needs: str
    period: str
    invited: int
    responses: int
    response_rate: float | None
    needs_found: int
    unmet_needs: list[str]
    top_unmet_by_segment: dict[str, str | None]


@task("demand.research")
def research(
    context: StepContext,
    *,
    source: ProjectSource,
    offerings: ProjectSource,
    complaints: ProjectSource | None = None,
    methods: tuple[ResearchMethod, ...] = ("survey", "complaint_analysis", "front_line_reports"),
    segments: tuple[str, ...] = (),
    period: str | None = None,
    complaint_themes: dict[str, str] | None = None,
    confidence_pct: float = 95.0,
    service_levels: dict[str, str] | None = None,
) -> ResearchResult:
    """Research what each segment needs, rank the needs, and find those no offering in force meets.

    Reads the quarter ``period`` (default: the last quarter under ``source``) and
    combines the ``methods``:

    - ``survey``: the quarter's ``surveys``: of the customers of a segment who
      responded (``respondents``), ``mentions`` named the need as what they miss
      most; ``share_pct`` = mentions / respondents, with its Wilson score interval
      (``ci_low``, ``ci_high``) at ``confidence_pct``;
    - ``complaint_analysis``: the ``complaints`` received in the quarter; each
      ``type`` shows a need through ``complaint_themes`` (default: delivery ->
      scheduled_delivery, water_quality -> water_quality_report, bucket ->
      clean_buckets, billing -> clear_billing, service -> faster_hotline; other
      types show none). ``complaints`` counts the customers of the segment who
      complained about such a type (once per customer and type, however often they
      called); a customer's segment is read from the quarter's ``visits`` (one row
      per active customer), else its ``deliveries``;
    - ``front_line_reports``: the quarter's reports of a need heard by staff (``reports``).

    Within a segment, needs are ranked by their voices, mentions + complaints +
    reports (rank 1 the most); ties go to the higher survey share, then the name. A
    need is unmet in a segment when no ``current`` offering of the catalogue that may
    be offered to the segment, at its service level, meets it (``met_by`` empty).
    The level is that of ``service_levels`` (gold >= silver >= bronze >= the
    offering's ``min_level``); a segment not named there is judged without it.

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: the quarters: ``data/water/quarters`` (``<YYYY-Qn>/surveys.csv`` ...), the
            folder holding it, or ``connection:NAME`` whose tables have a ``period`` column.
        offerings: the offerings catalogue (``data/water/offerings.csv``, or a folder or
            ``connection:NAME`` holding the table ``offerings``).
        complaints: the complaints (``data/water/complaints``, or a file or
            ``connection:NAME`` holding ``complaints``); needed for ``complaint_analysis``.
        methods: the research methods used this cycle.
        segments: the segments reported on (each gets its own ranking); empty: every
            segment found in the quarter's records.
        period: the quarter researched, ``YYYY-Qn``; default the last under ``source``.
        complaint_themes: complaint type -> need it shows; replaces the default above.
        confidence_pct: the confidence of the survey shares' intervals (e.g. 95).
        service_levels: segment -> service level (``steps.<profitability step>.service_levels``):
            an offering whose ``min_level`` is above a segment's level does not meet its needs.

    Returns:
        ``needs`` (path of ``needs.parquet``: ``period, segment, need, rank, respondents,
        mentions, share_pct, ci_low, ci_high, complaints, reports, met_by, unmet``),
        ``period``, ``invited`` and ``responses`` (surveys), ``response_rate`` (% of those
        invited, 2 decimals; None with no survey), ``needs_found`` (distinct needs
        named), ``unmet_needs`` (the needs unmet in at least one segment, sorted) and
        ``top_unmet_by_segment`` (segment -> its highest-ranked unmet need, or None).

    Raises:
        SourceError: a source, the quarter, a table or a column is missing.
        ValueError: no method, a method needs a missing source, or a parameter is out of range.
    """
    from pdcaflow.tasks.service_system.research_steps import run_research  # pandas only when the task runs

    return run_research(context, source=source, offerings=offerings, complaints=complaints, methods=methods,
                        segments=segments, period=period,
                        complaint_themes=COMPLAINT_THEMES if complaint_themes is None else complaint_themes,
                        confidence_pct=confidence_pct, service_levels=service_levels or {})
