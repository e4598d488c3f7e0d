"""The job registry: what ``publisher serve`` schedules and ``publisher run-once`` runs, built
from config.toml. Each job calls the library function behind a CLI command:

- ``feeds``: rebuild the feeds every ``[feeds] rebuild_minutes`` (``publisher feeds build``);
- ``newsletter:SLUG``: at each fire time of ``[newsletters.SLUG] schedule`` (site time zone),
  send the newsletter when the schedule says so (publisher.schedule_policy: never before its
  first fire time after it was added; a fire time missed by more than ``[service]
  catch_up_minutes`` is skipped; an interrupted send is resumed);
- ``purge-pending``: every night, delete sign-ups not confirmed within ``[subscribers]
  pending_days`` (``publisher subscribers purge-pending``);
- ``prune-webhook-events``: every night, forget the Event Webhook event ids older than
  ``[delivery.sendgrid] webhook_events_retention_days``.

The service runs each job at its trigger's times (and once at start); ``run-once`` runs every
job once, in this order: the newsletter jobs decide for themselves whether a send is due, so
both send at the same times. ``next_runs`` is the next time each job will act on, which
``publisher schedule`` and /admin/ show. Each run is recorded in the runs table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from apscheduler.triggers.base import BaseTrigger

from publisher.app import App
from publisher.config import Config
from publisher.delivery.events import prune_webhook_events
from publisher.delivery.send import send_due_newsletter
from publisher.errors import PublisherError, StoreBusy
from publisher.feeds import feeds_step
from publisher.schedule_policy import next_send
from publisher.scheduling import cron_trigger, interval_trigger
from publisher.store.runs import finish_run, start_run
from publisher.subscribers.lifecycle import purge_pending

log = logging.getLogger(__name__)

FEEDS_JOB = "feeds"
NEWSLETTER_JOB = "newsletter:"
PURGE_JOB = "purge-pending"
PURGE_SCHEDULE = "15 3 * * *"  # 03:15, site time zone: a quiet hour
PRUNE_EVENTS_JOB = "prune-webhook-events"


@dataclass(frozen=True)
class Job:
    id: str
    description: str  # for `publisher schedule`
    label: str  # for /admin/, in French
    trigger: BaseTrigger
    action: Callable[[App], str]
    # Run once as soon as the service starts (catch-up), before the first fire time.
    run_at_start: bool = True
    # The newsletter a job sends: its next time is the schedule policy's, not just the trigger's.
    newsletter: str | None = None


@dataclass(frozen=True)
class NextRun:
    """A job and the next time it will act on (site time zone); ``due_now`` when that is now."""

    id: str
    description: str
    label: str
    next_run: datetime | None
    due_now: bool = False


def build_jobs(config: Config) -> list[Job]:
    """The jobs of a config: the feed rebuild first, one per newsletter in config order, then the
    nightly purge of unconfirmed sign-ups and pruning of old webhook event ids."""
    tz = config.site.tz
    minutes = config.feeds.rebuild_minutes
    jobs = [
        Job(
            FEEDS_JOB,
            f"rebuild the feeds every {minutes} min",
            f"Mise à jour des flux (toutes les {minutes} min)",
            interval_trigger(minutes, tz),
            feeds_step,
        )
    ]
    for slug, newsletter in config.newsletters.items():
        jobs.append(
            Job(
                f"{NEWSLETTER_JOB}{slug}",
                f"send {slug} ({newsletter.schedule})",
                f"Envoi de «\u202f{newsletter.title}\u202f» ({newsletter.schedule})",
                cron_trigger(newsletter.schedule, tz),
                partial(send_due_newsletter, slug=slug),
                newsletter=slug,
            )
        )
    days = config.delivery.sendgrid.webhook_events_retention_days
    jobs += [
        Job(
            PURGE_JOB,
            f"delete sign-ups unconfirmed after {config.subscribers.pending_days} days (daily)",
            "Suppression des inscriptions non confirmées (chaque nuit)",
            cron_trigger(PURGE_SCHEDULE, tz),
            purge_unconfirmed,
        ),
        Job(
            PRUNE_EVENTS_JOB,
            f"forget webhook event ids older than {days} days (daily)",
            "Oubli des anciens identifiants d’événements SendGrid (chaque nuit)",
            cron_trigger(PURGE_SCHEDULE, tz),
            prune_webhook_events,
        ),
    ]
    return jobs


def next_runs(app: App) -> list[NextRun]:
    """Every job with the next time it will act on: a newsletter's next send by the schedule
    policy (now when due), other jobs' next fire time. Reads the store, writes nothing."""
    tz = app.config.site.tz
    now = app.clock.now().astimezone(tz)
    runs = []
    for job in build_jobs(app.config):
        if job.newsletter is not None:
            send = next_send(app, job.newsletter)
            at, due_now = send.at, send.due_now
        else:
            fire = job.trigger.get_next_fire_time(None, now)
            at, due_now = (fire.astimezone(tz) if fire else None), False
        runs.append(NextRun(job.id, job.description, job.label, at, due_now))
    return runs


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


def purge_unconfirmed(app: App) -> str:
    """``publisher subscribers purge-pending``."""
    return f"{purge_pending(app)} unconfirmed sign-ups deleted"
