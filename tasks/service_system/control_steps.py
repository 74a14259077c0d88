"""The numbers ``service.control`` reports: standards met, the satisfaction survey, the inspections (pandas).

Imported when the task runs, so that reading the task's signature (``pdca validate``)
does not import pandas.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from pdcaflow.tasks.sdk.sources import SourceError
from pdcaflow.tasks.service_system.control import ControlResult
from pdcaflow.tasks.service_system.mechanism import read_mechanism
from pdcaflow.tasks.service_system.quarters import check_quarter, percent, quarter_location, read_quarter
from pdcaflow.tasks.service_system.standard_steps import measure_standards, results_of
from pdcaflow.tasks.service_system.student_t import t_quantile

SURVEY_COLUMNS = ("customer_id", "segment", "responded", "satisfaction")
INSPECTION_COLUMNS = ("inspection_id", "level", "area", "score")
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", ""}


@dataclass(frozen=True)
class Satisfaction:
    """The quarter's survey: the mean of the answers, its 95 % interval, who answered."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    responses: int
    invited: int
    by_segment: dict[str, float]


def control(mechanism: str, source: str, period: str, weights: Mapping[str, float], survey_scale: int) -> ControlResult:
    """``service.control``: each standard on this quarter, the survey, the inspections.

    Raises:
        ValueError: a malformed mechanism, period, weights or scale.
        SourceError: the quarter's surveys or inspections cannot be read, or hold values out of range.
    """
    period = check_quarter(period)
    if survey_scale < 2:
        raise ValueError(f"survey_scale {survey_scale}: the top of the satisfaction scale, at least 2 (5 for 1-5)")
    published = read_mechanism(mechanism)
    outcomes = measure_standards(source, period, published.standards)
    surveys = read_quarter(source, period, "surveys")
    where = quarter_location(source, period, "surveys")
    answers = satisfaction(_columns(surveys, SURVEY_COLUMNS, where), survey_scale, where)
    inspections = read_quarter(source, period, "inspections")
    where = quarter_location(source, period, "inspections")
    score, by_area = inspection(_columns(inspections, INSPECTION_COLUMNS, where), weights, where)
    return ControlResult(
        period=period,
        standards_met_pct=percent(sum(1 for outcome in outcomes if outcome.met), len(outcomes)),
        standards_missed=[outcome.id for outcome in outcomes if not outcome.met],
        standards={standard.id: results_of(standard, outcome)
                   for standard, outcome in zip(published.standards, outcomes, strict=True)},
        satisfaction_mean=answers.mean,
        satisfaction_ci_low=answers.ci_low,
        satisfaction_ci_high=answers.ci_high,
        satisfaction_responses=answers.responses,
        response_rate=percent(answers.responses, answers.invited),
        satisfaction_by_segment=answers.by_segment,
        inspection_score=score,
        inspection_by_area=by_area,
    )


def satisfaction(frame: pd.DataFrame, scale: int, where: str) -> Satisfaction:
    """Mean satisfaction of the customers who responded, its 95 % t interval, and the mean by segment.

    Every row is an invited customer; those with ``responded`` true answered and
    their ``satisfaction`` must be a number from 1 to ``scale``. The interval is
    mean ± t(0.975, n − 1) × s / √n (s the sample standard deviation): ``None``
    below two answers.

    Raises:
        SourceError: a ``responded`` value that is not true or false, or a score missing or out of range.
    """
    responded = _flags(frame["responded"], "responded", where)
    answered = frame.loc[responded]
    scores = pd.to_numeric(answered["satisfaction"], errors="coerce")
    bad = scores.isna() | (scores < 1) | (scores > scale)
    if bad.any():
        raise SourceError(f"{where}: customer {answered.loc[bad, 'customer_id'].iloc[0]} responded with "
                          f"satisfaction {_shown(answered.loc[bad, 'satisfaction'].iloc[0])}, not 1 to {scale}")
    count = int(len(scores))
    mean = float(scores.mean()) if count else None
    low = high = None
    if mean is not None and count >= 2:
        half = t_quantile(0.975, count - 1) * float(scores.std(ddof=1)) / math.sqrt(count)
        low, high = round(mean - half, 2), round(mean + half, 2)
    by_segment = scores.groupby(answered["segment"].astype(str), sort=True).mean()
    return Satisfaction(mean=round(mean, 2) if mean is not None else None, ci_low=low, ci_high=high,
                        responses=count, invited=int(len(frame)),
                        by_segment={str(name): round(float(value), 2) for name, value in by_segment.items()})


def inspection(frame: pd.DataFrame, weights: Mapping[str, float],
               where: str) -> tuple[float | None, dict[str, float | None]]:
    """The weighted inspection score (0-100) and the same score per area.

    Each level's mean score counts with its weight (``{team: 1, company: 2}``: the
    company's mean twice the team's), whatever the number of inspections of each;
    a level without inspections is left out of the weighting. The score of an area
    is the same weighting of its own inspections. Inspections of a level not
    weighted are left out; ``None`` where nothing was inspected.

    Raises:
        SourceError: a score that is not a number from 0 to 100.
    """
    scores = pd.to_numeric(frame["score"], errors="coerce")
    bad = scores.isna() | (scores < 0) | (scores > 100)
    if bad.any():
        raise SourceError(f"{where}: inspection {frame.loc[bad, 'inspection_id'].iloc[0]} has score "
                          f"{_shown(frame.loc[bad, 'score'].iloc[0])}, not 0 to 100")
    scored = pd.DataFrame({"level": frame["level"].astype(str), "area": frame["area"].astype(str), "score": scores})
    scored = scored.loc[scored["level"].isin([level for level, weight in weights.items() if weight > 0])]
    by_area = {str(area): _weighted(rows, weights) for area, rows in scored.groupby("area", sort=True)}
    return _weighted(scored, weights), by_area


def _weighted(rows: pd.DataFrame, weights: Mapping[str, float]) -> float | None:
    means = rows.groupby("level")["score"].mean()
    total = sum(weights[str(level)] for level in means.index)
    if not total:
        return None
    return round(sum(float(mean) * weights[str(level)] for level, mean in means.items()) / total, 2)


def _flags(values: pd.Series, column: str, where: str) -> pd.Series:
    """A true/false column as booleans (``true``/``false``, 1/0, yes/no; empty is false)."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(bool)
    text = values.map(lambda value: "" if value is None or (isinstance(value, float) and math.isnan(value))
                      else str(value).strip().lower())
    unread = ~text.isin(_TRUE | _FALSE)
    if unread.any():
        raise SourceError(f"{where}: column {column} holds {_shown(values[unread].iloc[0])}, not true or false")
    return text.isin(_TRUE)


def _shown(value: object) -> str:
    """A value as a message shows it: ``7``, ``4.5``, ``'high'``, ``empty``."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "empty"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def _columns(frame: pd.DataFrame, columns: tuple[str, ...], where: str) -> pd.DataFrame:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise SourceError(f"{where}: missing column(s) {', '.join(missing)} "
                          f"(has: {', '.join(map(str, frame.columns)) or 'none'})")
    return frame
