"""The hand-hygiene example's own tasks, written with ``@pdcaflow.task`` (found through ``pdca.toml``).

``hygiene.plan_audit`` turns the params into this month's observation plan, with
more observations on the wards that did worst last month. ``hygiene.observe`` is
the *sample hospital*: it stands in for the infection-prevention nurses who
observe hand-hygiene opportunities (the WHO "five moments") on each ward, and
records their observations in the audit database. Compliance on a ward starts at
its baseline (``data/wards.csv``) and rises with the training sessions the plan
gives each ward, with diminishing returns; a real hospital replaces this step by
its own data capture and keeps everything else.

Heavy imports (SQLAlchemy) happen inside the tasks, so ``pdca validate`` stays fast.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path
from typing import TypedDict

import pdcaflow

WARDS_FILE = Path(__file__).resolve().parent / "data" / "wards.csv"
MOMENTS = (1, 2, 3, 4, 5)  # before patient contact, before aseptic task, after body fluid, after patient, after surroundings
PROFESSIONS = (("nurse", 0.55, 0.0), ("doctor", 0.30, -0.08), ("other", 0.15, -0.04))  # share, effect on compliance
TRAINING_KEEPS = 0.62  # each training session leaves 62 % of the remaining non-compliance


class AuditPlan(TypedDict):
    plan: dict[str, int]
    planned_observations: int
    focus_wards: list[str]


class Observed(TypedDict):
    recorded: int
    wards: int


def read_wards(path: Path = WARDS_FILE) -> list[dict[str, str]]:
    """The hospital's wards and their baseline compliance (%)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pdcaflow.task("hygiene.plan_audit", phases=("plan",))
def plan_audit(context: pdcaflow.StepContext, *, observations_per_ward: int, focus_below_pct: float = 70.0,
               focus_factor: float = 1.5, connection: str = "hygiene") -> AuditPlan:
    """Plan this month's hand-hygiene observations: a quota per ward, more on last month's weakest wards.

    A ward whose compliance last month was below ``focus_below_pct`` gets
    ``focus_factor`` times the quota (read from the audit database, ``connection``).
    """
    last_month = _ward_compliance(pdcaflow.connection_url(context, connection), context.cycle - 1)
    focus = sorted(ward for ward, pct in last_month.items() if pct < focus_below_pct)
    plan = {row["ward"]: round(observations_per_ward * (focus_factor if row["ward"] in focus else 1.0))
            for row in read_wards()}
    return {"plan": plan, "planned_observations": sum(plan.values()), "focus_wards": focus}


@pdcaflow.task("hygiene.observe", phases=("do",))
def observe(context: pdcaflow.StepContext, *, plan: dict[str, int], training_sessions_per_ward: int,
            seed: int = 11, connection: str = "hygiene") -> Observed:
    """Observe hand-hygiene opportunities on each ward as planned and record them in the audit database.

    The sample hospital: each observation is one opportunity (a WHO moment) by one
    professional, compliant or not; a ward's compliance rises with its training
    sessions. Re-running the step for the same cycle replaces that cycle's rows.
    """
    from sqlalchemy import create_engine, text

    started = dt.datetime.fromisoformat(context.started_at) if context.started_at else dt.datetime.now(dt.UTC)
    rows = []
    for ward in read_wards():
        chance = random.Random(f"{seed}-{context.cycle}-{ward['ward']}")
        missed = (1 - float(ward["baseline_pct"]) / 100) * TRAINING_KEEPS ** max(training_sessions_per_ward - 1, 0)
        for number in range(plan.get(ward["ward"], 0)):
            profession, effect = _profession(chance.random())
            rows.append({
                "id": f"{context.cycle}-{ward['ward']}-{number + 1}", "cycle": context.cycle, "ward": ward["ward"],
                "moment": chance.choice(MOMENTS), "profession": profession,
                "compliant": int(chance.random() < min(max(1 - missed + effect, 0.0), 1.0)),
                "observed_at": (started - dt.timedelta(hours=chance.uniform(1, 24 * 27))).isoformat(),
                "training_sessions": training_sessions_per_ward,
            })
    engine = create_engine(pdcaflow.connection_url(context, connection))
    try:
        with engine.begin() as db:
            db.execute(text(
                "CREATE TABLE IF NOT EXISTS observation (id VARCHAR(40) PRIMARY KEY, cycle INTEGER NOT NULL, "
                "ward VARCHAR(10), moment INTEGER, profession VARCHAR(10), compliant INTEGER, "
                "observed_at VARCHAR(40), training_sessions INTEGER)"))
            db.execute(text("DELETE FROM observation WHERE cycle = :cycle"), {"cycle": context.cycle})
            if rows:
                db.execute(text("INSERT INTO observation VALUES (:id, :cycle, :ward, :moment, :profession, "
                                ":compliant, :observed_at, :training_sessions)"), rows)
    finally:
        engine.dispose()
    return {"recorded": len(rows), "wards": len({row["ward"] for row in rows})}


def _profession(draw: float) -> tuple[str, float]:
    total = 0.0
    for name, share, effect in PROFESSIONS:
        total += share
        if draw < total:
            return name, effect
    return PROFESSIONS[-1][0], PROFESSIONS[-1][2]


def _ward_compliance(url: str, cycle: int) -> dict[str, float]:
    """Compliance (%) per ward in ``cycle``; empty before the first cycle or the first observation."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        if cycle < 1 or not inspect(engine).has_table("observation"):
            return {}
        with engine.connect() as db:
            rows = db.execute(text("SELECT ward, 100.0 * avg(compliant) FROM observation WHERE cycle = :cycle "
                                   "GROUP BY ward"), {"cycle": cycle}).all()
        return {ward: float(pct) for ward, pct in rows}
    finally:
        engine.dispose()
