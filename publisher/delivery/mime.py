"""The complete MIME message of one recipient: what the outbox stores and SMTP sends, and the
check of what such a message can carry (rows older than the address policy may not)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from email.errors import MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from publisher.delivery.content import ONE_CLICK, Addressee, EditionContent, Sender
from publisher.errors import DeliveryError
from publisher.models import Message

# RFC 5322 dot-atom local part, and a domain of ASCII labels (an IDN in punycode).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_ADDRESS = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
_ADDRESS_MAX = 254
_LOCAL_MAX = 64


class UnbuildableMessage(DeliveryError):
    """This recipient's message cannot be built; the message says why (without the address)."""


def unsendable(email: str, name: str) -> str | None:
    """Why a message to this address and display name cannot be sent (``email: …`` or
    ``name: …``), or None. The same policy as the doors: an ASCII dot-atom local part, an ASCII
    (punycode) domain, a display name without control characters."""
    if not _ADDRESS.fullmatch(email) or len(email) > _ADDRESS_MAX or email.index("@") > _LOCAL_MAX:
        return _address_problem(email)
    if name.isprintable():  # the common case, and it has no control character
        return None
    for char in name:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return f"name: contains a control character (U+{ord(char):04X})"
    return None


def _address_problem(email: str) -> str:
    local, at, domain = email.rpartition("@")
    if not at or not local or not domain or "@" in local or not email.isprintable():
        return "email: not a valid address"
    if local.startswith('"'):
        return "email: quoted local parts are not sent"
    if not local.isascii():
        return "email: the part before @ is not plain ASCII"
    if not domain.isascii():
        return "email: the domain is not in ASCII (punycode)"
    return "email: not a valid address"


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
    message.set_content(fill(content.text, values, html=False), cte="quoted-printable")
    message.add_alternative(fill(content.html, values, html=True), subtype="html", cte="quoted-printable")
    return message


def transactional_message(sender: Sender, message: Message, date: datetime, message_id_value: str) -> EmailMessage:
    """One transactional mail (e.g. a double opt-in confirmation)."""
    mime = _headers(sender, message.to_email, message.to_name, message.subject, date)
    mime["Message-ID"] = message_id_value
    for name, value in message.headers:
        mime[name] = value
    mime.set_content(message.text, cte="quoted-printable")
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html", cte="quoted-printable")
    return mime


# Headers may be up to 998 characters long (RFC 5322): a List-Unsubscribe URL longer than 78
# must stay one raw <https://…> token, never folded into RFC 2047 encoded words.
_POLICY = SMTP.clone(max_line_length=998)


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
