"""service.control: the CHECK step of the nine-element system (standards, survey, inspections).

"Control the service process": the quarter the DO step carried out is measured
against the published mechanism (every standard on this quarter's operations),
the satisfaction survey is scored (with a 95 % interval of the mean, and by
segment) and the inspections are weighted by level. The numbers are in
:mod:`pdcaflow.tasks.service_system.control_steps`, imported when the task runs, so
that reading the signature (``pdca validate``) does not import pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypedDict

from pdcaflow.tasks.sdk.periods import is_quarter
from pdcaflow.tasks.sdk.registry import ProjectFile, ProjectSource, StepContext, task
from pdcaflow.tasks.service_system.standards import StandardResult

InspectionLevel = Literal["team", "company"]


class ControlResult(TypedDict):
    period: str
    standards_met_pct: float | None
    standards_missed: list[str]
    standards: dict[str, StandardResult]
    satisfaction_mean: float | None
    satisfaction_ci_low: float | None
    satisfaction_ci_high: float | None
    satisfaction_responses: int
    response_rate: float | None
    satisfaction_by_segment: dict[str, float]
    inspection_score: float | None
    inspection_by_area: dict[str, float | None]


def check_control(with_values: Mapping[str, Any]) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Validation of a step's literal ``with:``: the period a quarter, the scale and the weights usable."""
    problems: list[tuple[tuple[str | int, ...], str, str]] = []
    period = with_values.get("period")
    if isinstance(period, str) and "${{" not in period and not is_quarter(period):
        problems.append((("period",), f"period {period!r} is not a quarter",
                         "write it YYYY-Qn, e.g. 2026-Q3, or ${{ steps.<perform step>.period }}"))
    scale = with_values.get("survey_scale")
    if isinstance(scale, int) and not isinstance(scale, bool) and scale < 2:
        problems.append((("survey_scale",), f"survey_scale {scale}: the top of the satisfaction scale is at least 2",
                         "5 for answers 1 to 5, 10 for 1 to 10"))
    levels = with_values.get("levels")
    if isinstance(levels, Mapping) and all(isinstance(weight, int | float) for weight in levels.values()) \
            and (any(weight < 0 for weight in levels.values()) or not any(levels.values())):
        problems.append((("levels",), "inspection level weights are 0 or more, and not all 0",
                         "e.g. levels: {team: 1, company: 2}"))
    return problems


@task("service.control", check_with=check_control)
def control_service(
    context: StepContext,
    *,
    mechanism: ProjectFile,
    source: ProjectSource,
    period: str,
    levels: dict[InspectionLevel, float] | tuple[InspectionLevel, ...] = ("team", "company"),
    survey_scale: int = 5,
) -> ControlResult:
    """Control the quarter's service: standards met, customer satisfaction, inspection scores.

    Each standard of the mechanism is measured on this quarter's operations, as
    ``service.standards`` measured it on the last: met when its value keeps the
    target. A standard that cannot be measured this quarter (its table or column
    missing, no rows) counts as missed: it cannot show it was kept.

    The satisfaction survey (``surveys``: one row per invited customer) is scored
    over the customers who responded: the mean satisfaction (1 to
    ``survey_scale``), a 95 % confidence interval of it (mean ± t × s / √n, Student's
    t with n − 1 degrees of freedom), the mean by segment, and the response rate
    (% of those invited). The inspections are weighted by level: each level's mean
    score counts with its weight in ``levels``, whatever the number of inspections
    of each (``{team: 1, company: 2}``: the company's checks twice the team's), for
    the whole quarter and for each area; inspections of a level not named are left out.

    Args:
        context: the cycle this step runs in (passed by the engine).
        mechanism: the published mechanism (``steps.<standards step>.mechanism``).
        source: the operations: the folder of quarters (``data/water/quarters``), one
            quarter's folder, ``connection:NAME`` whose tables hold every quarter in a
            ``period`` column, or the DO step's ``operations``.
        period: the quarter to control, ``YYYY-Qn`` (``steps.<perform step>.period``).
        levels: the inspection levels scored: names (equal weights) or name -> weight.
        survey_scale: the top of the satisfaction scale (5 for answers 1 to 5).

    Returns:
        ``period``; ``standards_met_pct`` (% of the standards met), ``standards_missed``
        (their ids), ``standards`` (id -> ``{actual, target, met}``);
        ``satisfaction_mean``, ``satisfaction_ci_low`` and ``satisfaction_ci_high`` (the
        95 % interval; ``None`` below two answers), ``satisfaction_responses``,
        ``response_rate`` (%), ``satisfaction_by_segment``; ``inspection_score`` (0-100)
        and ``inspection_by_area``. Figures have 2 decimals and are ``None`` when there
        was nothing to measure.
    """
    from pdcaflow.tasks.service_system.control_steps import control  # pandas only when the task runs

    return control(mechanism, source, period, _level_weights(levels), survey_scale)


def _level_weights(levels: Mapping[InspectionLevel, float] | tuple[InspectionLevel, ...]) -> dict[str, float]:
    weights = dict(levels) if isinstance(levels, Mapping) else dict.fromkeys(levels, 1.0)
    if not weights or any(not weight >= 0 for weight in weights.values()) or not any(weights.values()):
        raise ValueError(f"levels {dict(weights)!r}: name at least one inspection level (team, company), "
                         "weights 0 or more and not all 0")
    return {str(level): float(weight) for level, weight in weights.items()}
