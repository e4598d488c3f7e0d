"""Delivery figures per edition: signed Event Webhook events of every type move the edition's
counters once (a redelivered batch changes nothing), unsigned or foreign events move none; the
ledger gives accepted and failed by reason; no figure names a subscriber."""

from __future__ import annotations

import pytest
from support.delivery import add_subscribers, make_edition
from support.webhook_signing import Signer, body_of

from publisher.config import load_config
from publisher.delivery.engine import deliver_pending
from publisher.delivery.events import handle_event_webhook
from publisher.delivery.send import enqueue
from publisher.errors import NotFoundError, WebhookSignatureError
from publisher.figures.report import edition_figures, newsletter_figures
from publisher.store.deliveries import close_deliveries


def event(kind: str, subscriber: int, edition_id: int, number: int, **extra) -> dict:
    return {
        "email": f"abonne{subscriber}@example.org",
        "timestamp": 1795000000 + number,
        "event": kind,
        "sg_event_id": f"fig{number}",
        "sg_message_id": "msg00001.filter0001.1.2",
        "newsletter": "hebdo",
        "edition_id": str(edition_id),
        "subscriber_id": str(subscriber),
        **extra,
    }


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
    enqueue(app.store, edition, add_subscribers(app.store, 12))
    deliver_pending(app, edition.id)
    return edition


def every_kind(edition_id: int) -> list[dict]:
    return [
        event("processed", 1, edition_id, 1),
        event("delivered", 1, edition_id, 2),
        event("delivered", 2, edition_id, 3),
        event("deferred", 3, edition_id, 4, response="451 try later"),
        event("delivered", 3, edition_id, 5),
        event("bounce", 4, edition_id, 6, type="bounce", reason="550 5.1.1 unknown user"),
        event("bounce", 5, edition_id, 7, type="blocked", reason="421 blocked"),
        event("dropped", 6, edition_id, 8, reason="Bounced Address"),
        event("dropped", 7, edition_id, 9, reason="Invalid"),
        event("dropped", 8, edition_id, 10, reason="Some new reason <b>"),
        event("spamreport", 9, edition_id, 11),
        event("unsubscribe", 10, edition_id, 12),
        event("group_unsubscribe", 11, edition_id, 13, asm_group_id=4242),
        event("open", 12, edition_id, 14),
    ]


def test_every_event_type_moves_its_counter_once(app, signer, sent_edition):
    events = every_kind(sent_edition.id)
    post(app, signer, events)
    post(app, signer, events)  # SendGrid redelivers the batch
    post(app, signer, events[3:6])  # and part of it again

    figures = edition_figures(app, sent_edition.id).as_dict()

    assert (figures["recipients"], figures["accepted"], figures["failed"]) == (12, 12, 0)
    assert figures["delivered"] == 3
    assert figures["deferred"] == 1
    assert (figures["bounced_hard"], figures["bounced_soft"]) == (1, 1)
    assert figures["dropped"] == {"bounced_address": 1, "invalid": 1, "other": 1}
    assert (figures["spam_reports"], figures["sendgrid_unsubscribes"]) == (1, 2)
    assert figures["delivered_rate"] == 0.25 and figures["bounced_rate"] == round(2 / 12, 4)


def test_refused_and_foreign_events_move_nothing(app, signer, sent_edition):
    edition_id = sent_edition.id
    forged = body_of([event("delivered", 1, edition_id, 50)])
    with pytest.raises(WebhookSignatureError):
        handle_event_webhook(app, forged, Signer().headers(forged, app.clock.now()))
    post(
        app,
        signer,
        [
            event("delivered", 2, edition_id, 51, subscriber_id="3"),  # custom_args name someone else
            event("delivered", 1, edition_id + 1, 52),  # no such ledger row
            event("delivered", 1, edition_id, 53, newsletter="autre"),  # another newsletter
            {"event": "delivered", "email": "abonne1@example.org", "sg_event_id": "fig54"},  # transactional
        ],
    )
    assert edition_figures(app, edition_id).as_dict()["delivered"] == 0


def test_failures_come_from_the_ledger_by_reason(app, sent_edition):
    edition = make_edition(app.store, key="k2")
    enqueue(app.store, edition, add_subscribers(app.store, 5, start=20))
    close_deliveries(app.store, edition.id, "failed", {20: "address refused", 21: "address refused", 22: "too big"})
    deliver_pending(app, edition.id)

    figures = edition_figures(app, edition.id).as_dict()

    assert (figures["recipients"], figures["accepted"], figures["failed"]) == (5, 2, 3)
    assert figures["failures"] == [{"reason": "address refused", "count": 2}, {"reason": "too big", "count": 1}]
    assert [f.id for f in newsletter_figures(app, "hebdo")] == [edition.id, sent_edition.id]


def test_the_figures_table_names_no_subscriber(app, signer, sent_edition):
    post(app, signer, every_kind(sent_edition.id))
    columns = {column.name for column in app.store.db["edition_figures"].columns}
    assert columns == {"edition_id", "measure", "article_id", "count"}


def test_unknown_edition_or_newsletter_is_one_clear_error(app, sent_edition):
    with pytest.raises(NotFoundError, match="edition 999"):
        edition_figures(app, 999)
    with pytest.raises(NotFoundError, match="'nope'"):
        newsletter_figures(app, "nope")
