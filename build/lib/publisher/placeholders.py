"""Per-recipient values left as placeholders in a compiled edition, filled at send time.

The digest is compiled once per distinct content; the name and the signed links of each
recipient are filled in by the transport: as SendGrid substitutions, or by ``fill`` for
SMTP and the outbox. The HTML part gets HTML-escaped values, the text part plain ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

NAME = "__PUB_NAME__"
EMAIL = "__PUB_EMAIL__"
UNSUBSCRIBE_URL = "__PUB_UNSUBSCRIBE_URL__"
PREFERENCES_URL = "__PUB_PREFERENCES_URL__"
VIEW_ONLINE_URL = "__PUB_VIEW_ONLINE_URL__"
ALL = (NAME, EMAIL, UNSUBSCRIBE_URL, PREFERENCES_URL, VIEW_ONLINE_URL)

_PATTERN = re.compile("|".join(re.escape(placeholder) for placeholder in ALL))


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


def fill(body: str, values: Mapping[str, str]) -> str:
    """Replace every placeholder in one pass (a value is never re-scanned)."""
    return _PATTERN.sub(lambda match: values[match.group(0)], body)
