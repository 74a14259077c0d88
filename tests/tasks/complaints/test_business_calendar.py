"""The business calendar: working hours across nights, weekends, holidays, extra working days and split shifts."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from pdcaflow.tasks.complaints.business_calendar import BusinessCalendar, CalendarError, ClockHours, clock_of

T = pd.Timestamp
# 2 Oct 2026 is a Friday; 5 Oct a Monday, a holiday here
OFFICE = BusinessCalendar.parse({"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-18:00",
                                 "holidays": ["2026-10-05"]})


def test_a_clock_started_on_friday_afternoon_runs_on_after_the_weekend_and_the_holiday() -> None:
    # Fri 16:00 + 4 h: 2 h on Friday, Sat/Sun/holiday Monday skipped, 2 h on Tuesday from 09:00
    assert OFFICE.add(T("2026-10-02 16:00"), 4) == T("2026-10-06 11:00")
    assert OFFICE.hours_between(T("2026-10-02 16:00"), T("2026-10-06 11:00")) == 4.0


def test_a_contact_at_night_or_on_a_weekend_starts_its_clock_at_the_next_opening() -> None:
    assert OFFICE.add(T("2026-10-03 10:00"), 1) == T("2026-10-06 10:00")  # Saturday -> Tuesday 09:00 + 1 h
    assert OFFICE.add(T("2026-10-06 20:00"), 1) == T("2026-10-07 10:00")  # Tuesday night -> Wednesday 09:00 + 1 h
    assert OFFICE.hours_between(T("2026-10-03 10:00"), T("2026-10-05 23:00")) == 0.0  # weekend + holiday


def test_a_whole_day_ends_at_closing_time_not_the_next_morning() -> None:
    # Tue 09:00 + 9 h is Tue 18:00, the day's close
    assert OFFICE.add(T("2026-10-06 09:00"), 9) == T("2026-10-06 18:00")


def test_an_extra_working_day_counts_and_split_shifts_skip_lunch() -> None:
    calendar = BusinessCalendar.parse({"days": ["Monday", "tue", "wed", "thu", "fri"],
                                       "hours": ["13:00-17:00", "08:30-12:00"], "workdays": ["2026-10-10"]})
    # Fri 9 Oct 16:00: 1 h Friday, Saturday 10 Oct works 3.5 + 4 = 7.5 h -> 8.5 h; + 1.5 h on Mon 12 Oct 08:30
    assert calendar.add(T("2026-10-09 16:00"), 10) == T("2026-10-12 10:00")
    # 11:00 to 14:00 the same day: 1 h before lunch + 1 h after
    assert calendar.hours_between(T("2026-10-12 11:00"), T("2026-10-12 14:00")) == 2.0


def test_dates_written_unquoted_in_yaml_arrive_as_dates_and_count() -> None:
    calendar = BusinessCalendar.parse({"holidays": [dt.date(2026, 10, 5)], "hours": "09:00-18:00"})
    assert calendar.add(T("2026-10-02 16:00"), 4) == T("2026-10-06 11:00")  # as OFFICE: the Monday is off


def test_clock_hours_without_a_calendar() -> None:
    assert isinstance(clock_of(None), ClockHours)
    assert ClockHours().add(T("2026-10-02 16:00"), 48) == T("2026-10-04 16:00")
    assert ClockHours().hours_between(T("2026-10-02 16:00"), T("2026-10-02 10:00")) == 0.0


@pytest.mark.parametrize(("spec", "message"), [
    ({"days": ["mon", "funday"]}, r"calendar\.days: funday is not a weekday"),
    ({"hours": "9-18"}, r"calendar\.hours: '9-18' is not an opening span written HH:MM-HH:MM"),
    ({"hours": "18:00-09:00"}, r"calendar\.hours: '18:00-09:00' must open before it closes"),
    ({"hours": ["09:00-13:00", "12:00-18:00"]}, r"calendar\.hours: the opening spans .* overlap"),
    ({"holidays": ["5 Oct"]}, r"calendar\.holidays: '5 Oct' is not a date written YYYY-MM-DD"),
    ({"opening": "09:00-18:00"}, r"calendar: unknown key\(s\) opening"),
    ({"days": []}, r"calendar\.days is empty and no workdays are named"),
])
def test_a_wrong_calendar_is_refused_with_the_key_named(spec: dict[str, object], message: str) -> None:
    with pytest.raises(CalendarError, match=message):
        BusinessCalendar.parse(spec)  # type: ignore[arg-type]
