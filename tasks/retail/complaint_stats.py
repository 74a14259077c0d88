"""The numbers ``feedback.check`` reports: complaint handling times, satisfaction, inspection scores.

Pure functions of one period's records (read by :mod:`pdcaflow.tasks.retail.feedback_records`).

Complaint handling time is measured on every complaint that was *handled or
waiting* in the period: those closed in the period count their time from
opening to closing; those still open when the period ends count their age at
the end of the period (how long the customer has waited so far). So a slow
period cannot look fast by leaving its hardest cases open: an open complaint
counts at least as long as it has already waited. Percentiles interpolate
linearly between the sorted times (numpy's default, Excel's ``PERCENTILE.INC``).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pdcaflow.tasks.complaints.complaint_actions import OverdueComplaint
from pdcaflow.tasks.retail.feedback_records import Period
from pdcaflow.tasks.sdk.sources import SourceError

HOUR = pd.Timedelta(hours=1)


@dataclass(frozen=True)
class ComplaintStats:
    opened: int                      # complaints opened in the period
    open_at_end: int                 # complaints unresolved when the period ended (of any age)
    p50_hours: float | None          # over closed-in-period times and open-at-end ages
    p90_hours: float | None
    within_sla_rate: float | None    # % of those times within the SLA
    repeat_contact_rate: float | None  # % of complaints opened in the period with more than one contact
    overdue_total: int               # unresolved at the end and older than the SLA
    overdue: list[OverdueComplaint]  # the oldest of them, at most the limit asked for


def complaint_stats(frame: pd.DataFrame, period: Period, sla_hours: float, limit: int,
                    where: str) -> ComplaintStats:
    """Handling times, SLA compliance, overdue cases and repeat contacts of the period's complaints."""
    frame = _valid_complaints(frame, where)
    opened_in = (frame["opened_at"] >= period.start) & (frame["opened_at"] < period.end)
    closed_in = (frame["closed_at"] >= period.start) & (frame["closed_at"] < period.end)
    open_at_end = (frame["opened_at"] < period.end) & (frame["closed_at"].isna() | (frame["closed_at"] >= period.end))
    hours = pd.concat([
        (frame.loc[closed_in, "closed_at"] - frame.loc[closed_in, "opened_at"]) / HOUR,
        (period.end - frame.loc[open_at_end, "opened_at"]) / HOUR,
    ]).to_numpy(dtype=np.float64)
    p50, p90 = (None, None) if hours.size == 0 else (round(float(v), 2) for v in np.percentile(hours, [50, 90]))
    overdue = frame.loc[open_at_end].assign(age_hours=(period.end - frame.loc[open_at_end, "opened_at"]) / HOUR)
    overdue = overdue.loc[overdue["age_hours"] > sla_hours].sort_values(["age_hours", "complaint_id"],
                                                                         ascending=[False, True])
    contacts = frame.loc[opened_in, "contacts"]
    return ComplaintStats(
        opened=int(opened_in.sum()),
        open_at_end=int(open_at_end.sum()),
        p50_hours=p50,
        p90_hours=p90,
        within_sla_rate=_percent(int((hours <= sla_hours).sum()), hours.size),
        repeat_contact_rate=_percent(int((contacts > 1).sum()), len(contacts)),
        overdue_total=len(overdue),
        overdue=[OverdueComplaint(complaint_id=str(row.complaint_id), customer_id=str(row.customer_id),
                                  age_hours=round(float(row.age_hours), 1), category=str(row.category))
                 for row in overdue.head(limit).itertuples(index=False)],
    )


def _valid_complaints(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    frame = frame.assign(complaint_id=frame["complaint_id"].astype(str),
                         category=frame["category"].fillna("").astype(str),
                         contacts=pd.to_numeric(frame["contacts"], errors="coerce").fillna(1))
    undated = frame["opened_at"].isna()
    if undated.any():
        raise SourceError(f"{where}: complaint {frame.loc[undated, 'complaint_id'].iloc[0]} has no valid opened_at")
    backwards = frame["closed_at"] < frame["opened_at"]
    if backwards.any():
        raise SourceError(f"{where}: complaint {frame.loc[backwards, 'complaint_id'].iloc[0]} is closed before "
                          "it was opened")
    return frame


@dataclass(frozen=True)
class Satisfaction:
    mean: float | None
    by_class: dict[str, float]
    responses: int                   # answers used (the sample)
    available: int                   # answers the period had


def satisfaction(frame: pd.DataFrame, period: Period, sample_size: int, scale: int, where: str) -> Satisfaction:
    """Mean follow-up score overall and by class, over at most ``sample_size`` answers.

    With more answers than ``sample_size``, a sample is drawn without replacement,
    seeded by the period, from the answers sorted by customer and time: the same
    records always give the same sample, whatever order they were stored in.
    """
    scores = pd.to_numeric(frame["score"], errors="coerce")
    bad = scores.isna() | (scores < 1) | (scores > scale)
    if bad.any():
        raise SourceError(f"{where}: survey score {frame.loc[bad, 'score'].iloc[0]} of customer "
                          f"{frame.loc[bad, 'customer_id'].iloc[0]} is not between 1 and {scale}")
    answers = frame.assign(score=scores, customer_id=frame["customer_id"].astype(str),
                           **{"class": frame["class"].astype(str)})
    answers = answers.sort_values(["customer_id", "surveyed_at", "score"], kind="stable").reset_index(drop=True)
    if len(answers) > sample_size:
        generator = np.random.default_rng(zlib.crc32(period.name.encode()))
        answers = answers.iloc[np.sort(generator.choice(len(answers), size=sample_size, replace=False))]
    by_class = answers.groupby("class", sort=True)["score"].mean()
    return Satisfaction(
        mean=round(float(answers["score"].mean()), 2) if len(answers) else None,
        by_class={str(name): round(float(value), 2) for name, value in by_class.items()},
        responses=len(answers),
        available=len(frame),
    )


def inspection(frame: pd.DataFrame, weights: Mapping[str, float], where: str) -> tuple[float | None,
                                                                                     dict[str, float | None]]:
    """The weighted inspection score (0-100) and the mean score of each level.

    Each level's mean is weighted by its weight; a level without records this
    period shows ``None`` and the score is the weighted mean of the others
    (``None`` when no level has records). Records of a level not weighted are left out.
    """
    scores = pd.to_numeric(frame["score"], errors="coerce")
    bad = scores.isna() | (scores < 0) | (scores > 100)
    if bad.any():
        raise SourceError(f"{where}: inspection record {frame.loc[bad, 'record_id'].iloc[0]} has score "
                          f"{frame.loc[bad, 'score'].iloc[0]}, not 0-100")
    means = pd.Series(scores.to_numpy(), index=frame["level"].astype(str).to_numpy()).groupby(level=0).mean()
    by_level: dict[str, float | None] = {level: round(float(means[level]), 2) if level in means.index else None
                                         for level in weights}
    scored = {level: weight for level, weight in weights.items() if by_level[level] is not None and weight > 0}
    if not scored:
        return None, by_level
    total = sum(scored.values())
    score = sum(float(means[level]) * weight for level, weight in scored.items()) / total
    return round(score, 2), by_level


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None
