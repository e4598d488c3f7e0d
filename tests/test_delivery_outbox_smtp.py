"""The outbox and SMTP transports: real MIME messages with the same headers as SendGrid's
requests; SMTP against an aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import socket
import ssl
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from support.apps import app_for
from support.config import set_keys
from support.delivery import add_subscribers, make_edition

from publisher.delivery.engine import deliver_pending
from publisher.delivery.send import enqueue, send_edition_copy, send_message
from publisher.models import Message
from publisher.store.deliveries import delivery_counts, ledger_rows
from publisher.tokens import PREFERENCES, UNSUBSCRIBE, verify


def read_eml(path) -> EmailMessage:
    return message_from_bytes(path.read_bytes(), policy=default)  # type: ignore[return-value]


def parts(message: EmailMessage) -> tuple[str, str]:
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_payload()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    return text.get_content(), html.get_content()


def test_outbox_writes_one_real_mime_message_per_recipient(app, config):
    set_keys(config.source, "delivery", unsubscribe_mailto="desabonnement@horizons-emploi.example.org")
    application = app_for(config.source, app.clock)
    recipients = add_subscribers(application.store, 2)
    recipients += add_subscribers(application.store, 1, start=3, name='Zoé "Z" <Dupont> & fils')
    edition = make_edition(application.store)
    enqueue(application.store, edition, recipients)

    report = deliver_pending(application, edition.id)

    assert (report.status, report.sent) == ("sent", 3)
    outbox = config.delivery.outbox.path
    names = sorted(path.name for path in outbox.iterdir())
    assert names == [f"hebdo-e{edition.id}-s{n}.eml" for n in (1, 2, 3)]
    raw = (outbox / f"hebdo-e{edition.id}-s3.eml").read_bytes()
    assert b"\r\nList-Unsubscribe: <https://www.horizons-emploi.example.org/unsubscribe/" in raw  # not encoded
    message = read_eml(outbox / f"hebdo-e{edition.id}-s3.eml")
    assert message["From"] == "Horizons Emploi-Formation <lettre@horizons-emploi.example.org>"
    assert message["To"] == '"Zoé \\"Z\\" <Dupont> & fils" <abonne3@example.org>'
    assert message["Reply-To"] == "contact@horizons-emploi.example.org"
    assert message["Subject"] == "L'essentiel de la semaine"
    assert message["Message-ID"] == f"<edition-{edition.id}.subscriber-3@horizons-emploi.example.org>"
    assert message["List-Id"] == "La lettre hebdo <hebdo.horizons-emploi.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Date"] == "Thu, 26 Nov 2026 10:00:00 +0100"  # the clock's 09:00 UTC, in Paris time
    one_click, mailto = (link.strip(" <>") for link in message["List-Unsubscribe"].split(","))
    assert one_click.startswith("https://www.horizons-emploi.example.org/unsubscribe/")
    assert verify("test-secret", one_click.rsplit("/", 1)[1], UNSUBSCRIBE) == 3
    assert mailto == "mailto:desabonnement@horizons-emploi.example.org?subject=unsubscribe"
    text, html = parts(message)
    assert 'Bonjour Zoé "Z" <Dupont> & fils,' in text
    assert "Bonjour Zoé &quot;Z&quot; &lt;Dupont&gt; &amp; fils," in html
    assert "__PUB_" not in text + html
    assert f"https://www.horizons-emploi.example.org/archive/{edition.id}" in text
    preferences = text.split("Préférences : ")[1].split()[0]
    assert verify("test-secret", preferences.rsplit("/", 1)[1], PREFERENCES) == 3
    assert [status for _, status, _, _ in ledger_rows(application.store, edition.id)] == ["sent"] * 3

    again = deliver_pending(application, edition.id)
    assert again.sent == 3 and len(list(outbox.iterdir())) == 3
    application.close()


def test_test_copy_and_transactional_message_leave_the_ledger_alone(app, config):
    edition = make_edition(app.store)
    message_id = send_edition_copy(app, edition, "redaction@horizons-emploi.example.org")
    copy = read_eml(config.delivery.outbox.path / f"hebdo-e{edition.id}-s0.eml")
    assert copy["Subject"] == "[TEST] L'essentiel de la semaine" and copy["Message-ID"] == message_id
    assert delivery_counts(app.store, edition.id) == {"pending": 0, "sent": 0, "failed": 0, "unknown": 0, "skipped": 0}

    confirmation = Message(
        to_email="nouvelle@example.org",
        subject="Confirmez votre inscription",
        text="Cliquez pour confirmer.",
        html="<p>Cliquez pour confirmer.</p>",
        to_name="Nouvelle",
        headers=(("Auto-Submitted", "auto-generated"),),
    )
    sent_id = send_message(app, confirmation)
    [written] = config.delivery.outbox.path.glob("message-*.eml")
    mime = read_eml(written)
    assert mime["Message-ID"] == sent_id and mime["To"] == "Nouvelle <nouvelle@example.org>"
    assert mime["Auto-Submitted"] == "auto-generated"
    assert [part.strip() for part in parts(mime)] == ["Cliquez pour confirmer.", "<p>Cliquez pour confirmer.</p>"]


class Recorder:
    """aiosmtpd handler: records messages, refuses one address with 550."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.encrypted: list[bool] = []  # per message: was the session under TLS?

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("abonne2@"):
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.encrypted.append(session.ssl is not None)
        return "250 Message accepted for delivery"


