"""The typed params of the complaint tasks (``calendar:``, ``routing:``), without pandas.

``pdca validate`` imports the task modules for their signatures: these types
live here, apart from the modules that do the work, so that it stays off pandas.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from typing_extensions import TypedDict

RoutingField = Literal["channel", "type", "region", "customer_id"]


# typing_extensions' TypedDict: pydantic converts `with:` values to these on Python 3.11 only with it.
class CalendarSpec(TypedDict, total=False):
    """The ``calendar:`` param: working weekdays, opening hours, holidays and extra working dates."""

    days: list[str]
    hours: str | list[str]
    holidays: list[str | dt.date]  # a YAML date written unquoted (2026-10-01) arrives as a date
    workdays: list[str | dt.date]


class RoutingRule(TypedDict):
    """One routing rule: the conditions (field -> value or values) and the team the case goes to."""

    when: dict[RoutingField, str | list[str]]
    team: str
