"""Warnings about schedules that are valid but probably not what was meant.

A cron expression is terse and its five fields are easy to put in the wrong
place: ``0 8 * 2 *`` parses, and runs every day of February. These checks run
on a definition that is otherwise valid and report warnings (``PDCA3xx``): each
says in words what the schedule does and what was probably meant.

- PDCA301: a field left at ``*`` below a field that is set, so cycles come in a
  burst (every day of one month, every minute of one hour) and then pause.
- PDCA302: a day of the month that some of the chosen months lack (29, 30, 31).
- PDCA303: both day-of-month and day-of-week set: cron runs when *either* matches.
- PDCA304: the schedule runs far more or less often than the process's own words
  say (its title or description: "monthly PDCA cycle", "one cycle a quarter").
  The definition has no key for a period, so the words are the only statement of
  it; with none, this comparison is skipped.
"""

from __future__ import annotations

import calendar
import re
import statistics
from datetime import datetime, timedelta
from typing import Any

from pdcaflow.engine.definition.model import Schedule
from pdcaflow.engine.definition.semantic import Checker

DAY = 86400.0
PERIOD_DAYS = {"day": 1.0, "week": 7.0, "fortnight": 14.0, "month": 30.44, "quarter": 91.31, "year": 365.25}
_ADJECTIVE = {"daily": "day", "weekly": "week", "fortnightly": "fortnight", "monthly": "month",
              "quarterly": "quarter", "yearly": "year", "annual": "year"}
_NOUN = r"(?:pdca\s+)?(?:cycle|audit|process)(?:es|s)?"
# a period stated in words, about the cycle itself (not "visits per month")
_STATED = (
    re.compile(rf"\b(daily|weekly|fortnightly|monthly|quarterly|yearly|annual)\s+{_NOUN}\b", re.IGNORECASE),
    re.compile(rf"\b(?:one\s+|a\s+)?{_NOUN}\s+(?:once\s+)?(?:a|per|each|every)\s+"
               r"(day|week|fortnight|month|quarter|year)\b", re.IGNORECASE),
)
FAR_OFF = 2.5  # a schedule this many times faster or slower than the stated period is reported
_SAMPLE_RUNS = 400
_MONTHS = list(calendar.month_name)


def check_schedule(checker: Checker) -> None:
    """Warn about a schedule whose cron looks mistaken, or whose pace contradicts the stated period."""
    schedule = checker.definition.schedule
    if schedule is None:
        return
    if schedule.cron is not None and _cron_shape(checker, schedule.cron):
        return  # one warning per schedule: its shape says more than its pace
    _pace(checker, schedule)


def describe_cron(cron: str) -> str:
    """What a cron expression does, in words: ``runs at 08:00 every day in February``."""
    from cronsim import CronSim  # only when a cron is read: start-up speed of every command

    text = CronSim(cron, datetime(2001, 1, 1)).explain()
    text = re.sub(r"\b((?:\d*[02-9])?)(1th|2th|3th)\b",
                  lambda m: m.group(1) + {"1th": "1st", "2th": "2nd", "3th": "3rd"}[m.group(2)], text)
    return "runs " + text[0].lower() + text[1:]


def _fields(cron: str) -> dict[str, Any]:
    from cronsim import CronSim

    parsed = CronSim(cron, datetime(2001, 1, 1))
    weekdays = {day % 7 for day in parsed.weekdays if isinstance(day, int)}
    special_days = any(not isinstance(day, int) or day < 1 for day in parsed.days)  # L, LW, 15W
    special_weekdays = any(not isinstance(day, int) for day in parsed.weekdays)  # 1#1, 5L
    return {
        "parts": cron.split(),
        "minute": parsed.minutes != set(range(60)),
        "hour": parsed.hours != set(range(24)),
        "dom": special_days or parsed.days != set(range(1, 32)),
        "dow": special_weekdays or weekdays != set(range(7)),
        "month": parsed.months != set(range(1, 13)),
        "days": {day for day in parsed.days if isinstance(day, int) and day > 0},
        "months": parsed.months,
        "day_and": parsed.day_and,
        "special": special_days or special_weekdays,
    }


def _cron_shape(checker: Checker, cron: str) -> bool:
    fields = _fields(cron)
    key_path = ("schedule", "cron")
    said = describe_cron(cron)
    burst = _burst(fields)
    if burst is not None:
        message, hint = burst
        checker.warn("PDCA301", f"cron '{cron}' {said}: {message}", key_path, hint)
        return True
    skipped = _skipped_months(fields)
    if skipped:
        minute, hour, _, month, _ = fields["parts"]
        names = ", ".join(_MONTHS[number] for number in skipped)
        last = f"{minute} {hour} L {month} *"
        if fields["months"] == {2}:
            message = "a cycle only in leap years, once every four years"
        else:
            message = f"no cycle in {names}, which {'has' if len(skipped) == 1 else 'have'} no such day"
        checker.warn("PDCA302", f"cron '{cron}' {said}: {message}", key_path,
                     f"for the last day of the month write '{last}' ({describe_cron(last)})")
        return True
    if fields["dom"] and fields["dow"] and not fields["day_and"]:
        checker.warn("PDCA303", f"cron '{cron}' {said}: cron runs on a day that matches either the day of "
                     "the month or the day of the week, not both", key_path, _either_hint(fields["parts"]))
        return True
    return False