def start_smtp_server(recorder: Recorder | None = None, **tls: object) -> tuple[Recorder, Controller]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append(auth_data)
        ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"mot-de-passe"
        return AuthResult(success=ok)

    recorder = recorder or Recorder()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, authenticator=authenticator, **({"auth_require_tls": False} | tls)
    )
    controller.start()
    recorder.port, recorder.logins = port, logins
    return recorder, controller


@pytest.fixture
def smtp_server():
    recorder, controller = start_smtp_server()
    yield recorder
    controller.stop()


@pytest.fixture
def starttls_server():
    """A server that requires STARTTLS before anything else, with a certificate for 127.0.0.1
    from a local test CA (trustme); ``ca_file`` is that CA's certificate."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    recorder, controller = start_smtp_server(tls_context=context, require_starttls=True, auth_require_tls=True)
    with authority.cert_pem.tempfile() as ca_file:
        recorder.ca_file = ca_file
        yield recorder
    controller.stop()


def test_smtp_sends_each_message_logs_in_and_records_refusals(app, config, smtp_server):
    set_keys(config.source, "delivery", transport="smtp", batch_size=2, concurrency=2)
    set_keys(
        config.source,
        "delivery.smtp",
        host="127.0.0.1",
        port=smtp_server.port,
        starttls=False,
        username="lettre@horizons-emploi.example.org",
    )
    application = app_for(config.source, app.clock, smtp_password="mot-de-passe")
    edition = make_edition(application.store)
    enqueue(application.store, edition, add_subscribers(application.store, 5))

    report = deliver_pending(application, edition.id)

    assert (report.status, report.sent, report.failed) == ("sent", 4, 1)
    delivered = sorted(to for _, (to,), _ in smtp_server.messages)
    assert delivered == [f"abonne{n}@example.org" for n in (1, 3, 4, 5)]
    assert {login.login for login in smtp_server.logins} == {b"lettre@horizons-emploi.example.org"}
    rows = {
        subscriber: (status, message_id, error)
        for subscriber, status, message_id, error in ledger_rows(application.store, edition.id)
    }
    assert rows[2][0] == "failed" and rows[2][2].startswith("SMTP 550 5.1.1 mailbox unavailable")
    assert rows[1] == ("sent", f"<edition-{edition.id}.subscriber-1@horizons-emploi.example.org>", None)
    mail_from, _, data = smtp_server.messages[0]
    mime = message_from_bytes(data, policy=default)
    assert mail_from == "lettre@horizons-emploi.example.org"
    assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and mime["Message-ID"]
    text, html = parts(mime)  # type: ignore[arg-type]
    assert "Bonjour Abonné" in text and "Bonjour Abonné" in html

    send_message(application, Message(to_email="staff@example.org", subject="Test", text="Bonjour"))
    assert smtp_server.messages[-1][1] == ["staff@example.org"]
    application.close()


def test_smtp_unreachable_pauses_after_retries_and_keeps_rows_pending(app, config):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once the probe is closed
    set_keys(config.source, "delivery", transport="smtp", max_attempts=2, retry_delay=0.01, pause_after_failures=3)
    set_keys(config.source, "delivery.smtp", host="127.0.0.1", port=port, starttls=False)
    application = app_for(config.source, app.clock)
    edition = make_edition(application.store)
    enqueue(application.store, edition, add_subscribers(application.store, 3))

    report = deliver_pending(application, edition.id)

    assert report.status == "paused" and report.pending == 3
    assert "not sent after 2 attempts" in report.reason and "cannot connect" in report.reason
    application.close()


def smtp_app(app, config, server, **smtp: object):
    set_keys(config.source, "delivery", transport="smtp", max_attempts=1, pause_after_failures=1)
    settings = {"host": "127.0.0.1", "port": server.port, "username": "lettre@horizons-emploi.example.org"}
    set_keys(config.source, "delivery.smtp", **(settings | smtp))
    return app_for(config.source, app.clock, smtp_password="mot-de-passe")


def test_smtp_starttls_encrypts_before_logging_in_and_sending(app, config, starttls_server, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", starttls_server.ca_file)  # trust the test CA
    application = smtp_app(app, config, starttls_server, starttls=True)
    edition = make_edition(application.store)
    enqueue(application.store, edition, add_subscribers(application.store, 3, start=3))

    report = deliver_pending(application, edition.id)

    assert (report.status, report.sent) == ("sent", 3)
    assert starttls_server.encrypted == [True, True, True]  # the server refuses AUTH and MAIL before TLS
    assert {login.login for login in starttls_server.logins} == {b"lettre@horizons-emploi.example.org"}
    application.close()


def test_smtp_starttls_refuses_a_certificate_it_cannot_verify(app, config, starttls_server):
    application = smtp_app(app, config, starttls_server, starttls=True)  # the test CA is not trusted
    edition = make_edition(application.store)
    enqueue(application.store, edition, add_subscribers(application.store, 2, start=3))

    report = deliver_pending(application, edition.id)

    assert report.status == "paused" and report.pending == 2
    assert "CERTIFICATE_VERIFY_FAILED" in report.reason
    assert starttls_server.messages == [] and starttls_server.logins == []
    application.close()
