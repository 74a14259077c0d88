"""When a process's cycles are due: run times from its ``schedule``, and what to catch up after a pause.

Pure functions (no store, no Prefect): ``pdca schedule`` prints them, ``pdca serve``
and the scheduled entry flow decide with them.

Run times ("slots"):

- ``cron``: the times the five-field expression matches, read in the schedule's
  ``timezone`` (daylight-saving rules included), computed with ``cronsim``, the same
  library that validates the expression.
- ``interval``: ``ANCHOR + k * interval`` for whole ``k``, in elapsed seconds (a daylight-saving
  change does not move them), the anchor being midnight of 2000-01-01 in the schedule's timezone. A fixed anchor makes every server, worker and
  ``pdca schedule`` agree on the same slots (Prefect's default anchor is the moment the
  deployment was created, which differs between servers).

Catch-up (``catchup``), for the slots that passed while nothing was serving: the
*missed* slots are those after the start of the process's latest recorded cycle (any
trigger) and at or before now. With no recorded cycle nothing is missed (the first
cycle runs at the next slot).

- ``none`` (default): run none of them; the next cycle runs at the next slot.
- ``latest``: run one cycle now, for the most recent missed slot.
- ``all``: run one cycle per missed slot, oldest first, one after the other (at most
  ``CATCHUP_LIMIT``, the most recent ones).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from pdcaflow.engine.errors import PdcaError
from pdcaflow.engine.definition.model import Schedule

CATCHUP_LIMIT = 100
MIN_INTERVAL_SECONDS = 1.0


class ScheduleError(PdcaError):
    """A schedule that cannot produce run times (e.g. an interval of zero)."""


def anchor(schedule: Schedule) -> datetime:
    """The first slot of an interval schedule: 2000-01-01 00:00 in the schedule's timezone, as UTC."""
    return datetime(2000, 1, 1, tzinfo=ZoneInfo(schedule.timezone)).astimezone(UTC)


def interval_seconds(schedule: Schedule) -> float:
    """The interval in seconds; refuses one shorter than ``MIN_INTERVAL_SECONDS``."""
    seconds = float(schedule.interval or 0.0)
    if seconds < MIN_INTERVAL_SECONDS:
        raise ScheduleError(f"schedule interval must be at least {MIN_INTERVAL_SECONDS:g} s, got {seconds:g} s")
    return seconds


def describe(schedule: Schedule) -> str:
    """A short human text: ``cron '0 6 1 * *' (Asia/Shanghai)`` or ``every 7d``."""
    if schedule.cron is not None:
        return f"cron '{schedule.cron}' ({schedule.timezone})"
    return f"every {_duration_text(interval_seconds(schedule))}"


def next_times(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """The ``count`` slots strictly after ``after`` (aware), in the schedule's timezone."""
    _require_aware(after)
    zone = ZoneInfo(schedule.timezone)
    if schedule.cron is not None:
        from cronsim import CronSim  # imported here, like the model's validator: only when a cron is read

        times = CronSim(schedule.cron, after.astimezone(zone))
        return [next(times) for _ in range(count)]
    step = interval_seconds(schedule)
    start = anchor(schedule)
    elapsed = (after.astimezone(UTC) - start).total_seconds()
    first = math.floor(elapsed / step) + 1
    return [(start + timedelta(seconds=(first + k) * step)).astimezone(zone) for k in range(count)]


def slots_between(schedule: Schedule, start: datetime, end: datetime, limit: int = CATCHUP_LIMIT) -> list[datetime]:
    """The slots in (``start``, ``end``], oldest first; the most recent ``limit`` of them when there are more."""
    _require_aware(start)
    _require_aware(end)
    if schedule.interval is not None:
        step = interval_seconds(schedule)
        origin = anchor(schedule)
        last = math.floor((end.astimezone(UTC) - origin).total_seconds() / step)
        first = math.floor((start.astimezone(UTC) - origin).total_seconds() / step) + 1
        first = max(first, last - limit + 1)
        zone = ZoneInfo(schedule.timezone)
        return [(origin + timedelta(seconds=k * step)).astimezone(zone) for k in range(first, last + 1)]
    slots: list[datetime] = []
    from cronsim import CronSim  # only when a cron is read (start-up speed), as in the model's validator

    for slot in CronSim(schedule.cron or "", start.astimezone(ZoneInfo(schedule.timezone))):
        if slot > end:
            break
        slots.append(slot)
        if len(slots) > limit:
            del slots[0]
    return slots


def catch_up(schedule: Schedule, last_started: datetime | None, now: datetime) -> list[datetime]:
    """The missed slots to run now under the schedule's ``catchup`` policy (see the module docstring)."""
    if last_started is None or schedule.catchup == "none":
        return []
    missed = slots_between(schedule, last_started, now)
    if schedule.catchup == "latest":
        return missed[-1:]
    return missed


def scheduled_reason(schedule: Schedule, slot: datetime, *, catching_up: bool = False) -> str:
    """The reason recorded on a cycle the scheduler started, e.g. ``scheduled: cron '0 6 * * *' (UTC) at ...``."""
    kind = f"catch-up ({schedule.catchup})" if catching_up else "scheduled"
    return f"{kind}: {describe(schedule)} at {slot.astimezone(UTC).isoformat(timespec='seconds')}"


_PERIODS = ((360, "year"), (89, "quarter"), (28, "month"), (7, "week"), (1, "day"))


def period_kind(schedule: Schedule) -> str:
    """What one cycle of the schedule covers: ``year``, ``quarter``, ``month``, ``week``, ``day`` or ``time``.

    Read from the shortest gap between its next slots: 360 days or more a year, 89 a
    quarter, 28 a month, 7 a week, 1 a day; a schedule firing more often than daily
    labels a cycle with its date and time.
    """
    if schedule.interval is not None:
        gap_days = interval_seconds(schedule) / 86400
    else:
        slots = next_times(schedule, datetime(2001, 1, 1, tzinfo=UTC), 13)
        gap_days = min((later - earlier).total_seconds() for earlier, later in zip(slots, slots[1:])) / 86400
    return next((kind for days, kind in _PERIODS if gap_days >= days), "time")


def period_label(schedule: Schedule | None, moment: datetime) -> str | None:
    """The period a cycle covering ``moment`` belongs to, in the schedule's timezone: ``2026-05`` (monthly),
    ``2026-Q2``, ``2026-W19`` (ISO week), ``2026-05-07`` (daily), ``2026`` or ``2026-05-07 06:00``;
    ``None`` without a schedule."""
    if schedule is None:
        return None
    _require_aware(moment)
    local = moment.astimezone(ZoneInfo(schedule.timezone))
    kind = period_kind(schedule)
    if kind == "year":
        return f"{local:%Y}"
    if kind == "quarter":
        return f"{local:%Y}-Q{(local.month - 1) // 3 + 1}"
    if kind == "month":
        return f"{local:%Y-%m}"
    if kind == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{local:%Y-%m-%d}" if kind == "day" else f"{local:%Y-%m-%d %H:%M}"


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError(f"a timezone-aware datetime is required, got {moment!r}")


def _duration_text(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
