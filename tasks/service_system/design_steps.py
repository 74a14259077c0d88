"""The work of ``service.design`` (see :func:`pdcaflow.tasks.service_system.design.design`).

The rules are in the task's docstring; here they run in three passes - keep or
retire what is in force, add new offerings for the unmet needs by rank within the
cost limit, write the plan - over typed records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pdcaflow.tasks.sdk.registry import StepContext
from pdcaflow.tasks.sdk.sources import SourceError, read_table, write_table
from pdcaflow.tasks.sdk.workspace import output_path, previous_cycle_dir
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
    below_level: set[str] = field(default_factory=set)  # retired for the level: maybe never in force for it
    bills: CustomerBills | None = None

    def extra_cost(self, offering: Offering | None = None, *, safe: bool = False) -> float:
        """Per customer a month: new offerings (and ``offering``) less retired ones (``safe``: less only
        those retired that were surely in force, not those retired for the level alone)."""
        added = sum(o.cost_per_customer_month for o in self.new) + (offering.cost_per_customer_month if offering else 0)
        saved = (o for o in self.retire if not (safe and o.offering_id in self.below_level))
        return added - sum(o.cost_per_customer_month for o in saved)

    def past_limit(self, offering: Offering | None = None) -> int:
        """The segment's customers whose monthly cost, with this plan's changes (and ``offering``),
        passes the share of their own margin the limit allows; 0 without their bills."""
        if self.bills is None:
            return 0
        cost = self.bills.cost + self.extra_cost(offering, safe=True)
        return int((cost > self.bills.margin * self.bills.ratio).sum())


@dataclass
class LossLimit:
    """The customers of every segment, and how many of them may pass the limit of their own margin."""

    customers: int
    unplanned: int  # past the limit in segments not planned
    max_pct: float
    ratio_pct: float

    def share_pct(self, plans: dict[str, SegmentPlan], segment: str | None = None,
                  offering: Offering | None = None) -> float:
        """% of all customers past the limit with the plans' changes (and ``offering`` for ``segment``)."""
        past = self.unplanned + sum(plan.past_limit(offering if name == segment else None)
                                    for name, plan in plans.items())
        return 100 * past / self.customers if self.customers else 0.0


@dataclass
class CustomerBills:
    """One segment's customers: monthly cost to serve now (the offerings in force in it) and margin."""

    cost: np.ndarray
    margin: np.ndarray
    ratio: float  # max_cost_ratio_pct / 100


def run_design(context: StepContext, *, needs: str, service_levels: dict[str, str],
               segments: dict[str, SegmentEconomics], offerings: str, mechanism: str | None,
               max_new_offerings: int, lifetime_months: int, max_cost_ratio_pct: float,
               retire_unnamed: bool, customers: str | None = None,
               max_unprofitable_pct: float = 10.0) -> DesignResult:
    """The body of ``service.design``."""
    _check(service_levels, max_new_offerings, lifetime_months, max_cost_ratio_pct, max_unprofitable_pct)
    researched = read_table(needs, "needs", columns=("period", "segment", "need", "rank", "met_by"),
                            text_columns=("segment", "need", "met_by"))
    periods = sorted(set(researched["period"].dropna().astype(str)))
    if len(periods) != 1:
        raise SourceError(f"{needs}: the needs must be of one researched quarter (found: {', '.join(periods) or 'none'})")
    period = next_quarter(check_quarter(periods[0], f"{needs}: period"))
    catalogue = read_catalogue(offerings)
    bills = {} if customers is None else _bills(customers, max_cost_ratio_pct)
    plans = {segment: SegmentPlan(segment, level, segments.get(segment), bills=bills.get(segment))
             for segment, level in sorted(service_levels.items())}
    limit = LossLimit(sum(len(b.cost) for b in bills.values()),
                      sum(int((b.cost > b.margin * b.ratio).sum()) for name, b in bills.items() if name not in plans),
                      max_unprofitable_pct, max_cost_ratio_pct)
    named = set(researched["need"].astype(str))
    last = _in_force_last_quarter(context)
    for plan in plans.values():
        for offering in catalogue:
            was_in_force = last is None or offering.offering_id in last.get(plan.segment, set())
            if offering.status == "current" and offering.offered_to(plan.segment) and was_in_force:
                keeps = (offering.meets in named or not retire_unnamed) and offering.allowed_at(plan.level)
                (plan.keep if keeps else plan.retire).append(offering)
                if not offering.allowed_at(plan.level):
                    plan.below_level.add(offering.offering_id)
    retired_for_loss = _retire_for_loss(researched, plans, limit)
    unmet = _unmet(researched, plans)
    missing = [(segment, need) for segment, need in unmet if not _fits(catalogue, segment, need, plans[segment].level)]
    added = _add_new([n for n in unmet if n not in missing], plans, catalogue, max_new_offerings, lifetime_months,
                     max_cost_ratio_pct, limit)
    path = output_path(context, "service_plan.parquet")
    write_table(_plan_table(period, plans), path)
    in_force = {o.offering_id for plan in plans.values() for o in plan.keep + plan.new}
    new = sorted({o.offering_id for plan in plans.values() for o in plan.new})
    retired = sorted({o.offering_id for plan in plans.values() for o in plan.retire})
    covered = sum(1 for segment, need in unmet if any(o.meets == need for o in plans[segment].new))
    return {"plan": path, "period": period, "offerings": len(in_force), "new_offerings": len(new),
            "retired_offerings": len(retired), "new": new, "retired": retired, "rejected_for_cost": added.rejected,
            "retired_for_loss": retired_for_loss,
            "needs_covered_pct": percent(covered, len(unmet) - len(missing)),
            "needs_without_offering": [f"{segment}: {need}" for segment, need in missing],
            "needs_without_offering_count": len(missing), "held_back_by_limit": added.held_back,
            "needs_refused_for_cost": added.refused, "needs_refused_for_cost_count": len(added.refused),
            "cost_added_per_month": _cost(plans, "new"), "cost_saved_per_month": _cost(plans, "retire"),
            "standards_in_force": None if mechanism is None else _standards(mechanism)}


