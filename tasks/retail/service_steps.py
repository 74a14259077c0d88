"""The work of ``service.deliver``, imported by the task only when it runs (pandas, the sample world).

:mod:`pdcaflow.tasks.retail.service` holds the registered task (its signature, the docstring users
read and the shape of its result). The sample world's month lives in
:mod:`pdcaflow.tasks.sample_world`, the measures in :mod:`pdcaflow.tasks.retail.operations`; this module picks the
month, lets the world simulate it when the source is one, finds the operations
records and measures them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pdcaflow.tasks.retail.operations import measure, read_month
from pdcaflow.tasks.sdk.sources import SourceError, is_url, read_table
from pdcaflow.tasks.sample_world import is_world, simulate_month
from pdcaflow.tasks.sample_world.periods import month_index, next_month
from pdcaflow.tasks.sample_world.storage import OPERATIONS_DIR


class Delivered(NamedTuple):
    """A month carried out: the month, where its operations records are, and their measures."""

    period: str
    operations: str
    measured: dict[str, Any]


def carry_out(*, plan: str, source: str, visits_per_month: Mapping[str, int], complaint_handlers: float | None,
              field_reps: float | None, channels: Sequence[str], delivery_window_hours: float,
              accept_supplementary_orders: bool, check_price_labels: bool, survey_size: int | None,
              period: str | None, table_prefix: str) -> Delivered:
    """The body of ``service.deliver`` (see :func:`pdcaflow.tasks.retail.service.deliver`)."""
    month = _period(plan, source, period)
    if not is_url(source) and is_world(source):
        simulate_month(source, month, plan=plan, visits_per_month=visits_per_month,
                       complaint_handlers=complaint_handlers, delivery_window_hours=delivery_window_hours,
                       channels=channels, field_reps=field_reps, accept_supplementary_orders=accept_supplementary_orders,
                       check_price_labels=check_price_labels, survey_size=survey_size)
    operations = _operations(source, month)
    return Delivered(month, operations, measure(read_month(operations, month, table_prefix), month,
                                                delivery_window_hours))


def _period(plan: str, source: str, period: str | None) -> str:
    """The month carried out: given, else the plan's, else the one after the sales history."""
    if period is not None:
        month_index(period)
        return period
    frame = read_table(plan, "plan", columns=["customer_id", "product_id"])
    if "month" in frame.columns and frame["month"].notna().any():
        months = sorted(frame["month"].dropna().astype(str).unique())
        month_index(months[0])
        return months[0]
    if not is_url(source) and is_world(source):
        return next_month(Path(source) / "sales.parquet")
    raise SourceError(f"{plan}: the plan has no month column: give the step's period (YYYY-MM)")


def _operations(source: str, month: str) -> str:
    """The operations source: a URL as given, else the folder that holds the ``YYYY-MM`` folders."""
    if is_url(source):
        return source
    root = Path(source)
    if (root / OPERATIONS_DIR / month).is_dir():
        return str(root / OPERATIONS_DIR)
    if (root / month).is_dir():
        return str(root)
    raise SourceError(f"{source}: no operations records for {month}: expected {root / OPERATIONS_DIR / month} "
                      f"or {root / month}")
