"""How the world responds to the service it gets: visits, deliveries, complaints, satisfaction.

Each function is one documented response (docs/sample-world.md gives the
formulas); all are monotone in the lever they respond to:

- visits done = planned * reliability(area) * (1 + load^n)^(-1/n), load = planned / field capacity;
- satisfaction moves each month a share ``relaxation`` of the way to its target
  level: own level + w_v (1 - exp(-k_v visits)) - stock-out, late-delivery and
  complaint penalties, each of the form w (1 - exp(-x));
- complaints arrive more often after stock-outs, late deliveries and among the
  dissatisfied; they queue first come, first served for the complaint handlers,
  so resolution time grows steeply as cases per handler approach capacity.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pdcaflow.tasks.sample_world.world_model import COMPLAINT_CATEGORIES, INSPECTION_LEVELS, WorldModel

HOURS_PER_CONTACT = 48.0  # a customer waiting this long gets in touch again


def visits(rng: np.random.Generator, planned: np.ndarray, area: np.ndarray, capacity: float,
           model: WorldModel) -> np.ndarray:
    """Visits done per customer, given the visits planned and the field's capacity (visits a month)."""
    load = planned.sum() / capacity if capacity > 0 else np.inf
    reliability = np.asarray([model.visit_reliability.get(name, min(model.visit_reliability.values()))
                              for name in area])
    return rng.binomial(planned, reliability * model.capacity_factor(float(load)))


def price_labels(rng: np.random.Generator, done: np.ndarray, habit: np.ndarray, model: WorldModel) -> pd.Series:
    """Whether price labels were in order at each visited shop (checked on a visit; empty if not visited)."""
    chance = np.clip(habit + model.label_visit_lift * (1.0 - np.exp(-0.5 * done)), 0.0, 0.995)
    ok = rng.random(len(done)) < chance
    return pd.Series(pd.array(np.where(done > 0, ok, False), dtype="boolean")).where(done > 0, pd.NA)


def delivery_hours(rng: np.random.Generator, area: np.ndarray, model: WorldModel) -> np.ndarray:
    """Hours from order to delivery: lognormal around the area's median, plus the odd delay."""
    median = np.asarray([model.delivery_median_hours.get(name, 14.0) for name in area])
    hours = median * np.exp(rng.normal(0.0, model.delivery_sigma, len(area)))
    delayed = rng.random(len(area)) < model.delay_pct / 100.0
    return hours + delayed * rng.exponential(model.delay_mean_hours, len(area))


def complaint_rates(stockouts: np.ndarray, late: np.ndarray, satisfaction: np.ndarray, days: int,
                    model: WorldModel) -> np.ndarray:
    """Expected complaints per customer this month (of ``days`` days)."""
    gap = np.clip(model.leave_below - satisfaction, 0.0, None)
    return ((model.complaint_base + model.complaint_per_point * gap) * days / 30.4
            + model.complaint_per_stockout * (1.0 - np.exp(-stockouts))
            + model.complaint_per_late * (1.0 - np.exp(-late)))


def new_complaints(rng: np.random.Generator, rate: np.ndarray, stockouts: np.ndarray, late: np.ndarray,
                   hours_in_month: float, model: WorldModel) -> pd.DataFrame:
    """This month's complaints: ``customer`` (row), ``category``, ``opened``, ``work`` and ``external`` (hours)."""
    counts = np.minimum(rng.poisson(rate), 3)
    customer = np.repeat(np.arange(len(rate)), counts)
    cause = np.stack([model.complaint_per_stockout * (1.0 - np.exp(-stockouts)),
                      model.complaint_per_late * (1.0 - np.exp(-late)),
                      np.full(len(rate), model.complaint_base)], axis=1)[customer]
    pick = (rng.random(len(customer))[:, None] * cause.sum(axis=1, keepdims=True) > np.cumsum(cause, axis=1)).sum(1)
    other = rng.choice(COMPLAINT_CATEGORIES[2:], size=len(customer), p=[0.35, 0.2, 0.25, 0.2])
    category = np.where(pick == 0, "stockout", np.where(pick == 1, "delivery", other))
    frame = pd.DataFrame({"customer": customer, "category": category,
                          "opened": rng.uniform(0.0, hours_in_month, len(customer)),
                          "work": rng.gamma(2.0, model.handling_hours / 2.0, len(customer)),
                          "external": model.external_hours * np.exp(rng.normal(0.0, 0.6, len(customer)))})
    # handling: waiting for a handler + the handler's work + waiting on the customer or the field
    return frame.sort_values("opened", kind="stable").reset_index(drop=True)


