"""Working hours: the clock the complaint desk works on when the step gives a business calendar.

The world draws how many *working* hours a case needs; :class:`WorkingHours` turns
"that many working hours after receipt" into a time, counting only working days
(``days``, plus ``workdays``, less ``holidays``) inside the opening ``hours``. The
calendar is the ``complaints.handle`` step's ``calendar`` input: a mapping (or an
object with those attributes) ``{days: [mon, ...], hours: "09:00-18:00" or a list of
spans, holidays: [dates], workdays: [dates]}``; without one every hour counts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class WorkingHours:
    """Working weekdays (0 = Monday), opening spans in minutes after midnight, holidays, extra working dates."""

    weekdays: frozenset[int]
    spans: tuple[tuple[int, int], ...]
    holidays: frozenset[date]
    workdays: frozenset[date]

    @classmethod
    def from_spec(cls, spec: Any) -> WorkingHours | None:
        """The calendar of a step's ``calendar`` input; None when there is none.

        Raises:
            ValueError: a day, a span or a date cannot be read (the message names it).
        """
        if spec is None:
            return None
        data = spec.model_dump() if hasattr(spec, "model_dump") else spec
        get = data.get if isinstance(data, dict) else (lambda key, default=None: getattr(data, key, default))
        days = [str(day).strip().lower()[:3] for day in get("days") or WEEKDAYS[:5]]
        unknown = [day for day in days if day not in WEEKDAYS]
        if unknown:
            raise ValueError(f"calendar.days: {', '.join(unknown)} is not a weekday (mon ... sun)")
        hours = get("hours") or "09:00-18:00"
        spans = tuple(_span(text) for text in ([hours] if isinstance(hours, str) else hours))
        calendar = cls(frozenset(WEEKDAYS.index(day) for day in days), tuple(sorted(spans)),
                       frozenset(_dates(get("holidays") or (), "holidays")),
                       frozenset(_dates(get("workdays") or (), "workdays")))
        if not calendar.weekdays and not calendar.workdays:
            raise ValueError("calendar: no working day at all")
        return calendar

    def is_working(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() in self.weekdays and day not in self.holidays)

    def add(self, start: np.ndarray, hours: np.ndarray) -> np.ndarray:
        """For each start (datetime64) the time ``hours`` working hours later (a start outside the opening
        hours counts from the next opening)."""
        if len(start) == 0:
            return start.astype("datetime64[s]")
        start = start.astype("datetime64[s]")
        weekly = sum(end - begin for begin, end in self.spans) / 60 * max(1, len(self.weekdays)) / 7
        first = pd.Timestamp(start.min()).date()
        spread = (pd.Timestamp(start.max()).date() - first).days
        days = spread + int(math.ceil(float(np.max(hours)) / max(weekly, 0.1) * 2)) + 21 + len(self.holidays)
        opens, closes = self._intervals(first, days)
        worked = np.concatenate([[0.0], np.cumsum((closes - opens) / np.timedelta64(1, "s") / 3600)])
        index = np.minimum(np.searchsorted(closes, start, side="right"), len(opens) - 1)
        inside = np.clip((start - opens[index]) / np.timedelta64(1, "s") / 3600, 0.0, None)
        inside = np.minimum(inside, (closes[index] - opens[index]) / np.timedelta64(1, "s") / 3600)
        target = worked[index] + inside + hours
        which = np.clip(np.searchsorted(worked[1:], target, side="left"), 0, len(opens) - 1)
        offset = np.round((target - worked[which]) * 3600).astype("int64")
        return opens[which] + offset.astype("timedelta64[s]")

    def _intervals(self, first: date, days: int) -> tuple[np.ndarray, np.ndarray]:
        opens: list[np.datetime64] = []
        closes: list[np.datetime64] = []
        for step in range(days):
            day = first + timedelta(days=step)
            if self.is_working(day):
                midnight = np.datetime64(day.isoformat(), "s")
                for begin, end in self.spans:
                    opens.append(midnight + np.timedelta64(begin * 60, "s"))
                    closes.append(midnight + np.timedelta64(end * 60, "s"))
        return np.array(opens, dtype="datetime64[s]"), np.array(closes, dtype="datetime64[s]")


def _span(text: str) -> tuple[int, int]:
    match = _SPAN.match(str(text))
    if not match:
        raise ValueError(f"calendar.hours: {text!r} is not a span written HH:MM-HH:MM")
    begin, end = int(match[1]) * 60 + int(match[2]), int(match[3]) * 60 + int(match[4])
    if not 0 <= begin < end <= 24 * 60:
        raise ValueError(f"calendar.hours: {text!r} does not open before it closes within one day")
    return begin, end


def _dates(values: Iterable[Any], key: str) -> list[date]:
    out = []
    for value in values:
        try:
            out.append(value if isinstance(value, date) else date.fromisoformat(str(value)))
        except ValueError as exc:
            raise ValueError(f"calendar.{key}: {value!r} is not a date written YYYY-MM-DD") from exc
    return out
