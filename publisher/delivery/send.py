"""Sending a newsletter: plan its editions, write the ledger, deliver; plus dry runs, test
copies, transactional messages and the job that sends a newsletter when its schedule says so.

``send_newsletter`` is the whole orchestration:
  1. in one transaction, plan the editions (publisher.digests) for the members of the
     segment (publisher.subscribers.segments) and write every recipient into the ledger as pending;
  2. deliver the pending rows of the newsletter's unfinished editions, batch by batch.
A newsletter with unfinished editions (interrupted, paused) is resumed, never planned again,
so sending twice never sends twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from publisher import schedule_policy as policy
from publisher.addresses import InvalidAddress, checked_address
from publisher.app import App
from publisher.delivery.content import edition_content
from publisher.delivery.engine import DeliveryReport, deliver_pending
from publisher.delivery.registry import open_transport
from publisher.delivery.transport import Transport
from publisher.errors import DeliveryError, PublisherError
from publisher.models import Edition, Message, Recipient
from publisher.store import Store, senders
from publisher.store import deliveries as ledger

log = logging.getLogger(__name__)
SAMPLE_SIZE = 3


@dataclass
class SendReport:
    newsletter: str
    segment: str
    resumed: bool = False
    planned: list[int] = field(default_factory=list)
    editions: list[DeliveryReport] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(report.sent for report in self.editions)

    def summary(self) -> str:
        if not self.editions:
            return "nothing new to send"
        parts = [f"{len(self.editions)} edition{'s' if len(self.editions) > 1 else ''}", f"{self.sent} sent"]
        for name in ("failed", "unknown", "skipped", "pending"):
            count = sum(getattr(report, name) for report in self.editions)
            if count:
                parts.append(f"{count} {name}")
        paused = [report for report in self.editions if report.status == "paused"]
        if paused:
            parts.append(f"PAUSED: {paused[0].reason}")
        return ", ".join(parts)


@dataclass(frozen=True)
class PlannedEdition:
    segment: str
    subject: str
    articles: int
    recipients: int
    sample: tuple[str, ...]


def enqueue(store: Store, edition: Edition, recipients: Iterable[Recipient]) -> int:
    """Write every recipient of an edition into the ledger as pending (once; re-running adds nothing)."""
    if edition.id is None:
        raise ValueError("store the edition (insert_edition) before enqueueing its recipients")
    return ledger.enqueue(store, edition.id, (recipient.subscriber_id for recipient in recipients))


def _segment(app: App, slug: str, segment: str | None) -> str:
    """The segment to send to (the newsletter's unless given); NotFoundError names what is known."""
    from publisher.digests.planner import segment_of

    return segment_of(app, slug, segment)


def _planned(
    app: App, slug: str, segment: str, fire: datetime | None = None
) -> Iterator[tuple[Edition, list[Recipient]]]:
    """The editions of the audience's next plan (stored, 'ready') and their recipients, for the
    segment's members; ``fire``: the fire time sent for (default now). Must run inside a store
    transaction."""
    from publisher.digests import needs_interests, plan_editions
    from publisher.subscribers.segments import stream_members

    members = stream_members(app, segment, chunk_size=1000, with_interests=needs_interests(app, slug))
    return plan_editions(app, slug, members, segment=segment, fire=fire)


def plan_and_enqueue(app: App, slug: str, segment: str, fire: datetime | None = None) -> list[int]:
    """In one transaction: plan the editions (for each member, only what this newsletter never
    sent them: publisher.digests.windows) and write their recipients into the ledger as
    pending. Returns the edition ids."""
    store = app.store
    editions: dict[int, None] = {}
    with store.transaction():
        for edition, recipients in _planned(app, slug, segment, fire):
            enqueue(store, edition, recipients)
            editions[edition.id] = None
    return list(editions)


def send_newsletter(
    app: App,
    slug: str,
    segment: str | None = None,
    *,
    force: bool = False,
    resend_unknown: bool = False,
    retry_failed: bool = False,
    transport: Transport | None = None,
    on_progress: Callable[[int], None] | None = None,
    fire: datetime | None = None,
    on_start: Callable[[int], None] | None = None,
) -> SendReport:
    """Send a newsletter to its segment exactly once per member: resume its unfinished
    editions if it has any, else plan new ones and write them into the ledger, then deliver.
    ``force`` takes the send over from another process still marked as sending it; ``fire`` is
    the scheduled time sent for (default: now, an explicit send). ``on_start`` is told how many
    recipients are pending before the first is sent, and ``on_progress`` how many more were
    sent after each batch (progress)."""
    segment = _segment(app, slug, segment)
    store = app.store
    report = SendReport(slug, segment)
    with ExitStack() as cleanup:
        if transport is None:
            transport = open_transport(app)  # a missing secret stops us before anything is written
            cleanup.callback(transport.close)
        senders.acquire_sender(store, slug, force=force)
        cleanup.callback(senders.release_sender, store, slug)
        editions = ledger.unfinished_editions(store, slug, segment)
        report.resumed = bool(editions)
        if not editions:
            editions = report.planned = plan_and_enqueue(app, slug, segment, fire)
        if on_start:
            on_start(sum(ledger.delivery_counts(store, edition_id)["pending"] for edition_id in editions))
        for edition_id in editions:
            report.editions.append(
                deliver_pending(
                    app,
                    edition_id,
                    transport=transport,
                    resend_unknown=resend_unknown,
                    retry_failed=retry_failed,
                    on_progress=on_progress,
                )
            )
    return report


class _Rollback(PublisherError):
    """Raised to undo a planning transaction (dry runs, test copies)."""


@contextmanager
def _rolled_back(store: Store) -> Iterator[None]:
    try:
        with store.transaction():
            yield
            raise _Rollback
    except _Rollback:
        pass


def dry_run(app: App, slug: str, segment: str | None = None) -> list[PlannedEdition]:
    """What ``send`` would send, per edition: recipients and a sample; nothing is written."""
    segment = _segment(app, slug, segment)
    planned: dict[int, PlannedEdition] = {}
    with _rolled_back(app.store):
        for edition, recipients in _planned(app, slug, segment):
            previous = planned.get(edition.id) or PlannedEdition(
                segment, edition.subject, len(edition.article_ids), 0, ()
            )
            sample = (previous.sample + tuple(r.email for r in recipients[:SAMPLE_SIZE]))[:SAMPLE_SIZE]
            planned[edition.id] = replace(previous, recipients=previous.recipients + len(recipients), sample=sample)
    return list(planned.values())


def send_test_copy(app: App, slug: str, to_email: str, segment: str | None = None) -> str:
    """One copy of the newsletter's first edition to a staff address, through the configured
    transport, with the same headers; the ledger is not touched. Returns the message id.
    The address follows the policy of publisher.addresses, as every address that is sent to."""
    try:
        to_email = checked_address(to_email, allow_test_domains=True)
    except InvalidAddress as error:
        raise DeliveryError(f"test copy address {to_email.strip()!r}: {error}") from None
    segment = _segment(app, slug, segment)
    with _rolled_back(app.store):
        edition = next((edition for edition, _ in _planned(app, slug, segment)), None)
    if edition is None:
        raise DeliveryError(f"newsletter {slug!r}: nothing to send to segment {segment!r}")
    return send_edition_copy(app, edition, to_email)


def send_edition_copy(app: App, edition: Edition, to_email: str) -> str:
    """Send an edition to one address outside the ledger, subject prefixed with [TEST]."""
    content = replace(edition_content(app, edition), subject=f"[TEST] {edition.subject}")
    transport = open_transport(app)
    try:
        prepared = transport.prepare(content, [(0, to_email, "")]).ready()
        outcome = transport.send(prepared) if prepared.subscriber_ids else None
    finally:
        transport.close()
    if outcome is None or not outcome.sent:
        reasons = [*prepared.rejected.values(), *(outcome.failed.values() if outcome else ())]
        error = (outcome and outcome.error) or next(iter(reasons), "not accepted")
        raise DeliveryError(f"test copy to one address not sent: {error}")
    return next(iter(outcome.sent.values())) or ""


def send_message(app: App, message: Message) -> str:
    """Send one transactional message (e.g. a double opt-in confirmation) through the
    configured transport, now; return its message id. Raises DeliveryError."""
    transport = open_transport(app)
    try:
        return transport.send_message(message)
    finally:
        transport.close()


def send_due_newsletter(app: App, slug: str) -> str:
    """The job of one newsletter (``run-once`` and the service alike, publisher.schedule_policy):
    note it as added on first sight, send it if a fire time is due, resume its interrupted send;
    a fire time missed by more than the catch-up window is logged and recorded as handled.
    Returns a one-line summary for `publisher status`."""
    store = app.store
    newsletter = app.config.newsletters[slug]
    tz = app.config.site.tz
    due = policy.due(app, slug, senders.note_added(store, slug))
    parts = []
    if due.missed is not None:
        when = _local(due.missed, tz)
        window = policy.catch_up(app)
        log.warning("newsletter %s: the send due at %s was missed by more than %s: skipped", slug, when, window)
        senders.set_last_fire(store, slug, due.missed)
        parts.append(f"send due at {when} missed by more than {window}, skipped")
    unfinished = ledger.unfinished_editions(store, slug, newsletter.segment)
    if unfinished and not policy.interrupted(store, slug, newsletter.segment):
        parts.append(f"paused (resume with `publisher send {slug}`)")
    elif due.fire is not None or unfinished:
        parts.append(send_newsletter(app, slug, fire=due.fire).summary())
    if due.fire is not None:
        senders.set_last_fire(store, slug, due.fire)
    if not parts:
        ahead = policy.next_send(app, slug).at
        parts.append(f"not due (next: {_local(ahead, tz) if ahead else 'never'})")
    return "; ".join(parts)


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
