"""SendGrid Event Webhook: ECDSA signatures, idempotency by sg_event_id, ledger updates and
suppression of bounced, complaining and unsubscribed subscribers."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from delivery_helpers import add_subscribers, app_for, make_edition, set_keys

from publisher.delivery.engine import deliver_pending
from publisher.delivery.events import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookPayloadError,
    WebhookSignatureError,
    handle_event_webhook,
)
from publisher.delivery.send import enqueue
from publisher.models import Recipient
from publisher.store.deliveries import ledger_rows


def event(kind: str, subscriber: int, edition_id: int, number: int, **extra) -> dict:
    return {
        "email": f"abonne{subscriber}@example.org",
        "timestamp": 1795000000 + number,
        "event": kind,
        "sg_event_id": f"ev{number}",
        "sg_message_id": "msg00001.filter0001.1.2",
        "newsletter": "hebdo",
        "edition_id": str(edition_id),
        "subscriber_id": str(subscriber),
        **extra,
    }


def statuses(app) -> dict[str, str]:
    return {row["email"]: row["status"] for row in app.store.db["subscribers"].rows}


def everyone(app) -> list[Recipient]:
    return [Recipient(row["id"], row["email"]) for row in app.store.db["subscribers"].rows_where(order_by="id")]


@pytest.fixture
def sent_edition(app):
    edition = make_edition(app.store)
    enqueue(app.store, edition, add_subscribers(app.store, 8))
    deliver_pending(app, edition.id)
    return edition


def test_events_update_the_ledger_and_suppress_once(app, sent_edition):
    edition_id = sent_edition.id
    events = [
        event("processed", 1, edition_id, 1),
        event("delivered", 1, edition_id, 2),
        event("bounce", 2, edition_id, 3, type="bounce", reason="550 5.1.1 unknown user"),
        event("bounce", 3, edition_id, 4, type="blocked", reason="421 try later"),
        event("spamreport", 4, edition_id, 5),
        event("unsubscribe", 5, edition_id, 6),
        event("group_unsubscribe", 6, edition_id, 7, asm_group_id=4242),
        event("dropped", 7, edition_id, 8, reason="Bounced Address"),
        event("open", 8, edition_id, 9),
        {"event": "delivered", "email": "inconnu@example.org"},  # no sg_event_id: ignored
    ]
    body = json.dumps(events).encode()

    report = handle_event_webhook(app, body, {})

    assert (report.received, report.applied, report.suppressed, report.ignored) == (10, 8, 5, 2)
    assert statuses(app) == {
        "abonne1@example.org": "active",
        "abonne2@example.org": "bounced",
        "abonne3@example.org": "active",
        "abonne4@example.org": "complained",
        "abonne5@example.org": "unsubscribed",
        "abonne6@example.org": "unsubscribed",
        "abonne7@example.org": "bounced",
        "abonne8@example.org": "active",
    }
    events_by_subscriber = {row["subscriber_id"]: row["event"] for row in app.store.db["deliveries"].rows}
    assert events_by_subscriber[1] == "delivered" and events_by_subscriber[2] == "bounce"
    assert events_by_subscriber[8] is None

    again = handle_event_webhook(app, body, {})  # SendGrid redelivers: nothing changes
    assert (again.applied, again.duplicates, again.suppressed) == (0, 8, 0)

    # The next edition skips the suppressed subscribers.
    following = make_edition(app.store, key="k2")
    enqueue(app.store, following, everyone(app))
    report = deliver_pending(app, following.id)
    assert (report.sent, report.skipped) == (3, 5)


def test_an_event_settles_a_delivery_whose_outcome_was_unknown(app, sent_edition):
    with app.store.transaction():
        app.store.db["deliveries"].update((sent_edition.id, 3), {"status": "unknown", "error": "timeout"})
    handle_event_webhook(app, json.dumps([event("processed", 3, sent_edition.id, 1)]).encode(), {})
    row = next(r for r in ledger_rows(app.store, sent_edition.id) if r[0] == 3)
    assert row == (3, "sent", "msg00001", None)


def signing_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, base64.b64encode(public).decode()


def sign(key: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    return base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def test_signed_webhooks_are_verified_with_the_configured_key(app, config, sent_edition):
    key, public = signing_key()
    set_keys(config.source, "delivery.sendgrid", webhook_verification_key=public)
    application = app_for(config.source, app.clock)
    body = json.dumps([event("spamreport", 1, sent_edition.id, 1)]).encode()
    timestamp = "1795000000"

    with pytest.raises(WebhookSignatureError, match="signature headers missing"):
        handle_event_webhook(application, body, {})
    forged = {SIGNATURE_HEADER: sign(key, timestamp, body), TIMESTAMP_HEADER: timestamp}
    tampered = body.replace(b"spamreport", b"delivered\\u0000")
    with pytest.raises(WebhookSignatureError, match="invalid signature"):
        handle_event_webhook(application, tampered, forged)
    other_key, _ = signing_key()
    with pytest.raises(WebhookSignatureError):
        handle_event_webhook(
            application, body, {SIGNATURE_HEADER: sign(other_key, timestamp, body), TIMESTAMP_HEADER: timestamp}
        )
    assert statuses(application)["abonne1@example.org"] == "active"

    headers = {SIGNATURE_HEADER.lower(): sign(key, timestamp, body), TIMESTAMP_HEADER.lower(): timestamp}
    assert handle_event_webhook(application, body, headers).suppressed == 1
    assert statuses(application)["abonne1@example.org"] == "complained"
    application.close()


def test_a_body_that_is_not_a_list_of_events_is_refused(app):
    with pytest.raises(WebhookPayloadError):
        handle_event_webhook(app, b"not json", {})
    with pytest.raises(WebhookPayloadError):
        handle_event_webhook(app, b'{"event": "delivered"}', {})


def test_events_without_our_ids_find_the_subscriber_by_address(app, sent_edition):
    events = [
        {"email": "ABONNE5@example.org", "event": "spamreport", "sg_event_id": "t1", "timestamp": 1795000000},
        {"email": "pas une adresse", "event": "bounce", "sg_event_id": "t2", "timestamp": 1795000000},
    ]
    report = handle_event_webhook(app, json.dumps(events).encode(), {})
    assert (report.applied, report.suppressed) == (2, 1)
    assert statuses(app)["abonne5@example.org"] == "complained"
