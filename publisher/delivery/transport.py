"""The interface every transport implements, and the choice of one from config.

The engine calls ``prepare`` in its own thread (CPU work: building the payload) and ``send``
in worker threads (I/O: one attempt, never retried inside). ``send`` reports what happened
to every recipient as a BatchOutcome and never raises for a delivery problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from publisher.app import App
from publisher.delivery.content import Addressee, EditionContent
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


@dataclass
class Prepared:
    """A batch ready for ``send``: the addressees and the transport's own payload."""

    addressees: list[Addressee]
    payload: object
    # Addressees the transport refused before any request (e.g. over a provider limit).
    rejected: dict[int, str] = field(default_factory=dict)


class Transport(Protocol):
    name: str
    # Key of the rate limit shared by every process sending through the same account.
    rate_key: str

    def prepare(self, content: EditionContent, addressees: list[Addressee]) -> Prepared: ...

    def send(self, batch: Prepared) -> BatchOutcome: ...

    def send_message(self, message: Message) -> str:
        """Send one transactional message now; return its message id. Raises DeliveryError."""
        ...

    def close(self) -> None: ...


def open_transport(app: App) -> Transport:
    """The transport chosen by ``[delivery] transport``."""
    name = app.config.delivery.transport
    if name == "sendgrid":
        from publisher.delivery.sendgrid_api import SendgridTransport

        return SendgridTransport(app)
    if name == "smtp":
        from publisher.delivery.smtp import SmtpTransport

        return SmtpTransport(app)
    from publisher.delivery.outbox import OutboxTransport

    return OutboxTransport(app)
