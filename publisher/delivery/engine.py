"""The batch sender: pending ledger rows → rate-limited, concurrent, retried requests.

One coordinating thread reads pending rows, builds each batch, takes the rate limit, marks
the batch 'sending' in the ledger and hands it to a small pool of worker threads that only
do I/O (the SendGrid client opens a connection per request, so several requests are kept
in flight). Every outcome is written back by the coordinating thread, in one transaction
per batch. See publisher.store.deliveries for the ledger protocol.

Faults:
- 429: the batch waits for X-RateLimit-Reset (everyone sending through the account does);
- 5xx, refused connections: retried with exponential backoff and jitter, ``max_attempts``
  times; after that its rows stay pending and the edition pauses when the run ends;
- timeout or reset after the request left: the outcome is unknown, the rows become
  'unknown' and are not resent (``resend_unknown`` does), ``publisher status`` lists them;
  a transport that can tell what it sent (the outbox) settles them on the next run;
- a recipient the transport cannot send (an address or name no message can carry, a 5xx
  refusal of one message) fails alone, with the reason; the rest of the batch goes out;
- 4xx: the batch fails with SendGrid's message, no retry;
- ``pause_after_failures`` failed batches in a row (or bad credentials) pause the edition
  with the reason; sending it again resumes where it stopped.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime

from publisher.app import App
from publisher.delivery.content import EditionContent, edition_content
from publisher.delivery.messages import MessageRecorder
from publisher.delivery.ratelimit import SendRateLimiter
from publisher.delivery.registry import open_transport
from publisher.delivery.transport import BatchOutcome, Prepared, RecipientRow, Transport
from publisher.shutdown import stop_requested
from publisher.store.deliveries import (
    claim_batch,
    close_deliveries,
    delivery_counts,
    next_pending,
    record_batch,
    recover_in_flight,
    requeue,
    settle_unknown,
    unknown_rows,
)
from publisher.store.editions import get_edition, set_edition_status

log = logging.getLogger(__name__)

# A 429 asking to wait longer than this pauses the edition instead (e.g. a daily quota).
MAX_RATE_LIMIT_WAIT = 300.0
MAX_BACKOFF = 60.0


@dataclass
class DeliveryReport:
    edition_id: int
    status: str = "sending"
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0
    pending: int = 0
    requests: int = 0
    recovered_unknown: int = 0
    settled_unknown: int = 0
    reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    first_delay: float = 1.0
    max_delay: float = MAX_BACKOFF

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with jitter: about first_delay × 2^(attempt-1), ±50 %."""
        return min(self.max_delay, self.first_delay * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.5)


@dataclass
class _Job:
    recipients: list[RecipientRow]
    prepared: Prepared
    attempt: int = 1
    batch_id: int = 0


