"""SendGrid Event Webhook: refused unless signed by the configured key and recent, idempotent by
sg_event_id, applied only to the ledger row and subscriber its custom_args and address both
name; bounced, complaining and unsubscribed subscribers suppressed; old event ids pruned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.apps import app_for
from support.config import set_keys
from support.delivery import add_subscribers, make_edition
from support.webhook_signing import Signer, body_of

from publisher.app import App
from publisher.config import load_config
from publisher.delivery.engine import deliver_pending
from publisher.delivery.event_payload import WebhookPayloadError
from publisher.delivery.events import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookDisabledError,
    WebhookSignatureError,
    handle_event_webhook,
)
from publisher.delivery.send import enqueue
from publisher.jobs import build_jobs, run_job
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
def signer() -> Signer:
    return Signer()


@pytest.fixture
def config(config_file, signer):
    signer.configure(config_file)
    return load_config(config_file)


def post(app, signer: Signer, events: list[dict]):
    body = body_of(events)
    return handle_event_webhook(app, body, signer.headers(body, app.clock.now()))


@pytest.fixture
def sent_edition(app):
    edition = make_edition(app.store)
    enqueue(app.store, edition, add_subscribers(app.store, 8))
    deliver_pending(app, edition.id)
    return edition


def test_events_update_the_ledger_and_suppress_once(app, signer, sent_edition):
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

    report = post(app, signer, events)

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

    again = post(app, signer, events)  # SendGrid redelivers: nothing changes
    assert (again.applied, again.duplicates, again.suppressed) == (0, 8, 0)

    # The next edition skips the suppressed subscribers.
    following = make_edition(app.store, key="k2")
    enqueue(app.store, following, everyone(app))
    report = deliver_pending(app, following.id)
    assert (report.sent, report.skipped) == (3, 5)


def test_an_event_settles_a_delivery_whose_outcome_was_unknown(app, signer, sent_edition):
    with app.store.transaction():
        app.store.db["deliveries"].update((sent_edition.id, 3), {"status": "unknown", "error": "timeout"})
    post(app, signer, [event("processed", 3, sent_edition.id, 1)])
    row = next(r for r in ledger_rows(app.store, sent_edition.id) if r[0] == 3)
    assert row == (3, "sent", "msg00001", None)


def test_without_a_verification_key_the_webhook_is_off(app, sent_edition):
    """Without a key (as config.toml ships: test_demo.py): a forged spam report or 'processed' changes nothing."""
    sendgrid = app.config.delivery.sendgrid.model_copy(update={"webhook_verification_key": None})
    delivery = app.config.delivery.model_copy(update={"sendgrid": sendgrid})
    application = App(app.config.model_copy(update={"delivery": delivery}), app.secrets, app.clock)
    with application.store.transaction():
        application.store.db["deliveries"].update((sent_edition.id, 3), {"status": "unknown"})
    forged = body_of([event("spamreport", 1, sent_edition.id, 1), event("processed", 3, sent_edition.id, 2)])
    with pytest.raises(WebhookDisabledError, match="webhook_verification_key"):
        handle_event_webhook(application, forged, {})
    assert set(statuses(application).values()) == {"active"}
    assert next(r for r in ledger_rows(application.store, sent_edition.id) if r[0] == 3)[1] == "unknown"
    assert application.store.conn.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 0
    application.close()


def test_only_requests_signed_with_the_configured_key_are_applied(app, signer, sent_edition):
    body = body_of([event("spamreport", 1, sent_edition.id, 1)])
    now = app.clock.now()

    with pytest.raises(WebhookSignatureError, match="signature headers missing"):
        handle_event_webhook(app, body, {})
    tampered = body.replace(b"spamreport", b"delivered\\u0000")
    with pytest.raises(WebhookSignatureError, match="invalid signature"):
        handle_event_webhook(app, tampered, signer.headers(body, now))
    with pytest.raises(WebhookSignatureError, match="invalid signature"):
        handle_event_webhook(app, body, Signer().headers(body, now))
    assert statuses(app)["abonne1@example.org"] == "active"

    lower = {name.lower(): value for name, value in signer.headers(body, now).items()}
    assert handle_event_webhook(app, body, lower).suppressed == 1
    assert statuses(app)["abonne1@example.org"] == "complained"


def test_a_signature_outside_the_time_window_is_refused_like_a_bad_one(app, signer, sent_edition):
    """Default window: 25 hours back (SendGrid retries for up to 24 hours), 5 minutes ahead."""
    body = body_of([event("spamreport", 1, sent_edition.id, 1)])
    now = app.clock.now()
    for at, why in [
        (now - timedelta(hours=25, seconds=1), "older than 25 hours"),
        (now + timedelta(minutes=5, seconds=1), "in the future"),
    ]:
        with pytest.raises(WebhookSignatureError, match=why):
            handle_event_webhook(app, body, signer.headers(body, at))
    for timestamp in ["", "1e9", "-1", "99999999999999999999999", "1795000000.5", "١٧٩٥٠٠٠٠٠٠"]:
        headers = {SIGNATURE_HEADER: signer.signature(timestamp, body), TIMESTAMP_HEADER: timestamp}
        with pytest.raises(WebhookSignatureError):
            handle_event_webhook(app, body, headers)
    assert statuses(app)["abonne1@example.org"] == "active"

    # A retry SendGrid signed 24 hours ago still passes, and a clock a little ahead too.
    assert handle_event_webhook(app, body, signer.headers(body, now - timedelta(hours=24))).applied == 1
    again = handle_event_webhook(app, body, signer.headers(body, now + timedelta(minutes=4)))
    assert (again.applied, again.duplicates) == (0, 1)


def test_the_window_is_configurable(config_file, clock, signer, sent_edition):
    set_keys(config_file, "delivery.sendgrid", webhook_max_age_hours=48)
    application = app_for(config_file, clock)
    body = body_of([event("spamreport", 1, sent_edition.id, 1)])
    assert handle_event_webhook(application, body, signer.headers(body, clock.now() - timedelta(hours=47))).applied
    application.close()


def test_a_signed_event_applies_only_where_its_custom_args_and_address_agree(app, signer, sent_edition):
    """Signed events are still checked against the ledger: the subscriber_id of someone else,
    an edition that person did not get, another newsletter, or half of the custom_args: ignored."""
    other = make_edition(app.store, key="k2")
    enqueue(app.store, other, add_subscribers(app.store, 1, start=9))
    with app.store.transaction():
        app.store.db["deliveries"].update((sent_edition.id, 3), {"status": "unknown", "error": "timeout"})
    edition_id = sent_edition.id
    mismatched = [
        event("spamreport", 1, edition_id, 1, email="abonne2@example.org"),  # address of subscriber 2
        event("processed", 3, edition_id, 2, email="abonne4@example.org"),  # would settle 3's unknown row
        event("spamreport", 9, edition_id, 3),  # subscriber 9 did not get this edition
        event("spamreport", 1, other.id, 4),  # nor subscriber 1 that one
        event("processed", 3, edition_id, 5, newsletter="autre"),
        event("unsubscribe", 6, 99999, 8),
        event("unsubscribe", 12345, edition_id, 9, email="abonne6@example.org"),
    ]
    for half, key in [(6, "edition_id"), (7, "subscriber_id")]:  # half of the custom_args
        mismatched.append({name: value for name, value in event("bounce", 5, edition_id, half).items() if name != key})

    report = post(app, signer, mismatched)

    assert (report.applied, report.ignored, report.suppressed) == (0, len(mismatched), 0)
    assert set(statuses(app).values()) == {"active"}
    assert next(r for r in ledger_rows(app.store, edition_id) if r[0] == 3)[1] == "unknown"
    assert {row["event"] for row in app.store.db["deliveries"].rows} == {None}


def test_events_without_our_ids_find_the_subscriber_by_address(app, signer, sent_edition):
    events = [
        {"email": "ABONNE5@example.org", "event": "spamreport", "sg_event_id": "t1", "timestamp": 1795000000},
        {"email": "pas une adresse", "event": "bounce", "sg_event_id": "t2", "timestamp": 1795000000},
        {"email": "inconnu@example.org", "event": "bounce", "sg_event_id": "t3", "timestamp": 1795000000},
        {  # SendGrid's legacy newsletters send an object named like our custom_arg
            "email": "abonne6@example.org",
            "event": "unsubscribe",
            "sg_event_id": "t4",
            "timestamp": 1795000000,
            "newsletter": {"newsletter_id": "1", "newsletter_send_id": "2"},
        },
    ]
    report = post(app, signer, events)
    assert (report.applied, report.ignored, report.suppressed) == (2, 2, 2)
    assert statuses(app)["abonne5@example.org"] == "complained"
    assert statuses(app)["abonne6@example.org"] == "unsubscribed"


def test_a_body_that_is_not_a_list_of_events_is_refused(app, signer):
    for body in [b"not json", b'{"event": "delivered"}', b"", b"[1, 2]", b"\xff[]"]:
        with pytest.raises(WebhookPayloadError):
            handle_event_webhook(app, body, signer.headers(body, app.clock.now()))


def test_event_ids_older_than_the_retention_are_pruned_by_the_nightly_job(app, signer, clock, sent_edition):
    post(app, signer, [event("delivered", 1, sent_edition.id, 1)])
    clock.advance(days=29)
    post(app, signer, [event("delivered", 2, sent_edition.id, 2)])
    clock.advance(days=1, seconds=1)  # ev1 is now 30 days and 1 s old, ev2 one day old
    [prune] = [job for job in build_jobs(app.config) if job.id == "prune-webhook-events"]

    assert run_job(app, prune) == "1 event id older than 30 days forgotten"

    remaining = [row[0] for row in app.store.conn.execute("SELECT sg_event_id FROM webhook_events")]
    assert remaining == ["ev2"]
    plan = app.store.conn.execute("EXPLAIN QUERY PLAN DELETE FROM webhook_events WHERE received_at < 'x'")
    assert "USING COVERING INDEX webhook_events_received" in str(plan.fetchall())


def test_the_webhook_keys_are_checked_when_the_config_is_read(config_file):
    from publisher.errors import ConfigError

    set_keys(config_file, "delivery.sendgrid", webhook_verification_key="MFkwEwYHKoZIzj0CAQYIKoZI")
    with pytest.raises(ConfigError, match=r"config.toml:\d+: delivery.sendgrid.webhook_verification_key: .*Signed"):
        load_config(config_file)
    set_keys(config_file, "delivery.sendgrid", webhook_verification_key=Signer().public_key)
    set_keys(config_file, "delivery.sendgrid", webhook_max_age_hours=48, webhook_events_retention_days=2)
    with pytest.raises(
        ConfigError, match=r"delivery.sendgrid.webhook_events_retention_days: must be longer than webhook_max_age_hours"
    ):
        load_config(config_file)


def test_run_once_forgets_old_event_ids_too(app, signer, clock, sent_edition):
    from publisher.cycle import run_once

    post(app, signer, [event("delivered", 1, sent_edition.id, 1)])
    clock.advance(days=31)
    post(app, signer, [event("delivered", 2, sent_edition.id, 2)])
    results = {result.name: result.summary for result in run_once(app)}
    assert results["prune-webhook-events"] == "1 event id older than 30 days forgotten"
    assert [row[0] for row in app.store.conn.execute("SELECT sg_event_id FROM webhook_events")] == ["ev2"]