def waiting_hours(rng: np.random.Generator, count: int, expected_cases: float, handlers: float, hours_in_month: float,
                  model: WorldModel) -> np.ndarray:
    """Hours each of ``count`` new cases waits for a free handler (Erlang C: the M/M/c queue in steady state).

    Cases arrive at ``expected_cases`` a month and need ``handling_hours`` of handler
    time on average; ``handlers`` may be fractional (that many, rounded, working
    proportionally faster or slower). A case waits with the probability that every
    handler is busy, then an exponential time with rate ``c * mu - lambda``; the load
    is capped at ``max_load`` (a queue that cannot keep up waits very long, not forever).
    """
    _, busy, rate = queue_state(expected_cases, handlers, hours_in_month, model)
    waits = rng.random(count) < busy
    return np.where(waits, rng.exponential(1.0 / rate, count), 0.0)


def queue_state(expected_cases: float, handlers: float, hours_in_month: float,
                model: WorldModel) -> tuple[float, float, float]:
    """``(load, P(wait), rate)`` of the complaint queue: load = arrivals / capacity."""
    servers = max(1, int(round(handlers)))
    service_rate = max(handlers, 0.05) / servers / model.handling_hours  # cases per hour per server
    arrival_rate = max(expected_cases, 0.0) / hours_in_month
    load = min(arrival_rate / (servers * service_rate), model.max_load)
    offered = load * servers
    terms = [offered ** k / math.factorial(k) for k in range(servers)]
    last = offered ** servers / math.factorial(servers) / (1.0 - load)
    busy = last / (sum(terms) + last)
    return load, busy, servers * service_rate * (1.0 - load)


def satisfaction(previous: np.ndarray, level: np.ndarray, sensitivity: np.ndarray, done: np.ndarray,
                 stockouts: np.ndarray, late: np.ndarray, complaint_penalty: np.ndarray,
                 model: WorldModel) -> np.ndarray:
    """Latent satisfaction at the end of the month (1-5)."""
    target = (level + model.visit_effect(done, sensitivity) - model.stockout_weight * (1.0 - np.exp(-stockouts))
              - model.late_weight * (1.0 - np.exp(-late)) - complaint_penalty)
    start = np.where(np.isnan(previous), np.clip(target, 1.0, 5.0), previous)
    return np.clip(start + model.relaxation * (np.clip(target, 1.0, 5.0) - start), 1.0, 5.0)


def complaint_penalty(hours: np.ndarray, model: WorldModel) -> np.ndarray:
    """Satisfaction lost over one complaint that took (or has so far taken) ``hours``."""
    return model.complaint_weight * (1.0 - np.exp(-hours / model.complaint_hours_scale))


def contacts(rng: np.random.Generator, hours: np.ndarray) -> np.ndarray:
    """Times a customer had to get in touch: once, plus about once per two days of waiting."""
    return 1 + rng.poisson(np.clip(hours, 0.0, None) / HOURS_PER_CONTACT)


def survey_scores(rng: np.random.Generator, latent: np.ndarray, model: WorldModel) -> np.ndarray:
    """Answers 1-5 around the latent satisfaction of the customers called."""
    return np.clip(np.rint(latent + rng.normal(0.0, model.survey_noise, len(latent))), 1, 5).astype(int)


def inspection_scores(rng: np.random.Generator, completion: np.ndarray, labels_ok: np.ndarray, level: str,
                      model: WorldModel) -> np.ndarray:
    """Inspection scores 0-100 of sampled shops at one ``level``: visits kept and labels in order score."""
    mean = (model.inspection_base + model.inspection_visits * completion + model.inspection_labels * labels_ok
            + model.inspection_offset.get(level, 0.0))
    return np.clip(np.rint(mean + rng.normal(0.0, model.inspection_noise, len(mean))), 0, 100).astype(int)


def inspection_sample(rng: np.random.Generator, customers: int, model: WorldModel) -> list[tuple[str, np.ndarray]]:
    """The customers (rows) each level inspects this month."""
    chosen = []
    for level in INSPECTION_LEVELS:
        size = min(customers, max(1, int(round(customers * model.inspection_pct.get(level, 0.0) / 100.0))))
        chosen.append((level, np.sort(rng.choice(customers, size=size, replace=False))))
    return chosen
