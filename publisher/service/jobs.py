"""What ``publisher serve`` schedules, built from config.toml, and what each run does.

Every job calls the library function behind a CLI command, so plain cron can run the same
work instead of the service (``publisher feeds build``, ``publisher run-once``):

- ``feeds``: rebuild the feeds every ``[feeds] rebuild_minutes`` (and once at start);
- ``newsletter:SLUG``: at each fire time of ``[newsletters.SLUG] schedule`` (site time zone),
  send the newsletter if that fire time was not handled yet. A fire time missed by less than
  ``[service] catch_up_minutes`` (the service was down, the machine asleep) is sent once, at
  start; an older one is skipped and logged. An interrupted send is always resumed;
- ``purge-pending``: every night, delete sign-ups not confirmed within ``[subscribers]
  pending_days`` (``publisher subscribers purge-pending``);
- ``prune-webhook-events``: every night, forget the Event Webhook event ids older than
  ``[delivery.sendgrid] webhook_events_retention_days`` (also a step of ``publisher run-once``).

Each run is recorded in the runs table (``publisher status`` and /admin/ show them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from publisher.app import App
from publisher.config import Config
from publisher.delivery.events import prune_webhook_events
from publisher.delivery.send import send_due_newsletter
from publisher.errors import PublisherError, StoreBusy
from publisher.feeds import build_feeds
from publisher.scheduling import cron_trigger
from publisher.store.runs import finish_run, start_run
from publisher.subscribers import purge_pending

log = logging.getLogger(__name__)

FEEDS_JOB = "feeds"
NEWSLETTER_JOB = "newsletter:"
PURGE_JOB = "purge-pending"
PURGE_SCHEDULE = "15 3 * * *"  # 03:15, site time zone: a quiet hour
PRUNE_EVENTS_JOB = "prune-webhook-events"
# What /admin/ calls the nightly jobs.
NIGHTLY_LABELS = {
    PURGE_JOB: "Suppression des inscriptions non confirmées (chaque nuit)",
    PRUNE_EVENTS_JOB: "Oubli des anciens identifiants d’événements SendGrid (chaque nuit)",
}
# Interval fire times are counted from this moment (site time zone): every 10 minutes means
# :00, :10, :20… whenever the service was started, and `publisher schedule` can tell them.
_INTERVAL_ANCHOR = datetime(2000, 1, 1)


@dataclass(frozen=True)
class Job:
    id: str
    description: str
    trigger: BaseTrigger
    action: Callable[[App], str]
    # Run once as soon as the service starts (catch-up), before the first fire time.
    run_at_start: bool = True


def build_jobs(config: Config) -> list[Job]:
    """The jobs of a config: the feed rebuild first, one per newsletter in config order, then the
    nightly purge of unconfirmed sign-ups and pruning of old webhook event ids."""
    tz = config.site.tz
    minutes = config.feeds.rebuild_minutes
    jobs = [
        Job(
            FEEDS_JOB,
            f"rebuild the feeds every {minutes} min",
            IntervalTrigger(minutes=minutes, start_date=_INTERVAL_ANCHOR.replace(tzinfo=tz), timezone=tz),
            rebuild_feeds,
        )
    ]
    for slug, newsletter in config.newsletters.items():
        jobs.append(
            Job(
                f"{NEWSLETTER_JOB}{slug}",
                f"send {slug} ({newsletter.schedule})",
                cron_trigger(newsletter.schedule, tz),
                partial(send_when_due, slug=slug),
            )
        )
    jobs.append(
        Job(
            PURGE_JOB,
            f"delete sign-ups unconfirmed after {config.subscribers.pending_days} days (daily)",
            cron_trigger(PURGE_SCHEDULE, tz),
            purge_unconfirmed,
        )
    )
    days = config.delivery.sendgrid.webhook_events_retention_days
    jobs.append(
        Job(
            PRUNE_EVENTS_JOB,
            f"forget webhook event ids older than {days} days (daily)",
            cron_trigger(PURGE_SCHEDULE, tz),
            prune_webhook_events,
        )
    )
    return jobs


def job_label(config: Config, job_id: str) -> str:
    """What /admin/ calls a job, in French: « Envoi de « La lettre hebdo » (0 8 * * 1) »."""
    if job_id == FEEDS_JOB:
        return f"Mise à jour des flux (toutes les {config.feeds.rebuild_minutes} min)"
    if job_id in NIGHTLY_LABELS:
        return NIGHTLY_LABELS[job_id]
    slug = job_id.removeprefix(NEWSLETTER_JOB)
    newsletter = config.newsletters.get(slug)
    return f"Envoi de «\u202f{newsletter.title}\u202f» ({newsletter.schedule})" if newsletter else job_id


def run_job(app: App, job: Job) -> str | None:
    """Run one job, recorded as a run; errors are logged and recorded, never raised. When the
    store stays busy (another process's long write), the job is not run: it runs again at its
    next time."""
    try:
        run_id = start_run(app.store, job.id)
    except StoreBusy as error:
        log.error("job %s not run: %s", job.id, error)
        return None
    try:
        summary = job.action(app)
    except PublisherError as error:
        log.error("job %s failed: %s", job.id, error)
        _finish(app, run_id, "", error=str(error))
        return None
    except Exception as error:
        log.exception("job %s crashed", job.id)
        _finish(app, run_id, "", error=f"crashed: {type(error).__name__}: {error}")
        return None
    log.info("job %s: %s", job.id, summary)
    _finish(app, run_id, summary)
    return summary


def _finish(app: App, run_id: int, summary: str, error: str | None = None) -> None:
    try:
        finish_run(app.store, run_id, summary, error)
    except StoreBusy as busy:  # the run stays 'running' in `publisher status`; the log says why
        log.error("run %s not recorded as finished: %s", run_id, busy)


def rebuild_feeds(app: App) -> str:
    """``publisher feeds build``."""
    return build_feeds(app).summary()


def purge_unconfirmed(app: App) -> str:
    """``publisher subscribers purge-pending``."""
    return f"{purge_pending(app)} unconfirmed sign-ups deleted"


def send_when_due(app: App, slug: str) -> str:
    """Send ``slug`` if a fire time of its schedule is due and within the catch-up window (or
    resume its interrupted send); "not due" when there was nothing to do, for `publisher status`."""
    catch_up = timedelta(minutes=app.config.service.catch_up_minutes)
    return send_due_newsletter(app, slug, catch_up=catch_up) or "not due"