def _in_force_last_quarter(context: StepContext) -> dict[str, set[str]] | None:
    """Segment -> the offerings the previous cycle's plan put in force for it (``keep`` or ``new``);
    None without that plan (cycle 1, or its work folder is gone): then every ``current`` offering
    is taken as in force for each segment it may go to at its level."""
    directory = previous_cycle_dir(context)
    path = None if directory is None else directory / "service_plan.parquet"
    if path is None or not path.is_file():
        return None
    plan = read_table(str(path), "service_plan", columns=("segment", "offering_id", "change"),
                      text_columns=("segment", "offering_id", "change"))
    rows = plan[plan["change"].isin(("keep", "new")) & plan["offering_id"].notna()]
    last: dict[str, set[str]] = {}
    for segment, offering_id in zip(rows["segment"].astype(str), rows["offering_id"].astype(str)):
        if offering_id.strip():
            last.setdefault(segment, set()).add(offering_id.strip())
    return last


def _check(service_levels: dict[str, str], max_new: int, lifetime_months: int, max_ratio: float,
           max_unprofitable: float) -> None:
    unknown = sorted(f"{segment}: {level}" for segment, level in service_levels.items() if level not in LEVELS)
    if unknown:
        raise ValueError(f"service.design: unknown service level(s) {', '.join(unknown)} (known: {', '.join(LEVELS)})")
    if max_new < 0 or lifetime_months < 1 or max_ratio <= 0:
        raise ValueError(f"service.design: max_new_offerings ({max_new}) must be 0 or more, lifetime_months "
                         f"({lifetime_months}) at least 1 and max_cost_ratio_pct ({max_ratio}) above 0")
    if not 0 <= max_unprofitable <= 100:
        raise ValueError(f"service.design: max_unprofitable_pct ({max_unprofitable}) must lie between 0 and 100")


def _bills(customers: str, max_ratio: float) -> dict[str, CustomerBills]:
    """Segment -> its customers' monthly cost and margin (those with a ``left`` date are not served)."""
    frame = read_table(customers, "customers", columns=("customer_id", "segment", "monthly_margin",
                                                        "monthly_service_cost"), text_columns=("segment",))
    if "left" in frame.columns:
        frame = frame[frame["left"].fillna("").astype(str).str.strip() == ""]
    cost = pd.to_numeric(frame["monthly_service_cost"], errors="coerce")
    margin = pd.to_numeric(frame["monthly_margin"], errors="coerce")
    bad = frame["customer_id"][cost.isna() | margin.isna()]
    if len(bad):
        raise SourceError(f"{customers}: customer(s) {', '.join(map(str, bad[:5]))} lack a numeric "
                          "monthly_margin or monthly_service_cost")
    return {str(segment): CustomerBills(cost[rows].to_numpy(float), margin[rows].to_numpy(float), max_ratio / 100)
            for segment, rows in frame.groupby("segment").groups.items()}


