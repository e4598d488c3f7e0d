"""Cron schedules in the site time zone, and which newsletters are due."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from support.delivery import add_subscribers, make_edition

from publisher.delivery.engine import deliver_pending
from publisher.delivery.send import enqueue, send_due_newsletter
from publisher.errors import ConfigError
from publisher.scheduling import cron_trigger, next_fire_time
from publisher.store.editions import set_edition_status
from publisher.store.senders import last_fire, set_last_fire

PARIS = ZoneInfo("Europe/Paris")
WEDNESDAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "expected_paris"),
    [
        ("0 8 * * 1", datetime(2026, 11, 30, 8, 0)),  # crontab 1 = Monday (apscheduler's own 1 is Tuesday)
        ("30 7 * * 4", datetime(2026, 11, 26, 7, 30)),  # Thursday
        ("0 8 * * 0", datetime(2026, 11, 29, 8, 0)),  # 0 and 7 are Sunday
        ("0 8 * * 7", datetime(2026, 11, 29, 8, 0)),
        ("0 8 * * 1-5", datetime(2026, 11, 26, 8, 0)),
        ("0 8 * * sat,sun", datetime(2026, 11, 28, 8, 0)),
    ],
)
def test_weekdays_follow_crontab(schedule, expected_paris):
    fire = next_fire_time(schedule, PARIS, WEDNESDAY)
    assert fire == expected_paris.replace(tzinfo=PARIS).astimezone(UTC)


def test_weekday_steps_count_from_sunday_and_bad_schedules_are_config_errors():
    trigger = cron_trigger("0 8 * * */3", PARIS)  # Sunday, Wednesday, Saturday
    assert "day_of_week='sun,wed,sat'" in str(trigger)
    with pytest.raises(ConfigError, match="invalid cron schedule"):
        cron_trigger("0 25 * * *", PARIS)
    with pytest.raises(ConfigError, match="weekday 9 out of range"):
        cron_trigger("0 8 * * 9", PARIS)


def test_the_newsletter_job_skips_newsletters_not_due_and_leaves_paused_editions_to_staff(app, clock):
    for slug in app.config.newsletters:
        set_last_fire(app.store, slug, clock.now())
    assert send_due_newsletter(app, "hebdo") == "not due (next: 2026-11-30 08:00 CET)"

    edition = make_edition(app.store, newsletter="hebdo", segment="tous")
    enqueue(app.store, edition, add_subscribers(app.store, 3))
    set_edition_status(app.store, edition.id, "paused", "SendGrid 500 five times")
    assert send_due_newsletter(app, "hebdo") == "paused (resume with `publisher send hebdo`)"
    assert last_fire(app.store, "hebdo") == clock.now()

    clock.advance(days=4, hours=-2)  # Monday 08:00: hebdo is due again, but a paused edition waits for staff
    assert send_due_newsletter(app, "hebdo").startswith("paused")
    assert last_fire(app.store, "hebdo") == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    assert deliver_pending(app, edition.id).sent == 3  # `publisher send hebdo` resumes it
