"""One publishing cycle (``publisher run-once``): every job of the registry (publisher.jobs)
once, in order: the feeds, each newsletter (sent only when its schedule says so), the purge of
unconfirmed sign-ups and the Event Webhook's old event ids. Typos of config.toml that leave a
newsletter or segment empty (publisher.typos) end its results and summary, as warnings.

The cycle is recorded as one run in the runs table, so ``publisher status`` shows what
happened; a job that fails does not stop the next ones, and the run is then recorded as failed
with its reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from publisher.app import App
from publisher.errors import PublisherError
from publisher.jobs import Job, build_jobs
from publisher.store.runs import finish_run, start_run
from publisher.typos import config_warnings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepResult:
    name: str
    summary: str  # what the job did, or why it failed
    failed: bool = False


def run_once(app: App) -> list[StepResult]:
    """Run every job, also after one failed (the newsletters do not wait for the feeds). A
    job's PublisherError is its failed result; the run is closed as failed with the reasons.
    Anything else (a bug, an interruption) closes the run as failed and is raised."""
    run_id = start_run(app.store, "run-once")
    results: list[StepResult] = []
    try:
        for job in build_jobs(app.config):
            log.info("run %s: %s", run_id, job.id)
            results.append(_run_step(job, app))
    except BaseException as error:
        finish_run(app.store, run_id, _summary(results), error=f"{type(error).__name__}: {error}")
        raise
    # Typos that leave a newsletter or segment empty are said last, in the run's summary too.
    results += [StepResult("warning", warning) for warning in config_warnings(app)]
    errors = [f"{result.name}: {result.summary}" for result in results if result.failed]
    finish_run(app.store, run_id, _summary(results), error="; ".join(errors) or None)
    return results


def _run_step(job: Job, app: App) -> StepResult:
    try:
        return StepResult(job.id, job.action(app))
    except PublisherError as error:
        log.error("%s failed: %s", job.id, error)
        return StepResult(job.id, str(error), failed=True)


def _summary(results: list[StepResult]) -> str:
    done = [result for result in results if not result.failed]
    return "; ".join(f"{result.name}: {result.summary}" for result in done) or "nothing to do"
