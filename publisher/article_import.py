"""Article import: JSON Lines and RSS/Atom files into the store.

Every record is validated before anything is written. A bad record becomes a RecordError
(``FILE:LINE: field: reason``) and is skipped; every good record of the file is then written
in one transaction, so the store never holds half an import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html import unescape
from pathlib import Path
from typing import Any, BinaryIO
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


def expected_records(paths: list[Path]) -> int:
    """About how many records the files hold (lines of JSON Lines, items and entries of feeds),
    read as bytes: the total of a progress bar."""
    count = 0
    for path in paths:
        data = path.read_bytes()
        count += (
            data.count(b"\n") if path.suffix.lower() in JSONL_SUFFIXES else data.count(b"<item") + data.count(b"<entry")
        )
    return count


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
    """One record per line; a line that cannot be read is reported and the next one read."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise PublisherError(f"{path}: cannot read: {error.strerror}") from None
    with handle:
        for number, line in _numbered_lines(handle):
            try:
                data = _json_value(line, first=number == 1)
                if data is not None:
                    yield parse_record(data, default_language)
            except _ArticleFieldError as error:
                yield RecordError(str(path), number, error.field, error.reason)
                if error.field == "encoding" and number == 1 and line.startswith(_UTF16_BOMS):
                    return


MAX_LINE_BYTES = 8 * 1024 * 1024  # far above any real article; a longer line is refused unread
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _numbered_lines(handle: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """(line number, bytes) of each line; None for a line longer than MAX_LINE_BYTES."""
    number = 0
    while line := handle.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(line) <= MAX_LINE_BYTES or line.endswith(b"\n"):
            yield number, line
            continue
        while (rest := handle.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield number, None


def _json_value(line: bytes | None, first: bool) -> Any:
    """The JSON value of one line, None for a blank line."""
    if line is None:
        raise _ArticleFieldError("record", f"line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB")
    if first and line.startswith(_UTF16_BOMS):
        raise _ArticleFieldError("encoding", "UTF-16 text: save the file as UTF-8 and import it again")
    if first:
        line = line.removeprefix(_UTF8_BOM)
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = f"0x{line[error.start]:02x}"
        raise _ArticleFieldError("encoding", f"not valid UTF-8 (byte {byte} at column {error.start + 1})") from None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise _ArticleFieldError(
            "json", f"invalid JSON: {error.msg.removesuffix(' at')} at column {error.colno}"
        ) from None
    except RecursionError:
        raise _ArticleFieldError("json", "nested too deeply") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise _ArticleFieldError("json", "invalid JSON: a number too long to read") from None


class _ArticleFieldError(PublisherError):
    def __init__(self, field_name: str, reason: str) -> None:
        self.field = field_name
        self.reason = reason


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]{1,40}")


def parse_record(data: Any, default_language: str) -> Article:
    """Validate one JSON Lines object (fields in docs/articles.md) into an Article."""
    if not isinstance(data, dict):
        raise _ArticleFieldError("record", f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        name = unknown[0]  # reported as the field only when it is a plain name (it is printed)
        field_name = name if _PLAIN_NAME.fullmatch(name) else "record"
        raise _ArticleFieldError(field_name, f"unknown field {_shown(name)} (known: " + ", ".join(sorted(FIELDS)) + ")")
    _check_texts(data)
    url = _absolute_url(data, "url", required=True)
    published_at = _timestamp(data, "published_at", required=True)
    status = _text(data, "status") or "published"
    if status not in ("published", "draft"):
        raise _ArticleFieldError("status", f"expected 'published' or 'draft', got {_shown(status)}")
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
        tags=_tag_names(data.get("tags")),
    )


def _text(data: dict, name: str, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise _ArticleFieldError(name, "required")
        return ""
    if not isinstance(value, str):
        raise _ArticleFieldError(name, f"expected a string, got {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise _ArticleFieldError(name, "must not be empty")
    return value


# Any character but the controls (tab, LF and CR aside), DEL, surrogates, U+FFFE and U+FFFF;
# written as what is allowed, which the regex engine scans twice as fast.
_CONTROL = re.compile("[^\t\n\r\x20-\x7e\x80-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _check_texts(data: dict) -> None:
    """check_text on every string of a record, in one search over all of them (most records
    pass: this keeps the check to about 1 µs a record)."""
    texts = [(name, value) for name, value in data.items() if isinstance(value, str)]
    tags = data.get("tags")
    if isinstance(tags, list):
        texts += [("tags", tag) for tag in tags if isinstance(tag, str)]
    if _CONTROL.search(" ".join(value for _, value in texts)):
        for name, value in texts:
            check_text(value, name)


def check_text(value: str, name: str) -> None:
    """Refuse characters that no feed (XML) or store (UTF-8) can carry."""
    bad = _CONTROL.search(value)
    if bad:
        raise _ArticleFieldError(name, f"contains the control character U+{ord(bad.group()):04X}")


def _shown(value: str, limit: int = 60) -> str:
    """A value quoted for an error line: escaped, and cut when long."""
    return repr(value[:limit] + "…" if len(value) > limit else value)


def _absolute_url(data: dict, name: str, required: bool = False) -> str:
    value = _text(data, name, required)
    if value:
        check_absolute_url(value, name)
    return value


_ABSOLUTE_URL = re.compile(r"https?://[^/?#\s]+(?:[/?#]\S*)?", re.IGNORECASE)


def check_absolute_url(value: str, name: str) -> None:
    if not _ABSOLUTE_URL.fullmatch(value):
        raise _ArticleFieldError(name, f"expected an absolute http(s) URL, got {_shown(value)}")


def _timestamp(data: dict, name: str, required: bool = False) -> datetime | None:
    value = _text(data, name, required)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _ArticleFieldError(name, f"not an ISO 8601 date-time: {_shown(value)}") from None
    if moment.tzinfo is None:
        raise _ArticleFieldError(name, f"date-time without a UTC offset: {_shown(value)} (add e.g. +01:00 or Z)")
    return checked_moment(moment, name, value)


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)  # far enough from datetime.max for any time zone
MAX_OFFSET = timedelta(hours=14)  # the widest UTC offset in use (Kiribati)


def checked_moment(moment: datetime, name: str, text: str) -> datetime:
    """An aware date-time in UTC, refused when outside [EARLIEST, LATEST) or its offset is not real."""
    offset = moment.utcoffset()
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise _ArticleFieldError(name, f"UTC offset beyond ±14:00: {_shown(text)}")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise _ArticleFieldError(name, f"date out of range: {_shown(text)} (expected between 1900 and 2999)")
    return utc


def _tag_names(value: Any) -> tuple[Tag, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise _ArticleFieldError("tags", "expected a list of tag names")
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

_ENTRY_START = re.compile(r"<(?:\w+:)?(?:item|entry)[\s>/]")


def read_feed(path: Path, default_language: str) -> Iterator[Article | RecordError]:
    """The entries of an RSS or Atom file; line numbers are where each entry starts."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise PublisherError(f"{path}: cannot read: {error.strerror}") from None
    parsed = feedparser.parse(raw, sanitize_html=True, resolve_relative_uris=True)
    if parsed.bozo and not parsed.entries:
        raise PublisherError(f"{path}: not a readable RSS or Atom feed: {parsed.get('bozo_exception')}")
    text = _decoded(raw, parsed.get("encoding"))  # for line numbers, also in a UTF-16 file
    starts = [text.count("\n", 0, match.start()) + 1 for match in _ENTRY_START.finditer(text)]
    language = (parsed.feed.get("language") or default_language).split("-")[0].lower() or default_language
    for index, entry in enumerate(parsed.entries):
        line = starts[index] if index < len(starts) else 0
        try:
            yield _entry_article(entry, language)
        except _ArticleFieldError as error:
            yield RecordError(str(path), line, error.field, error.reason)


def _decoded(raw: bytes, encoding: str | None) -> str:
    try:
        return raw.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # an encoding Python does not know
        return raw.decode("utf-8", errors="replace")


def _entry_article(entry: Any, language: str) -> Article:
    url = _entry_text(entry, "link")
    if not url:
        raise _ArticleFieldError("link", "required")
    check_absolute_url(url, "link")
    title = _entry_text(entry, "title")
    if not title:
        raise _ArticleFieldError("title", "required")
    updated_at = _entry_date(entry, "updated")
    published_at = _entry_date(entry, "published") or updated_at
    if published_at is None:
        raise _ArticleFieldError("published", "required (no pubDate, published or updated date)")
    contents = entry.get("content") or []
    content_html = contents[0].get("value", "") if contents else entry.get("summary", "")
    summary = entry.get("summary", "") if contents else ""
    check_text(content_html, "content")
    check_text(summary, "summary")
    tags = [tag.get("label") or tag.get("term") or "" for tag in entry.get("tags", [])]
    for name in tags:
        check_text(name, "category")
    return Article(
        guid=_entry_text(entry, "id") or url,
        url=url,
        title=title,
        published_at=published_at,
        updated_at=updated_at or published_at,
        language=language,
        summary=_plain_text(summary),
        content_html=content_html.strip(),
        author=_entry_text(entry, "author"),
        image_url=_entry_image(entry),
        tags=unique_tags(tags),
    )


def _entry_text(entry: Any, name: str) -> str:
    value = (entry.get(name) or "").strip()
    check_text(value, name)
    return value


def _entry_date(entry: Any, name: str) -> datetime | None:
    """The entry's date as written (RFC 822 in RSS, RFC 3339 in Atom), checked strictly:
    feedparser's own parse silently turns 30 February into 2 March and accepts +25:00.
    (dict.get: FeedParserDict.get("updated") falls back to the published date.)"""
    text = (dict.get(entry, name) or "").strip()
    if not text:
        return None
    moment = _rfc822_date(text) or _iso_date(text)
    if moment is None:
        raise _ArticleFieldError(name, f"not a valid RFC 822 or ISO 8601 date: {_shown(text)}")
    if moment.tzinfo is None:  # as feedparser does: a date without a zone is UTC
        moment = moment.replace(tzinfo=UTC)
    return checked_moment(moment, name, text)


_RFC822_YEAR = re.compile(r"\s*(?:[A-Za-z]+,\s*)?\d{1,2}\s+[A-Za-z]+\s+(\d+)")
_TOO_EARLY = datetime.min.replace(tzinfo=UTC)


def _rfc822_date(text: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    written = _RFC822_YEAR.match(text)
    if written and len(written[1]) > 2 and int(written[1]) != moment.year:
        return _TOO_EARLY  # a year such as 0001, which the parser reads as 2001
    return moment


def _iso_date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


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
