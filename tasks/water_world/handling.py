"""How complaint cases are worked: the ``complaint_events`` a desk's case system would record.

:func:`work_cases` takes the cases file of docs/service-system-data.md (``case_id,
customer_id, type, ..., contact_ids, owner, ..., claim_amount``) and the desk's rules
(escalation chain, confirmation, settlement) and draws, per case: the first answer,
the resolution (slowed by the owner's workload, sped up at each escalation), the
customer's confirmation with a score, a reopening, silence, and a claim's settlement.
Events are written against the case's first contact. :func:`group_cases` is the
world's own intake, used for the generated history only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pdcaflow.tasks.water_world.work_hours import WorkingHours
from pdcaflow.tasks.water_world.world_model import WaterModel

EVENT_COLUMNS = ("contact_id", "event", "at", "amount", "score")
OPEN_DAYS = 14  # the world's own intake: a contact within this many days of the case's last joins the case


@dataclass(frozen=True)
class DeskRules:
    """The handling step's inputs the world responds to."""

    escalate_after_hours: float = 24.0
    escalate_to: tuple[str, ...] = ("service-manager",)
    confirm_with_customer: bool = True
    settle_within_days: float = 14.0
    sla_hours: float = 48.0
    calendar: WorkingHours | None = None  # the desk's working hours; None: every hour counts


def rules_from(sla_hours: float | None, escalate_after_hours: float | None, escalate_to: str | Sequence[str] | None,
               confirm_with_customer: bool | None, settle_within_days: float | None,
               calendar: Any = None) -> DeskRules:
    """The rules from a step's inputs (None -> the default; ``calendar`` as :class:`WorkingHours` reads it)."""
    default = DeskRules()
    chain = ((escalate_to,) if isinstance(escalate_to, str) else tuple(escalate_to)) if escalate_to else ()
    if escalate_after_hours is not None and escalate_after_hours <= 0:
        raise ValueError(f"escalate_after_hours must be more than 0 hours, got {escalate_after_hours}")
    return DeskRules(escalate_after_hours=float(escalate_after_hours or default.escalate_after_hours),
                     escalate_to=chain if escalate_to is not None else default.escalate_to,
                     confirm_with_customer=default.confirm_with_customer if confirm_with_customer is None
                     else bool(confirm_with_customer),
                     settle_within_days=float(settle_within_days or default.settle_within_days),
                     sla_hours=float(sla_hours or default.sla_hours), calendar=WorkingHours.from_spec(calendar))


def workload_factor(cases_of_owner: np.ndarray, capacity: float) -> np.ndarray:
    """How much slower an owner works with that many cases: 1 + 0.6 x (cases / capacity)^1.5, at most 4."""
    return np.minimum(4.0, 1.0 + 0.6 * (cases_of_owner / capacity) ** 1.5)


def resolution_hours(raw: np.ndarray, rules: DeskRules, speedup: float) -> np.ndarray:
    """Hours to resolve after escalation: at k x ``escalate_after_hours`` (k = 1 .. the chain's length) a case
    still open goes one level up, and the time it still needs is multiplied by ``speedup``."""
    hours = raw.copy()
    for level in range(1, len(rules.escalate_to) + 1):
        threshold = level * rules.escalate_after_hours
        late = hours > threshold
        hours[late] = threshold + (hours[late] - threshold) * speedup
    return hours