def _retire_for_loss(researched: pd.DataFrame, plans: dict[str, SegmentPlan], limit: LossLimit) -> dict[str, str]:
    """Retires kept offerings while more than ``limit.max_pct`` % of all customers pass the limit: from
    the segment with most customers past it, the offering whose need ranks lowest there (unnamed
    there first; the dearest among equals). Returns offering id -> why, per segment."""
    reasons: dict[str, list[str]] = {}
    while (share := limit.share_pct(plans)) > limit.max_pct:
        candidates = [plan for plan in plans.values() if plan.keep and plan.past_limit() > 0]
        if not candidates:
            break
        plan = max(candidates, key=lambda p: (p.past_limit() / len(p.bills.cost) if p.bills else 0.0, p.segment))
        ranks = researched[researched["segment"].astype(str) == plan.segment].set_index("need")["rank"]
        offering = min(plan.keep, key=lambda o: (-float(ranks.get(o.meets, float("inf"))),
                                                 -o.cost_per_customer_month, o.offering_id))
        plan.keep.remove(offering)
        plan.retire.append(offering)
        reasons.setdefault(offering.offering_id, []).append(
            f"{plan.segment}: {share:.1f} % of all customers cost more than {limit.ratio_pct:g} % of their "
            f"margin (at most {limit.max_pct:g} %)")
    return {offering_id: "; ".join(why) for offering_id, why in sorted(reasons.items())}


def _unmet(researched: pd.DataFrame, plans: dict[str, SegmentPlan]) -> list[tuple[str, str]]:
    """(segment, need) named in the research that no offering kept for the segment meets, for the
    segments planned, highest rank first."""
    rows = researched[researched["segment"].astype(str).isin(plans)]
    met = [any(o.meets == str(need) for o in plans[str(segment)].keep)
           for segment, need in zip(rows["segment"], rows["need"])]
    rows = rows[[not m for m in met]]
    voices = rows[[c for c in ("mentions", "complaints", "reports") if c in rows.columns]].sum(axis=1)
    rows = rows.assign(voices=voices).sort_values(["rank", "voices", "segment"], ascending=[True, False, True])
    return [(str(segment), str(need)) for segment, need in zip(rows["segment"], rows["need"])]


def _fits(catalogue: list[Offering], segment: str, need: str, level: str) -> list[Offering]:
    """The offerings of the catalogue (``available``, or ``current`` for other segments) that meet ``need``
    for ``segment`` at ``level``, cheapest first."""
    return sorted((o for o in catalogue if o.status in ("available", "current") and o.meets == need
                   and o.offered_to(segment) and o.allowed_at(level)),
                  key=lambda o: (o.cost_per_customer_month, o.offering_id))


@dataclass
class Added:
    """What adding the new offerings left over: refusals for cost (id -> why) and needs held back by the limit."""

    rejected: dict[str, str]
    held_back: int
    refused: list[str]  # "segment: need" an offering fits but its cost was refused


def _add_new(unmet: list[tuple[str, str]], plans: dict[str, SegmentPlan], catalogue: list[Offering],
             max_new: int, months: int, max_ratio: float, loss: LossLimit) -> Added:
    """Adds the new offerings to ``plans`` for the unmet needs a catalogue offering fits."""
    rejected: dict[str, list[str]] = {}
    launched: set[str] = set()
    held_back = 0
    refused: list[str] = []
    for segment, need in unmet:
        plan = plans[segment]
        dropped = {o.offering_id for o in plan.retire}  # retired from this segment this quarter: not back at once
        fits = [o for o in _fits(catalogue, segment, need, plan.level) if o.offering_id not in dropped]
        if not fits:
            continue
        if len(launched) >= max_new and fits[0].status == "available" and fits[0].offering_id not in launched:
            held_back += 1
            continue
        offering, economics = fits[0], plan.economics
        if economics is None:
            rejected.setdefault(offering.offering_id, []).append(f"{segment}: no lifetime value given for it")
            refused.append(f"{segment}: {need}")
            continue
        cost = economics["cost_to_serve"] + plan.extra_cost(offering) * months
        if cost > economics["lifetime_value"] * max_ratio / 100:
            rejected.setdefault(offering.offering_id, []).append(
                f"{segment}: cost to serve {cost:,.2f} over {months} months would pass "
                f"{max_ratio:g} % of lifetime value {economics['lifetime_value']:,.2f}")
            refused.append(f"{segment}: {need}")
            continue
        share = loss.share_pct(plans, segment, offering)
        if share > loss.max_pct:
            rejected.setdefault(offering.offering_id, []).append(
                f"{segment}: {share:.1f} % of all customers would cost more than {max_ratio:g} % of their "
                f"margin (at most {loss.max_pct:g} %)")
            refused.append(f"{segment}: {need}")
            continue
        plan.new.append(offering)
        if offering.status == "available":  # one current for other segments is extended, not launched
            launched.add(offering.offering_id)
    return Added({offering_id: "; ".join(reasons) for offering_id, reasons in sorted(rejected.items())}, held_back, refused)


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
