"""The transports by name: ``[delivery] transport`` chooses one.

A transport's module is imported only when it is chosen, so a process that writes to the
outbox never loads sendgrid. The transports import only the interface (publisher.delivery.
transport), never this module: no import cycle.
"""

from __future__ import annotations

from publisher.app import App
from publisher.delivery.transport import Transport


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
