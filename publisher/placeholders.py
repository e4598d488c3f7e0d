"""Per-recipient values left as placeholders in a compiled edition, filled at send time.

The digest is compiled once per distinct content; the name and the signed links of each
recipient are filled in by the transport: as SendGrid substitutions, or by ``fill`` for
SMTP and the outbox. The HTML part gets HTML-escaped values, the text part plain ones.

SendGrid applies one substitution map to every part of a message, so one key cannot carry
an escaped value into the HTML part and a plain one into the text part. The SendGrid
transport therefore renames, in the HTML part, the placeholders whose values escaping can
change (the name and address; the links too if the site's base URL has &<>"') to their
``html_key`` (``__PUB_NAME__`` → ``__PUB_HTML_NAME__``) with ``use_html_keys``, and sends
plain values under the plain keys, escaped values under the HTML keys
(``RecipientValues.substitutions`` when every placeholder is renamed). Templates only ever
contain the plain placeholders above.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from html import escape

NAME = "__PUB_NAME__"
EMAIL = "__PUB_EMAIL__"
UNSUBSCRIBE_URL = "__PUB_UNSUBSCRIBE_URL__"
PREFERENCES_URL = "__PUB_PREFERENCES_URL__"
VIEW_ONLINE_URL = "__PUB_VIEW_ONLINE_URL__"
ALL = (NAME, EMAIL, UNSUBSCRIBE_URL, PREFERENCES_URL, VIEW_ONLINE_URL)

_PATTERN = re.compile("|".join(re.escape(placeholder) for placeholder in ALL))


def html_key(placeholder: str) -> str:
    """The key a placeholder takes in an HTML part sent with one shared substitution map."""
    return placeholder.replace("__PUB_", "__PUB_HTML_", 1)


def use_html_keys(html: str, renamed: Collection[str] = ALL) -> str:
    """The HTML part with the ``renamed`` placeholders (default: all) renamed to their ``html_key``."""
    return _PATTERN.sub(lambda match: html_key(match.group(0)) if match.group(0) in renamed else match.group(0), html)


def used_in(body: str) -> tuple[str, ...]:
    """The placeholders that occur in a body, in the order of ALL."""
    found = set(_PATTERN.findall(body))
    return tuple(placeholder for placeholder in ALL if placeholder in found)


@dataclass(frozen=True)
class RecipientValues:
    name: str
    email: str
    unsubscribe_url: str
    preferences_url: str
    view_online_url: str

    def for_part(self, html: bool) -> dict[str, str]:
        """Placeholder → value for the HTML part (escaped) or the text part (as is)."""
        quote = (lambda value: escape(value, quote=True)) if html else (lambda value: value)
        return {
            NAME: quote(self.name),
            EMAIL: quote(self.email),
            UNSUBSCRIBE_URL: quote(self.unsubscribe_url),
            PREFERENCES_URL: quote(self.preferences_url),
            VIEW_ONLINE_URL: quote(self.view_online_url),
        }

    def substitutions(self, text_keys: tuple[str, ...], html_keys: tuple[str, ...]) -> dict[str, str]:
        """One map for both parts: plain values under ``text_keys`` (placeholders used in the
        text part), escaped values under the ``html_key`` of ``html_keys`` (used in the HTML part)."""
        plain = self.for_part(html=False)
        escaped = self.for_part(html=True)
        values = {key: plain[key] for key in text_keys}
        values.update((html_key(key), escaped[key]) for key in html_keys)
        return values


def fill(body: str, values: Mapping[str, str]) -> str:
    """Replace every placeholder in one pass (a value is never re-scanned)."""
    return _PATTERN.sub(lambda match: values[match.group(0)], body)
