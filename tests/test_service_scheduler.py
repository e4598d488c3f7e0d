"""The jobs of `publisher serve`: built from config, listed by `publisher schedule`, run by the
service's scheduler on the injected clock, coalesced and never overlapping, recorded in the runs table."""

import logging
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.triggers.interval import IntervalTrigger
from click.testing import CliRunner
from conftest import NOW
from support.waiting import wait_for
from support.webserver import served, web_app

from publisher.app import App, AppFactory
from publisher.article_import import import_files
from publisher.cli import main
from publisher.demo import demo_file
from publisher.errors import DeliveryError
from publisher.jobs import Job, build_jobs, next_runs, run_job
from publisher.service.scheduler import ServiceScheduler
from publisher.shutdown import clear_stop, stop_requested
from publisher.store.runs import recent_runs


def test_jobs_come_from_config(config):
    jobs = build_jobs(config)
    assert [job.id for job in jobs] == [
        "feeds",
        "newsletter:hebdo",
        "newsletter:mes-sujets",
        "purge-pending",
        "prune-webhook-events",
    ]
    assert jobs[0].description == "rebuild the feeds every 10 min"
    assert jobs[1].description == "send hebdo (0 8 * * 1)"
    assert jobs[3].description == "delete sign-ups unconfirmed after 7 days (daily)"
    assert jobs[4].description == "forget webhook event ids older than 30 days (daily)"


def test_next_runs_in_the_site_time_zone(app, clock):
    clock.set(datetime(2026, 11, 26, 9, 3, tzinfo=UTC))  # Thursday, 10:03 in Paris
    runs = {job.id: job.next_run.isoformat() for job in next_runs(app)}
    assert runs == {
        "feeds": "2026-11-26T10:10:00+01:00",
        "newsletter:hebdo": "2026-11-30T08:00:00+01:00",
        "newsletter:mes-sujets": "2026-12-03T07:30:00+01:00",
        "purge-pending": "2026-11-27T03:15:00+01:00",
        "prune-webhook-events": "2026-11-27T03:15:00+01:00",
    }


def test_next_runs_across_the_march_dst_change(app, clock):
    clock.set(datetime(2027, 3, 27, 12, 0, tzinfo=UTC))
    runs = {job.id: job.next_run.isoformat() for job in next_runs(app)}
    assert runs["newsletter:hebdo"] == "2027-03-29T08:00:00+02:00"
    assert runs["newsletter:mes-sujets"] == "2027-04-01T07:30:00+02:00"


