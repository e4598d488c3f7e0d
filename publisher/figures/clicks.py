"""Clicks per article, counted by the site's own signed links, never per reader.

In an edition of a newsletter with ``track_clicks`` (the default), each article's link is
``BASE_URL/r/EDITION/ARTICLE/SIGNATURE``: the signature (HMAC-SHA256 with a key derived from
PUBLISHER_SECRET, 128 bits, URL-safe base64) covers the edition and the article and nothing
else; no subscriber is in the link. Following it adds one to that article's clicks in that
edition and answers a 302 to the article's own link (absolute, with its UTM parameters), and
to nothing else: a link whose signature fails, or whose article is gone, is a 404.

Mail security scanners open links before the reader does. A request is counted apart, as a
prefetch, when (the heuristic documented in docs/figures.md):

- it is a HEAD request (a scanner checking where the link goes);
- it says it is a prefetch (``Sec-Purpose`` or ``Purpose: prefetch``);
- it has no User-Agent, or one of the known scanners' (SCANNER_AGENTS).

When ``track_clicks = false`` the articles' own links are sent, SendGrid's click tracking is
left as the account has it, and SendGrid's click events are counted instead
(``sendgrid_click_measure``); when it is on, SendGrid's click tracking is turned off for the
message, so no link is ever counted twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from functools import lru_cache
from html import escape

from publisher.app import App
from publisher.digests.content import article_link
from publisher.placeholders import Placeholders
from publisher.store import figures

CLICKS, PREFETCHES = "clicks", "prefetches"
# Substrings of the User-Agent of link scanners and previewers (lower case).
SCANNER_AGENTS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "urldefense",
    "safelinks",
    "trendmicro",
    "symantec",
    "sophos",
    "forcepoint",
    "fortiguard",
    "bitdefender",
    "google-safety",
    "googleimageproxy",
    "yahoomailproxy",
    "bot",
    "crawler",
    "spider",
    "python-requests",
    "curl/",
    "wget/",
    "go-http-client",
)
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{22}")
_ID = re.compile(r"[1-9][0-9]{0,17}")


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"publisher.clicks", hashlib.sha256).digest()


def _signature(app: App, edition_id: int, article_id: int) -> str:
    secret = app.secrets.require("signing_secret", "PUBLISHER_SECRET", "signing click links")
    digest = hmac.new(_key(secret), b"%d/%d" % (edition_id, article_id), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


def click_url(app: App, edition_id: int, article_id: int) -> str:
    """The signed link that counts a click on this article of this edition."""
    return f"{app.config.site.base_url}/r/{edition_id}/{article_id}/{_signature(app, edition_id, article_id)}"


def fill_click_links(app: App, edition_id: int, placeholders: Placeholders, body: str, html: bool) -> str:
    """The edition's click markers replaced by its signed links (escaped for the HTML part)."""
    if "__PUB_CLICK" not in body:
        return body

    def link(match: re.Match[str]) -> str:
        url = click_url(app, edition_id, int(match.group(1)))
        return escape(url, quote=True) if html else url

    return placeholders.click_pattern.sub(link, body)


def verified_ids(app: App, edition: str, article: str, signature: str) -> tuple[int, int] | None:
    """(edition id, article id) of a link we signed, else None."""
    if not (_ID.fullmatch(edition) and _ID.fullmatch(article) and _SIGNATURE.fullmatch(signature)):
        return None
    ids = int(edition), int(article)
    return ids if hmac.compare_digest(_signature(app, *ids), signature) else None


def is_prefetch(method: str, headers: Mapping[str, str]) -> bool:
    """Whether a request on a click link looks like a scanner's rather than a reader's."""
    if method == "HEAD" or "prefetch" in (headers.get("sec-purpose", "") + headers.get("purpose", "")).lower():
        return True
    agent = headers.get("user-agent", "").lower()
    return not agent or any(scanner in agent for scanner in SCANNER_AGENTS)


def follow_click(app: App, edition_id: int, article_id: int, prefetch: bool) -> str | None:
    """Count a click (or a prefetch) and give the article's own link; None when the edition or
    the article no longer exists (nothing counted)."""
    found = figures.click_target(app.store, edition_id, article_id)
    if found is None:
        return None
    newsletter, url = found
    if newsletter not in app.config.newsletters:
        return None
    with app.store.transaction():
        figures.add_counts(app.store, {(edition_id, PREFETCHES if prefetch else CLICKS, article_id): 1})
    return article_link(app.config, newsletter, url)


def sendgrid_click_article(app: App, edition_id: int, url: str) -> int | None:
    """The article of the edition whose own link is ``url`` (a SendGrid click event's), or None."""
    edition = figures.find_edition(app.store, edition_id)
    if edition is None or edition.newsletter not in app.config.newsletters:
        return None
    for article in figures.edition_articles(app.store, edition_id):
        if article.url and article_link(app.config, edition.newsletter, article.url) == url:
            return article.id
    return None