def work_cases(cases: pd.DataFrame, rules: DeskRules, model: WaterModel, rng: np.random.Generator,
               owner_cases: Mapping[str, int] | None = None) -> pd.DataFrame:
    """The events of every case in ``cases`` (rows sorted by ``case_id`` first, so a retry draws the same);
    ``owner_cases``: each owner's cases in all (default: theirs in ``cases``)."""
    cases = cases.sort_values("case_id", kind="stable").reset_index(drop=True)
    n = len(cases)
    owner = cases["owner"].fillna("").astype(str)
    counts = owner.value_counts() if owner_cases is None else pd.Series(owner_cases, dtype=float)
    load = owner.map(counts).fillna(1).to_numpy(float)
    factor = np.where(owner == "", 4.0, workload_factor(load, model.owner_capacity))
    received = pd.to_datetime(cases["received_at"]).to_numpy().astype("datetime64[s]")
    first_id = cases["contact_ids"].astype(str).str.split(";").str[0].str.strip().to_numpy(object)
    answer = model.first_answer_median_hours * factor * rng.lognormal(0.0, 0.7, n)
    raw = model.resolve_median_hours * factor * rng.lognormal(0.0, model.resolve_sd, n)
    resolve = resolution_hours(raw, rules, model.escalation_speedup)  # working hours
    answer = np.minimum(answer, resolve)
    reopen = rng.random(n) < np.where(resolve > rules.sla_hours, model.reopen_pct_slow, model.reopen_pct) / 100
    confirms = rng.random(n) < (model.confirm_pct if rules.confirm_with_customer else model.confirm_pct_unasked) / 100
    score = np.clip(np.round(4.6 - 0.02 * np.maximum(0.0, resolve - 24.0) - 0.8 * reopen
                             + rng.normal(0.0, 0.7, n)), 1, 5)
    rated = rng.random(n) < 0.9
    reopen_after, second_fix = rng.uniform(24, 120, n), model.resolve_median_hours * rng.lognormal(0.0, 0.5, n)
    confirm_after = 24 * rng.lognormal(0.0, 0.6, n)
    claim = pd.to_numeric(cases["claim_amount"], errors="coerce").to_numpy(float)
    # days from receipt to payment (never before the resolution): Gamma(2, promise / 4), 91 % within the promise
    settle_days = np.minimum(rng.gamma(2.0, rules.settle_within_days / 4, n), 1.5 * rules.settle_within_days)
    paid = np.round(claim * rng.uniform(0.5, 1.0, n), 2)
    # the desk's hours run on its calendar; the customer's (reopening, confirming) and payment days on the clock
    answered, resolved = _desk_time(rules, received, answer), _desk_time(rules, received, resolve)
    again = resolved + _hours(reopen_after)
    fixed = np.where(reopen, _desk_time(rules, again, second_fix), resolved)
    settled = np.maximum(fixed, received + _hours(settle_days * 24))
    events: list[tuple[object, str, object, float, float]] = []
    for i in range(n):
        events.append((first_id[i], "answered", answered[i], np.nan, np.nan))
        events.append((first_id[i], "resolved", resolved[i], np.nan, np.nan))
        if reopen[i]:
            events.append((first_id[i], "reopened", again[i], np.nan, np.nan))
            events.append((first_id[i], "resolved", fixed[i], np.nan, np.nan))
        if confirms[i]:
            events.append((first_id[i], "confirmed", fixed[i] + _hours(confirm_after[i:i + 1])[0], np.nan,
                           score[i] if rated[i] else np.nan))
        if not np.isnan(claim[i]):
            events.append((first_id[i], "settled", settled[i], paid[i], np.nan))
    table = pd.DataFrame(events, columns=list(EVENT_COLUMNS))
    table["at"] = pd.to_datetime(table["at"]).dt.floor("s")
    table["score"] = table["score"].astype("Int64")
    return table


def _hours(hours: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(hours, float) * 3600).astype("int64").astype("timedelta64[s]")


def _desk_time(rules: DeskRules, start: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """``hours`` of the desk's time after ``start``: working hours on its calendar, else clock hours."""
    return rules.calendar.add(start, hours) if rules.calendar else start + _hours(hours)


def group_cases(contacts: pd.DataFrame) -> pd.DataFrame:
    """The world's own intake (history only): a customer's contacts about a type within ``OPEN_DAYS`` of
    the case's last contact form one case, owned by the region's desk."""
    frame = contacts.assign(received_at=pd.to_datetime(contacts["received_at"]))
    frame = frame.sort_values(["customer_id", "type", "received_at"], kind="stable").reset_index(drop=True)
    same = (frame["customer_id"].eq(frame["customer_id"].shift()) & frame["type"].eq(frame["type"].shift())
            & (frame["received_at"] - frame["received_at"].shift() <= pd.Timedelta(days=OPEN_DAYS)))
    frame["case"] = (~same).cumsum()
    cases = frame.groupby("case", sort=False).agg(
        customer_id=("customer_id", "first"), type=("type", "first"), channel=("channel", "first"),
        region=("region", "first"), received_at=("received_at", "first"), contacts=("contact_id", "size"),
        contact_ids=("contact_id", ";".join), claim_amount=("claim_amount", "max")).reset_index(drop=True)
    cases.insert(0, "case_id", cases["contact_ids"].str.split(";").str[0])
    cases["team"] = "complaint-desk-" + cases["region"]
    cases["owner"] = cases["team"]
    return cases
