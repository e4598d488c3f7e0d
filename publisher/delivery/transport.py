"""The interface every transport implements (each transport module imports this one;
publisher.delivery.registry chooses one by name).

The engine calls ``prepare`` in its own thread for each batch of recipients (it may hand
the CPU work to other processes and return at once: ``Prepared.ready()`` waits for it),
then ``send`` in worker threads (I/O: one attempt, never retried inside). ``send`` reports
what happened to every recipient as a BatchOutcome and never raises for a delivery problem.
A transport that sends one message at a time (``one_at_a_time``) also reports each message
through ``Prepared.on_message`` before the next leaves, so that a crash leaves at most the
message on the wire unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

from publisher.addresses import unsendable
from publisher.delivery.content import EditionContent, Personalizer
from publisher.models import Message


@dataclass
class BatchOutcome:
    """What one attempt at a batch did, per subscriber id.

    ``retry``: not accepted, safe to send again (429, 5xx, refused connection), from
    ``retry_at`` (epoch seconds) if the provider said so. ``unknown``: the request left and no
    answer came (timeout, reset): it may have been accepted. ``fatal``: no later batch can
    succeed either (bad credentials): the edition pauses at once.
    """

    sent: dict[int, str | None] = field(default_factory=dict)
    failed: dict[int, str] = field(default_factory=dict)
    unknown: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    retry_at: float | None = None
    error: str | None = None
    fatal: bool = False
    requests: int = 1


# (subscriber id, email, name) of one recipient of a batch
RecipientRow = tuple[int, str, str]
# (subscriber id, 'sent' | 'failed' | 'unknown' | 'retry', message id or reason, subscriber id
# of the message that leaves next or 0): one message of a one-at-a-time batch.
OnMessage = Callable[[int, str, str | None, int], None]


def _ignore_message(subscriber_id: int, status: str, detail: str | None, next_on_wire: int) -> None:
    pass


@dataclass
class Prepared:
    """A batch for ``send``: who it goes to and the transport's own payload.

    A transport building payloads elsewhere sets ``future`` (→ payload, subscriber ids,
    rejected) and leaves the rest to ``ready()``.
    """

    subscriber_ids: list[int] = field(default_factory=list)
    payload: object = None
    # Recipients the transport refused before any request (e.g. over a provider limit).
    rejected: dict[int, str] = field(default_factory=dict)
    future: Future[tuple[object, list[int], dict[int, str]]] | None = None
    # Set by the engine before ``send`` for a one-at-a-time transport.
    on_message: OnMessage = _ignore_message

    def ready(self) -> Prepared:
        if self.future is not None:
            self.payload, self.subscriber_ids, self.rejected = self.future.result()
            self.future = None
        return self


def addressed_batch(personalizer: Personalizer, content: EditionContent, recipients: list[RecipientRow]) -> Prepared:
    """The ``prepare`` of transports that build each message at send time (outbox, SMTP):
    the recipients with their signed links, and the edition. A recipient whose address or name
    no message can carry (a row older than the address policy) is rejected with the reason."""
    prepared = Prepared()
    addressees = []
    for recipient in recipients:
        problem = unsendable(recipient[1], recipient[2])
        if problem:
            prepared.rejected[recipient[0]] = problem
        else:
            prepared.subscriber_ids.append(recipient[0])
            addressees.append(personalizer.addressee(*recipient))
    prepared.payload = (content, addressees)
    return prepared


class Transport(Protocol):
    name: str
    # Key of the rate limit shared by every process sending through the same account, or
    # None for a transport no provider limits (the outbox).
    rate_key: str | None
    # Sends the messages of a batch one after the other, reporting each through on_message.
    one_at_a_time: bool

    def prepare(self, content: EditionContent, recipients: list[RecipientRow]) -> Prepared: ...

    def send(self, batch: Prepared) -> BatchOutcome: ...

    def send_message(self, message: Message) -> str:
        """Send one transactional message now; return its message id. Raises DeliveryError."""
        ...

    def sent_before(self, content: EditionContent, subscriber_ids: list[int]) -> dict[int, str] | None:
        """For recipients whose outcome is unknown: those this transport can tell were sent
        (subscriber id → message id), the others being certainly not sent; None if it cannot tell."""
        ...

    def close(self) -> None: ...