class _Sender:
    """One run of one edition; state lives here, the ledger lives in the store."""

    def __init__(
        self,
        app: App,
        content: EditionContent,
        transport: Transport,
        policy: RetryPolicy,
        on_progress: Callable[[int], None] | None,
    ) -> None:
        settings = app.config.delivery
        self.app, self.store, self.transport, self.policy = app, app.store, transport, policy
        self.edition_id = content.edition_id
        self.content = content
        self.messages = MessageRecorder(app) if transport.one_at_a_time else None
        self.limiter = (
            SendRateLimiter(app.store, transport.rate_key, settings.rate_per_second) if transport.rate_key else None
        )
        self.batch_size = settings.batch_size
        self.concurrency = settings.concurrency
        self.pause_after = settings.pause_after_failures
        self.on_progress = on_progress
        self.rng = random.Random()
        self.cursor = 0
        self.exhausted = False
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.pause_reason: str | None = None
        self.requests = 0
        self.retries: list[tuple[float, int, _Job]] = []
        self.ahead: deque[_Job] = deque()
        self.prefetch = self.concurrency + 2
        self.sequence = itertools.count()

    # --- producing jobs ---------------------------------------------------------------

    def _next_job(self) -> _Job | None:
        """A retry that is due, else the next new batch, else None. New batches are prepared
        a few ahead, so a transport building them in other processes keeps them busy."""
        if self.retries and self.retries[0][0] <= time.monotonic():
            return heapq.heappop(self.retries)[2]
        while True:  # a batch whose recipients were all rejected is skipped, and the next one read
            while len(self.ahead) < self.prefetch and (job := self._new_job()) is not None:
                self.ahead.append(job)
            if not self.ahead:
                return None
            job = self.ahead.popleft()
            job.prepared.ready()
            if job.prepared.rejected:
                close_deliveries(self.store, self.edition_id, "failed", job.prepared.rejected)
            if job.prepared.subscriber_ids:
                return job

    def _new_job(self) -> _Job | None:
        while not self.exhausted:
            rows = next_pending(self.store, self.edition_id, self.cursor, self.batch_size)
            if not rows:
                self.exhausted = True
                break
            self.cursor = rows[-1][0]
            gone = {
                subscriber_id: f"subscriber is {status}" for subscriber_id, _, _, status in rows if status != "active"
            }
            if gone:
                close_deliveries(self.store, self.edition_id, "skipped", gone)
            recipients = [
                (subscriber_id, email, name) for subscriber_id, email, name, status in rows if status == "active"
            ]
            if recipients:
                return _Job(recipients, self.transport.prepare(self.content, recipients))
        return None

    # --- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        in_flight: dict[Future[BatchOutcome], _Job] = {}
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="delivery") as pool:
            try:
                while True:
                    while self.pause_reason is None and not stop_requested() and len(in_flight) < self.concurrency:
                        job = self._next_job()
                        if job is None:
                            break
                        in_flight[self._dispatch(pool, job)] = job
                    if not in_flight:
                        if self.pause_reason is not None or not self.retries or stop_requested():
                            break
                        time.sleep(max(0.0, self.retries[0][0] - time.monotonic()))
                        continue
                    timeout = max(0.0, self.retries[0][0] - time.monotonic()) if self.retries else None
                    done, _ = wait(in_flight, timeout=timeout, return_when=FIRST_COMPLETED)
                    for future in done:
                        self._finish(in_flight.pop(future), future)
            finally:
                # Interrupted (Ctrl-C) or failed: record what the requests in flight did.
                for future, job in in_flight.items():
                    self._finish(job, future)
                if self.messages:  # every batch is answered: no worker records anything more
                    self.messages.close()

    def _dispatch(self, pool: ThreadPoolExecutor, job: _Job) -> Future[BatchOutcome]:
        ids = job.prepared.subscriber_ids
        if self.limiter:
            self.limiter.acquire(len(ids))
        job.batch_id = claim_batch(self.store, self.edition_id, ids, job.attempt, self.messages is not None)
        if self.messages:
            job.prepared.on_message = self.messages.for_batch(job.batch_id)
        return pool.submit(self.transport.send, job.prepared)

    def _finish(self, job: _Job, future: Future[BatchOutcome]) -> None:
        try:
            outcome = future.result()
        except Exception as error:  # a bug in a transport: the request may have left
            log.exception("edition %s batch %s: transport error", self.edition_id, job.batch_id)
            outcome = BatchOutcome(
                unknown=job.prepared.subscriber_ids, error=f"transport error: {type(error).__name__}: {error}"
            )
        self._record(job, outcome)

    def _record(self, job: _Job, outcome: BatchOutcome) -> None:
        self.requests += outcome.requests
        retry_ids = set(outcome.retry)
        again = False
        if retry_ids:
            wait_until = outcome.retry_at
            if wait_until is not None and wait_until - time.time() > MAX_RATE_LIMIT_WAIT:
                until = datetime.fromtimestamp(wait_until, self.app.config.site.tz).strftime("%H:%M:%S")
                self._pause(f"rate limited by the provider until {until}")
            elif job.attempt < self.policy.max_attempts and self.pause_reason is None:
                again = True
                if wait_until is not None:
                    if self.limiter:
                        self.limiter.hold_until(wait_until)
                    delay = max(0.0, wait_until - time.time())
                else:
                    delay = self.policy.delay(job.attempt, self.rng)
                if len(retry_ids) == len(job.prepared.subscriber_ids):
                    retry = _Job(job.recipients, job.prepared, job.attempt + 1)
                else:
                    recipients = [recipient for recipient in job.recipients if recipient[0] in retry_ids]
                    retry = _Job(recipients, self.transport.prepare(self.content, recipients), job.attempt + 1)
                heapq.heappush(self.retries, (time.monotonic() + delay, next(self.sequence), retry))
        record_batch(self.store, job.batch_id, outcome.sent, outcome.failed, outcome.unknown, outcome.error)
        if outcome.error:
            self.last_error = outcome.error
            log.warning("edition %s batch %s attempt %s: %s", self.edition_id, job.batch_id, job.attempt, outcome.error)
        if outcome.sent:
            self.consecutive_failures = 0
            if self.on_progress:
                self.on_progress(len(outcome.sent))
        elif not again and outcome.requests and (outcome.failed or retry_ids):
            self.consecutive_failures += 1
        if outcome.fatal:
            self._pause(outcome.error or "the provider refused the credentials")
        elif self.consecutive_failures >= self.pause_after:
            self._pause(f"{self.consecutive_failures} batches failed in a row; last error: {self.last_error}")

    def _pause(self, reason: str) -> None:
        if self.pause_reason is None:
            self.pause_reason = reason
            log.error("edition %s paused: %s", self.edition_id, reason)


