"""SendGrid's Event Webhook: authenticate, check, apply to the ledger, suppress who must not get mail again.

The web app (mounted at /webhooks/sendgrid) passes the raw body and headers to
``handle_event_webhook``. Nothing is applied unless the request is authenticated:

- without ``[delivery.sendgrid] webhook_verification_key`` the webhook is off
  (WebhookDisabledError → 404);
- the ECDSA signature (header X-Twilio-Email-Event-Webhook-Signature, over the signature time
  in X-Twilio-Email-Event-Webhook-Timestamp followed by the raw body) must verify, and that time
  be at most ``webhook_max_age_hours`` old (SendGrid retries an event for up to 24 hours after
  it occurred; default 25) and at most FUTURE_SKEW ahead (WebhookSignatureError → 403). A
  request replayed inside that window changes nothing: its events' ``sg_event_id`` are kept
  longer than the window (``webhook_events_retention_days``, checked when config is read);
- the body must be what SendGrid sends (publisher.delivery.event_payload; else 400).

Each applied event of an edition adds one to that edition's figure for its outcome
(publisher.figures.outcomes): counters only, added once per request, never per subscriber.

Events are then applied in one transaction and remembered by ``sg_event_id``. Our
custom_args (newsletter, edition_id, subscriber_id) map an event to its ledger row: it is
applied only if that row exists, belongs to that newsletter and the event's address is that
subscriber's; otherwise it is ignored. An event without custom_args (e.g. a transactional
message) only suppresses the subscriber with its address. An applied event also proves
SendGrid accepted a message whose outcome was unknown, which then becomes 'sent'. A click
event (SendGrid's click tracking) only adds one to its article's clicks, if its URL is one of
the edition's article links; an open event, to the edition's opens (or machine opens, for
``sg_machine_open``) if its newsletter has ``track_opens``. Neither touches the ledger.

Suppression (publisher.subscribers.suppress, which keeps the subscriber's history): a hard
bounce → 'bounced'; a spam report → 'complained'; unsubscribe and group_unsubscribe →
'unsubscribed'; a drop for one of those reasons likewise.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from publisher.app import App
from publisher.delivery.event_payload import Event, body_text, parse_events
from publisher.errors import PublisherError, WebhookDisabledError, WebhookSignatureError
from publisher.figures.clicks import CLICKS, sendgrid_click_article
from publisher.figures.outcomes import MACHINE_OPENS, OPENS, outcome_measure
from publisher.store import deliveries as ledger
from publisher.store import figures, webhook_events
from publisher.subscribers.lifecycle import find_subscriber, suppress

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# How far ahead of our clock a signature time may be (the two clocks' drift).
FUTURE_SKEW = timedelta(minutes=5)
LEDGER_EVENTS = {
    "processed",
    "delivered",
    "deferred",
    "bounce",
    "dropped",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
}
_DROP_REASONS = {
    "bounced address": "bounced",
    "invalid": "bounced",
    "spam reporting address": "complained",
    "unsubscribed address": "unsubscribed",
}
WEBHOOK_OFF = (
    "SendGrid Event Webhook: /webhooks/sendgrid is off (answers 404) until [delivery.sendgrid] "
    "webhook_verification_key is set; to turn it on, in SendGrid go to Settings > Mail Settings > "
    "Event Webhooks, edit the webhook, enable Signed Event Webhook, and copy its verification key "
    "into config.toml (see docs/delivery.md, section Event Webhook)"
)


@dataclass
class EventReport:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    suppressed: int = 0
    ignored: int = 0
    # (edition id, measure, article id or 0) → events: the figures this request moves
    counts: Counter[figures.CounterKey] = field(default_factory=Counter)


def handle_event_webhook(app: App, body: bytes, headers: Mapping[str, str]) -> EventReport:
    """Authenticate a request, check its body whole, then apply its events in one transaction."""
    key = app.config.delivery.sendgrid.webhook_verification_key
    if not key:
        raise WebhookDisabledError(WEBHOOK_OFF)
    events = parse_events(_authenticated_text(app, key, body, headers))
    report = EventReport(received=len(events))
    with app.store.transaction():
        for event in events:
            _apply(app, event, report)
        figures.add_counts(app.store, report.counts)
    log.info(
        "webhook: %s events, %s applied, %s duplicates, %s suppressions, %s ignored",
        report.received,
        report.applied,
        report.duplicates,
        report.suppressed,
        report.ignored,
    )
    return report


def prune_webhook_events(app: App) -> str:
    """Forget the event ids older than ``webhook_events_retention_days`` (the nightly job, run-once)."""
    days = app.config.delivery.sendgrid.webhook_events_retention_days
    deleted = webhook_events.delete_older_than(app.store, app.clock.now() - timedelta(days=days))
    return f"{deleted} event {'id' if deleted == 1 else 'ids'} older than {days} days forgotten"


def _authenticated_text(app: App, key: str, body: bytes, headers: Mapping[str, str]) -> str:
    """The body as text once its signature, by ``key`` at an acceptable time, is verified
    (WebhookSignatureError). A body that is not UTF-8 is never SendGrid's (WebhookPayloadError)."""
    from publisher.delivery.sendgrid_api import verify_webhook_signature

    lower = {name.lower(): value for name, value in headers.items()}
    signature = lower.get(SIGNATURE_HEADER.lower())
    timestamp = lower.get(TIMESTAMP_HEADER.lower())
    if not signature or not timestamp:
        raise WebhookSignatureError("SendGrid webhook: signature headers missing")
    _check_signature_time(app, timestamp)
    text = body_text(body)
    if not verify_webhook_signature(key, body, signature, timestamp):
        raise WebhookSignatureError("SendGrid webhook: invalid signature")
    return text


