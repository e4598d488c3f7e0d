"""One schedule policy for `publisher run-once` and `publisher serve`, driven by the injected clock.

A staff member adds a monthly newsletter on 26 November: neither run-once nor the service sends
it that day; both send it on 1 December at 09:00 (Europe/Paris), once, and its first edition
holds the articles of one month back, says it is the first, and is what the preview showed.
`publisher schedule` and /admin/ show the same next times, "due now" included.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from support.apps import app_for
from support.cli import invoke_cli
from support.delivery import add_subscribers, due_now
from support.paths import HOSTILE
from support.waiting import wait_for
from support.webserver import served, web_app

from publisher.app import AppFactory
from publisher.article_import import import_files
from publisher.cycle import run_once
from publisher.demo import demo_file
from publisher.digests.preview import render_preview
from publisher.jobs import build_jobs, next_runs
from publisher.schedule_policy import first_edition_start
from publisher.service.scheduler import ServiceScheduler
from publisher.shutdown import clear_stop
from publisher.store import senders
from publisher.store.editions import get_edition
from publisher.store.runs import recent_runs
from publisher.subscribers import lifecycle

MONTHLY = """
[newsletters.mensuelle]
title = "La lettre du mois"
subject = "{{ newsletter.title }} — {{ edition_date }}"
segment = "tous"
schedule = "0 9 1 * *"
max_items = 20
"""


def paris(text: str) -> datetime:
    """A time written in Paris (with its offset), as UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def monthly(config_file, clock):
    """The demo config plus a monthly newsletter added on Thursday 26 November 2026, 10:00 in
    Paris; the demo articles (24 August – 24 November) and three subscribers."""
    config_file.write_text(config_file.read_text(encoding="utf-8") + MONTHLY, encoding="utf-8")
    app = app_for(config_file, clock, migrate=True)
    import_files(app.store, [demo_file("articles.jsonl")], "fr")
    add_subscribers(app.store, 3)
    yield app
    app.close()


def cycle(app) -> dict[str, str]:
    return {result.name: result.summary for result in run_once(app)}


def editions_of(app, newsletter: str) -> list[int]:
    rows = app.store.conn.execute("SELECT id FROM editions WHERE newsletter = ? ORDER BY id", (newsletter,))
    return [row[0] for row in rows]


def published_between(app, start: datetime, end: datetime) -> set[int]:
    rows = app.store.conn.execute("SELECT id, published_at FROM articles WHERE status = 'published'")
    return {row[0] for row in rows if start < datetime.fromisoformat(row[1]).astimezone(UTC) <= end}


def test_run_once_sends_a_new_monthly_newsletter_at_its_first_fire_time_only(monthly, clock):
    assert cycle(monthly)["newsletter:mensuelle"] == "not due (next: 2026-12-01 09:00 CET)"
    assert senders.added_at(monthly.store, "mensuelle") == clock.now()
    clock.set(paris("2026-11-26T23:50:00+01:00"))
    assert cycle(monthly)["newsletter:mensuelle"].startswith("not due")
    clock.set(paris("2026-12-01T08:59:59+01:00"))
    assert cycle(monthly)["newsletter:mensuelle"].startswith("not due")
    assert editions_of(monthly, "mensuelle") == []

    clock.set(paris("2026-12-01T09:00:00+01:00"))
    assert "3 sent" in cycle(monthly)["newsletter:mensuelle"]
    clock.set(paris("2026-12-01T09:10:00+01:00"))  # cron's next run-once: nothing twice
    assert cycle(monthly)["newsletter:mensuelle"] == "not due (next: 2027-01-01 09:00 CET)"
    [edition_id] = editions_of(monthly, "mensuelle")

    edition = get_edition(monthly.store, edition_id)
    month = published_between(monthly, paris("2026-11-01T09:00:00+01:00"), paris("2026-12-01T09:00:00+01:00"))
    assert set(edition.article_ids) == month and len(month) == 12  # one month back, not the whole archive
    assert "Voici la première lettre" in edition.text and "depuis la dernière lettre" not in edition.text


