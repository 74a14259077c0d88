"""The work of ``service.deliver``, imported by the task only when it runs (pandas).

:mod:`pdcaflow.tasks.retail.service` holds the registered task (its signature, the docstring users
read and the shape of its result), the measures are in :mod:`pdcaflow.tasks.retail.operations`;
this module picks the month, finds its operations records and measures them. It only reads
records: whoever makes them (the user's systems, or the sample world that ``pdca demo`` has
simulate the month before this step runs) does so outside the retail library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from pdcaflow.tasks.retail.operations import measure, read_month
from pdcaflow.tasks.retail.sales_history import month_index
from pdcaflow.tasks.sdk.sources import SourceError, is_url, read_table

OPERATIONS_DIR = "operations"  # <source>/operations/<YYYY-MM>/ (docs/retail-data.md)


class Delivered(NamedTuple):
    """A month carried out: the month, where its operations records are, and their measures."""

    period: str
    operations: str
    measured: dict[str, Any]


def carry_out(*, plan: str, source: str, delivery_window_hours: float, period: str | None,
              table_prefix: str) -> Delivered:
    """The body of ``service.deliver`` (see :func:`pdcaflow.tasks.retail.service.deliver`)."""
    month = delivery_period(plan, period)
    operations = _operations(source, month)
    return Delivered(month, operations, measure(read_month(operations, month, table_prefix), month,
                                                delivery_window_hours))


def delivery_period(plan: str, period: str | None) -> str:
    """The month carried out: ``period`` if given, else the plan's (its ``month`` column).

    The sample world's hook (``pdca demo``) asks for it too, to simulate that month before the step runs.

    Raises:
        SourceError: neither gives a month.
        ValueError: ``period`` or the plan's month is not written ``YYYY-MM``.
    """
    if period is not None:
        month_index(period)
        return period
    frame = read_table(plan, "plan", columns=["customer_id", "product_id"])
    if "month" in frame.columns and frame["month"].notna().any():
        months = sorted(frame["month"].dropna().astype(str).unique())
        month_index(months[0])
        return months[0]
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