def _check_signature_time(app: App, timestamp: str) -> None:
    """The signature time must be Unix seconds within ``webhook_max_age_hours`` back, FUTURE_SKEW ahead."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 10):
        raise WebhookSignatureError("SendGrid webhook: signature time is not Unix seconds")
    hours = app.config.delivery.sendgrid.webhook_max_age_hours
    age = app.clock.now() - datetime.fromtimestamp(int(timestamp), UTC)
    if age > timedelta(hours=hours):
        raise WebhookSignatureError(f"SendGrid webhook: signature older than {hours} hours (a replay?)")
    if age < -FUTURE_SKEW:
        raise WebhookSignatureError("SendGrid webhook: signature time is in the future")


def _apply(app: App, event: Event, report: EventReport) -> None:
    subscriber_id = _subscriber_for(app, event) if _wanted(app, event) and event.event_id else None
    if subscriber_id is None:
        report.ignored += 1
        return
    if not webhook_events.remember_event(app.store, event.event_id or "", event.kind):
        report.duplicates += 1
        return
    report.applied += 1
    if event.kind == "click":
        _count_click(app, event, report)
        return
    if event.kind == "open":
        _count_open(event, report)
        return
    if event.edition_id is not None:
        at = event.at or app.clock.now()
        message_id = (event.message_id or "").split(".", 1)[0] or None
        ledger.apply_event(app.store, event.edition_id, subscriber_id, event.kind, at, message_id)
        measure = outcome_measure(event.kind, event.type, event.reason)
        if measure:
            report.counts[event.edition_id, measure, 0] += 1
    status = _suppression(event)
    if status and suppress(app, subscriber_id, status, f"sendgrid:{event.kind}"):
        report.suppressed += 1


def _count_click(app: App, event: Event, report: EventReport) -> None:
    """A click SendGrid tracked (on a newsletter with ``track_clicks = false``): one more for its article."""
    article_id = sendgrid_click_article(app, event.edition_id, event.url) if event.edition_id and event.url else None
    if article_id is not None and event.edition_id is not None:
        report.counts[event.edition_id, CLICKS, article_id] += 1


def _wanted(app: App, event: Event) -> bool:
    """Events of the ledger, clicks, and opens of a newsletter with track_opens; others are ignored."""
    if event.kind == "open":
        settings = app.config.newsletters.get(event.newsletter or "")
        return settings is not None and settings.track_opens
    return event.kind in LEDGER_EVENTS or event.kind == "click"


def _count_open(event: Event, report: EventReport) -> None:
    """An open SendGrid tracked (machine opens apart)."""
    if event.edition_id is not None:
        report.counts[event.edition_id, MACHINE_OPENS if event.machine_open else OPENS, 0] += 1


def _subscriber_for(app: App, event: Event) -> int | None:
    """The subscriber an event is about: the one with its address, and, when it carries our
    custom_args, only if they name that subscriber and a ledger row of theirs in that newsletter."""
    subscriber_id = _subscriber_by_email(app, event.email) if event.email else None
    if subscriber_id is None or not event.has_custom_args:
        return subscriber_id
    if event.subscriber_id != subscriber_id or event.edition_id is None:
        return None
    newsletter = ledger.newsletter_of_delivery(app.store, event.edition_id, subscriber_id)
    if newsletter is None or event.newsletter not in (None, newsletter):
        return None
    return subscriber_id


def _suppression(event: Event) -> str | None:
    kind = event.kind
    if kind == "bounce":
        return None if event.type == "blocked" else "bounced"
    if kind == "spamreport":
        return "complained"
    if kind in ("unsubscribe", "group_unsubscribe"):
        return "unsubscribed"
    if kind == "dropped":
        return _DROP_REASONS.get((event.reason or "").strip().lower())
    return None


def _subscriber_by_email(app: App, email: str) -> int | None:
    """The subscriber with this address; None for an address we could not have sent to."""
    try:
        subscriber = find_subscriber(app, email)
    except PublisherError:  # not an address we could have sent to
        return None
    return subscriber.id if subscriber else None
