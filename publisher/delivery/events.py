"""SendGrid's Event Webhook: verify, apply to the ledger, suppress who must not get mail again.

The web app (mounted at /webhooks/sendgrid) passes the raw body and headers to
``handle_event_webhook``. With ``[delivery.sendgrid] webhook_verification_key`` set, the
ECDSA signature is checked first (WebhookSignatureError → answer 403). Events are applied
in one transaction and remembered by ``sg_event_id``, so SendGrid's redeliveries change
nothing. custom_args (newsletter, edition_id, subscriber_id) come back on every event and
map it to its ledger row; an event also proves SendGrid accepted a message whose outcome was
unknown, which then becomes 'sent'.

Suppression (publisher.subscribers.suppress, which keeps the subscriber's history): a hard
bounce → 'bounced'; a spam report → 'complained'; unsubscribe and group_unsubscribe →
'unsubscribed'; a drop for one of those reasons likewise.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from publisher.app import App
from publisher.errors import PublisherError
from publisher.store import deliveries as ledger
from publisher.store import webhook_events
from publisher.subscribers import find_subscriber, suppress

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
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


class WebhookSignatureError(PublisherError):
    """The request is not signed by SendGrid (answer 403)."""


class WebhookPayloadError(PublisherError):
    """The request body is not a list of SendGrid events (answer 400)."""


@dataclass
class EventReport:
    received: int = 0
    applied: int = 0
    duplicates: int = 0
    suppressed: int = 0
    ignored: int = 0


def handle_event_webhook(app: App, body: bytes, headers: Mapping[str, str]) -> EventReport:
    key = app.config.delivery.sendgrid.webhook_verification_key
    if key:
        _verify(key, body, headers)
    try:
        events = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookPayloadError("SendGrid webhook: body is not JSON") from None
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise WebhookPayloadError("SendGrid webhook: expected a JSON list of event objects")
    report = EventReport(received=len(events))
    with app.store.transaction():
        for event in events:
            _apply(app, event, report)
    log.info(
        "webhook: %s events, %s applied, %s duplicates, %s suppressions",
        report.received,
        report.applied,
        report.duplicates,
        report.suppressed,
    )
    return report


def _verify(key: str, body: bytes, headers: Mapping[str, str]) -> None:
    from publisher.delivery.sendgrid_api import verify_webhook_signature

    lower = {name.lower(): value for name, value in headers.items()}
    signature = lower.get(SIGNATURE_HEADER.lower())
    timestamp = lower.get(TIMESTAMP_HEADER.lower())
    if not signature or not timestamp:
        raise WebhookSignatureError("SendGrid webhook: signature headers missing")
    if not verify_webhook_signature(key, body, signature, timestamp):
        raise WebhookSignatureError("SendGrid webhook: invalid signature")


def _apply(app: App, event: dict, report: EventReport) -> None:
    store = app.store
    kind = str(event.get("event", ""))
    event_id = event.get("sg_event_id")
    if not event_id or kind not in LEDGER_EVENTS:
        report.ignored += 1
        return
    if not webhook_events.remember_event(store, str(event_id), kind):
        report.duplicates += 1
        return
    report.applied += 1
    subscriber_id = _int(event.get("subscriber_id"))
    if subscriber_id is None and isinstance(event.get("email"), str):
        subscriber_id = _subscriber_by_email(app, event["email"])
    edition_id = _int(event.get("edition_id"))
    if subscriber_id is not None and edition_id is not None:
        at = (
            datetime.fromtimestamp(_int(event.get("timestamp")) or 0, UTC)
            if event.get("timestamp")
            else app.clock.now()
        )
        message_id = str(event.get("sg_message_id", "")).split(".", 1)[0] or None
        ledger.apply_event(store, edition_id, subscriber_id, kind, at, message_id)
    status = _suppression(kind, event)
    if status and subscriber_id is not None and suppress(app, subscriber_id, status, f"sendgrid:{kind}"):
        report.suppressed += 1


def _suppression(kind: str, event: dict) -> str | None:
    if kind == "bounce":
        return None if event.get("type") == "blocked" else "bounced"
    if kind == "spamreport":
        return "complained"
    if kind in ("unsubscribe", "group_unsubscribe"):
        return "unsubscribed"
    if kind == "dropped":
        return _DROP_REASONS.get(str(event.get("reason", "")).strip().lower())
    return None


def _subscriber_by_email(app: App, email: str) -> int | None:
    """For events without our custom_args (e.g. a transactional message)."""
    try:
        subscriber = find_subscriber(app, email)
    except PublisherError:  # not an address we could have sent to
        return None
    return subscriber.id if subscriber else None


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
