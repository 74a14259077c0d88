"""A quarter's complaint contacts: first contacts about a problem, repeat contacts and claims.

Expected first contacts of a customer about a type in a quarter:

    base[segment] x type_share[type] + complaint_unmet x (unmet primary need of that type)
      + complaint_unmet / 2 x (unmet secondary need of that type)
      + (delivery) complaint_out_of_water x out-of-water deliveries + complaint_late x late deliveries
      + (bucket) complaint_hygiene x returns failing hygiene + (service) complaint_unanswered x calls hung up
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pdcaflow.tasks.water_world.feedback import unmet
from pdcaflow.tasks.water_world.operations import Failures, Quarter
from pdcaflow.tasks.water_world.world_model import CHANNELS, COMPLAINT_TYPES, NEED_COMPLAINT, WaterModel

TYPE_SHARES = {"delivery": 0.30, "water_quality": 0.15, "bucket": 0.15, "billing": 0.15, "service": 0.15,
               "other": 0.10}
CHANNEL_SHARES = (0.45, 0.30, 0.15, 0.05, 0.05)
CLAIM_TYPES = ("delivery", "water_quality", "bucket")
SUMMARIES = {
    "delivery": ("Water arrived after the promised time", "Ran out of water before the delivery came",
                 "Driver did not call before arriving", "Wanted a delivery at the weekend"),
    "water_quality": ("Water tastes odd", "Sediment seen in a bucket", "Asked for the water test results"),
    "bucket": ("Bucket delivered dirty", "Bucket leaked", "Seal on a bucket was broken"),
    "billing": ("Charged for buckets already returned", "Deposit not refunded", "Bill hard to understand"),
    "service": ("Hotline kept me waiting", "Could not order online", "Staff were rude on the phone"),
    "other": ("Delivery staff blocked the entrance", "Wrong name on the account"),
}


def expected(q: Quarter, model: WaterModel, failures: Failures) -> np.ndarray:
    """Per active customer and type (columns in COMPLAINT_TYPES order): expected first contacts."""
    seg = q.segment_index()
    rates = np.outer(np.asarray(model.complaint_base)[seg], [TYPE_SHARES[t] for t in COMPLAINT_TYPES])
    column = {t: i for i, t in enumerate(COMPLAINT_TYPES)}
    for need_column, weight in (("need1", 1.0), ("need2", 0.5)):
        missing = unmet(q, need_column)
        kinds = q.active[need_column].map(NEED_COMPLAINT).map(column).to_numpy(int)
        np.add.at(rates, (np.flatnonzero(missing), kinds[missing]), weight * model.complaint_unmet)
    rates[:, column["delivery"]] += (model.complaint_out_of_water * failures.out_of_water
                                     + model.complaint_late * failures.late)
    rates[:, column["bucket"]] += model.complaint_hygiene * failures.hygiene_failed
    rates[:, column["service"]] += model.complaint_unanswered * failures.unanswered
    return rates


def contacts(q: Quarter, model: WaterModel, failures: Failures) -> tuple[pd.DataFrame, np.ndarray]:
    """The quarter's contacts (the ``complaints`` table's rows) and, per customer, first contacts made."""
    firsts = np.minimum(q.rng.poisson(expected(q, model, failures)), 2)
    customer, kind = np.nonzero(firsts)
    repeat = np.repeat(np.arange(len(customer)), firsts[customer, kind])
    customer, kind = customer[repeat], kind[repeat]
    received = q.moments(len(customer), 8.0, 20.0).to_numpy()
    types = np.asarray(COMPLAINT_TYPES, dtype=object)[kind]
    claims = np.isin(types, CLAIM_TYPES) & (q.rng.random(len(customer)) < model.claim_pct / 100)
    amount = np.round(model.claim_median * q.rng.lognormal(0.0, 0.6, len(customer)), 2)
    first = pd.DataFrame({"customer": customer, "type": types, "received_at": received,
                          "claim_amount": np.where(claims, amount, np.nan)})
    # repeat contacts: Poisson(repeat_mean) more, each 2 days (median) after the one before; within the quarter
    again = q.rng.poisson(model.repeat_mean, len(first))
    rows = np.repeat(np.arange(len(first)), again)
    gaps = pd.to_timedelta(np.round(48 * 3600 * q.rng.lognormal(0.0, 0.7, len(rows))).astype("int64"), unit="s")
    repeats = first.iloc[rows].assign(claim_amount=np.nan).reset_index(drop=True)
    order_in_case = pd.Series(rows).groupby(rows).cumcount().to_numpy() + 1
    repeats["received_at"] = repeats["received_at"] + gaps * order_in_case
    table = pd.concat([first, repeats], ignore_index=True)
    table = table.loc[table["received_at"] < pd.Timestamp(q.start) + pd.Timedelta(days=q.days)]
    table = table.sort_values(["received_at", "customer"], kind="stable").reset_index(drop=True)
    n = len(table)
    out = pd.DataFrame({
        "contact_id": [f"C{q.period[:4]}{q.period[-1]}-{i + 1:05d}" for i in range(n)],
        "customer_id": q.active["customer_id"].to_numpy(object)[table["customer"]],
        "received_at": table["received_at"].dt.floor("s"),
        "channel": np.asarray(CHANNELS, dtype=object)[q.rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARES)],
        "region": q.active["region"].to_numpy(object)[table["customer"]],
        "type": table["type"].to_numpy(object),
        "summary": [SUMMARIES[t][q.rng.integers(len(SUMMARIES[t]))] for t in table["type"]],
        "claim_amount": table["claim_amount"].to_numpy(float),
    })
    return out, firsts.sum(axis=1)
