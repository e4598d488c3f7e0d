"""The SMTP transport: smtplib with STARTTLS and login, one reused connection per worker thread.

Per message: a 5xx refusal (at RCPT or at DATA) or a message that cannot be built fails that
recipient; a 4xx or a connection that cannot be opened is retried later; a connection lost
while a message was being transmitted makes that message's outcome unknown (the server may
have queued it) and the rest of the batch is retried. Each outcome is reported through
``Prepared.on_message`` before the next message leaves.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
import threading
from datetime import datetime
from email.message import EmailMessage

from publisher.app import App
from publisher.delivery.content import Addressee, EditionContent, Personalizer, sender_for
from publisher.delivery.mime import UnbuildableMessage, digest_bytes, message_id, transactional_message
from publisher.delivery.transport import BatchOutcome, Prepared, RecipientRow, addressed_batch
from publisher.errors import DeliveryError, DeliveryUncertain
from publisher.models import Message

log = logging.getLogger(__name__)


class SmtpTransport:
    name = "smtp"

    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.config.delivery.smtp
        self.timeout = app.config.delivery.request_timeout
        self.password = None
        if self.settings.username:
            self.password = app.secrets.require("smtp_password", "SMTP_PASSWORD", "[delivery.smtp] username")
        self.rate_key = f"smtp:{self.settings.host}:{self.settings.port}"
        self.one_at_a_time = True
        self.personalizer = Personalizer(app)
        self._local = threading.local()
        self._connections: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    # --- connections ------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        connection = smtplib.SMTP(settings.host, settings.port, timeout=self.timeout)
        try:
            connection.ehlo()
            if settings.starttls:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if settings.username:
                connection.login(settings.username, self.password or "")
        except BaseException:
            connection.close()
            raise
        with self._lock:
            self._connections.append(connection)
        return connection

    def _connection(self) -> smtplib.SMTP:
        """This thread's connection, checked with NOOP when reused (servers drop idle ones)."""
        connection: smtplib.SMTP | None = getattr(self._local, "connection", None)
        if connection is not None:
            try:
                if connection.noop()[0] == 250:
                    return connection
            except (smtplib.SMTPException, OSError):
                pass
            self._drop(connection)
        connection = self._connect()
        self._local.connection = connection
        return connection

    def _drop(self, connection: smtplib.SMTP) -> None:
        self._local.connection = None
        try:
            connection.close()
        finally:
            with self._lock:
                if connection in self._connections:
                    self._connections.remove(connection)

    # --- sending ----------------------------------------------------------------------

    def prepare(self, content: EditionContent, recipients: list[RecipientRow]) -> Prepared:
        return addressed_batch(self.personalizer, content, recipients)

    def send(self, batch: Prepared) -> BatchOutcome:
        content, addressees = batch.payload  # type: ignore[misc]
        outcome = BatchOutcome()
        now = self.app.local_now()
        try:
            connection = self._connection()
        except smtplib.SMTPAuthenticationError as error:
            return _everyone(batch, BatchOutcome(fatal=True), f"SMTP login refused: {_reply(error)}", "failed")
        except (smtplib.SMTPException, OSError) as error:
            return _everyone(batch, outcome, f"cannot connect to {self.rate_key}: {error}", "retry")
        for index, addressee in enumerate(addressees):
            status, detail = self._send_one(connection, content, addressee, now)
            _note(outcome, addressee.subscriber_id, status, detail)
            if status == "unknown":  # the connection is gone: the others are tried again later
                self._drop(connection)
                outcome.retry.extend(other.subscriber_id for other in addressees[index + 1 :])
                batch.on_message(addressee.subscriber_id, status, detail, 0)
                return outcome
            following = addressees[index + 1].subscriber_id if index + 1 < len(addressees) else 0
            batch.on_message(addressee.subscriber_id, status, detail, following)
        return outcome

    def _send_one(
        self, connection: smtplib.SMTP, content: EditionContent, addressee: Addressee, now: datetime
    ) -> tuple[str, str | None]:
        """(status, message id or reason) of one message: 'sent', 'failed', 'retry' or 'unknown'."""
        try:
            data = digest_bytes(content, addressee, now)
            connection.sendmail(content.sender.email, [addressee.email], data)
        except UnbuildableMessage as error:
            return "failed", str(error)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = error.recipients.get(addressee.email, (550, b"refused"))
            return _refusal(code, reply)
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as error:
            return _refusal(error.smtp_code, error.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            return "unknown", f"connection lost while sending: {error}"
        except smtplib.SMTPException as error:  # refused before anything left (e.g. an extension missing)
            return "failed", f"SMTP: {error}"
        return "sent", message_id(content, addressee.subscriber_id)

    def send_message(self, message: Message) -> str:
        sender = sender_for(self.app, "")
        now = self.app.local_now()
        fingerprint = hashlib.sha256(f"{message.to_email}\n{message.subject}\n{now}".encode()).hexdigest()[:16]
        message_id_value = f"<message-{fingerprint}@{sender.domain}>"
        mime: EmailMessage = transactional_message(sender, message, now, message_id_value)
        try:
            connection = self._connection()
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP {self.rate_key}: cannot connect: {error}") from None
        try:
            connection.send_message(mime, from_addr=sender.email, to_addrs=[message.to_email])
        except smtplib.SMTPResponseException as error:
            raise DeliveryError(f"SMTP {self.rate_key}: message refused: {_reply(error)}") from None
        except smtplib.SMTPRecipientsRefused:  # its reply names the address: not repeated here
            raise DeliveryError(f"SMTP {self.rate_key}: recipient refused") from None
        except OSError as error:  # SMTPServerDisconnected, a reset, a timeout: the server may have queued it
            self._drop(connection)
            raise DeliveryUncertain(f"SMTP {self.rate_key}: connection lost while sending: {error}") from None
        return message_id_value

    def sent_before(self, content: EditionContent, subscriber_ids: list[int]) -> None:
        """The server's logs might tell; the transport cannot."""
        return None

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            try:
                connection.quit()
            except (smtplib.SMTPException, OSError):
                connection.close()


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
    return f"{error.smtp_code} {text}"


def _refusal(code: int, reply: bytes | str) -> tuple[str, str]:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return ("retry" if 400 <= code < 500 else "failed"), f"SMTP {code} {text}"


def _note(outcome: BatchOutcome, subscriber_id: int, status: str, detail: str | None) -> None:
    if status == "sent":
        outcome.sent[subscriber_id] = detail
    elif status == "failed":
        outcome.failed[subscriber_id] = detail or "failed"
    else:
        getattr(outcome, status).append(subscriber_id)
        outcome.error = detail


def _everyone(batch: Prepared, outcome: BatchOutcome, error: str, how: str) -> BatchOutcome:
    ids = batch.subscriber_ids
    outcome.error = error
    if how == "retry":
        outcome.retry.extend(ids)
    else:
        outcome.failed.update(dict.fromkeys(ids, error))
    return outcome
