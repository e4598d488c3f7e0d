"""Feed documents: RSS 2.0 and Atom 1.0 through feedgen, JSON Feed 1.1 through json.

The only module that uses feedgen. An article is rendered once per build — one feedgen
FeedEntry gives its RSS item and Atom entry, serialised as they appear inside a feed — and
those bytes are reused by every feed that shows the article (the site feed and each of its
tags). A feed document is then feedgen's own channel for that feed (title, links, dates…)
with the entries inserted where feedgen puts them (``_splice``), so the output is byte for
byte what feedgen would write with ``add_entry`` (the tests check this), at a fraction of the
cost.

Choices that keep every file free of W3C Feed Validation Service warnings:

- a self link per format (feedgen shares links between formats, so each format gets its own
  FeedGenerator), added before the alternate link, which feedgen uses as the RSS ``<link>``;
- stable entry ids: the article guid when it is a plain URI, else a ``urn:uuid`` derived from
  it, so ids survive edits and re-tagging;
- ``content type="html"`` and ``summary type="html"`` in Atom, ``content:encoded`` plus an
  escaped plain-text ``description`` in RSS; authors as ``dc:creator`` in RSS (an RSS
  ``<author>`` must be an email address);
- the image as ``media:content`` (feedgen 1.0 drops the attributes of entry enclosure links
  in Atom, which makes an enclosure a duplicate alternate link);
- no "now" anywhere: a feed's updated time is its newest entry's, future-dated edit times
  fall back to the publication time;
- ``<`` and ``&`` in RSS plain-text elements written as hexadecimal character references, as
  the RSS Best Practices Profile asks.
"""

from __future__ import annotations

import functools
import html
import json
import mimetypes
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from feedgen.entry import FeedEntry
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.ext.dc import DcEntryExtension, DcExtension
from feedgen.ext.media import MediaEntryExtension, MediaExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from publisher.feeds.content import HtmlCleaner, absolute_uri, as_uri, excerpt, html_to_text, plain_text
from publisher.feeds.settings import FORMATS, Channel, FeedSettings
from publisher.models import Article

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR = "publisher"
XML_FORMATS = ("rss", "atom")
# What the validator accepts as a full URI (its rfc2396_full rule).
_PLAIN_URI = re.compile(r"[a-zA-Z][0-9a-zA-Z+\-.]*:(//)?[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#]+")
# Plain-text RSS elements: their escaped < and & become character references (RSS Profile).
_RSS_ITEM_TEXT = re.compile(rb"<(title|category|dc:creator)>([^<]*)</\1>")
_RSS_CHANNEL_TEXT = re.compile(rb"<(title|description)>([^<]*)</\1>")
_HEX_REFERENCES = {b"&lt;": b"&#x3C;", b"&amp;": b"&#x26;", b"&gt;": b"&#x3E;"}
_ESCAPED = re.compile(rb"&(?:lt|amp|gt);")


@dataclass(frozen=True)
class RenderedEntry:
    """One article as it appears in any feed, in each configured format."""

    article_id: int
    updated: datetime
    parts: dict[str, bytes]  # format → the serialised item/entry/JSON object


