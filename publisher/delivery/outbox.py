"""The outbox transport: each message is written as a .eml file, exactly as it would be sent.

File names are deterministic (``<newsletter>-e<edition>-s<subscriber>.eml``), so a re-run
overwrites rather than duplicates, and each file is written atomically (temp file + rename).
So the outbox can tell what it wrote: after a crash, a message whose file is there was sent,
one whose file is not was not (``sent_before``).
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC
from pathlib import Path

from publisher.app import App
from publisher.delivery.content import EditionContent, Personalizer, sender_for
from publisher.delivery.mime import UnbuildableMessage, digest_bytes, message_id, transactional_message
from publisher.delivery.transport import BatchOutcome, Prepared, RecipientRow, addressed_batch
from publisher.errors import DeliveryError
from publisher.models import Message


class OutboxTransport:
    name = "outbox"

    def __init__(self, app: App) -> None:
        self.app = app
        self.path: Path = app.config.delivery.outbox.path
        self.rate_key = None  # files: [delivery] rate_per_second protects providers, not disks
        self.one_at_a_time = False  # what a crash interrupted is found from the files instead
        self.personalizer = Personalizer(app)

    def prepare(self, content: EditionContent, recipients: list[RecipientRow]) -> Prepared:
        return addressed_batch(self.personalizer, content, recipients)

    def send(self, batch: Prepared) -> BatchOutcome:
        content, addressees = batch.payload  # type: ignore[misc]
        outcome = BatchOutcome()
        now = self.app.local_now()
        for addressee in addressees:
            name = _file_name(content, addressee.subscriber_id)
            try:
                self._write(name, digest_bytes(content, addressee, now))
            except UnbuildableMessage as error:
                outcome.failed[addressee.subscriber_id] = str(error)
                continue
            except OSError as error:
                outcome.retry.append(addressee.subscriber_id)
                outcome.error = f"{self.path}: cannot write {name}: {error.strerror}"
                continue
            outcome.sent[addressee.subscriber_id] = message_id(content, addressee.subscriber_id)
        return outcome

    def sent_before(self, content: EditionContent, subscriber_ids: list[int]) -> dict[int, str]:
        """The messages whose file is there; the half-written files of the others are removed."""
        sent = {}
        for subscriber_id in subscriber_ids:
            target = self.path / _file_name(content, subscriber_id)
            _temporary(target).unlink(missing_ok=True)
            if target.exists():
                sent[subscriber_id] = message_id(content, subscriber_id)
        return sent

    def send_message(self, message: Message) -> str:
        now = self.app.local_now()
        fingerprint = hashlib.sha256(f"{message.to_email}\n{message.subject}\n{message.text}".encode()).hexdigest()[:16]
        sender = sender_for(self.app, "")
        message_id_value = f"<message-{fingerprint}@{sender.domain}>"
        mime = transactional_message(sender, message, now, message_id_value)
        name = f"message-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{fingerprint}.eml"
        try:
            self._write(name, bytes(mime))
        except OSError as error:
            raise DeliveryError(f"{self.path}: cannot write {name}: {error.strerror}") from None
        return message_id_value

    def _write(self, name: str, data: bytes) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / name
        temporary = _temporary(target)
        temporary.write_bytes(data)
        os.replace(temporary, target)

    def close(self) -> None:
        pass


def _file_name(content: EditionContent, subscriber_id: int) -> str:
    return f"{content.newsletter}-e{content.edition_id}-s{subscriber_id}.eml"


def _temporary(target: Path) -> Path:
    return target.with_suffix(".tmp")
