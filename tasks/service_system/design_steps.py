"""The work of ``service.design`` (see :func:`pdcaflow.tasks.service_system.design.design`).

The rules are in the task's docstring; here they run in three passes - keep or
retire what is in force, add new offerings for the unmet needs by rank within the
cost limit, write the plan - over typed records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, read_table, write_table
from pdcaflow.tasks.sdk.workspace import output_path
from pdcaflow.tasks.service_system.catalogue import LEVELS, Offering, read_catalogue
from pdcaflow.tasks.service_system.design import DesignResult, SegmentEconomics
from pdcaflow.tasks.service_system.quarters import check_quarter, next_quarter, percent

PLAN_COLUMNS = ("period", "segment", "service_level", "offering_id", "meets", "change", "cost_per_customer_month")


@dataclass
class SegmentPlan:
    """What one segment gets next quarter, built up by the passes."""

    segment: str
    level: str
    economics: SegmentEconomics | None
    keep: list[Offering] = field(default_factory=list)
    new: list[Offering] = field(default_factory=list)
    retire: list[Offering] = field(default_factory=list)

    def extra_cost(self, offering: Offering | None = None) -> float:
        """Per customer a month: new offerings (and ``offering``) less retired ones."""
        added = sum(o.cost_per_customer_month for o in self.new) + (offering.cost_per_customer_month if offering else 0)
        return added - sum(o.cost_per_customer_month for o in self.retire)


def run_design(context: StepContext, *, needs: str, service_levels: dict[str, str],
               segments: dict[str, SegmentEconomics], offerings: str, mechanism: str | None,
               max_new_offerings: int, lifetime_months: int, max_cost_ratio_pct: float,
               retire_unnamed: bool) -> DesignResult:
    """The body of ``service.design``."""
    _check(service_levels, max_new_offerings, lifetime_months, max_cost_ratio_pct)
    researched = read_table(needs, "needs", columns=("period", "segment", "need", "rank", "met_by"),
                            text_columns=("segment", "need", "met_by"))
    periods = sorted(set(researched["period"].dropna().astype(str)))
    if len(periods) != 1:
        raise SourceError(f"{needs}: the needs must be of one researched quarter (found: {', '.join(periods) or 'none'})")
    period = next_quarter(check_quarter(periods[0], f"{needs}: period"))
    catalogue = read_catalogue(offerings)
    plans = {segment: SegmentPlan(segment, level, segments.get(segment)) for segment, level in sorted(service_levels.items())}
    named = set(researched["need"].astype(str))
    for plan in plans.values():
        for offering in catalogue:
            if offering.status == "current" and offering.offered_to(plan.segment):
                keeps = (offering.meets in named or not retire_unnamed) and offering.allowed_at(plan.level)
                (plan.keep if keeps else plan.retire).append(offering)
    unmet = _unmet(researched, plans)
    rejected = _add_new(unmet, plans, catalogue, max_new_offerings, lifetime_months, max_cost_ratio_pct)
    path = output_path(context, "service_plan.parquet")
    write_table(_plan_table(period, plans), path)
    in_force = {o.offering_id for plan in plans.values() for o in plan.keep + plan.new}
    new = sorted({o.offering_id for plan in plans.values() for o in plan.new})
    retired = sorted({o.offering_id for plan in plans.values() for o in plan.retire})
    covered = sum(1 for segment, need in unmet if any(o.meets == need for o in plans[segment].new))
    return {"plan": path, "period": period, "offerings": len(in_force), "new_offerings": len(new),
            "retired_offerings": len(retired), "new": new, "retired": retired, "rejected_for_cost": rejected,
            "needs_covered_pct": percent(covered, len(unmet)),
            "cost_added_per_month": _cost(plans, "new"), "cost_saved_per_month": _cost(plans, "retire"),
            "standards_in_force": None if mechanism is None else _standards(mechanism)}


def _check(service_levels: dict[str, str], max_new: int, lifetime_months: int, max_ratio: float) -> None:
    unknown = sorted(f"{segment}: {level}" for segment, level in service_levels.items() if level not in LEVELS)
    if unknown:
        raise ValueError(f"service.design: unknown service level(s) {', '.join(unknown)} (known: {', '.join(LEVELS)})")
    if max_new < 0 or lifetime_months < 1 or max_ratio <= 0:
        raise ValueError(f"service.design: max_new_offerings ({max_new}) must be 0 or more, lifetime_months "
                         f"({lifetime_months}) at least 1 and max_cost_ratio_pct ({max_ratio}) above 0")


def _unmet(researched: pd.DataFrame, plans: dict[str, SegmentPlan]) -> list[tuple[str, str]]:
    """(segment, need) unmet in the research, for the segments planned, highest rank first."""
    rows = researched[researched["met_by"].fillna("").astype(str).str.strip() == ""]
    rows = rows[rows["segment"].astype(str).isin(plans)]
    voices = rows[[c for c in ("mentions", "complaints", "reports") if c in rows.columns]].sum(axis=1)
    rows = rows.assign(voices=voices).sort_values(["rank", "voices", "segment"], ascending=[True, False, True])
    return [(str(segment), str(need)) for segment, need in zip(rows["segment"], rows["need"])]


def _add_new(unmet: list[tuple[str, str]], plans: dict[str, SegmentPlan], catalogue: list[Offering],
             max_new: int, months: int, max_ratio: float) -> dict[str, str]:
    """Adds the new offerings to ``plans``; returns the offerings refused for their cost, with why."""
    rejected: dict[str, list[str]] = {}
    launched: set[str] = set()
    for segment, need in unmet:
        plan = plans[segment]
        fits = sorted((o for o in catalogue if o.status == "available" and o.meets == need
                       and o.offered_to(segment) and o.allowed_at(plan.level)),
                      key=lambda o: (o.cost_per_customer_month, o.offering_id))
        if not fits or (len(launched) >= max_new and fits[0].offering_id not in launched):
            continue
        offering, economics = fits[0], plan.economics
        if economics is None:
            rejected.setdefault(offering.offering_id, []).append(f"{segment}: no lifetime value given for it")
            continue
        cost = economics["cost_to_serve"] + plan.extra_cost(offering) * months
        limit = economics["lifetime_value"] * max_ratio / 100
        if cost > limit:
            rejected.setdefault(offering.offering_id, []).append(
                f"{segment}: cost to serve {cost:,.2f} over {months} months would pass "
                f"{max_ratio:g} % of lifetime value {economics['lifetime_value']:,.2f}")
            continue
        plan.new.append(offering)
        launched.add(offering.offering_id)
    return {offering_id: "; ".join(reasons) for offering_id, reasons in sorted(rejected.items())}


def _plan_table(period: str, plans: dict[str, SegmentPlan]) -> pd.DataFrame:
    rows: list[dict[str, object]] = []
    for plan in plans.values():
        for change, chosen in (("keep", plan.keep), ("new", plan.new), ("retire", plan.retire)):
            rows += [{"period": period, "segment": plan.segment, "service_level": plan.level,
                      "offering_id": o.offering_id, "meets": o.meets, "change": change,
                      "cost_per_customer_month": o.cost_per_customer_month} for o in chosen]
        if not plan.keep and not plan.new:  # nothing in force: the segment still appears (the contract)
            rows.append({"period": period, "segment": plan.segment, "service_level": plan.level,
                         "offering_id": None, "meets": None, "change": "keep", "cost_per_customer_month": 0.0})
    return pd.DataFrame(rows, columns=list(PLAN_COLUMNS))


def _cost(plans: dict[str, SegmentPlan], change: str) -> float:
    total = 0.0
    for plan in plans.values():
        customers = plan.economics["customers"] if plan.economics else 0
        total += customers * sum(o.cost_per_customer_month for o in (plan.new if change == "new" else plan.retire))
    return round(total, 2)


def _standards(mechanism: str) -> int:
    try:
        published = json.loads(Path(mechanism).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SourceError(f"{mechanism}: the mechanism cannot be read as JSON: {exc}") from exc
    standards = published.get("standards") if isinstance(published, dict) else None
    if not isinstance(standards, (list, dict)):  # a list of standards, or standards by id
        raise SourceError(f"{mechanism}: the mechanism holds no standards (a list, or a mapping by id)")
    return len(standards)