class FeedRenderer:
    """Renders entries and feeds for one build; ``now`` only decides what counts as future."""

    def __init__(self, settings: FeedSettings, now: datetime) -> None:
        self.settings = settings
        self.now = now
        self.tz = settings.tz
        self.cleaner = HtmlCleaner()
        self._generators = {fmt: self._generator(fmt) for fmt in XML_FORMATS}
        sample = settings.site_channel()
        self._carriers = {fmt: _Carrier(self._head(sample, fmt, now), fmt) for fmt in XML_FORMATS}

    # --- entries ---------------------------------------------------------------------------

    def entry(self, article: Article) -> RenderedEntry:
        fields = self._entry_fields(article)
        parts: dict[str, bytes] = {}
        if any(fmt in XML_FORMATS for fmt in self.settings.formats):
            feed_entry = _feed_entry(fields)
            if "rss" in self.settings.formats:
                item = self._carriers["rss"].serialise(feed_entry.rss_entry())
                plain = (fields.title, fields.author, *fields.tags)
                needs_references = any("<" in text or "&" in text or ">" in text for text in plain)
                parts["rss"] = _hex_references(_RSS_ITEM_TEXT, item) if needs_references else item
            if "atom" in self.settings.formats:
                parts["atom"] = self._carriers["atom"].serialise(feed_entry.atom_entry())
        if "json" in self.settings.formats:
            parts["json"] = json.dumps(_json_item(fields), ensure_ascii=False, separators=(",", ":")).encode()
        return RenderedEntry(article.id or 0, fields.updated, parts)

    def _entry_fields(self, article: Article) -> _EntryFields:
        url = as_uri(article.url)
        content = self.cleaner.clean(article.content_html, url) if article.content_html.strip() else ""
        title = plain_text(article.title) or url
        summary = plain_text(article.summary) or excerpt(html_to_text(content)) or title
        published = article.published_at
        # An edit time in the future (or before publication) is not believable: use the publication.
        updated = article.updated_at if published <= article.updated_at <= self.now else published
        image = absolute_uri(article.image_url, url) if article.image_url else None
        language = article.language.replace("_", "-")
        return _EntryFields(
            id=self.entry_id(article.guid),
            url=url,
            title=title,
            content_html=content,
            summary=summary,
            author=plain_text(article.author),
            tags=tuple(name for name in (plain_text(tag.name) for tag in article.tags) if name),
            image=image,
            image_type=_image_type(image) if image else None,
            published=published.astimezone(self.tz),
            updated=updated.astimezone(self.tz),
            language=language if language != self.settings.language else None,
        )

    def entry_id(self, guid: str) -> str:
        """A stable id that is a valid URI: the guid itself, or a UUID derived from it."""
        if _PLAIN_URI.fullmatch(guid):
            return guid
        return uuid.uuid5(uuid.NAMESPACE_URL, f"{self.settings.site_url}#{guid}").urn

    # --- feeds -----------------------------------------------------------------------------

    def feed(self, channel: Channel, entries: list[RenderedEntry]) -> dict[str, bytes]:
        """Every configured format of one feed (``entries`` newest first, at least one)."""
        if not entries:
            raise ValueError(f"feed {channel.name} has no entries")
        updated = max(entry.updated for entry in entries)
        documents = {}
        for fmt in self.settings.formats:
            if fmt == "json":
                documents[fmt] = self._json_feed(channel, entries)
            else:
                documents[fmt] = _splice(self._head(channel, fmt, updated), fmt, [e.parts[fmt] for e in entries])
        return documents

    def _head(self, channel: Channel, fmt: str, updated: datetime) -> bytes:
        """feedgen's document for ``channel`` in ``fmt``, without entries."""
        settings = self.settings
        self_url = settings.url(settings.file_name(channel.name, fmt))
        generator = self._generators[fmt]
        generator.id(self_url)
        generator.title(plain_text(channel.title))
        generator.description(plain_text(channel.description))
        generator.link(href=self_url, rel="self", type=FORMATS[fmt].media_type, replace=True)
        if settings.hub:
            generator.link(href=settings.hub, rel="hub")
        generator.link(href=as_uri(channel.page_url), rel="alternate", type="text/html")
        generator.updated(updated.astimezone(self.tz))
        if fmt == "rss":
            return _hex_references(_RSS_CHANNEL_TEXT, generator.rss_str())
        return generator.atom_str()

    def _generator(self, fmt: str) -> FeedGenerator:
        """A FeedGenerator with what every feed of ``fmt`` shares; ``_head`` sets the rest."""
        settings = self.settings
        generator = FeedGenerator()
        generator.register_extension("media", MediaExtension, MediaEntryExtension)
        generator.register_extension("dc", DcExtension, DcEntryExtension, atom=False)
        if settings.hub and fmt == "rss":
            hub = settings.hub
            generator.register_extension("websub", lambda: _RssHubLink(hub), _NoEntryExtension, atom=False)
        generator.language(settings.language)
        generator.author(name=plain_text(settings.site_title), uri=settings.site_url + "/")
        generator.generator(GENERATOR)
        generator.ttl(settings.ttl_minutes)
        return generator

    def _json_feed(self, channel: Channel, entries: list[RenderedEntry]) -> bytes:
        settings = self.settings
        head = {
            "version": JSON_FEED_VERSION,
            "title": plain_text(channel.title),
            "home_page_url": as_uri(channel.page_url),
            "feed_url": settings.url(settings.file_name(channel.name, "json")),
            "description": plain_text(channel.description),
            "language": settings.language,
            "authors": [{"name": plain_text(settings.site_title), "url": settings.site_url + "/"}],
        }
        if settings.hub:
            head["hubs"] = [{"type": "WebSub", "url": settings.hub}]
        text = json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode()
        return text[:-1] + b',"items":[' + b",".join(entry.parts["json"] for entry in entries) + b"]}\n"


@dataclass(frozen=True)
class _EntryFields:
    id: str
    url: str
    title: str
    content_html: str
    summary: str
    author: str
    tags: tuple[str, ...]
    image: str | None
    image_type: str | None
    published: datetime
    updated: datetime
    language: str | None


def _feed_entry(fields: _EntryFields) -> FeedEntry:
    entry = FeedEntry()
    entry.register_extension("media", MediaEntryExtension)
    entry.register_extension("dc", DcEntryExtension, atom=False)
    entry.id(fields.id)
    entry.title(fields.title)
    entry.link(href=fields.url)
    if fields.content_html:
        entry.content(fields.content_html, type="html")
    entry.summary(html.escape(fields.summary, quote=False), type="html")
    entry.published(fields.published)
    entry.updated(fields.updated)
    if fields.author:
        entry.author(name=fields.author)
        entry.dc.dc_creator(fields.author)
    for name in fields.tags:
        entry.category(term=name)
    if fields.image:
        entry.media.content(url=fields.image, medium="image", type=fields.image_type, group=None)
    return entry


