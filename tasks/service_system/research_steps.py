"""The work of ``demand.research`` (see :func:`pdcaflow.tasks.service_system.research.research`).

Three evidence tables per (segment, need) - survey mentions, complainants, front-line
reports - are joined, ranked within each segment and matched against the
catalogue's offerings in force.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import pandas as pd

from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, read_table, write_table
from pdcaflow.tasks.sdk.workspace import output_path
from pdcaflow.tasks.service_system.catalogue import LEVELS, Offering, read_catalogue
from pdcaflow.tasks.service_system.quarters import (
    check_quarter, flags, has_table, latest_quarter, percent, quarter_bounds, read_quarter)
from pdcaflow.tasks.service_system.research import ResearchResult

NEEDS_COLUMNS = ("period", "segment", "need", "rank", "respondents", "mentions", "share_pct", "ci_low", "ci_high",
                 "complaints", "reports", "met_by", "unmet")
KEY = ["segment", "need"]


def wilson(mentions: int, respondents: int, confidence_pct: float) -> tuple[float | None, float | None]:
    """The Wilson score interval of the share ``mentions / respondents``, in %, 2 decimals; None with no respondent.

    With p = k/n and z the two-sided normal quantile of the confidence:
    centre = (p + z^2/2n) / (1 + z^2/n), half-width = z/(1 + z^2/n) * sqrt(p(1-p)/n + z^2/4n^2).
    """
    if respondents <= 0:
        return None, None
    z = NormalDist().inv_cdf(1 - (1 - confidence_pct / 100) / 2)
    n, p = respondents, mentions / respondents
    scale = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / scale
    half = z / scale * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return round(100 * max(0.0, centre - half), 2), round(100 * min(1.0, centre + half), 2)


def run_research(context: StepContext, *, source: str, offerings: str, complaints: str | None,
                 methods: Sequence[str], segments: Sequence[str], period: str | None,
                 complaint_themes: dict[str, str], confidence_pct: float,
                 service_levels: dict[str, str]) -> ResearchResult:
    """The body of ``demand.research``."""
    _check(methods, complaints, confidence_pct, service_levels)
    dated = "surveys" if "survey" in methods else "front_line_reports" if "front_line_reports" in methods else "visits"
    quarter = check_quarter(period) if period is not None else latest_quarter(source, dated)
    catalogue = read_catalogue(offerings)
    evidence: list[pd.DataFrame] = []
    invited = responses = 0
    respondents: dict[str, int] = {}
    if "survey" in methods:
        surveys = read_quarter(source, quarter, "surveys", ("customer_id", "segment", "responded", "need"))
        answered = surveys[flags(surveys["responded"])]
        invited, responses = len(surveys), len(answered)
        respondents = {str(name): int(count) for name, count in answered.groupby("segment").size().items()}
        named = answered[answered["need"].notna() & (answered["need"].astype(str).str.strip() != "")]
        evidence.append(_count(named, "mentions"))
    if "complaint_analysis" in methods:
        assert complaints is not None  # _check
        evidence.append(_complainants(source, quarter, complaints, complaint_themes))
    if "front_line_reports" in methods:
        reports = read_quarter(source, quarter, "front_line_reports", ("report_id", "segment", "need"))
        evidence.append(_count(reports.dropna(subset=["segment", "need"]), "reports"))
    table = _rank(evidence, respondents, segments, confidence_pct, catalogue, service_levels)
    table.insert(0, "period", quarter)
    path = output_path(context, "needs.parquet")
    write_table(table, path)
    unmet = table[table["unmet"]]
    wanted = list(segments) or sorted(set(table["segment"]) | set(respondents))
    top = {segment: _first(unmet[unmet["segment"] == segment]) for segment in wanted}
    return {"needs": path, "period": quarter, "invited": invited, "responses": responses,
            "response_rate": percent(responses, invited), "needs_found": int(table["need"].nunique()),
            "unmet_needs": sorted(set(unmet["need"])), "top_unmet_by_segment": top}


def _check(methods: Sequence[str], complaints: str | None, confidence_pct: float,
           service_levels: dict[str, str]) -> None:
    unknown = sorted(f"{segment}: {level}" for segment, level in service_levels.items() if level not in LEVELS)
    if unknown:
        raise ValueError(f"demand.research: unknown service level(s) {', '.join(unknown)} in service_levels "
                         f"(known: {', '.join(LEVELS)})")
    if not methods:
        raise ValueError("demand.research: name at least one of the methods survey, complaint_analysis, "
                         "front_line_reports")
    if "complaint_analysis" in methods and complaints is None:
        raise ValueError("demand.research: the method complaint_analysis needs `complaints` (where the "
                         "complaints are, e.g. data/water/complaints)")
    if not 0 < confidence_pct < 100:
        raise ValueError(f"demand.research: confidence_pct must lie between 0 and 100 (got {confidence_pct})")


def _count(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Rows per (segment, need) as column ``name``."""
    keys = frame[KEY].astype(str).apply(lambda column: column.str.strip())
    return keys.groupby(KEY).size().rename(name).reset_index()


