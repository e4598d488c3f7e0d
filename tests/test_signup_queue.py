"""The queue of sign-up emails: written with the sign-up, sent once by the worker of `publisher serve`,
retried when the transport refused it, never sent again when it may have left."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from support.apps import app_for
from support.config import set_keys
from support.delivery import use_sendgrid
from support.sendgrid_fake import FakeSendgrid
from support.webserver import free_port

from publisher import signup_queue
from publisher.errors import ConfigError
from publisher.store.signup_mails import queue_counts
from publisher.subscribers import lifecycle


@pytest.fixture
def fake():
    server = FakeSendgrid()
    server.start()
    yield server
    server.stop()
    assert not server.invalid, server.invalid[:3]


@pytest.fixture
def sg_app(config_file, fake, clock, app):  # ``app`` migrates the store of config_file
    use_sendgrid(config_file, fake.url, retry_delay=1.0, max_attempts=3)
    set_keys(config_file, "delivery", request_timeout=0.5)
    application = app_for(config_file, clock, sendgrid_api_key="SG.test-key")
    yield application
    application.close()


def test_a_sign_up_queues_its_answer_and_the_worker_sends_it_once(sg_app, fake):
    lifecycle.subscribe(sg_app, "Chloe@Example.ORG", "Chloé")
    assert fake.requests == 0  # nothing leaves during the request
    assert queue_counts(sg_app.store) == {"queued": 1}
    assert signup_queue.send_queued(sg_app).sent == 1
    assert signup_queue.send_queued(sg_app).sent == 0
    [accepted] = fake.accepted
    assert accepted.emails == ["Chloe@example.org"]
    assert accepted.body["subject"].startswith("Confirmez votre inscription")
    assert queue_counts(sg_app.store) == {"sent": 1}


def test_asking_again_before_the_mail_left_queues_no_second_mail(sg_app, fake):
    for _ in range(3):
        lifecycle.subscribe(sg_app, "a@example.org")
    assert queue_counts(sg_app.store) == {"queued": 1}
    signup_queue.send_queued(sg_app)
    assert fake.recipients() == {"a@example.org": 1}


def test_a_refused_mail_is_retried_later_and_sent_once(sg_app, fake, clock):
    fake.faults = lambda number: ("500",) if number <= 2 else None
    lifecycle.subscribe(sg_app, "a@example.org")
    report = signup_queue.send_queued(sg_app)
    assert report.sent == 0 and report.retried == 1
    assert signup_queue.send_queued(sg_app).sent == 0  # not due yet: retry_delay
    clock.advance(seconds=1)
    assert signup_queue.send_queued(sg_app).retried == 1
    clock.advance(seconds=2)  # the delay doubles
    assert signup_queue.send_queued(sg_app).sent == 1
    assert fake.recipients() == {"a@example.org": 1}
    assert queue_counts(sg_app.store) == {"sent": 1}


def test_a_mail_refused_max_attempts_times_fails_with_its_reason(sg_app, fake, clock):
    fake.faults = lambda number: ("500",)
    lifecycle.subscribe(sg_app, "a@example.org")
    for _ in range(3):
        signup_queue.send_queued(sg_app)
        clock.advance(minutes=5)
    assert signup_queue.send_queued(sg_app).sent == 0
    assert queue_counts(sg_app.store) == {"failed": 1}
    assert fake.requests == 3


def test_a_mail_that_may_have_left_is_never_sent_again(sg_app, fake, clock):
    fake.faults = lambda number: ("slow", 1.5)  # accepted, but the answer comes after request_timeout
    lifecycle.subscribe(sg_app, "a@example.org")
    report = signup_queue.send_queued(sg_app)
    assert report.unknown == 1 and report.retried == 0
    clock.advance(hours=1)
    assert signup_queue.send_queued(sg_app).sent == 0
    assert queue_counts(sg_app.store) == {"unknown": 1}
    assert fake.requests == 1


def test_a_mail_in_flight_when_the_service_died_is_not_sent_again(sg_app, fake):
    lifecycle.subscribe(sg_app, "a@example.org")
    lifecycle.subscribe(sg_app, "b@example.org")
    with sg_app.store.transaction():  # what a kill -9 during the send of a's mail leaves
        sg_app.store.conn.execute("UPDATE signup_mails SET status = 'sending' WHERE id = 1")
    assert signup_queue.settle_interrupted(sg_app) == 1
    assert signup_queue.send_queued(sg_app).sent == 1
    assert fake.recipients() == {"b@example.org": 1}
    assert queue_counts(sg_app.store) == {"sent": 1, "unknown": 1}


def test_who_left_or_was_forgotten_before_the_mail_left_gets_nothing(sg_app, fake):
    for email in ("parti@example.org", "oubli@example.org", "garde@example.org"):
        lifecycle.subscribe(sg_app, email)
    gone = lifecycle.find_subscriber(sg_app, "parti@example.org")
    lifecycle.suppress(sg_app, gone.id, "bounced", "sendgrid webhook")
    lifecycle.forget(sg_app, "oubli@example.org")  # erases the queued mail with the rest
    report = signup_queue.send_queued(sg_app)
    assert report.sent == 1 and report.dropped == 1
    assert fake.recipients() == {"garde@example.org": 1}
    assert queue_counts(sg_app.store) == {"dropped": 1, "sent": 1}


def test_the_answer_depends_on_the_status_when_it_leaves(sg_app, fake):
    lifecycle.subscribe(sg_app, "a@example.org")
    signup_queue.send_queued(sg_app)
    subscriber = lifecycle.find_subscriber(sg_app, "a@example.org")
    lifecycle.confirm(sg_app, subscriber.id, "test")
    lifecycle.subscribe(sg_app, "a@example.org")
    signup_queue.send_queued(sg_app)
    subjects = [accepted.body["subject"] for accepted in fake.accepted]
    assert subjects[0].startswith("Confirmez") and subjects[1].startswith("Vous êtes déjà inscrit")


def test_a_transport_that_cannot_be_opened_leaves_the_mails_queued(sg_app, config_file, clock, fake):
    lifecycle.subscribe(sg_app, "a@example.org")
    keyless = app_for(config_file, clock)  # no SENDGRID_API_KEY
    try:
        with pytest.raises(ConfigError, match="SENDGRID_API_KEY"):
            signup_queue.send_queued(keyless)
    finally:
        keyless.close()
    assert queue_counts(sg_app.store) == {"queued": 1}
    assert signup_queue.send_queued(sg_app).sent == 1


class DroppingServer:
    """aiosmtpd handler: refuses refuse@ with 550, hangs up after the DATA of drop@, accepts the rest."""

    def __init__(self) -> None:
        self.accepted: list[str] = []
        self.dropped = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refuse@"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if envelope.rcpt_tos == ["drop@example.org"]:
            self.dropped += 1
            server.transport.close()  # the message was received: the server may deliver it
            return "250 OK"
        self.accepted.extend(envelope.rcpt_tos)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_app(config_file, clock, app):
    handler = DroppingServer()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    set_keys(config_file, "delivery", transport="smtp", max_attempts=2, retry_delay=1.0)
    set_keys(config_file, "delivery.smtp", host="127.0.0.1", port=controller.port, starttls=False)
    application = app_for(config_file, clock)
    yield application, handler
    application.close()
    controller.stop()


def test_smtp_a_refused_mail_fails_after_its_attempts_and_a_dropped_one_is_never_sent_again(smtp_app, clock):
    smtp_app, server = smtp_app
    for email in ("refuse@example.org", "drop@example.org", "ok@example.org"):
        lifecycle.subscribe(smtp_app, email)
    report = signup_queue.send_queued(smtp_app)
    assert (report.sent, report.retried, report.unknown) == (1, 1, 1)
    clock.advance(minutes=1)
    assert signup_queue.send_queued(smtp_app).failed == 1
    assert server.accepted == ["ok@example.org"] and server.dropped == 1
    assert queue_counts(smtp_app.store) == {"failed": 1, "sent": 1, "unknown": 1}