def _json_item(fields: _EntryFields) -> dict:
    item: dict = {"id": fields.id, "url": fields.url, "title": fields.title}
    if fields.content_html:
        item["content_html"] = fields.content_html
    else:
        item["content_text"] = fields.summary
    item["summary"] = fields.summary
    if fields.image:
        item["image"] = fields.image
    item["date_published"] = fields.published.isoformat()
    item["date_modified"] = fields.updated.isoformat()
    if fields.author:
        item["authors"] = [{"name": fields.author}]
    if fields.tags:
        item["tags"] = list(fields.tags)
    if fields.language:
        item["language"] = fields.language
    return item


def _image_type(url: str) -> str | None:
    name = url.split("#", 1)[0].split("?", 1)[0].rsplit("/", 1)[-1]
    return _image_type_of_extension(name[name.rfind(".") :].lower() if "." in name else "")


@functools.lru_cache(maxsize=64)
def _image_type_of_extension(extension: str) -> str | None:
    guessed, _ = mimetypes.guess_type("image" + extension)
    return guessed if guessed and guessed.startswith("image/") else None


# --- serialisation --------------------------------------------------------------------------

_CLOSING = {"rss": b"</channel></rss>", "atom": b"</feed>"}


class _Carrier:
    """Serialises entry elements exactly as they appear inside a feed of ``fmt``.

    An element serialised on its own gets its own namespace declarations (``ns0:``…); inside
    a document whose root declares the feed's prefixes, it uses those. The carrier is an
    empty document with the same root namespaces as feedgen's: appending an entry, serialising
    and cutting the constant head and tail off gives the entry's bytes in any such feed.
    """

    def __init__(self, document: bytes, fmt: str) -> None:
        prefixes = {prefix: uri for prefix, uri in etree.fromstring(document).nsmap.items() if prefix}
        if fmt == "rss":
            self.root = etree.Element("rss", nsmap=prefixes)
            self.parent = etree.SubElement(self.root, "channel")
        else:  # feedgen writes Atom elements in no namespace, under a literal xmlns attribute
            self.root = etree.Element("feed", nsmap=prefixes)
            self.parent = self.root
        marker = etree.SubElement(self.parent, "marker")
        self.head, self.tail = etree.tostring(self.root, encoding="UTF-8", xml_declaration=False).split(b"<marker/>")
        self.parent.remove(marker)

    def serialise(self, element: etree._Element) -> bytes:
        self.parent.append(element)
        try:
            text = etree.tostring(self.root, encoding="UTF-8", xml_declaration=False)
        finally:
            self.parent.remove(element)
        return text[len(self.head) : len(text) - len(self.tail)]


def _splice(document: bytes, fmt: str, entries: list[bytes]) -> bytes:
    """Insert serialised entries where feedgen puts them: last in the channel/feed.

    The library path is ``FeedGenerator.add_entry`` for each entry, then ``rss_str()`` or
    ``atom_str()``: the same bytes (tests/test_feeds_validity.py), but feedgen builds and
    serialises every entry again for every feed that shows it, in the building process (lxml
    elements do not travel to worker processes). Measured on a feed of 50 articles like those
    of bench/feeds.py: 4.4 ms for RSS and Atom through add_entry, 0.1 ms spliced (all three
    formats), so about 4 s of a full build's 7 s of CPU for its 1,001 feeds."""
    closing = _CLOSING[fmt]
    if not document.endswith(closing):
        raise RuntimeError(f"unexpected feedgen {fmt} output: does not end with {closing!r}")
    return document[: -len(closing)] + b"".join(entries) + closing + b"\n"


def _hex_references(elements: re.Pattern[bytes], xml: bytes) -> bytes:
    def escape(match: re.Match[bytes]) -> bytes:
        text = _ESCAPED.sub(lambda ref: _HEX_REFERENCES[ref.group(0)], match.group(2))
        return b"<%s>%s</%s>" % (match.group(1), text, match.group(1))

    return elements.sub(escape, xml)


# --- feedgen extensions -----------------------------------------------------------------------


class _RssHubLink(BaseExtension):
    """``<atom:link rel="hub">`` in the RSS channel (feedgen writes only the self link there)."""

    def __init__(self, hub: str) -> None:
        self.hub = hub

    def extend_rss(self, feed: etree._Element) -> etree._Element:
        etree.SubElement(feed[0], f"{{{ATOM_NS}}}link", href=self.hub, rel="hub")
        return feed


class _NoEntryExtension(BaseEntryExtension):
    pass
