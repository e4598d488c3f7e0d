"""Article import: JSON Lines and RSS/Atom files into the store.

Every record is validated before anything is written. A bad record becomes a RecordError
(``FILE:LINE: field: reason``) and is skipped; every good record of the file is then written
in one transaction, so the store never holds half an import.
"""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser

from publisher.errors import PublisherError, RecordError
from publisher.models import Article, Tag
from publisher.store import Store
from publisher.store.articles import UpsertCounts, upsert_articles

FEED_SUFFIXES = (".rss", ".atom", ".xml")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
FIELDS = {
    "url",
    "title",
    "published_at",
    "content_html",
    "summary",
    "author",
    "tags",
    "guid",
    "updated_at",
    "image_url",
    "language",
    "status",
}


@dataclass
class ImportReport:
    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rejected: list[RecordError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.rejected


def import_files(
    store: Store,
    paths: list[Path],
    default_language: str,
    on_record: Callable[[], None] | None = None,
) -> ImportReport:
    """Import each file; return what was inserted, updated, unchanged and rejected."""
    report = ImportReport()
    for path in paths:
        good = _good_records(read_records(path, default_language), report.rejected, on_record)
        counts = upsert_articles(store, good)
        report.counts.inserted += counts.inserted
        report.counts.updated += counts.updated
        report.counts.unchanged += counts.unchanged
    return report


def _good_records(
    records: Iterator[Article | RecordError], rejected: list[RecordError], on_record: Callable[[], None] | None
) -> Iterator[Article]:
    for record in records:
        if on_record:
            on_record()
        if isinstance(record, RecordError):
            rejected.append(record)
        else:
            yield record


def read_records(path: Path, default_language: str) -> Iterator[Article | RecordError]:
    """The articles of one file, or a RecordError for each record that is not valid."""
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return read_jsonl(path, default_language)
    if suffix in FEED_SUFFIXES:
        return read_feed(path, default_language)
    raise PublisherError(f"{path}: unknown file type {suffix!r} (expected .jsonl, .rss, .atom or .xml)")


# --- JSON Lines ----------------------------------------------------------------------


def read_jsonl(path: Path, default_language: str) -> Iterator[Article | RecordError]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as error:
        raise PublisherError(f"{path}: cannot read: {error.strerror}") from None
    with handle:
        number = 0
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield parse_record(json.loads(line), default_language)
                except json.JSONDecodeError as error:
                    yield RecordError(str(path), number, "json", f"invalid JSON: {error.msg} at column {error.colno}")
                except _FieldError as error:
                    yield RecordError(str(path), number, error.field, error.reason)
        except UnicodeDecodeError:
            yield RecordError(str(path), number + 1, "file", "not valid UTF-8; the rest of the file was skipped")


class _FieldError(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        self.field = field_name
        self.reason = reason


def parse_record(data: Any, default_language: str) -> Article:
    """Validate one JSON Lines object (format in DESIGN.md) into an Article."""
    if not isinstance(data, dict):
        raise _FieldError("record", f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise _FieldError(unknown[0], "unknown field (known: " + ", ".join(sorted(FIELDS)) + ")")
    url = _absolute_url(data, "url", required=True)
    published_at = _timestamp(data, "published_at", required=True)
    status = _text(data, "status") or "published"
    if status not in ("published", "draft"):
        raise _FieldError("status", f"expected 'published' or 'draft', got {status!r}")
    return Article(
        guid=_text(data, "guid") or url,
        url=url,
        title=_text(data, "title", required=True),
        published_at=published_at,
        updated_at=_timestamp(data, "updated_at") or published_at,
        language=_text(data, "language") or default_language,
        summary=_text(data, "summary"),
        content_html=_text(data, "content_html"),
        author=_text(data, "author"),
        image_url=_absolute_url(data, "image_url") or None,
        status=status,
        tags=_tags(data.get("tags")),
    )


def _text(data: dict, name: str, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise _FieldError(name, "required")
        return ""
    if not isinstance(value, str):
        raise _FieldError(name, f"expected a string, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise _FieldError(name, "must not be empty")
    return value


def _absolute_url(data: dict, name: str, required: bool = False) -> str:
    value = _text(data, name, required)
    if value:
        check_absolute_url(value, name)
    return value


_ABSOLUTE_URL = re.compile(r"https?://[^/?#\s]+(?:[/?#]\S*)?", re.IGNORECASE)


def check_absolute_url(value: str, name: str) -> None:
    if not _ABSOLUTE_URL.fullmatch(value):
        raise _FieldError(name, f"expected an absolute http(s) URL, got {value!r}")


def _timestamp(data: dict, name: str, required: bool = False) -> datetime | None:
    value = _text(data, name, required)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _FieldError(name, f"not an ISO 8601 date-time: {value!r}") from None
    if moment.tzinfo is None:
        raise _FieldError(name, f"date-time without a UTC offset: {value!r} (add e.g. +01:00 or Z)")
    return moment.astimezone(UTC)


def _tags(value: Any) -> tuple[Tag, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise _FieldError("tags", "expected a list of tag names")
    return unique_tags(value)


def unique_tags(names: list[str]) -> tuple[Tag, ...]:
    """Tags in the given order; names that slug alike are one tag; empty names are dropped."""
    tags: dict[str, Tag] = {}
    for name in names:
        tag = Tag.from_name(" ".join(name.split()))
        if tag.slug and tag.slug not in tags:
            tags[tag.slug] = tag
    return tuple(tags.values())


# --- RSS and Atom --------------------------------------------------------------------

_ENTRY_START = re.compile(rb"<(?:\w+:)?(?:item|entry)[\s>/]")


def read_feed(path: Path, default_language: str) -> Iterator[Article | RecordError]:
    """The entries of an RSS or Atom file; line numbers are where each entry starts."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PublisherError(f"{path}: cannot read: {error.strerror}") from None
    parsed = feedparser.parse(raw, sanitize_html=True, resolve_relative_uris=True)
    if parsed.bozo and not parsed.entries:
        raise PublisherError(f"{path}: not a readable RSS or Atom feed: {parsed.get('bozo_exception')}")
    starts = [raw.count(b"\n", 0, match.start()) + 1 for match in _ENTRY_START.finditer(raw)]
    language = (parsed.feed.get("language") or default_language).split("-")[0].lower() or default_language
    for index, entry in enumerate(parsed.entries):
        line = starts[index] if index < len(starts) else 0
        try:
            yield _entry_article(entry, language)
        except _FieldError as error:
            yield RecordError(str(path), line, error.field, error.reason)


def _entry_article(entry: Any, language: str) -> Article:
    url = (entry.get("link") or "").strip()
    if not url:
        raise _FieldError("link", "required")
    check_absolute_url(url, "link")
    title = (entry.get("title") or "").strip()
    if not title:
        raise _FieldError("title", "required")
    # dict.get: FeedParserDict.get("updated_parsed") silently falls back to the published date.
    updated = dict.get(entry, "updated_parsed")
    published = dict.get(entry, "published_parsed") or updated
    if published is None:
        raise _FieldError("published", "required (no parsable pubDate, published or updated date)")
    published_at = _from_struct(published)
    contents = entry.get("content") or []
    content_html = contents[0].get("value", "") if contents else entry.get("summary", "")
    summary = entry.get("summary", "") if contents else ""
    return Article(
        guid=(entry.get("id") or url).strip(),
        url=url,
        title=title,
        published_at=published_at,
        updated_at=_from_struct(updated) if updated else published_at,
        language=language,
        summary=_plain_text(summary),
        content_html=content_html.strip(),
        author=(entry.get("author") or "").strip(),
        image_url=_entry_image(entry),
        tags=unique_tags([tag.get("label") or tag.get("term") or "" for tag in entry.get("tags", [])]),
    )


def _from_struct(value: Any) -> datetime:
    # feedparser normalises every date to a UTC struct_time.
    return datetime.fromtimestamp(calendar.timegm(value), UTC)


def _entry_image(entry: Any) -> str | None:
    candidates = [
        link.get("href")
        for link in entry.get("links", [])
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/")
    ]
    candidates += [
        media.get("url") for media in entry.get("media_content", []) if media.get("medium", "image") == "image"
    ]
    candidates += [media.get("url") for media in entry.get("media_thumbnail", [])]
    for candidate in candidates:
        if candidate and urlsplit(candidate).scheme in ("http", "https"):
            return candidate
    return None


_TAG = re.compile(r"<[^>]+>")


def _plain_text(html: str) -> str:
    """RSS descriptions often carry markup; the summary field is plain text."""
    return " ".join(unescape(_TAG.sub(" ", html)).split())