def _complainants(source: str, quarter: str, complaints: str, themes: dict[str, str]) -> pd.DataFrame:
    """Customers per (segment, need) who complained in the quarter about a type mapped onto the need."""
    frame = read_table(complaints, "complaints", columns=("customer_id", "received_at", "type"),
                       parse_dates=("received_at",), text_columns=("customer_id",))
    start, end = quarter_bounds(quarter)
    frame = frame[(frame["received_at"] >= start) & (frame["received_at"] < end)]
    frame = frame.assign(need=frame["type"].astype(str).str.strip().map(themes)).dropna(subset=["need"])
    segment_of = _segments_of_customers(source, quarter)
    frame = frame.assign(segment=frame["customer_id"].astype(str).map(segment_of)).dropna(subset=["segment"])
    once = frame.drop_duplicates(subset=["customer_id", "type"])
    return _count(once, "complaints")


def _segments_of_customers(source: str, quarter: str) -> pd.Series:
    """customer_id -> segment, from the quarter's visits, else its deliveries."""
    table = "visits" if has_table(source, quarter, "visits") else "deliveries"
    try:
        frame = read_quarter(source, quarter, table, ("customer_id", "segment"))
    except SourceError as exc:
        raise SourceError(f"{exc} (complaint_analysis reads each customer's segment from the quarter's "
                          "visits or deliveries)") from exc
    frame = frame.drop_duplicates(subset=["customer_id"])
    return pd.Series(frame["segment"].astype(str).values, index=frame["customer_id"].astype(str).values)


def _rank(evidence: list[pd.DataFrame], respondents: dict[str, int], segments: Sequence[str],
          confidence_pct: float, catalogue: list[Offering], service_levels: dict[str, str]) -> pd.DataFrame:
    """One row per (segment, need) with any voice, ranked within the segment; met_by from the catalogue
    (at the segment's service level where ``service_levels`` names it)."""
    table = pd.DataFrame(columns=KEY)
    for counts in evidence:
        table = table.merge(counts, on=KEY, how="outer")
    for column in ("mentions", "complaints", "reports"):
        table[column] = table[column].fillna(0).astype(int) if column in table.columns else 0
    if segments:
        table = table[table["segment"].isin(segments)]
    table["respondents"] = table["segment"].map(respondents).fillna(0).astype(int)
    intervals = [wilson(k, n, confidence_pct) for k, n in zip(table["mentions"], table["respondents"])]
    table["share_pct"] = [percent(k, n) for k, n in zip(table["mentions"], table["respondents"])]
    table["ci_low"] = [low for low, _ in intervals]
    table["ci_high"] = [high for _, high in intervals]
    table["voices"] = table["mentions"] + table["complaints"] + table["reports"]
    table = table.sort_values(["segment", "voices", "share_pct", "need"], ascending=[True, False, False, True],
                              na_position="last")
    table["rank"] = table.groupby("segment").cumcount() + 1
    current = [offering for offering in catalogue if offering.status == "current"]
    table["met_by"] = [";".join(o.offering_id for o in current if o.meets == need and o.offered_to(segment)
                                and (segment not in service_levels or o.allowed_at(service_levels[segment])))
                       for segment, need in zip(table["segment"], table["need"])]
    table["unmet"] = table["met_by"] == ""
    return table[list(NEEDS_COLUMNS[1:])].reset_index(drop=True)


def _first(rows: pd.DataFrame) -> str | None:
    return None if rows.empty else str(rows.sort_values("rank")["need"].iloc[0])
