"""The scheduler of ``publisher serve``: it runs the jobs of the registry (publisher.jobs) at
their triggers' times, read from the app's clock (publisher.clock), so that tests drive it with
a FixedClock. APScheduler 3's schedulers read the system clock: only its triggers are used
(publisher.scheduling).

Each job runs once at start (``run_at_start``: catch-up), then at each fire time of its
trigger, in a worker thread: a job never overlaps itself, and the fire times missed while it
ran (or while the machine slept) are coalesced into one run. Whether a newsletter is then sent
is the schedule policy's decision (publisher.schedule_policy), the same as for ``run-once``.
Each run gets its own App (its own SQLite connection) from the factory. ``stop`` waits for the
running jobs: a send stops after the batch on the wire is recorded (publisher.shutdown).

Both schedules here are what the web app knows of the scheduler (publisher.web.context.Schedule):
ServiceScheduler, live, and PlannedSchedule, for the web app served without it.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from publisher.app import AppFactory
from publisher.jobs import Job, build_jobs, run_job
from publisher.shutdown import request_stop

log = logging.getLogger(__name__)

# The longest the scheduler sleeps: a jump of the system clock (suspend, NTP) is noticed within it.
MAX_SLEEP_SECONDS = 30.0
_TICK = timedelta(microseconds=1)


class PlannedSchedule:
    """No scheduler runs (the web app alone): /healthz does not report one."""

    live = False
    running = False


class ServiceScheduler:
    """The jobs of one config, each run in a worker thread when its time comes."""

    live = True

    def __init__(self, factory: AppFactory, jobs: list[Job] | None = None) -> None:
        self.factory = factory
        self.clock = factory.template.clock
        self.jobs = build_jobs(factory.template.config) if jobs is None else jobs
        self._next: dict[str, datetime | None] = {}
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._workers = ThreadPoolExecutor(max_workers=max(1, len(self.jobs)), thread_name_prefix="job")

    def start(self) -> None:
        """Start the loop; jobs with ``run_at_start`` run at once (feeds, catch-up)."""
        now = self.clock.now()
        self._next = {job.id: now if job.run_at_start else _next_fire(job, now) for job in self.jobs}
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()
        log.info("scheduler started with %s jobs", len(self.jobs))

    def wake(self) -> None:
        """Read the clock again now (a test that moved its clock calls this)."""
        self._wake.set()

    def stop(self) -> None:
        """Ask running jobs to stop at their next safe point and wait for them."""
        if self._thread is None:
            return
        request_stop()
        log.info("scheduler stopping: waiting for running jobs")
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._workers.shutdown(wait=True)
        self._thread = None
        log.info("scheduler stopped")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopping:
            self._wake.clear()
            self._start_due_jobs()
            self._wake.wait(self._seconds_to_next())

    def _start_due_jobs(self) -> None:
        """Start every job whose time has come and that is not running; its next time is its
        first fire time after now, whatever fire times it missed."""
        now = self.clock.now()
        with self._lock:
            for job in self.jobs:
                when = self._next[job.id]
                if when is None or when > now or job.id in self._running:
                    continue
                self._running.add(job.id)
                self._next[job.id] = _next_fire(job, now)
                self._workers.submit(self._run, job)

    def _seconds_to_next(self) -> float:
        now = self.clock.now()
        with self._lock:
            waiting = [when for job, when in self._next.items() if when is not None and job not in self._running]
        if not waiting:
            return MAX_SLEEP_SECONDS  # a running job wakes the loop when it ends
        return min(MAX_SLEEP_SECONDS, max(0.0, (min(waiting) - now).total_seconds()))

    def _run(self, job: Job) -> None:
        try:
            with self.factory.opened() as app:
                run_job(app, job)
        except Exception:  # the store could not be opened: run_job records everything else
            log.exception("job %s not run", job.id)
        finally:
            with self._lock:
                self._running.discard(job.id)
            self._wake.set()


def _next_fire(job: Job, now: datetime) -> datetime | None:
    """The first fire time of the job's trigger strictly after ``now``."""
    return job.trigger.get_next_fire_time(None, now + _TICK)
