"""Business hours: the clock a complaint's promised times run on.

A promise such as "answered within 4 hours" means working hours when the
desk keeps a business calendar: the clock runs only on working days, inside
the opening hours, and stops on holidays. A contact that arrives at night or
on a Sunday starts its clock when the desk next opens.

:class:`BusinessCalendar` is built from the definition's ``calendar:`` param
(``days``, ``hours``, ``holidays``, ``workdays``); :class:`ClockHours` is the
calendar used when none is given (every hour counts). Both answer the same two
questions: what time is ``hours`` working hours after ``start``, and how many
working hours lie between two times.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from pdcaflow.tasks.complaints.case_types import CalendarSpec

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_MAX_DAYS = 366 * 20  # a clock that finds no working hour in 20 years has no working days at all


class CalendarError(ValueError):
    """The ``calendar:`` param cannot be read (its message names the key and the value)."""


@dataclass(frozen=True)
class ClockHours:
    """Every hour counts: the clock used when no business calendar is given."""

    def add(self, start: pd.Timestamp, hours: float) -> pd.Timestamp:
        """The time ``hours`` after ``start``."""
        return start + pd.Timedelta(hours=hours)

    def hours_between(self, start: pd.Timestamp, end: pd.Timestamp) -> float:
        """Hours from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        return max((end - start) / pd.Timedelta(hours=1), 0.0)


@dataclass(frozen=True)
class BusinessCalendar:
    """Working weekdays, opening spans (minutes after midnight), holidays and extra working dates."""

    weekdays: frozenset[int]
    spans: tuple[tuple[int, int], ...]
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]

    @classmethod
    def parse(cls, spec: CalendarSpec) -> BusinessCalendar:
        """The calendar of a ``calendar:`` param; :class:`CalendarError` names what is wrong."""
        unknown = sorted(set(spec) - {"days", "hours", "holidays", "workdays"})
        if unknown:
            raise CalendarError(f"calendar: unknown key(s) {', '.join(unknown)}; the keys are days, hours, "
                                "holidays and workdays")
        days = [str(day) for day in spec.get("days", WEEKDAYS[:5])]
        wrong = [day for day in days if _weekday(day) is None]
        if wrong:
            raise CalendarError(f"calendar.days: {', '.join(wrong)} is not a weekday (mon, tue, ... sun)")
        hours = spec.get("hours", "00:00-24:00")
        spans = tuple(sorted(_span(text) for text in ([hours] if isinstance(hours, str) else hours)))
        for (_, end), (start, _) in zip(spans, spans[1:]):
            if start < end:
                raise CalendarError(f"calendar.hours: the opening spans {list(hours)} overlap")
        if not spans:
            raise CalendarError("calendar.hours: name at least one opening span, e.g. 09:00-18:00")
        if not days and not spec.get("workdays"):
            raise CalendarError("calendar.days is empty and no workdays are named: the clocks would never run")
        return cls(frozenset(number for number in map(_weekday, days) if number is not None), spans,
                   frozenset(_date("holidays", text) for text in spec.get("holidays", ())),
                   frozenset(_date("workdays", text) for text in spec.get("workdays", ())))

    def is_working_day(self, day: dt.date) -> bool:
        """A working weekday that is not a holiday, or a date named in ``workdays``."""
        if day in self.workdays:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays

    def add(self, start: pd.Timestamp, hours: float) -> pd.Timestamp:
        """The time ``hours`` working hours after ``start`` (the clock starts at the next opening)."""
        left = pd.Timedelta(hours=hours)
        for opens, closes in self._open_spans(start):
            begin = max(opens, start)
            if begin + left <= closes:
                return begin + left
            left -= closes - begin
        raise CalendarError("calendar: no working hours in 20 years (no working day)")  # pragma: no cover

    def hours_between(self, start: pd.Timestamp, end: pd.Timestamp) -> float:
        """Working hours from ``start`` to ``end`` (0 when ``end`` is not after ``start``)."""
        total = pd.Timedelta(0)
        if end <= start:
            return 0.0
        for opens, closes in self._open_spans(start):
            if opens >= end:
                break
            total += min(closes, end) - max(opens, start)
        return total / pd.Timedelta(hours=1)

    def _open_spans(self, start: pd.Timestamp) -> Iterator[tuple[pd.Timestamp, pd.Timestamp]]:
        """The opening spans that end after ``start``, in order."""
        day = start.normalize()
        for _ in range(_MAX_DAYS):
            if self.is_working_day(day.date()):
                for begin, finish in self.spans:
                    closes = day + pd.Timedelta(minutes=finish)
                    if closes > start:
                        yield day + pd.Timedelta(minutes=begin), closes
            day += pd.Timedelta(days=1)


Clock = BusinessCalendar | ClockHours


def clock_of(spec: CalendarSpec | None) -> Clock:
    """The business calendar a ``calendar:`` param describes, or clock hours without one."""
    return ClockHours() if spec is None else BusinessCalendar.parse(spec)


def _weekday(day: str) -> int | None:
    """0 for ``mon`` or ``Monday`` ... 6 for ``sun``; ``None`` for anything else."""
    name = day.strip().lower()
    for number, short in enumerate(WEEKDAYS):
        if name == short or name == _FULL[number]:
            return number
    return None


def _span(text: str) -> tuple[int, int]:
    match = _SPAN.match(str(text))
    if not match:
        raise CalendarError(f"calendar.hours: {text!r} is not an opening span written HH:MM-HH:MM")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start_m > 59 or end_m > 59 or not 0 <= start < end <= 24 * 60:
        raise CalendarError(f"calendar.hours: {text!r} must open before it closes, within one day (00:00-24:00)")
    return start, end


def _date(key: str, text: str | dt.date) -> dt.date:
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError as exc:
        raise CalendarError(f"calendar.{key}: {text!r} is not a date written YYYY-MM-DD") from exc

