"""Per-recipient values left as placeholders in a compiled edition, filled at send time.

The digest is compiled once per distinct content; the name and the signed links of each
recipient are filled in by the transport: as SendGrid substitutions, or by ``fill`` for
SMTP and the outbox. The HTML part gets HTML-escaped values, the text part plain ones.

Only the templates may place a per-recipient value. Article text, tag names, staff's config
strings and subscriber names come from people who must not reach another reader's address
or links (an image URL ``https://elsewhere.example/p?e=<placeholder>`` would send every
reader's address to that host on each open). So the placeholders of an edition are not
fixed words that such text could contain: each carries a tag derived by HMAC-SHA256 from
PUBLISHER_SECRET and the edition's identity (newsletter, segment, content key):
``__PUB_EMAIL_<tag>__``. Nobody without the secret can write them, and they never leave the
product unfilled (emails, previews and the web archive are filled; only SendGrid, which does
the filling, sees them), so no outside text can contain them; the same secret and edition
always give the same tag, so compiling an edition again gives the same bytes. This closes
the whole class, including text that only becomes a placeholder once joined to its
neighbour in the template, which escaping each value where it enters could not. Filling is
one pass: a value is never scanned again, so a name cannot expand to another value either.

SendGrid applies one substitution map to every part of a message, so one key cannot carry
an escaped value into the HTML part and a plain one into the text part. The SendGrid
transport therefore renames, in the HTML part, the placeholders whose values escaping can
change (the name and address; the links too if the site's base URL has &<>"') to their
``html_key`` (``__PUB_NAME_<tag>__`` → ``__PUB_HTML_NAME_<tag>__``) with ``use_html_keys``,
and sends plain values under the plain keys, escaped values under the HTML keys.
Templates only ever contain the plain placeholders.

An edition of a newsletter that counts clicks (``track_clicks``) also holds one click marker
per article, ``__PUB_CLICK<article id>_<tag>__``, where the template puts the article's link:
the same for every recipient, it becomes the edition's signed ``/r/…`` link once the edition
has an id (publisher.figures.clicks), before any transport or the archive sees the edition.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from html import escape

from publisher.config import Secrets

FIELDS = ("NAME", "EMAIL", "UNSUBSCRIBE_URL", "PREFERENCES_URL", "VIEW_ONLINE_URL")
# 80 bits: never shown to anyone, so never open to an offline search.
_TAG_LENGTH = 16


@dataclass(frozen=True)
class Placeholders:
    """The placeholders of one edition, ``__PUB_<FIELD>_<tag>__``."""

    tag: str
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile("|".join(re.escape(key) for key in self.all)))

    def key(self, field_name: str) -> str:
        return f"__PUB_{field_name}_{self.tag}__"

    @property
    def name(self) -> str:
        return self.key("NAME")

    @property
    def email(self) -> str:
        return self.key("EMAIL")

    @property
    def unsubscribe_url(self) -> str:
        return self.key("UNSUBSCRIBE_URL")

    @property
    def preferences_url(self) -> str:
        return self.key("PREFERENCES_URL")

    @property
    def view_online_url(self) -> str:
        return self.key("VIEW_ONLINE_URL")

    def click(self, article_id: int) -> str:
        """The click marker of one article of this edition."""
        return f"__PUB_CLICK{article_id}_{self.tag}__"

    @property
    def click_pattern(self) -> re.Pattern[str]:
        """The click markers of this edition; group 1 is the article id."""
        return re.compile(rf"__PUB_CLICK([1-9][0-9]{{0,17}})_{re.escape(self.tag)}__")

    @property
    def all(self) -> tuple[str, ...]:
        return tuple(self.key(field_name) for field_name in FIELDS)

    def used_in(self, body: str) -> tuple[str, ...]:
        """The placeholders that occur in a body, in the order of FIELDS."""
        found = set(self.pattern.findall(body))
        return tuple(placeholder for placeholder in self.all if placeholder in found)

    def use_html_keys(self, html: str, renamed: Collection[str]) -> str:
        """The HTML part with the ``renamed`` placeholders renamed to their ``html_key``."""
        return self.pattern.sub(lambda m: html_key(m.group(0)) if m.group(0) in renamed else m.group(0), html)

    def fill(self, body: str, values: RecipientValues, html: bool) -> str:
        """Replace every placeholder of this edition in one pass (a value is never re-scanned)."""
        by_key = {self.key(field_name): value for field_name, value in values.for_part(html).items()}
        return self.pattern.sub(lambda match: by_key[match.group(0)], body)


def edition_placeholders(keys: Secrets, newsletter: str, segment: str, content_key: str) -> Placeholders:
    """The placeholders of the edition of ``newsletter`` for ``segment`` with this content key."""
    secret = keys.require("signing_secret", "PUBLISHER_SECRET", "the placeholders of an edition")
    identity = "\0".join(("publisher.placeholders", newsletter, segment, content_key)).encode()
    digest = hmac.new(secret.encode(), identity, hashlib.sha256).digest()
    return Placeholders(base64.b32encode(digest).decode()[:_TAG_LENGTH])


def one_off_placeholders() -> Placeholders:
    """Placeholders for a render that is filled at once and never stored (a preview)."""
    return Placeholders(base64.b32encode(os.urandom(10)).decode())


def html_key(placeholder: str) -> str:
    """The key a placeholder takes in an HTML part sent with one shared substitution map."""
    return placeholder.replace("__PUB_", "__PUB_HTML_", 1)


@dataclass(frozen=True)
class RecipientValues:
    name: str
    email: str
    unsubscribe_url: str
    preferences_url: str
    view_online_url: str

    def for_part(self, html: bool) -> dict[str, str]:
        """FIELD → value for the HTML part (escaped) or the text part (as is)."""
        quote = (lambda value: escape(value, quote=True)) if html else (lambda value: value)
        return {
            "NAME": quote(self.name),
            "EMAIL": quote(self.email),
            "UNSUBSCRIBE_URL": quote(self.unsubscribe_url),
            "PREFERENCES_URL": quote(self.preferences_url),
            "VIEW_ONLINE_URL": quote(self.view_online_url),
        }
