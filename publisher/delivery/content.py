"""What a transport needs to send one edition: the shared parts once, the personal values per recipient."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import NamedTuple

from publisher.app import App
from publisher.figures.clicks import fill_click_links
from publisher.models import Edition
from publisher.placeholders import Placeholders, RecipientValues, edition_placeholders
from publisher.tokens import edition_path, link_bases, link_tokens_signer, links_signer

ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class Sender:
    email: str
    name: str
    reply_to: str | None

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


@dataclass(frozen=True)
class EditionContent:
    """One edition ready to send: the view-online link filled, the placeholders still in."""

    edition_id: int
    newsletter: str
    list_title: str
    subject: str
    html: str
    text: str
    sender: Sender
    placeholders: Placeholders
    # The placeholders each part uses: only those go into per-recipient substitutions.
    html_keys: tuple[str, ...]
    text_keys: tuple[str, ...]
    view_online_url: str
    # ", <mailto:…>" appended to List-Unsubscribe when [delivery] unsubscribe_mailto is set
    mailto_suffix: str = ""
    # Its article links are our signed /r/… links (the transport must not rewrite them).
    tracks_clicks: bool = False
    # The newsletter counts opens (track_opens): only then may the transport track them.
    tracks_opens: bool = False

    def list_unsubscribe(self, addressee: Addressee) -> str:
        """RFC 8058 one-click https link first (it is what Gmail and Yahoo use), then mailto."""
        return f"<{addressee.unsubscribe_url}>{self.mailto_suffix}"

    @property
    def list_id(self) -> str:
        """RFC 2919 List-Id: the newsletter slug under the sender's domain."""
        return f"{self.list_title} <{self.newsletter}.{self.sender.domain}>"


class Addressee(NamedTuple):
    """One recipient of one edition, with the signed links the transports need."""

    subscriber_id: int
    email: str
    name: str
    unsubscribe_url: str
    preferences_url: str

    def values(self, view_online_url: str) -> RecipientValues:
        return RecipientValues(self.name, self.email, self.unsubscribe_url, self.preferences_url, view_online_url)


def edition_url(app: App, edition_id: int, newsletter: str) -> str:
    """The web version of an edition, served by the web app's archive (with a token when not public)."""
    return app.config.site.base_url + edition_path(app, edition_id, newsletter)


def sender_for(app: App, newsletter: str) -> Sender:
    delivery = app.config.delivery
    settings = app.config.newsletters.get(newsletter)
    return Sender(
        email=(settings and settings.from_email) or delivery.from_email,
        name=(settings and settings.from_name) or delivery.from_name,
        reply_to=(settings and settings.reply_to) or delivery.reply_to,
    )


def edition_content(app: App, edition: Edition) -> EditionContent:
    if edition.id is None:
        raise ValueError("an edition must be stored before it is sent")
    url = edition_url(app, edition.id, edition.newsletter)
    placeholders = edition_placeholders(app.secrets, edition.newsletter, edition.segment, edition.content_key)
    html = edition.html.replace(placeholders.view_online_url, escape(url, quote=True))
    text = edition.text.replace(placeholders.view_online_url, url)
    tracked_html = fill_click_links(app, edition.id, placeholders, html, html=True)
    tracked_text = fill_click_links(app, edition.id, placeholders, text, html=False)
    settings = app.config.newsletters.get(edition.newsletter)
    return EditionContent(
        edition_id=edition.id,
        newsletter=edition.newsletter,
        list_title=settings.title if settings else edition.newsletter,
        subject=edition.subject,
        html=tracked_html,
        text=tracked_text,
        sender=sender_for(app, edition.newsletter),
        placeholders=placeholders,
        html_keys=placeholders.used_in(html),
        text_keys=placeholders.used_in(text),
        view_online_url=url,
        mailto_suffix=_mailto_suffix(app),
        tracks_clicks=(tracked_html, tracked_text) != (html, text),
        tracks_opens=bool(settings and settings.track_opens),
    )


def _mailto_suffix(app: App) -> str:
    mailto = app.config.delivery.unsubscribe_mailto
    return f", <mailto:{mailto}?subject=unsubscribe>" if mailto else ""


class Personalizer:
    """Builds Addressees, signing the links of many subscribers fast."""

    def __init__(self, app: App) -> None:
        self._links: Callable[[int], tuple[str, str]] = links_signer(app)
        # For transports that write the links themselves (SendGrid): subscriber id → (unsubscribe
        # token, preferences token), and the URLs these tokens complete.
        self.tokens: Callable[[int], tuple[bytes, bytes]] = link_tokens_signer(app)
        self.link_bases: tuple[str, str] = link_bases(app)

    def addressee(self, subscriber_id: int, email: str, name: str) -> Addressee:
        return Addressee(subscriber_id, email, name, *self._links(subscriber_id))