def test_serve_sends_it_at_the_same_time_as_run_once(monthly, clock):
    [job] = [job for job in build_jobs(monthly.config) if job.id == "newsletter:mensuelle"]
    scheduler = ServiceScheduler(AppFactory(monthly), [job])

    def summaries() -> list[str]:
        return [run.summary for run in recent_runs(monthly.store) if run.kind == job.id and run.status == "ok"]

    scheduler.start()  # 26 November: the run at start notes the newsletter, sends nothing
    try:
        wait_for(lambda: summaries(), 5, "the run at start")
        assert summaries() == ["not due (next: 2026-12-01 09:00 CET)"]
        clock.set(paris("2026-12-01T08:59:59+01:00"))
        scheduler.wake()
        clock.set(paris("2026-12-01T09:00:00+01:00"))
        scheduler.wake()
        wait_for(lambda: len(summaries()) == 2, 5, "the send of 1 December")
        clock.set(paris("2026-12-01T09:30:00+01:00"))
        scheduler.wake()
    finally:
        scheduler.stop()
        clear_stop()
    assert "3 sent" in summaries()[0]
    assert len(editions_of(monthly, "mensuelle")) == 1


def test_a_catch_up_after_downtime_sends_once_with_run_once_and_with_serve(monthly, clock):
    senders.set_last_fire(monthly.store, "hebdo", paris("2026-11-09T08:00:00+01:00"))
    clock.set(paris("2026-11-30T09:30:00+01:00"))  # down for three Mondays, back 1 h 30 after the last
    assert "sent" in cycle(monthly)["newsletter:hebdo"]
    assert cycle(monthly)["newsletter:hebdo"] == "not due (next: 2026-12-07 08:00 CET)"
    assert len(editions_of(monthly, "hebdo")) == 1

    clock.set(paris("2026-12-07T09:00:00+01:00"))  # next Monday the service is down until 09:00
    [job] = [job for job in build_jobs(monthly.config) if job.id == "newsletter:hebdo"]
    scheduler = ServiceScheduler(AppFactory(monthly), [job])
    scheduler.start()
    try:
        wait_for(lambda: any(run.kind == job.id for run in recent_runs(monthly.store, 1)), 5, "the catch-up")
        clock.set(paris("2026-12-07T09:10:00+01:00"))
        scheduler.wake()
    finally:
        scheduler.stop()
        clear_stop()
    assert senders.last_fire(monthly.store, "hebdo") == paris("2026-12-07T08:00:00+01:00")
    assert cycle(monthly)["newsletter:hebdo"].startswith("not due")


@pytest.mark.parametrize(
    ("added", "schedule", "not_yet", "fire"),
    [
        # 02:30 does not exist on 28 March 2027: the daily send goes out at 03:30 summer time.
        ("2027-03-27T12:00:00+01:00", "30 2 * * *", "2027-03-28T03:29:00+02:00", "2027-03-28T03:30:00+02:00"),
        # 02:30 happens twice on 25 October 2026: sent at the first one only.
        ("2026-10-24T12:00:00+02:00", "30 2 * * *", "2026-10-25T02:29:00+02:00", "2026-10-25T02:30:00+02:00"),
        # The first of the month right after the spring change, in summer time.
        ("2027-03-26T12:00:00+01:00", "0 9 1 * *", "2027-04-01T08:59:00+02:00", "2027-04-01T09:00:00+02:00"),
    ],
)
def test_dst_days_send_once_at_the_wall_clock_time(monthly, clock, config_file, added, schedule, not_yet, fire):
    config_file.write_text(
        config_file.read_text(encoding="utf-8").replace('schedule = "0 9 1 * *"', f'schedule = "{schedule}"'),
        encoding="utf-8",
    )
    clock.set(paris(added))
    app = app_for(config_file, clock)
    try:
        assert cycle(app)["newsletter:mensuelle"].startswith("not due")
        clock.set(paris(not_yet))
        assert cycle(app)["newsletter:mensuelle"].startswith("not due")
        assert editions_of(app, "mensuelle") == []
        clock.set(paris(fire))
        cycle(app)
        assert senders.last_fire(app.store, "mensuelle") == paris(fire)
        clock.advance(hours=1)  # on 25 October, 02:30 again (winter time): not a second send
        assert cycle(app)["newsletter:mensuelle"].startswith("not due")
        assert senders.last_fire(app.store, "mensuelle") == paris(fire)
    finally:
        app.close()


def test_the_preview_shows_exactly_what_the_first_send_holds(monthly, clock):
    preview = render_preview(monthly, "mensuelle", None)
    assert preview.first_edition_since == paris("2026-11-01T09:00:00+01:00")
    assert "Voici la première lettre" in preview.text
    cycle(monthly)
    clock.set(paris("2026-12-01T09:00:00+01:00"))
    cycle(monthly)
    [edition_id] = editions_of(monthly, "mensuelle")
    assert get_edition(monthly.store, edition_id).article_ids == preview.article_ids


