"""The two files that list the feeds: index.opml (OPML 2.0, to subscribe to all at once) and
index.html (a French page with a subscribe link for the site and every tag).

Both are rendered from what the build published, with Jinja2 autoescaping every value, and
contain no build time. The OPML changes only when a feed appears or disappears; the page also
shows each feed's newest article date.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from babel import Locale, UnknownLocaleError
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from publisher.clock import from_db
from publisher.digests.formatting import format_date
from publisher.feeds.content import as_uri, plain_text
from publisher.feeds.settings import FORMATS, SITE_FEED, FeedSettings
from publisher.models import Tag

OPML_FILE = "index.opml"
HTML_FILE = "index.html"
PAGE_FILES = (OPML_FILE, HTML_FILE)
_OPML_VERSIONS = {"rss": "RSS", "atom": None, "json": None}

_environment = Environment(
    loader=PackageLoader("publisher.feeds", "templates"),
    autoescape=select_autoescape(["html.j2", "opml.j2"], default=True),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


class _Link(NamedTuple):
    href: str
    media_type: str
    label: str


class _Row(NamedTuple):
    text: str
    page_url: str
    count: int
    updated: str
    links: list[_Link]


class _Outline(NamedTuple):
    text: str
    version: str | None
    xml_url: str
    html_url: str


@dataclass(frozen=True)
class ListedFeed:
    """A published feed as the index pages list it."""

    name: str
    tag: Tag | None  # None for the site feed
    items: int
    updated_at: str  # store time of its newest article


def render_pages(settings: FeedSettings, feeds: list[ListedFeed]) -> dict[str, bytes]:
    """index.opml and index.html for the published feeds."""
    site = next((feed for feed in feeds if feed.name == SITE_FEED), None)
    tags = sorted((feed for feed in feeds if feed.tag is not None), key=lambda feed: feed.tag.slug)
    return {
        OPML_FILE: _opml(settings, site, tags).encode(),
        HTML_FILE: _html(settings, site, tags).encode(),
    }


def _opml(settings: FeedSettings, site: ListedFeed | None, tags: list[ListedFeed]) -> str:
    fmt = settings.formats[0]
    listed = [feed for feed in (site, *tags) if feed is not None]
    outlines = [
        _Outline(
            "Tous les articles" if feed.tag is None else plain_text(feed.tag.name),
            _OPML_VERSIONS[fmt],
            settings.url(settings.file_name(feed.name, fmt)),
            _page_url(settings, feed),
        )
        for feed in listed
    ]
    return _environment.get_template("index.opml.j2").render(
        site_title=plain_text(settings.site_title), language=settings.language, feeds=outlines
    )


def _html(settings: FeedSettings, site: ListedFeed | None, tags: list[ListedFeed]) -> str:
    locale = _babel_locale(settings.language)

    def row(feed: ListedFeed) -> _Row:
        return _Row(
            plain_text(feed.tag.name) if feed.tag else plain_text(settings.site_title),
            _page_url(settings, feed),
            feed.items,
            _long_date(from_db(feed.updated_at).astimezone(settings.tz).date(), locale),
            [
                _Link(settings.file_name(feed.name, fmt), FORMATS[fmt].media_type, FORMATS[fmt].label)
                for fmt in settings.formats
            ],
        )

    return _environment.get_template("index.html.j2").render(
        site_title=plain_text(settings.site_title),
        of_site=plain_text(settings.site_of_title),
        language=settings.language,
        opml=OPML_FILE if site else None,
        site=row(site) if site else None,
        tags=[row(feed) for feed in tags],
    )


def _page_url(settings: FeedSettings, feed: ListedFeed) -> str:
    return as_uri(settings.tag_page_url.replace("{slug}", feed.tag.slug) if feed.tag else settings.site_url + "/")


def _babel_locale(language: str) -> Locale:
    try:
        return Locale.parse(language, sep="-")
    except (UnknownLocaleError, ValueError):
        return Locale("fr")


@functools.lru_cache(maxsize=4096)
def _long_date(day: date, locale: Locale) -> str:
    return format_date(day, locale.date_formats["long"].pattern, str(locale))
