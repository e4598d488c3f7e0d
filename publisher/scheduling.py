"""The schedules of jobs, in the site time zone: newsletters' cron expressions and the feeds' interval
(the one module that uses apscheduler's triggers).

When a newsletter is due is publisher.schedule_policy's business; this module only counts
fire times.

Daylight saving time, as crontab users expect it (Europe/Paris: 2027-03-28 and 2026-10-25):
- a time that does not exist (02:30 on the spring-forward night) fires once, shifted forward by
  the gap (03:30 summer time);
- a fixed-hour time that happens twice (02:30 on the fall-back night) fires once, at its first
  occurrence; schedules with ``*`` as hour (``15 * * * *``) keep firing every real hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from publisher.errors import ConfigError

_MAX_MISSED = 10_000
# Interval fire times are counted from this moment (site time zone): every 10 minutes means
# :00, :10, :20… whenever the service was started, and `publisher schedule` can tell them.
_INTERVAL_ANCHOR = datetime(2000, 1, 1)
_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_TICK = timedelta(microseconds=1)
# How far back to look for the latest fire time of a schedule never handled.
_LOOKBACK = tuple(timedelta(days=days) for days in (1 / 24, 1, 8, 32, 367, 8 * 366))


class CrontabTrigger(CronTrigger):
    """A CronTrigger that fires a fixed-hour time repeated by the autumn DST change only once."""

    def __init__(self, *, fixed_hour: bool, **fields: str | ZoneInfo) -> None:
        super().__init__(**fields)
        self.fixed_hour = fixed_hour

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        fire = super().get_next_fire_time(previous_fire_time, now)
        if fire is not None and self.fixed_hour and _second_occurrence(fire):
            # Look again from the end of the repeated hour (whole minutes: cron's resolution).
            # Arithmetic in UTC: aware local datetimes add as wall times and lose their fold.
            end = fire.astimezone(UTC)
            while _second_occurrence(end.astimezone(self.timezone)):
                end += timedelta(minutes=1)
            fire = super().get_next_fire_time(end - 2 * _TICK, end - _TICK)
        # A time in the spring-forward gap (02:30+01:00) is shown as the real one (03:30+02:00).
        return fire.astimezone(UTC).astimezone(self.timezone) if fire is not None else None


def _second_occurrence(moment: datetime) -> bool:
    """True for a local wall time (in the trigger's zone) already seen an hour earlier (the fall-back night)."""
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


def cron_trigger(schedule: str, tz: ZoneInfo) -> CrontabTrigger:
    """A trigger for a 5-field crontab expression.

    apscheduler 3 numbers weekdays from Monday = 0, crontab from Sunday = 0 (and 7), so the
    weekday field is rewritten as names: "0 8 * * 1" fires on Mondays, as in crontab.
    """
    try:
        minute, hour, day, month, weekday = schedule.split()
        return CrontabTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=_weekday_names(weekday),
            timezone=tz,
            fixed_hour=hour != "*",
        )
    except ValueError as error:
        raise ConfigError(f"invalid cron schedule {schedule!r}: {error}") from None


def interval_trigger(minutes: int, tz: ZoneInfo) -> IntervalTrigger:
    """Every ``minutes`` minutes, on the clock (:00, :10, :20… for 10)."""
    return IntervalTrigger(minutes=minutes, start_date=_INTERVAL_ANCHOR.replace(tzinfo=tz), timezone=tz)


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
    if not text.isdigit():
        raise ValueError(f"unknown weekday {text!r} (0-7 or sun, mon, tue, wed, thu, fri, sat)")
    number = int(text)
    if not 0 <= number <= 7:
        raise ValueError(f"weekday {number} out of range 0-7")
    return number


def next_fire_time(schedule: str, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after`` (returned in the time zone of ``after``)."""
    fire = cron_trigger(schedule, tz).get_next_fire_time(after, after + _TICK)
    return fire.astimezone(after.tzinfo) if fire else None


def previous_fire_time(schedule: str, tz: ZoneInfo, before: datetime) -> datetime | None:
    """The latest fire time strictly before ``before`` (None if there is none within 8 years)."""
    return latest_fire_time(schedule, tz, None, before - _TICK)


def latest_fire_time(schedule: str, tz: ZoneInfo, last_handled: datetime | None, now: datetime) -> datetime | None:
    """The latest fire time not after ``now`` and after ``last_handled`` (if given); None if there is none.

    Missed fire times are coalesced: only the latest counts, however long the outage.
    """
    trigger = cron_trigger(schedule, tz)
    for lookback in _LOOKBACK:
        start = now - lookback
        if last_handled is not None and start <= last_handled:
            return _latest_in(trigger, last_handled, now)
        if fire := _latest_in(trigger, start, now):
            return fire
    return None if last_handled is None else _latest_in(trigger, last_handled, now)


def _latest_in(trigger: CronTrigger, after: datetime, now: datetime) -> datetime | None:
    """The latest fire time in (after, now]."""
    latest = None
    fire = trigger.get_next_fire_time(after, after + _TICK)
    for _ in range(_MAX_MISSED):
        if fire is None or fire > now:
            break
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + _TICK)
    return latest.astimezone(now.tzinfo) if latest else None