def _settle_unknown(app: App, transport: Transport, content: EditionContent) -> int:
    """Unknown outcomes the transport can decide (the outbox: is the file there?) become sent,
    or pending to be sent now. Returns how many rows were decided."""
    unknown = unknown_rows(app.store, content.edition_id)
    sent = transport.sent_before(content, unknown) if unknown else None
    if sent is None:
        return 0
    resend = settle_unknown(app.store, content.edition_id, sent)
    log.info(
        "edition %s: %s unknown outcomes settled: %s sent, %s to send",
        content.edition_id,
        len(unknown),
        len(sent),
        resend,
    )
    return len(unknown)


def deliver_pending(
    app: App,
    edition_id: int,
    *,
    transport: Transport | None = None,
    resend_unknown: bool = False,
    retry_failed: bool = False,
    policy: RetryPolicy | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> DeliveryReport:
    """Send every pending ledger row of one edition; resume a paused or interrupted one.

    The caller must be the only process sending this edition (send_newsletter holds the
    newsletter's sender lock): batches found 'sending' are taken as left by a dead process
    and become 'unknown'.
    """
    store = app.store
    settings = app.config.delivery
    policy = policy or RetryPolicy(max_attempts=settings.max_attempts, first_delay=settings.retry_delay)
    report = DeliveryReport(edition_id)
    own_transport = transport is None
    transport = transport or open_transport(app)
    try:
        content = edition_content(app, get_edition(store, edition_id))
        report.recovered_unknown = recover_in_flight(store, edition_id)
        report.settled_unknown = _settle_unknown(app, transport, content)
        if resend_unknown:
            requeue(store, edition_id, "unknown")
        if retry_failed:
            requeue(store, edition_id, "failed")
        set_edition_status(store, edition_id, "sending")
        sender = _Sender(app, content, transport, policy, on_progress)
        sender.run()
    finally:
        if own_transport:
            transport.close()
    counts = delivery_counts(store, edition_id)
    report.counts = counts
    report.sent, report.failed, report.unknown = counts["sent"], counts["failed"], counts["unknown"]
    report.skipped, report.pending = counts["skipped"], counts["pending"] + counts.get("in_flight", 0)
    report.requests = sender.requests
    if report.pending and stop_requested():
        # Stopped between batches (SIGTERM): the edition stays 'sending', so the next run resumes it.
        report.status = "sending"
        log.info("edition %s: stopped with %s recipients pending; the next run resumes it", edition_id, report.pending)
        return report
    if sender.pause_reason is None and report.pending:
        sender.pause_reason = (
            f"{report.pending} recipients not sent after {policy.max_attempts} attempts; "
            f"last error: {sender.last_error}"
        )
    if sender.pause_reason is not None:
        report.status, report.reason = "paused", sender.pause_reason
    elif report.sent == 0 and report.unknown == 0 and report.failed:
        report.status, report.reason = "failed", sender.last_error
    else:
        report.status = "sent"
    set_edition_status(store, edition_id, report.status, report.reason)
    log.info(
        "edition %s: %s (sent %s, failed %s, unknown %s, skipped %s, pending %s, requests %s)",
        edition_id,
        report.status,
        report.sent,
        report.failed,
        report.unknown,
        report.skipped,
        report.pending,
        report.requests,
    )
    return report
