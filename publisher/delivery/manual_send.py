"""``publisher send``: a send started by a person, recorded in the runs table as ``send:SLUG`` so
``publisher status`` and /admin/ list it among the scheduled runs."""

from __future__ import annotations

from collections.abc import Callable

from publisher.app import App
from publisher.delivery.send import SendReport, send_newsletter
from publisher.digests.planner import segment_of
from publisher.errors import PublisherError
from publisher.store.runs import finish_run, start_run

MANUAL_SEND = "send:"  # the run kind's prefix: "send:hebdo"


def send_as_run(
    app: App,
    slug: str,
    segment: str | None = None,
    *,
    force: bool = False,
    resend_unknown: bool = False,
    retry_failed: bool = False,
    on_progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> SendReport:
    """``send_newsletter``, recorded as a run: failed when the send stopped on an error or paused
    (the reason is the run's error), ok otherwise (its failed recipients are in the ledger). An
    unknown newsletter is refused before any run is recorded."""
    segment_of(app, slug, segment)  # NotFoundError for an unknown newsletter or segment: no run
    run_id = start_run(app.store, f"{MANUAL_SEND}{slug}")
    try:
        report = send_newsletter(
            app,
            slug,
            segment,
            force=force,
            resend_unknown=resend_unknown,
            retry_failed=retry_failed,
            on_progress=on_progress,
            on_start=on_start,
        )
    except PublisherError as error:
        finish_run(app.store, run_id, "", error=str(error))
        raise
    except BaseException as error:
        finish_run(app.store, run_id, "", error=f"{type(error).__name__}: {error}")
        raise
    paused = [edition.reason for edition in report.editions if edition.status == "paused"]
    finish_run(app.store, run_id, report.summary(), error=f"paused: {paused[0]}" if paused else None)
    return report
