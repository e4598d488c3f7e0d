"""One publishing cycle (``publisher run-once``): feeds first, then every due newsletter, then
the Event Webhook's old event ids are forgotten. Typos of config.toml that leave a newsletter or
segment empty (publisher.typos) end its results and summary, as warnings.

Each step is recorded in the runs table, so ``publisher status`` shows what happened; a step
that fails does not stop the next ones, and the run is then recorded as failed with its reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from publisher.app import App
from publisher.delivery.events import prune_webhook_events
from publisher.delivery.send import send_due_newsletters
from publisher.errors import PublisherError
from publisher.feeds import feeds_step
from publisher.store.runs import finish_run, start_run
from publisher.typos import config_warnings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepResult:
    name: str
    summary: str  # what the step did, or why it failed
    failed: bool = False


Step = Callable[[App], str]


def cycle_steps() -> list[tuple[str, Step]]:
    """The steps of a cycle, in order. Each returns a one-line summary."""
    return [("feeds", feeds_step), ("newsletters", send_due_newsletters), ("webhook events", prune_webhook_events)]


def run_once(app: App) -> list[StepResult]:
    """Run every step, also after one failed (the newsletters do not wait for the feeds). A
    step's PublisherError is its failed result; the run is closed as failed with the reasons.
    Anything else (a bug, an interruption) closes the run as failed and is raised."""
    run_id = start_run(app.store, "run-once")
    results: list[StepResult] = []
    try:
        for name, step in cycle_steps():
            log.info("run %s: %s", run_id, name)
            results.append(_run_step(name, step, app))
    except BaseException as error:
        finish_run(app.store, run_id, _summary(results), error=f"{type(error).__name__}: {error}")
        raise
    # Typos that leave a newsletter or segment empty are said last, in the run's summary too.
    results += [StepResult("warning", warning) for warning in config_warnings(app)]
    errors = [f"{result.name}: {result.summary}" for result in results if result.failed]
    finish_run(app.store, run_id, _summary(results), error="; ".join(errors) or None)
    return results


def _run_step(name: str, step: Step, app: App) -> StepResult:
    try:
        return StepResult(name, step(app))
    except PublisherError as error:
        log.error("%s failed: %s", name, error)
        return StepResult(name, str(error), failed=True)


def _summary(results: list[StepResult]) -> str:
    done = [result for result in results if not result.failed]
    return "; ".join(f"{result.name}: {result.summary}" for result in done) or "nothing to do"
