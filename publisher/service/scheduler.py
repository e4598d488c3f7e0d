"""The scheduler of ``publisher serve``: APScheduler 3's BackgroundScheduler (only used here).

Both schedules here are what the web app shows of the jobs (publisher.web.context.Schedule):
ServiceScheduler, live, and PlannedSchedule, the times computed from config.toml.

Every job coalesces (a backlog of missed fire times runs once), never overlaps itself
(max_instances=1), and has a misfire grace time of ``[service] catch_up_minutes``. Each run
gets its own App (its own SQLite connection) from the factory. ``stop`` waits for the
running jobs: a send stops after the batch on the wire is recorded (publisher.shutdown).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from publisher.app import AppFactory
from publisher.clock import Clock
from publisher.config import Config
from publisher.jobs import Job, build_jobs, job_label, run_job
from publisher.shutdown import request_stop
from publisher.web.context import NextRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upcoming:
    """A job and its next fire time (timezone-aware, in the site time zone)."""

    id: str
    description: str
    next_run: datetime | None


def upcoming(config: Config, clock: Clock) -> list[Upcoming]:
    """The next fire time of every job after the clock's now (``publisher schedule``); no store needed."""
    tz = config.site.tz
    now = clock.now().astimezone(tz)
    result = []
    for job in build_jobs(config):
        fire = job.trigger.get_next_fire_time(None, now)
        result.append(Upcoming(job.id, job.description, fire.astimezone(tz) if fire else None))
    return result


@dataclass(frozen=True)
class PlannedSchedule:
    """The jobs of a config and their next times, computed from config.toml (no scheduler runs)."""

    config: Config
    clock: Clock
    live = False
    running = False

    def next_runs(self) -> list[NextRun]:
        return [NextRun(job_label(self.config, job.id), job.next_run) for job in upcoming(self.config, self.clock)]


class ServiceScheduler:
    """The jobs of one config in a BackgroundScheduler (a thread pool, one worker per job)."""

    live = True

    def __init__(self, factory: AppFactory, jobs: list[Job] | None = None) -> None:
        self.factory = factory
        config = factory.template.config
        self.jobs = build_jobs(config) if jobs is None else jobs
        self._scheduler = BackgroundScheduler(
            timezone=config.site.tz,
            executors={"default": ThreadPoolExecutor(max_workers=max(1, len(self.jobs)))},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": config.service.catch_up_minutes * 60,
            },
        )
        self._scheduler.add_listener(self._missed, EVENT_JOB_MISSED)

    def start(self) -> None:
        """Add every job and start; jobs with ``run_at_start`` run at once (feeds, catch-up)."""
        now = self.factory.template.local_now()
        for job in self.jobs:
            options = {"next_run_time": now} if job.run_at_start else {}
            self._scheduler.add_job(self._run, job.trigger, args=[job], id=job.id, name=job.description, **options)
        self._scheduler.start()
        log.info("scheduler started with %s jobs", len(self.jobs))

    def stop(self) -> None:
        """Ask running jobs to stop at their next safe point and wait for them."""
        if not self._scheduler.running:
            return
        request_stop()
        log.info("scheduler stopping: waiting for running jobs")
        self._scheduler.shutdown(wait=True)
        log.info("scheduler stopped")

    @property
    def running(self) -> bool:
        return self._scheduler.running

    def next_runs(self) -> list[NextRun]:
        """The live next run time of every job (None while it runs or when paused)."""
        config = self.factory.template.config
        return [
            NextRun(
                job_label(config, job.id), job.next_run_time.astimezone(config.site.tz) if job.next_run_time else None
            )
            for job in self._scheduler.get_jobs()
        ]

    def _run(self, job: Job) -> None:
        with self.factory.opened() as app:
            run_job(app, job)

    def _missed(self, event: JobExecutionEvent) -> None:
        log.warning(
            "job %s: run time %s missed by more than catch_up_minutes, skipped",
            event.job_id,
            event.scheduled_run_time.isoformat(),
        )
