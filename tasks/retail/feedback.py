"""Feedback tasks: inspection and follow-up (检查反馈), complaint intake and handling.

``feedback.check`` is the CHECK of the seven-step model: from one month's
records it measures how fast complaints were handled against the promised time
(the SLA), which complaints still wait past it (each one goes on to
``complaints.overdue_actions`` in ACT, :mod:`pdcaflow.tasks.complaints.overdue`,
which opens an owned action for it), how satisfied the customers called back were,
how the three inspection levels scored, and how often customers had to get in
touch more than once. The reading is in :mod:`pdcaflow.tasks.retail.feedback_records`, the
numbers in :mod:`pdcaflow.tasks.retail.complaint_stats`, both imported when the task runs, so
that reading the signatures (``pdca validate``) never imports pandas.

Every complaint becomes a case with an owner and a due time from the moment it
arrives, whatever the channel; a customer who calls twice about the same problem
adds to the open case instead of starting over. Cases past their due time are
escalated, and none is closed until the customer confirms it was resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, TypedDict

from pdcaflow.tasks.complaints.complaint_actions import OverdueComplaint
from pdcaflow.tasks.sdk.registry import ProjectSource, StepContext, task

InspectionLevel = Literal["self", "department", "company"]
LegacyInspectionLevel = Literal["team", "self", "department", "company"]
_LEVEL_NAMES: dict[str, InspectionLevel] = {"team": "self", "self": "self", "department": "department",
                                            "company": "company"}
ComplaintChannel = Literal["hotline", "wechat", "email", "field", "web"]


class CheckResult(TypedDict):
    period: str
    complaints: int
    complaints_open: int
    complaint_p50_hours: float | None
    complaint_p90_hours: float | None
    within_sla_rate: float | None
    unresolved_over_sla: int
    overdue_complaints: list[OverdueComplaint]
    repeat_contact_rate: float | None
    satisfaction_mean: float | None
    satisfaction_by_class: dict[str, float]
    responses: int
    inspection_score: float | None
    inspection_by_level: dict[str, float | None]


class InspectResult(TypedDict):
    inspection_score: float | None
    satisfaction_mean: float | None
    satisfaction_responses: int
    complaints_received: int
    complaints_open: int
    complaint_p90_hours: float | None
    complaints_within_sla_pct: float | None


@task("feedback.check")
def check(
    context: StepContext,
    *,
    source: ProjectSource,
    period: str | None = None,
    complaint_sla_hours: float = 48.0,
    sample_size: int = 50,
    levels: dict[InspectionLevel, float] | tuple[InspectionLevel, ...] = ("self", "department", "company"),
    survey_scale: int = 5,
    overdue_limit: int = 50,
    tables: dict[str, str] | None = None,
) -> CheckResult:
    """Check the month's feedback: complaint handling times against the SLA, follow-up calls, inspections.

    Complaint handling time counts every complaint closed in the period (opening
    to closing) and every complaint still open when the period ends, at its age
    then: an open complaint counts as long as it has waited so far, so leaving
    cases open never improves the percentiles or the SLA rate. (An open complaint
    not yet older than the SLA counts as within it.) A complaint unresolved at the
    end of the period and older than ``complaint_sla_hours`` is overdue; the oldest
    ``overdue_limit`` are listed for ACT, which opens an action for each.

    Of the period's follow-up answers, at most ``sample_size`` are scored: with
    more, a sample seeded by the period (the same records give the same sample).
    The inspection score weights each level's mean score by ``levels``.

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: the operations directory (``data/retail/operations``: one ``YYYY-MM`` folder
            per month holding ``complaints``, ``surveys`` and ``inspections``) or ``connection:NAME``
            whose tables hold every month (see ``docs/retail-data.md``).
        period: the month to check, ``YYYY-MM`` (``steps.<service step>.period``); without it,
            the latest month folder of a directory source.
        complaint_sla_hours: the promised time from a complaint to its resolution.
        sample_size: most follow-up answers scored (the calls made).
        levels: the inspection levels scored: names (equal weights) or name -> weight, from
            ``self``, ``department`` and ``company``.
        survey_scale: the top of the satisfaction scale (5 for a 1-5 score).
        overdue_limit: most overdue complaints listed one by one (the count covers all).
        tables: table (or file) names where they differ from ``complaints``, ``surveys``,
            ``inspections``, e.g. ``{complaints: crm_complaints}``.

    Returns:
        ``period``; ``complaints`` (opened in the period), ``complaints_open`` (unresolved
        at its end), ``complaint_p50_hours`` and ``complaint_p90_hours``, ``within_sla_rate``
        (%), ``unresolved_over_sla`` (count) and ``overdue_complaints`` (``complaint_id,
        customer_id, age_hours, category``, oldest first), ``repeat_contact_rate`` (% of the
        period's complaints with more than one contact); ``satisfaction_mean`` (1 to
        ``survey_scale``), ``satisfaction_by_class``, ``responses``; ``inspection_score``
        (0-100) and ``inspection_by_level`` (``None`` for a level without records).
        Rates and means are ``None`` when there was nothing to measure.
    """
    # The readers and the numbers (pandas) are imported here, not at the top: `pdca validate` imports this
    # module and stays off pandas.
    from pdcaflow.tasks.retail.complaint_stats import complaint_stats, inspection, satisfaction
    from pdcaflow.tasks.retail.feedback_records import read_records, resolve_period, table_names

    weights = _level_weights(levels)
    _check_limits(complaint_sla_hours, sample_size, survey_scale, overdue_limit)
    names = table_names(tables)
    month = resolve_period(source, period)
    complaints, where = read_records(source, month, "complaints", names["complaints"])
    handled = complaint_stats(complaints, month, complaint_sla_hours, overdue_limit, where)
    surveys, where = read_records(source, month, "surveys", names["surveys"])
    answers = satisfaction(surveys, month, sample_size, survey_scale, where)
    inspections, where = read_records(source, month, "inspections", names["inspections"])
    score, by_level = inspection(inspections, weights, where)
    return CheckResult(
        period=month.name,
        complaints=handled.opened,
        complaints_open=handled.open_at_end,
        complaint_p50_hours=handled.p50_hours,
        complaint_p90_hours=handled.p90_hours,
        within_sla_rate=handled.within_sla_rate,
        unresolved_over_sla=handled.overdue_total,
        overdue_complaints=handled.overdue,
        repeat_contact_rate=handled.repeat_contact_rate,
        satisfaction_mean=answers.mean,
        satisfaction_by_class=answers.by_class,
        responses=answers.responses,
        inspection_score=score,
        inspection_by_level=by_level,
    )


@task("feedback.inspect")
def inspect(
    context: StepContext,
    *,
    source: ProjectSource,
    period: str | None = None,
    levels: tuple[LegacyInspectionLevel, ...] = ("team", "department", "company"),
    sample_size: int = 50,
    survey_scale: int = 5,
    complaint_sla_hours: float = 48.0,
) -> InspectResult:
    """Score inspections, follow-up calls and complaint times (the older name of ``feedback.check``).

    Kept so that definitions written for it run unchanged: it runs
    ``feedback.check`` (equal level weights; ``team`` is the older name of the
    ``self`` level) and reports under the older output names. New definitions use
    ``feedback.check``, which also lists the overdue complaints for ACT.

    Args:
        context: the cycle this step runs in (passed by the engine).
        source: the operations directory or ``connection:NAME`` (as ``feedback.check``).
        period: the month to check, ``YYYY-MM``; without it, the latest month folder.
        levels: the inspection levels that score this period.
        sample_size: most follow-up answers scored.
        survey_scale: the top of the satisfaction scale (5 for a 1-5 score).
        complaint_sla_hours: the promised resolution time ``complaints_within_sla_pct`` counts against.

    Returns:
        ``inspection_score`` (0-100), ``satisfaction_mean``, ``satisfaction_responses``,
        ``complaints_received``, ``complaints_open``, ``complaint_p90_hours`` and
        ``complaints_within_sla_pct`` (%), measured as ``feedback.check`` measures them.
    """
    renamed = tuple(dict.fromkeys(_LEVEL_NAMES[level] for level in levels))
    checked = check(context, source=source, period=period, complaint_sla_hours=complaint_sla_hours,
                    sample_size=sample_size, levels=renamed, survey_scale=survey_scale)
    return InspectResult(
        inspection_score=checked["inspection_score"],
        satisfaction_mean=checked["satisfaction_mean"],
        satisfaction_responses=checked["responses"],
        complaints_received=checked["complaints"],
        complaints_open=checked["complaints_open"],
        complaint_p90_hours=checked["complaint_p90_hours"],
        complaints_within_sla_pct=checked["within_sla_rate"],
    )


def _level_weights(levels: Mapping[InspectionLevel, float] | tuple[InspectionLevel, ...]) -> dict[str, float]:
    weights = dict(levels) if isinstance(levels, Mapping) else dict.fromkeys(levels, 1.0)
    if not weights or any(not weight >= 0 for weight in weights.values()) or not any(weights.values()):
        raise ValueError(f"levels {dict(weights)!r}: name at least one inspection level, weights 0 or more and "
                         "not all 0")
    return {str(level): float(weight) for level, weight in weights.items()}


def _check_limits(sla_hours: float, sample_size: int, survey_scale: int, overdue_limit: int) -> None:
    if not sla_hours > 0:
        raise ValueError(f"complaint_sla_hours is {sla_hours}: the promised time must be more than 0 hours")
    if sample_size < 1:
        raise ValueError(f"sample_size is {sample_size}: score at least one follow-up answer")
    if survey_scale < 1:
        raise ValueError(f"survey_scale is {survey_scale}: the top of a 1-to-N scale, 1 or more")
    if overdue_limit < 0:
        raise ValueError(f"overdue_limit is {overdue_limit}: list 0 or more overdue complaints")
