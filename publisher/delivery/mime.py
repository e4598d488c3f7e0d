"""The complete MIME message of one recipient: what the outbox stores and SMTP sends."""

from __future__ import annotations

from datetime import datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from publisher.delivery.content import ONE_CLICK, Addressee, EditionContent, Sender
from publisher.errors import DeliveryError
from publisher.models import Message


class UnbuildableMessage(DeliveryError):
    """This recipient's message cannot be built; the message says why (without the address)."""


def digest_bytes(content: EditionContent, addressee: Addressee, date: datetime) -> bytes:
    """The message of one recipient as sent; UnbuildableMessage when it cannot be built."""
    try:
        return bytes(digest_message(content, addressee, date))
    except (ValueError, MessageError) as error:  # header defects are ValueErrors
        raise UnbuildableMessage(f"cannot build the message: {type(error).__name__}: {error}") from None


def message_id(content: EditionContent, subscriber_id: int) -> str:
    """Deterministic: the same edition to the same subscriber always has the same Message-ID."""
    return f"<edition-{content.edition_id}.subscriber-{subscriber_id}@{content.sender.domain}>"


def digest_message(content: EditionContent, addressee: Addressee, date: datetime) -> EmailMessage:
    """multipart/alternative (text, then HTML) with the placeholders filled for this recipient."""
    message = _headers(content.sender, addressee.email, addressee.name, content.subject, date)
    message["Message-ID"] = message_id(content, addressee.subscriber_id)
    message["List-Id"] = content.list_id
    message["List-Unsubscribe"] = content.list_unsubscribe(addressee)
    message["List-Unsubscribe-Post"] = ONE_CLICK
    values = addressee.values(content.view_online_url)
    fill = content.placeholders.fill
    _set_bodies(message, fill(content.text, values, html=False), fill(content.html, values, html=True))
    return message


def transactional_message(sender: Sender, message: Message, date: datetime, message_id_value: str) -> EmailMessage:
    """One transactional mail (e.g. a double opt-in confirmation)."""
    mime = _headers(sender, message.to_email, message.to_name, message.subject, date)
    mime["Message-ID"] = message_id_value
    for name, value in message.headers:
        mime[name] = value
    _set_bodies(mime, message.text, message.html)
    return mime


# Headers may be up to 998 characters long (RFC 5322): a List-Unsubscribe URL longer than 78
# must stay one raw <https://…> token, never folded into RFC 2047 encoded words.
_POLICY = SMTP.clone(max_line_length=998)
# Bodies are quoted-printable in lines of at most 76 characters (RFC 2045): longer ones are a
# spam sign (SpamAssassin's MIME_QP_LONG_LINE) and some servers cut them.
_BODY_POLICY = SMTP.clone(max_line_length=76)


def _set_bodies(message: EmailMessage, text: str, html: str | None) -> None:
    """The text part, then the HTML one if any, encoded under the body policy; the message keeps
    the header policy for everything else (the encoding is done here, when the parts are set)."""
    message.policy = _BODY_POLICY
    try:
        message.set_content(text, cte="quoted-printable")
        if html is not None:
            message.add_alternative(html, subtype="html", cte="quoted-printable")
    finally:
        message.policy = _POLICY


def _headers(sender: Sender, to_email: str, to_name: str, subject: str, date: datetime) -> EmailMessage:
    message = EmailMessage(policy=_POLICY)
    # Address objects, not formataddr: a display name with non-ASCII letters and <, ", &
    # must come out as a valid encoded word.
    message["From"] = Address(display_name=sender.name, addr_spec=sender.email)
    message["To"] = Address(display_name=to_name, addr_spec=to_email)
    if sender.reply_to:
        message["Reply-To"] = sender.reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    return message
