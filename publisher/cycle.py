"""One publishing cycle (``publisher run-once``): feeds first, then every due newsletter, then
the Event Webhook's old event ids are forgotten.

Each step is recorded in the runs table, so ``publisher status`` shows what happened.
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

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepResult:
    name: str
    summary: str


Step = Callable[[App], str]


def cycle_steps() -> list[tuple[str, Step]]:
    """The steps of a cycle, in order. Each returns a one-line summary."""
    return [("feeds", feeds_step), ("newsletters", send_due_newsletters), ("webhook events", prune_webhook_events)]


def run_once(app: App) -> list[StepResult]:
    """Run every step; a failing step is recorded and re-raised after the run is closed."""
    run_id = start_run(app.store, "run-once")
    results: list[StepResult] = []
    try:
        for name, step in cycle_steps():
            log.info("run %s: %s", run_id, name)
            results.append(StepResult(name, step(app)))
    except PublisherError as error:
        finish_run(app.store, run_id, _summary(results), error=str(error))
        raise
    finish_run(app.store, run_id, _summary(results))
    return results


def _summary(results: list[StepResult]) -> str:
    return "; ".join(f"{result.name}: {result.summary}" for result in results) or "nothing to do"