def test_schedule_command_lists_every_job(app, config_file, monkeypatch):
    monkeypatch.chdir(config_file.parent)
    result = CliRunner().invoke(main, ["schedule"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == [
        "feeds",
        "newsletter:hebdo",
        "newsletter:mes-sujets",
        "purge-pending",
        "prune-webhook-events",
    ]
    assert "08:00" in lines[1] and ("CET" in lines[1] or "CEST" in lines[1])


def test_run_job_records_the_run_and_its_failure(app):
    assert run_job(app, Job("ok", "ok", "ok", IntervalTrigger(minutes=1), lambda app: "done")) == "done"

    def failing(app):
        raise DeliveryError("SendGrid said no")

    assert run_job(app, Job("bad", "bad", "bad", IntervalTrigger(minutes=1), failing)) is None
    runs = {run.kind: run for run in recent_runs(app.store)}
    assert (runs["ok"].status, runs["ok"].summary) == ("ok", "done")
    assert (runs["bad"].status, runs["bad"].error) == ("failed", "SendGrid said no")


def test_a_job_is_not_run_while_another_process_keeps_the_store_busy(app, monkeypatch, caplog):
    monkeypatch.setattr("publisher.store.BUSY_TIMEOUT_SECONDS", 0.2)
    busy_app = App(app.config, app.secrets, app.clock)  # a connection opened with the short timeout
    calls = []
    importing = sqlite3.connect(app.store.path, isolation_level=None)  # e.g. a large import
    importing.execute("BEGIN IMMEDIATE")
    with caplog.at_level(logging.ERROR, logger="publisher.jobs"):
        assert run_job(busy_app, Job("feeds", "feeds", "feeds", IntervalTrigger(minutes=1), calls.append)) is None
    importing.execute("ROLLBACK")
    importing.close()
    assert calls == []
    assert "job feeds not run: " in caplog.text and "the store is busy with another write" in caplog.text
    assert run_job(busy_app, Job("feeds", "feeds", "feeds", IntervalTrigger(minutes=1), lambda app: "built")) == "built"
    busy_app.close()


def test_missed_fire_times_of_a_running_job_are_coalesced_into_one_run(app, clock):
    factory = AppFactory(app)  # the scheduler reads the test's clock
    calls, running, overlaps = [], [], []
    release = threading.Event()
    lock = threading.Lock()

    def slow(app):
        with lock:
            if running:
                overlaps.append(app.clock.now())
            running.append(1)
        if not calls:
            release.wait(10)  # the first run lasts while the test moves the clock
        with lock:
            running.pop()
            calls.append(app.clock.now())
        return "ok"

    job = Job("slow", "slow", "slow", IntervalTrigger(minutes=10, start_date=NOW), slow)
    scheduler = ServiceScheduler(factory, [job])
    scheduler.start()
    try:
        wait_for(lambda: running, 5, "the run at start")
        clock.advance(minutes=55)  # five fire times pass while it runs
        scheduler.wake()
        release.set()
        wait_for(lambda: len(calls) == 2, 5, "the coalesced run")
        scheduler.wake()  # the clock has not moved: nothing else is due
        time.sleep(0.2)
    finally:
        scheduler.stop()
        clear_stop()
    assert calls == [NOW + timedelta(minutes=55)] * 2  # one run at start, one for the five missed
    assert overlaps == []
    assert not scheduler.running


def test_stop_asks_running_jobs_to_stop_and_waits_for_them(app):
    factory = AppFactory(app)
    seen = []

    def cooperative(app):
        started = time.monotonic()
        while not stop_requested() and time.monotonic() - started < 10:
            time.sleep(0.02)
        seen.append(stop_requested())
        return "stopped"

    scheduler = ServiceScheduler(factory, [Job("long", "long", "long", IntervalTrigger(hours=1), cooperative)])
    scheduler.start()
    time.sleep(0.3)
    started = time.monotonic()
    scheduler.stop()
    clear_stop()
    assert seen == [True]
    assert time.monotonic() - started < 5
    with factory.opened() as fresh:
        [run] = recent_runs(fresh.store)
    assert (run.kind, run.status, run.summary) == ("long", "ok", "stopped")


def test_the_scheduler_runs_a_job_at_its_fire_time_on_the_injected_clock(app, clock):
    seen = []
    later = Job("later", "later", "later", IntervalTrigger(hours=5, start_date=NOW), seen.append, run_at_start=False)
    scheduler = ServiceScheduler(AppFactory(app), [later])
    scheduler.start()
    try:
        clock.advance(hours=4, minutes=59)
        scheduler.wake()
        time.sleep(0.2)
        assert seen == []
        clock.advance(minutes=1)
        scheduler.wake()
        wait_for(lambda: seen, 5, "the run at its fire time")
    finally:
        scheduler.stop()
        clear_stop()
    assert len(seen) == 1


def test_the_nightly_job_purges_unconfirmed_sign_ups_only(app, clock):
    from publisher.subscribers import lifecycle

    lifecycle.subscribe(app, "ancien@example.org", "", [], "formulaire site")
    clock.advance(days=8)
    lifecycle.subscribe(app, "recent@example.org", "", [], "formulaire site")
    [purge] = [job for job in build_jobs(app.config) if job.id == "purge-pending"]
    assert run_job(app, purge) == "1 unconfirmed sign-ups deleted"
    assert lifecycle.find_subscriber(app, "ancien@example.org") is None
    assert lifecycle.find_subscriber(app, "recent@example.org").status == "pending"
    assert recent_runs(app.store, 1)[0].summary == "1 unconfirmed sign-ups deleted"


def test_the_feeds_job_builds_what_the_web_app_serves(app):
    import_files(app.store, [demo_file("articles.jsonl")], "fr")
    [feeds_job] = [job for job in build_jobs(app.config) if job.id == "feeds"]
    assert "written" in run_job(app, feeds_job)
    with served(web_app(app)) as url, httpx.Client(base_url=url) as client:
        rss = client.get("/feeds/all.rss.xml")
        assert rss.status_code == 200 and rss.headers["content-type"] == "application/rss+xml; charset=utf-8"
        atom = client.get("/feeds/tags/bassin-d-emploi.atom.xml")
        assert atom.headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert "bassin d" in atom.text
        assert client.get("/feeds/tags/apprentissage.json").headers["content-type"].startswith("application/feed+json")
        assert client.get("/feeds/index.opml").status_code == 200
        assert "all.rss.xml" in client.get("/feeds/").text
        assert client.get("/feeds/.build.lock").status_code == 404
        unchanged = run_job(app, feeds_job)  # nothing changed: no file rewritten, the ETag holds
        assert client.get("/feeds/all.rss.xml", headers={"if-none-match": rss.headers["etag"]}).status_code == 304
    assert unchanged is not None