def _burst(fields: dict[str, Any]) -> tuple[str, str] | None:
    """A field at ``*`` below one that is set: cycles in a burst, then a pause."""
    levels = [("minute", fields["minute"]), ("hour", fields["hour"]),
              ("day", fields["dom"] or fields["dow"]), ("month", fields["month"])]
    coarsest = max((index for index, (_, restricted) in enumerate(levels) if restricted), default=-1)
    loose = [name for name, restricted in levels[:max(coarsest, 0)] if not restricted]
    if not loose:
        return None
    minute, hour, dom, month, dow = fields["parts"]
    minute = "0" if "minute" in loose else minute
    hour = "0" if "hour" in loose else hour
    if "day" in loose:  # month set, every day of it: the month was probably meant as a day of the month
        swapped = f"{minute} {hour} {month} * *"
        once = f"{minute} {hour} 1 {month} *"
        suggestions = [swapped, once] if _plain_days(month) else [once]
        message = "a cycle every day of the month, then a pause; the day and month fields look swapped"
    else:
        suggestions = [f"{minute} {hour} {dom} {month} {dow}"]
        unit = "minute" if loose[0] == "minute" else "hour"
        message = f"a burst of cycles one {unit} apart, then a pause; the {loose[-1]} field is left at '*'"
    hint = "probably meant " + " or ".join(f"'{text}' ({describe_cron(text)})" for text in suggestions)
    return message, hint


def _plain_days(field: str) -> bool:
    """A month field that reads as days of the month too (numbers and ranges, no names)."""
    return bool(re.fullmatch(r"[0-9,\-/]+", field))


def _skipped_months(fields: dict[str, Any]) -> list[int]:
    """Months the cron names (or every month) on which none of its days exist (a common year)."""
    if fields["special"] or not fields["dom"] or fields["dow"]:
        return []
    days = fields["days"]
    return [month for month in sorted(fields["months"])
            if not any(day <= calendar.monthrange(2001, month)[1] for day in days)]


def _either_hint(parts: list[str]) -> str:
    minute, hour, dom, month, dow = parts
    first = re.fullmatch(r"(\d+)-(\d+)", dom)
    if first and dow.isdigit() and int(first.group(2)) - int(first.group(1)) == 6 and int(first.group(1)) % 7 == 1:
        nth = f"{minute} {hour} * {month} {dow}#{(int(first.group(1)) - 1) // 7 + 1}"
        return f"for one weekday of that week write '{nth}' ({describe_cron(nth)})"
    by_date, by_weekday = f"{minute} {hour} {dom} {month} *", f"{minute} {hour} * {month} {dow}"
    return (f"keep one of them: '{by_date}' ({describe_cron(by_date)}) or '{by_weekday}' "
            f"({describe_cron(by_weekday)})")


def stated_period(title: str, description: str | None) -> tuple[str, str] | None:
    """The period the process's own words give its cycle (``month``, ``"monthly PDCA cycle"``), if one."""
    found: dict[str, str] = {}
    for text in (title, description or ""):
        for pattern in _STATED:
            for match in pattern.finditer(text):
                word = match.group(1).lower()
                found.setdefault(_ADJECTIVE.get(word, word), " ".join(match.group(0).split()))
    return next(iter(found.items())) if len(found) == 1 else None  # two periods named: no telling which


def typical_gap_days(schedule: Schedule) -> float:
    """The usual time between two cycles, in days (the median gap of a sample of runs)."""
    if schedule.interval is not None:
        return schedule.interval / DAY
    from cronsim import CronSim

    runs = CronSim(schedule.cron or "", datetime(2001, 1, 1))
    times: list[datetime] = []
    end = datetime(2005, 1, 1)
    for moment in runs:
        if moment >= end or len(times) >= _SAMPLE_RUNS:
            break
        times.append(moment)
    gaps = [(later - earlier) / timedelta(days=1) for earlier, later in zip(times, times[1:], strict=False)]
    return statistics.median(gaps) if gaps else 4 * 365.25


def _pace(checker: Checker, schedule: Schedule) -> None:
    definition = checker.definition
    stated = stated_period(definition.title, definition.description)
    if stated is None:
        return
    period, words = stated
    expected, gap = PERIOD_DAYS[period], typical_gap_days(schedule)
    if expected / FAR_OFF <= gap <= expected * FAR_OFF:
        return
    how = "more" if gap < expected else "less"
    if schedule.cron is not None:
        said, key = f"{describe_cron(schedule.cron)} (about every {_days(gap)})", "cron"
    else:
        said, key = f"runs every {_days(gap)}", "interval"
    checker.warn("PDCA304", f"the process is described as \"{words}\" but its schedule {said}, "
                 f"far {how} often", ("schedule", key), _pace_hint(schedule, period))


def _pace_hint(schedule: Schedule, period: str) -> str:
    minute, hour = "0", "6"
    if schedule.cron is not None:
        parts = schedule.cron.split()
        minute = parts[0] if parts[0].isdigit() else minute
        hour = parts[1] if parts[1].isdigit() else hour
    crons = {"day": "* * *", "week": "* * 1", "month": "1 * *", "quarter": "1 1,4,7,10 *", "year": "1 1 *"}
    if period not in crons:
        return f"for once a {period} write `interval: 14d`, or change the description"
    cron = f"{minute} {hour} {crons[period]}"
    return f"for once a {period} write cron '{cron}' ({describe_cron(cron)}), or change the description"


def _days(days: float) -> str:
    if days < 1:
        hours = days * 24
        return f"{hours:.0f} hours" if hours >= 1.5 else f"{max(hours * 60, 1):.0f} minutes"
    return "1 day" if round(days) == 1 else f"{days:.0f} days"