def test_the_preview_command_says_what_the_first_edition_covers(monthly, config_file):
    result = invoke_cli(config_file, "newsletters", "preview", "mensuelle")
    assert result.exit_code == 0, result.output
    assert "first edition: articles published since " in result.output


def test_the_first_edition_counts_back_one_period_across_the_spring_change(config_file, clock):
    config = app_for(config_file, clock).config
    hebdo = config.newsletters["hebdo"].model_copy(update={"first_edition_since": None})
    fire = paris("2027-03-29T08:00:00+02:00")  # the previous Monday was in winter time
    assert first_edition_start(hebdo, config.site.tz, fire) == paris("2027-03-22T08:00:00+01:00")


@pytest.mark.parametrize(
    ("value", "start"),
    [
        ('"7d"', "2027-03-22T07:00:00+01:00"),  # 7 × 24 h of real time back from 08:00 summer time
        ('"2w"', "2027-03-15T07:00:00+01:00"),
        ('"2026-09-01"', "2026-09-01T00:00:00+02:00"),
        ("2026-09-01", "2026-09-01T00:00:00+02:00"),  # a TOML date
    ],
)
def test_first_edition_since_a_duration_or_a_date(config_file, clock, value, start):
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text.replace("first_edition_since = 2026-08-24", f"first_edition_since = {value}", 1))
    config = app_for(config_file, clock).config
    fire = paris("2027-03-29T08:00:00+02:00")
    assert first_edition_start(config.newsletters["hebdo"], config.site.tz, fire) == paris(start)


BAD_SINCE = [line for line in (HOSTILE / "schedpolicy_first_edition_since.txt").read_text().splitlines() if line]


@pytest.mark.parametrize("value", BAD_SINCE)
def test_a_bad_first_edition_since_is_one_line_with_file_line_and_key(config_file, value):
    text = config_file.read_text(encoding="utf-8")
    line = text[: text.index("first_edition_since = 2026-08-24")].count("\n") + 1
    config_file.write_text(text.replace("first_edition_since = 2026-08-24", f"first_edition_since = {value}", 1))
    result = invoke_cli(config_file, "newsletters", "list")
    assert result.exit_code == 1
    [message] = result.output.strip().splitlines()
    assert message.startswith(f"Error: {config_file}:{line}: newsletters.hebdo.first_edition_since: "), message


def test_schedule_and_admin_show_the_same_next_times_and_due_now(monthly, clock, config_file, monkeypatch):
    senders.set_last_fire(monthly.store, "hebdo", paris("2026-11-23T08:00:00+01:00"))
    clock.set(paris("2026-11-30T08:20:00+01:00"))  # hebdo is due: the next run-once sends it
    runs = {run.id: run for run in next_runs(monthly)}
    assert runs["newsletter:hebdo"].due_now
    assert runs["newsletter:mensuelle"].next_run.isoformat() == "2026-12-01T09:00:00+01:00"
    monkeypatch.setenv("PUBLISHER_ADMIN_PASSWORD", "mot de passe de test")
    admin = app_for(config_file, clock, admin_password="mot de passe de test")
    with served(web_app(admin)) as url:
        page = httpx.get(url + "/admin/", auth=("admin", "mot de passe de test")).text
    admin.close()
    table = page.split("Prochains envois", 1)[1].split("</table>", 1)[0]
    assert "Envoi de «\u202fLa lettre hebdo\u202f» (0 8 * * 1)</td><td>maintenant</td>" in table
    assert "Envoi de «\u202fLa lettre du mois\u202f» (0 9 1 * *)</td><td>mar. 1 déc. 2026, 09:00</td>" in table

    # The CLI reads the system clock: a newsletter due now says so there too.
    due_now(config_file, "hebdo")
    listed = invoke_cli(config_file, "schedule").output.splitlines()
    [hebdo] = [line for line in listed if line.startswith("newsletter:hebdo ")]
    assert "due now" in hebdo
    [monthly_line] = [line for line in listed if line.startswith("newsletter:mensuelle ")]
    assert " 09:00 CE" in monthly_line


def test_run_once_purges_unconfirmed_sign_ups(monthly, clock):
    lifecycle.subscribe(monthly, "ancien@example.org", "", [], "formulaire site")
    clock.advance(days=8)
    lifecycle.subscribe(monthly, "recent@example.org", "", [], "formulaire site")
    assert cycle(monthly)["purge-pending"] == "1 unconfirmed sign-ups deleted"
    assert lifecycle.find_subscriber(monthly, "ancien@example.org") is None
    assert lifecycle.find_subscriber(monthly, "recent@example.org").status == "pending"
