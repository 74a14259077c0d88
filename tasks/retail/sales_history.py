"""Sales history as monthly series: the input of the demand forecast (``demand.forecast``).

The ``sales`` table (``customer_id, product_id, month, quantity``, see
docs/retail-data.md) is summed into one series per product, or per product and
customer class, over consecutive calendar months from the first month in the
table to the last:

- a month without a sales row counts as 0 (the contract omits zero rows);
- months before a series' first sale are NaN: the series had not started yet
  (a product launched later, or a class that first bought it later), and the
  smoothing starts at its first sale (see :mod:`pdcaflow.tasks.retail.smoothing`);
- by class, each customer's whole history counts in the class the classification
  gives it now; a customer the classification does not list (a leaver, or a
  record left out as invalid) counts in class :data:`UNCLASSIFIED`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from pdcaflow.tasks.sdk.sources import SourceError, is_url, read_table

SALES_COLUMNS = ("customer_id", "product_id", "month", "quantity")
CLASS_COLUMNS = ("customer_id", "class")
ALL_CLASSES = "*"  # the class column of a forecast made per product
UNCLASSIFIED = "D"  # the class of sales by customers the classification does not list
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class MonthlySeries:
    """Monthly quantities, one row per series, one column per calendar month.

    Attributes:
        keys: ``product_id, class`` of every series (``class`` is ``*`` per product), sorted.
        first_month: the month index (``year * 12 + month - 1``) of the first column.
        values: ``(series, months)`` quantities; NaN before a series' first sale.
    """

    keys: pd.DataFrame
    first_month: int
    values: npt.NDArray[np.float64]

    @property
    def last_month(self) -> int:
        """The month index of the last column."""
        return self.first_month + self.values.shape[1] - 1


def month_index(text: str) -> int:
    """``"2024-03"`` -> ``2024 * 12 + 2``: consecutive months are consecutive numbers.

    Raises:
        ValueError: ``text`` is not a ``YYYY-MM`` month.
    """
    match = _MONTH.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a month (YYYY-MM)")
    return int(match[1]) * 12 + int(match[2]) - 1


def month_name(index: int) -> str:
    """The inverse of :func:`month_index`: ``2024 * 12 + 2`` -> ``"2024-03"``."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def source_name(source: str) -> str:
    """A source as error messages show it: a URL without its password."""
    return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", source) if is_url(source) else source


def read_sales(source: str) -> pd.DataFrame:
    """The sales table with ``month`` as a month index and ``quantity`` as a number.

    Raises:
        SourceError: the table cannot be read, lacks a column, is empty, or holds a
            month that is not ``YYYY-MM`` or a quantity that is not a number.
    """
    frame = read_table(source, "sales", columns=SALES_COLUMNS)
    name = source_name(source)
    if frame.empty:
        raise SourceError(f"{name}: the sales history has no rows")
    sales = pd.DataFrame({
        "customer_id": frame["customer_id"].astype(str),
        "product_id": frame["product_id"].astype(str),
        "month": _month_indexes(frame["month"], name),
        "quantity": pd.to_numeric(frame["quantity"], errors="coerce").astype(float),
    })
    bad = sales["quantity"].isna() | np.isinf(sales["quantity"])
    if bad.any():
        first = frame.loc[bad.idxmax(), "quantity"]
        raise SourceError(f"{name}: column quantity: {int(bad.sum())} value(s) are not numbers (first: {first!r})")
    return sales


def read_classes(source: str) -> pd.Series:
    """The classification as ``customer_id -> class`` (an empty class counts as :data:`UNCLASSIFIED`).

    Raises:
        SourceError: the table cannot be read, lacks a column, or lists a customer twice.
    """
    frame = read_table(source, "classification", columns=CLASS_COLUMNS)
    ids = frame["customer_id"].astype(str)
    repeated = ids[ids.duplicated()].unique()
    if len(repeated):
        raise SourceError(f"{source_name(source)}: customer_id listed more than once: "
                          f"{', '.join(repeated[:5])}{' ...' if len(repeated) > 5 else ''}")
    classes = frame["class"].where(frame["class"].notna(), UNCLASSIFIED).astype(str)
    return pd.Series(classes.to_numpy(), index=ids.to_numpy(), name="class")


def monthly_series(sales: pd.DataFrame, classes: pd.Series | None = None) -> MonthlySeries:
    """Sum ``sales`` (from :func:`read_sales`) into monthly series per product, or per product and class.

    Args:
        sales: customer_id, product_id, month (index), quantity.
        classes: ``customer_id -> class`` (:func:`read_classes`); ``None`` forecasts per product.
    """
    if classes is None:
        labels = pd.Series(ALL_CLASSES, index=sales.index)
    else:
        labels = sales["customer_id"].map(classes).fillna(UNCLASSIFIED)
    grouped = (sales.assign(**{"class": labels})
               .groupby(["product_id", "class", "month"], sort=True)["quantity"].sum().reset_index())
    keys = grouped[["product_id", "class"]].drop_duplicates().reset_index(drop=True)
    row = grouped.groupby(["product_id", "class"], sort=True).ngroup().to_numpy()
    first_month = int(sales["month"].min())
    column = grouped["month"].to_numpy() - first_month
    values = np.zeros((len(keys), int(sales["month"].max()) - first_month + 1))
    values[row, column] = grouped["quantity"].to_numpy()
    started = np.full(len(keys), values.shape[1])
    np.minimum.at(started, row, column)
    values[np.arange(values.shape[1])[None, :] < started[:, None]] = np.nan
    return MonthlySeries(keys, first_month, values)


def product_actuals(sales: pd.DataFrame, month: int) -> pd.Series:
    """Quantity sold per product in one month (index product_id); empty when nothing sold."""
    return sales.loc[sales["month"] == month].groupby("product_id")["quantity"].sum()


def _month_indexes(months: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(months):
        if months.isna().any():
            raise SourceError(f"{name}: column month: {int(months.isna().sum())} value(s) are empty")
        return (months.dt.year * 12 + months.dt.month - 1).astype("int64")
    codes, uniques = pd.factorize(months.astype(str), use_na_sentinel=False)  # a few dozen distinct months
    parts = pd.Series(uniques).str.strip().str.extract(_MONTH)
    bad = parts[0].isna().to_numpy()[codes]
    if bad.any():
        raise SourceError(f"{name}: column month: {int(bad.sum())} value(s) are not months YYYY-MM "
                          f"(first: {months[bad].iloc[0]!r})")
    index = (parts[0].astype("int64") * 12 + parts[1].astype("int64") - 1).to_numpy()
    return pd.Series(index[codes], index=months.index, dtype="int64")
