"""Segments: the subscribers a [segments.NAME] filter selects.

Two views of a segment:

- its *members* (``stream_members``, ``count_members``): the subscribers who receive
  newsletters — active and not paused — AND the filter. This is what sending uses; a segment
  whose filter asks for another status simply has no members.
- its *matches* (``stream_matches``, ``count_matches``): the filter alone, any status; for
  exports and for looking at who left.

Members are streamed in chunks, in subscriber id order, never the whole segment in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from publisher.app import App
from publisher.config import SegmentConfig, key_location
from publisher.errors import ConfigError, NotFoundError
from publisher.models import Recipient
from publisher.slugs import slugify
from publisher.store import chunks
from publisher.store import segments as sql
from publisher.store.subscribers import tag_ids
from publisher.typos import unknown_tag

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SegmentSummary:
    name: str
    description: str
    members: int | None  # None: the filter names a tag the store does not hold (publisher.typos says which)


def segment_config(app: App, name: str) -> SegmentConfig:
    try:
        return app.config.segments[name]
    except KeyError:
        known = ", ".join(sorted(app.config.segments)) or "none defined"
        raise NotFoundError(f"unknown segment {name!r} (segments in {app.config.source}: {known})") from None


def compile_segment(app: App, name: str) -> sql.CompiledFilter:
    """The segment's filter as parameterised SQL; ConfigError naming the key for an unknown tag."""
    segment = segment_config(app, name)
    known = tag_ids(app.store)

    def resolve(tag: str, key: tuple[str, ...]) -> int:
        slug = slugify(tag)
        if slug not in known:
            where = f"{key_location(app.config, key)}: {'.'.join(key)}"
            raise ConfigError(f"{where}: {unknown_tag(app.store, tag)}")
        return known[slug]

    return sql.compile_filter(segment, ("segments", name), resolve, app.config.site.tz)


def count_members(app: App, segment_name: str) -> int:
    """How many subscribers of the segment receive newsletters (active, not paused)."""
    return sql.count(app.store, compile_segment(app, segment_name), mailable_only=True)


def count_matches(app: App, segment_name: str) -> int:
    """How many subscribers the filter selects, whatever their status."""
    return sql.count(app.store, compile_segment(app, segment_name), mailable_only=False)


def stream_members(
    app: App, segment_name: str, chunk_size: int = 1000, with_interests: bool = False
) -> Iterator[list[Recipient]]:
    """The segment's members who receive newsletters, ordered by id, in lists of ``chunk_size``.

    ``interests`` holds each recipient's tag ids when ``with_interests`` is true. The segment
    is checked at once (NotFoundError, ConfigError), before the first chunk is asked for.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be positive")
    compiled = compile_segment(app, segment_name)
    windows = sql.stream(
        app.store, compiled, mailable_only=True, window=_window(chunk_size), with_interests=with_interests
    )
    recipients = (
        Recipient(subscriber_id=row[0], email=row[1], name=row[2], locale=row[3], interests=interests)
        for window in windows
        for row, interests in window
    )
    return chunks(recipients, chunk_size)


def stream_matches(app: App, segment_name: str | None, chunk_size: int = 1000) -> Iterator[list[dict]]:
    """Every subscriber the filter selects (any status; ``None``: everyone), as column dicts."""
    everyone = sql.CompiledFilter("1", {}, "1")
    compiled = everyone if segment_name is None else compile_segment(app, segment_name)
    windows = sql.stream(app.store, compiled, mailable_only=False, window=_window(chunk_size))
    rows = (dict(zip(sql.MEMBER_COLUMNS, row, strict=True)) for window in windows for row, _ in window)
    return chunks(rows, chunk_size)


def _window(chunk_size: int) -> int:
    """Ids per streaming query: a few chunks' worth, so sparse segments need few queries."""
    return max(8 * chunk_size, 4096)


def list_segments(app: App) -> list[SegmentSummary]:
    """Every segment of config.toml with its description and member count, by name."""
    return [
        SegmentSummary(name, segment.description, _members_if_usable(app, name))
        for name, segment in sorted(app.config.segments.items())
    ]


def _members_if_usable(app: App, name: str) -> int | None:
    try:
        return count_members(app, name)
    except ConfigError:
        return None


def first_members(app: App, segment_name: str, limit: int) -> list[Recipient]:
    """The first ``limit`` members (by id), for ``segments show``."""
    found: list[Recipient] = []
    for chunk in stream_members(app, segment_name, chunk_size=min(limit, 1000)):
        found.extend(chunk[: limit - len(found)])
        if len(found) >= limit:
            break
    return found
