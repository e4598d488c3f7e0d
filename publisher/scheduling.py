"""Cron schedules of newsletters, in the site time zone (the one module that uses apscheduler).

A newsletter is *due* when its schedule has a fire time after the last one handled and not
after now; one that was never handled is due, so a fresh install (``make demo``) sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from publisher.errors import ConfigError

_MAX_MISSED = 10_000
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(schedule: str, tz: ZoneInfo) -> CronTrigger:
    """A trigger for a 5-field crontab expression.

    apscheduler 3 numbers weekdays from Monday = 0, crontab from Sunday = 0 (and 7), so the
    weekday field is rewritten as names: "0 8 * * 1" fires on Mondays, as in crontab.
    """
    try:
        minute, hour, day, month, weekday = schedule.split()
        return CronTrigger(
            minute=minute, hour=hour, day=day, month=month, day_of_week=_weekday_names(weekday), timezone=tz
        )
    except ValueError as error:
        raise ConfigError(f"invalid cron schedule {schedule!r}: {error}") from None


def _weekday_names(field: str) -> str:
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        else:
            start, _, end = span.partition("-")
            first = _weekday_number(start)
            last = _weekday_number(end) if end else (6 if step_text else first)
        if step < 1 or first > last:
            raise ValueError(f"bad weekday range {part!r}")
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(_DAY_NAMES[day] for day in sorted(days))


def _weekday_number(text: str) -> int:
    if text in _DAY_NAMES:
        return _DAY_NAMES.index(text)
    number = int(text)
    if not 0 <= number <= 7:
        raise ValueError(f"weekday {number} out of range 0-7")
    return number


def next_fire_time(schedule: str, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after`` (UTC)."""
    fire = cron_trigger(schedule, tz).get_next_fire_time(after, after + timedelta(microseconds=1))
    return fire.astimezone(after.tzinfo) if fire else None


def due_fire_time(schedule: str, tz: ZoneInfo, last_handled: datetime | None, now: datetime) -> datetime | None:
    """The fire time to handle now: the latest one in (last_handled, now], or ``now`` when the
    schedule was never handled; None when nothing is due."""
    if last_handled is None:
        return now
    trigger = cron_trigger(schedule, tz)
    due = None
    fire = trigger.get_next_fire_time(last_handled, last_handled + timedelta(microseconds=1))
    for _ in range(_MAX_MISSED):
        if fire is None or fire > now:
            break
        due = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    else:
        return now  # a long outage of a frequent schedule: everything up to now is handled
    return due.astimezone(now.tzinfo) if due else None
