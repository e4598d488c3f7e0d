"""Cron schedules in the site time zone, across the DST changes of Europe/Paris, with a fake clock."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from publisher.errors import ConfigError
from publisher.scheduling import cron_trigger, latest_fire_time, next_fire_time, previous_fire_time

PARIS = ZoneInfo("Europe/Paris")


def fire_times(schedule: str, start: datetime, count: int) -> list[str]:
    """The next ``count`` fire times after ``start``, as local ISO strings with their offset."""
    trigger = cron_trigger(schedule, PARIS)
    times, previous, now = [], None, start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        times.append(fire.astimezone(PARIS).isoformat())
        previous = now = fire
    return times


def test_nightly_time_across_spring_forward_fires_once_an_hour_later():
    # 2027-03-28: 02:00 → 03:00 in Paris, so 02:30 does not exist that night.
    assert fire_times("30 2 * * *", datetime(2027, 3, 26, 12, tzinfo=PARIS), 4) == [
        "2027-03-27T02:30:00+01:00",
        "2027-03-28T03:30:00+02:00",
        "2027-03-29T02:30:00+02:00",
        "2027-03-30T02:30:00+02:00",
    ]


def test_nightly_time_across_fall_back_fires_once():
    # 2026-10-25: 03:00 → 02:00 in Paris, so 02:30 happens twice; cron runs it once.
    assert fire_times("30 2 * * *", datetime(2026, 10, 23, 12, tzinfo=PARIS), 4) == [
        "2026-10-24T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]


def test_fall_back_keeps_the_times_after_the_repeated_hour():
    assert fire_times("30 2,3 * * *", datetime(2026, 10, 25, 0, 0, tzinfo=PARIS), 3) == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-25T03:30:00+01:00",
        "2026-10-26T02:30:00+01:00",
    ]


def test_hourly_schedule_fires_every_real_hour_through_fall_back():
    assert fire_times("15 * * * *", datetime(2026, 10, 25, 1, 30, tzinfo=PARIS), 3) == [
        "2026-10-25T02:15:00+02:00",
        "2026-10-25T02:15:00+01:00",
        "2026-10-25T03:15:00+01:00",
    ]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Monday 8:00 local stays 8:00 local on both sides of each change.
        (datetime(2027, 3, 24, tzinfo=PARIS), ["2027-03-29T08:00:00+02:00", "2027-04-05T08:00:00+02:00"]),
        (datetime(2027, 3, 20, tzinfo=PARIS), ["2027-03-22T08:00:00+01:00", "2027-03-29T08:00:00+02:00"]),
        (datetime(2026, 10, 20, tzinfo=PARIS), ["2026-10-26T08:00:00+01:00", "2026-11-02T08:00:00+01:00"]),
        (datetime(2026, 10, 17, tzinfo=PARIS), ["2026-10-19T08:00:00+02:00", "2026-10-26T08:00:00+01:00"]),
    ],
)
def test_weekly_monday_morning_across_dst(start, expected):
    assert fire_times("0 8 * * 1", start, 2) == expected


def test_crontab_weekday_numbers_start_on_sunday():
    sunday = datetime(2026, 11, 22, 10, tzinfo=PARIS)
    assert next_fire_time("0 9 * * 0", PARIS, sunday).date().isoformat() == "2026-11-29"
    assert next_fire_time("0 9 * * 7", PARIS, sunday).date().isoformat() == "2026-11-29"
    assert next_fire_time("0 9 * * 1-5", PARIS, sunday).date().isoformat() == "2026-11-23"
    assert next_fire_time("0 9 * * sat", PARIS, sunday).date().isoformat() == "2026-11-28"


def test_invalid_schedule_is_a_config_error():
    with pytest.raises(ConfigError, match="invalid cron schedule"):
        cron_trigger("0 25 * * *", PARIS)


def test_latest_fire_time_coalesces_missed_fire_times_into_the_latest():
    last = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # Monday 8:00 Paris
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)  # three Mondays later
    assert latest_fire_time("0 8 * * 1", PARIS, last, now) == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert latest_fire_time("0 8 * * 1", PARIS, datetime(2026, 11, 23, 7, 0, tzinfo=UTC), now) is None


def test_previous_fire_time_is_strictly_before_and_follows_dst():
    first_of_april = datetime(2027, 4, 1, 9, 0, tzinfo=PARIS)  # summer time
    assert previous_fire_time("0 9 1 * *", PARIS, first_of_april).isoformat() == "2027-03-01T09:00:00+01:00"
    assert previous_fire_time("30 2 * * *", PARIS, datetime(2027, 3, 29, 2, 30, tzinfo=PARIS)).isoformat() == (
        "2027-03-28T03:30:00+02:00"  # the spring-forward night's 02:30 fired at 03:30
    )


def test_latest_fire_time_of_a_schedule_never_handled_is_its_last_real_one():
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert latest_fire_time("0 8 * * 1", PARIS, None, now) == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert latest_fire_time("*/5 * * * *", PARIS, None, now) == now
    assert latest_fire_time("0 9 29 2 *", PARIS, None, now) == datetime(2024, 2, 29, 8, 0, tzinfo=UTC)


def test_latest_fire_time_stays_quick_after_a_long_outage_of_a_frequent_schedule():
    now = datetime(2026, 11, 26, 9, 0, 30, tzinfo=UTC)
    last = now - timedelta(days=400)
    assert latest_fire_time("* * * * *", PARIS, last, now) == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
