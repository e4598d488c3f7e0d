"""Sending the queued emails of the sign-up form, once each, with retries.

The sign-up request only writes a row (publisher.subscribers.subscribe, in its transaction):
its answer and its duration are then the same whether the address is new, pending, active,
unsubscribed, bounced, complained or forgotten, and a slow transport never holds it. The worker
of ``publisher serve`` (publisher.web.mailer) calls ``send_queued``:

- each mail is built when it leaves, from the subscriber's status then: the confirmation
  (pending, unsubscribed), "already subscribed" (active), nothing (bounced, complained: dropped);
  a forgotten subscriber's queued mail is erased with them;
- a mail is marked ``sending`` (committed) before it leaves. A refusal, or a transport that could
  not be reached, puts it back in the queue after ``[delivery] retry_delay`` seconds, doubling at
  each attempt, at most ``[delivery] max_attempts`` times (then ``failed``). A mail that may have
  left (no answer came) is ``unknown`` and never sent again, and so is a mail found ``sending``
  when the worker starts (the service died while it was on the wire).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from publisher.app import App
from publisher.delivery.registry import open_transport
from publisher.delivery.transport import Transport
from publisher.errors import DeliveryError, DeliveryUncertain
from publisher.models import Message, Subscriber
from publisher.store import signup_mails as db
from publisher.store.subscribers import get_subscriber
from publisher.subscribers.status import ACTIVE, Source, allowed
from publisher.subscribers.subscription_mail import already_subscribed_message, confirmation_message
from publisher.tokens import confirm_url, links_for

log = logging.getLogger(__name__)

# Finished mails are kept this long (what the queue did, for staff), then deleted.
KEEP_FINISHED = timedelta(days=30)
_MAX_RETRY_DELAY = 3600.0


@dataclass
class QueueReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    unknown: int = 0
    dropped: int = 0


def answer_for(app: App, subscriber: Subscriber) -> Message | None:
    """The email a sign-up gets, from the subscriber's status now (None: nothing may be sent)."""
    if subscriber.status == ACTIVE:
        url = links_for(app, subscriber.id).preferences_url
        return already_subscribed_message(app.config, subscriber.email, subscriber.name, subscriber.locale, url)
    if allowed(subscriber.status, ACTIVE, Source.CONFIRMATION):  # a confirmation could activate them
        url = confirm_url(app, subscriber.id)
        return confirmation_message(app.config, subscriber.email, subscriber.name, subscriber.locale, url)
    return None


def send_queued(app: App, stop: Callable[[], bool] = lambda: False) -> QueueReport:
    """Send every queued mail that is due, one at a time, until none is left or ``stop()``."""
    report = QueueReport()
    if not db.any_due(app.store, app.clock.now()):
        return report
    transport = open_transport(app)  # before any mail is claimed: a config error leaves them queued
    try:
        while not stop():
            mail = db.claim_due(app.store, app.clock.now())
            if mail is None:
                break
            _send(app, transport, mail, report)
    finally:
        transport.close()
    return report


def _send(app: App, transport: Transport, mail: db.QueuedMail, report: QueueReport) -> None:
    subscriber = get_subscriber(app.store, mail.subscriber_id)
    message = answer_for(app, subscriber) if subscriber is not None else None
    if message is None:
        db.finish(app.store, mail.id, "dropped", app.clock.now())
        report.dropped += 1
        return
    try:
        transport.send_message(message)
    except DeliveryUncertain as error:
        db.finish(app.store, mail.id, "unknown", app.clock.now(), str(error))
        log.warning("sign-up mail %s (subscriber %s): may have left, not sent again", mail.id, mail.subscriber_id)
        report.unknown += 1
    except DeliveryError as error:
        _retry_or_fail(app, mail, str(error), report)
    else:
        db.finish(app.store, mail.id, "sent", app.clock.now())
        log.info("sign-up mail %s sent to subscriber %s", mail.id, mail.subscriber_id)
        report.sent += 1


def _retry_or_fail(app: App, mail: db.QueuedMail, error: str, report: QueueReport) -> None:
    settings = app.config.delivery
    if mail.attempts >= settings.max_attempts:
        db.finish(app.store, mail.id, "failed", app.clock.now(), error)
        log.error("sign-up mail %s (subscriber %s): failed, attempt %s", mail.id, mail.subscriber_id, mail.attempts)
        report.failed += 1
        return
    delay = min(settings.retry_delay * 2 ** (mail.attempts - 1), _MAX_RETRY_DELAY)
    db.retry_at(app.store, mail.id, app.clock.now() + timedelta(seconds=delay), error)
    log.warning("sign-up mail %s (subscriber %s): refused, retried in %g s", mail.id, mail.subscriber_id, delay)
    report.retried += 1


def settle_interrupted(app: App) -> int:
    """Mails found ``sending`` (the service died while one was on the wire) become ``unknown``."""
    settled = db.settle_sending(app.store, app.clock.now())
    if settled:
        log.warning("%s sign-up mails were being sent when the service stopped: not sent again", settled)
    return settled


def prune_finished(app: App) -> int:
    """Delete the mails finished more than KEEP_FINISHED ago."""
    return db.delete_finished_before(app.store, app.clock.now() - KEEP_FINISHED)
